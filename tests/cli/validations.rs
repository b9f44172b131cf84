//! Every validation type: pass, fail, missing file, and its edge cases,
//! through `orch gate check --json`.

use serde_json::Value;

use crate::common::TestRepo;

/// Writes a contract with these outputs and validations, checks it against
/// the tree with artifact path `out` and slug `s`, and returns the exit code
/// and the evaluation.
fn eval(repo: &TestRepo, outputs: &str, validations: &str, depth: &str) -> (i32, Value) {
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        &format!(
            r#"{{"gate": "G1", "required_outputs": {outputs}, "validations": [{validations}]}}"#
        ),
    );
    let out = repo.check_gate("G1", &["--depth", depth, "--json"]);
    assert!(
        out.code == 0 || out.code == 1,
        "unexpected exit {}: {}",
        out.code,
        out.stderr
    );
    let v = out.json();
    assert_eq!(out.code == 0, v["status"] == "PASS");
    (out.code, v)
}

/// The single validation's result.
fn one(repo: &TestRepo, validation: &str) -> Value {
    let (_, v) = eval(repo, "{}", validation, "standard");
    let results = v["validations"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{v:#}");
    results[0].clone()
}

#[track_caller]
fn assert_result(r: &Value, pass: bool, reason: &str) {
    assert_eq!(r["pass"], pass, "{r:#}");
    let got = r["reason"].as_str().unwrap_or_default();
    assert!(got.contains(reason), "reason {got:?} lacks {reason:?}");
}

#[test]
fn file_exists_any_of_all_required_and_path() {
    let repo = TestRepo::new();
    let outputs = r#"{"all_of": [{"path": "{artifact_path}/a.md"}, {"path": "{artifact_path}/opt.md", "required": false}],
                     "any_of": [{"path": "{artifact_path}/x.md"}, {"path": "{artifact_path}/y.md"}]}"#;
    let checks = r#"{"type": "file_exists", "target": "all_required"}, {"type": "file_exists", "target": "any_of"},
                    {"type": "file_exists", "target": "{artifact_path}/a.md"}"#;
    let (code, v) = eval(&repo, outputs, checks, "standard");
    assert_eq!(code, 1);
    let r = v["validations"].as_array().unwrap();
    assert_result(&r[0], false, "missing out/a.md");
    assert_result(&r[1], false, "none of out/x.md, out/y.md exists");
    assert_result(&r[2], false, "out/a.md not found");
    assert_eq!(
        r[1]["checked"],
        serde_json::json!([{"path": "out/x.md", "exists": false}, {"path": "out/y.md", "exists": false}])
    );

    repo.write("out/a.md", "a").write("out/y.md", "y");
    let (code, v) = eval(&repo, outputs, checks, "standard");
    assert_eq!(code, 0);
    let r = v["validations"].as_array().unwrap();
    assert_result(&r[0], true, "out/a.md exists");
    assert_result(&r[1], true, "found out/y.md");
    assert_eq!(r[1]["path"], "out/y.md");
    // Optional outputs that exist are hashed too; missing ones are not listed.
    repo.write("out/opt.md", "o");
    let (_, v) = eval(&repo, outputs, checks, "standard");
    let paths: Vec<&str> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["out/a.md", "out/opt.md", "out/y.md"]);
}

#[test]
fn required_outputs_are_checked_even_without_file_exists() {
    let repo = TestRepo::new();
    let (code, v) = eval(
        &repo,
        r#"{"all_of": [{"path": "{artifact_path}/a.md"}], "any_of": [{"path": "{artifact_path}/b.md"}]}"#,
        "",
        "standard",
    );
    assert_eq!(code, 1);
    let r = v["validations"].as_array().unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["implicit"], true);
    assert_result(&r[0], false, "missing out/a.md");
    assert_result(&r[1], false, "none of out/b.md exists");
}

#[test]
fn depth_decides_which_all_of_outputs_are_required() {
    let repo = TestRepo::new();
    let outputs = r#"{"all_of": [{"path": "{artifact_path}/deep.md", "required_for_depth": ["deep"]},
                                 {"path": "{artifact_path}/full.md", "optional_for_depth": ["quick"]}]}"#;
    let check = r#"{"type": "file_exists", "target": "all_required"}"#;
    assert_eq!(eval(&repo, outputs, check, "quick").0, 0);
    let (code, v) = eval(&repo, outputs, check, "standard");
    assert_eq!(code, 1);
    assert_result(&v["validations"][0], false, "missing out/full.md");
    let (_, v) = eval(&repo, outputs, check, "deep");
    assert_result(
        &v["validations"][0],
        false,
        "missing out/deep.md, out/full.md",
    );
}

#[test]
fn directory_and_glob_outputs_hash_every_file() {
    let repo = TestRepo::new();
    repo.write("out/data/b.bin", "b")
        .write("out/data/sub/a.bin", "a")
        .write("out/c.csv", "c")
        .write("out/d.csv", "d");
    let (code, v) = eval(
        &repo,
        r#"{"all_of": [{"path": "{artifact_path}/data"}, {"path": "{artifact_path}/*.csv"}, {"path": "{artifact_path}/*.none"}]}"#,
        "",
        "standard",
    );
    assert_eq!(code, 1, "a glob with no match is a missing output");
    assert_result(&v["validations"][0], false, "missing out/*.none");
    let paths: Vec<&str> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        vec![
            "out/data/b.bin",
            "out/data/sub/a.bin",
            "out/c.csv",
            "out/d.csv"
        ]
    );
}

#[test]
fn dir_exists() {
    let repo = TestRepo::new();
    let check = r#"{"type": "dir_exists", "target": "{artifact_path}/research"}"#;
    assert_result(&one(&repo, check), false, "out/research not found");
    repo.write("out/research", "a file, not a directory");
    assert_result(&one(&repo, check), false, "out/research is not a directory");
    std::fs::remove_file(repo.path().join("out/research")).unwrap();
    std::fs::create_dir_all(repo.path().join("out/research")).unwrap();
    assert_result(&one(&repo, check), true, "out/research is a directory");
}

#[test]
fn min_file_count_counts_matching_regular_files_directly_inside() {
    let repo = TestRepo::new();
    let check = r#"{"type": "min_file_count", "target": "{artifact_path}/r", "pattern": "*.md", "thresholds": {"quick": 1, "standard": 3}}"#;
    assert_result(&one(&repo, check), false, "directory out/r not found");
    repo.write("out/r/a.md", "")
        .write("out/r/b.md", "")
        .write("out/r/c.txt", "")
        .write("out/r/sub/d.md", "");
    let r = one(&repo, check);
    assert_result(
        &r,
        false,
        "2 files matching `*.md`, need at least 3 (standard)",
    );
    assert_eq!(
        (r["count"].as_u64(), r["threshold"].as_u64()),
        (Some(2), Some(3))
    );
    repo.write("out/r/e.md", "");
    assert_result(
        &one(&repo, check),
        true,
        "3 files matching `*.md` ≥ 3 (standard)",
    );
    let (_, v) = eval(&repo, "{}", check, "deep");
    assert_result(
        &v["validations"][0],
        false,
        "the contract gives no threshold for depth `deep`",
    );
}

const SOURCES: &str = "# Sources\n### Primary sources\n### A. Author, *Book* (1999)\n- **URL**: https://a.example/one\n### B. Writer, *Paper* (2001)\n- **URL**: https://b.example/two\n### Notes\n";

#[test]
fn min_sources_uses_the_best_heuristic() {
    let repo = TestRepo::new();
    let check = r#"{"type": "min_sources", "target": "{artifact_path}/SOURCES.md", "thresholds": {"standard": 3}}"#;
    assert_result(&one(&repo, check), false, "file not found");
    repo.write("out/SOURCES.md", SOURCES);
    let r = one(&repo, check);
    assert_result(&r, false, "2 sources, need at least 3 (standard)");
    assert_eq!(r["counted_by"], "headings");
    repo.write(
        "out/SOURCES.md",
        &format!(
            "{SOURCES}See https://c.example/x, https://d.example/y and https://a.example/one.\n"
        ),
    );
    let r = one(&repo, check);
    assert_result(&r, true, "sources ≥ 3 (standard)");
    assert_eq!(r["counted_by"], "urls");
}

#[test]
fn min_sources_any_of_takes_the_best_file() {
    let repo = TestRepo::new();
    let check = r#"{"type": "min_sources_any_of", "targets": ["{artifact_path}/CITATIONS.md", "{artifact_path}/CLAIMS.md"], "thresholds": {"standard": 2}}"#;
    assert_result(&one(&repo, check), false, "none of the source files exists");
    repo.write("out/CLAIMS.md", "### One claim source\n");
    assert_result(&one(&repo, check), false, "1 sources, need at least 2");
    repo.write("out/CITATIONS.md", SOURCES);
    let r = one(&repo, check);
    assert_result(&r, true, "2 sources ≥ 2");
    assert_eq!(r["matched"], "out/CITATIONS.md");
    assert_eq!(
        r["checked"][1],
        serde_json::json!({"path": "out/CLAIMS.md", "exists": true, "count": 1})
    );
}

#[test]
fn contains_headings_and_contains_text() {
    let repo = TestRepo::new();
    let headings = r###"{"type": "contains_headings", "target": "{artifact_path}/SPEC.md", "required_headings": ["## Layer 1", "## Layer 2"]}"###;
    let text = r#"{"type": "contains_text", "target": "{artifact_path}/SPEC.md", "patterns": ["Layer", "{slug}-ref", "absent"]}"#;
    assert_result(&one(&repo, headings), false, "file not found");
    assert_result(&one(&repo, text), false, "file not found");
    repo.write("out/SPEC.md", "## Layer 1\nsee s-ref\n");
    let r = one(&repo, headings);
    assert_result(&r, false, "missing `## Layer 2`");
    assert_eq!(r["missing"], serde_json::json!(["## Layer 2"]));
    let r = one(&repo, text);
    assert_result(&r, false, "missing `absent`");
    assert_eq!(
        r["patterns"],
        serde_json::json!(["Layer", "s-ref", "absent"]),
        "{{slug}} is substituted in patterns"
    );
    repo.write("out/SPEC.md", "## Layer 1\n## Layer 2\ns-ref absent\n");
    assert_result(&one(&repo, headings), true, "all 2 headings present");
    assert_result(&one(&repo, text), true, "all 3 strings present");
    let single =
        r#"{"type": "contains_text", "target": "{artifact_path}/SPEC.md", "patterns": "s-ref"}"#;
    assert_result(&one(&repo, single), true, "all 1 strings present");
}

#[test]
fn not_contains_with_missing_ok() {
    let repo = TestRepo::new();
    let strict =
        r#"{"type": "not_contains", "target": "{artifact_path}/a.md", "pattern": "[DRAFT]"}"#;
    let lenient = r#"{"type": "not_contains", "target": "{artifact_path}/a.md", "pattern": "[DRAFT]", "missing_ok": true}"#;
    assert_result(&one(&repo, strict), false, "file not found");
    assert_result(&one(&repo, lenient), true, "file not found (missing_ok)");
    repo.write("out/a.md", "fine\nstill [DRAFT] here\n");
    let r = one(&repo, strict);
    assert_result(&r, false, "found `[DRAFT]` at line 2");
    assert_eq!(r["found"], true);
    repo.write("out/a.md", "final\n");
    assert_result(&one(&repo, strict), true, "`[DRAFT]` not found");
}

#[test]
fn warnings_are_reported_but_do_not_fail_the_gate() {
    let repo = TestRepo::new();
    repo.write("out/a.md", "[DRAFT]\n");
    let (code, v) = eval(
        &repo,
        "{}",
        r#"{"type": "not_contains", "target": "{artifact_path}/a.md", "pattern": "[DRAFT]", "severity": "warning"}"#,
        "standard",
    );
    assert_eq!(code, 0);
    assert_eq!(v["validations"][0]["pass"], false);
    assert_eq!(v["validations"][0]["severity"], "warning");
    let out = repo.check_gate("G1", &[]);
    out.ok()
        .stdout_has("! not_contains")
        .stdout_has("(warning)")
        .stdout_has("PASS G1 (1 check, 1 warning)");
}

#[test]
fn regex_match_is_multi_line_and_can_forbid() {
    let repo = TestRepo::new();
    let must =
        r#"{"type": "regex_match", "target": "{artifact_path}/C.tsx", "regex": "^import .*d3"}"#;
    let must_not = r#"{"type": "regex_match", "target": "{artifact_path}/C.tsx", "regex": "[\\u{1F300}-\\u{1F9FF}]", "must_not_match": true}"#;
    assert_result(&one(&repo, must), false, "file not found");
    repo.write("out/C.tsx", "const a = 1;\nimport * as d3 from 'd3';\n");
    assert_result(&one(&repo, must), true, "matches at line 2");
    assert_result(&one(&repo, must_not), true, "no match, as required");
    repo.write("out/C.tsx", "const a = 1;\nconst b = '🌍';\n");
    assert_result(&one(&repo, must), false, "no match for /^import .*d3/");
    let r = one(&repo, must_not);
    assert_result(&r, false, "matched `🌍` at line 2, which is not allowed");
    assert_eq!(r["matched"], true);
}

#[test]
fn min_regex_count_counts_non_overlapping_matches() {
    let repo = TestRepo::new();
    let check = r#"{"type": "min_regex_count", "target": "{artifact_path}/C.tsx", "regex": "src=\\{IMAGES\\.", "min_count": 3}"#;
    assert_result(&one(&repo, check), false, "file not found");
    repo.write(
        "out/C.tsx",
        "<img src={IMAGES.a} /><img src={IMAGES.b} />\n",
    );
    let r = one(&repo, check);
    assert_result(
        &r,
        false,
        "2 matches of /src=\\{IMAGES\\./, need at least 3",
    );
    assert_eq!(r["actual_count"], 2);
    repo.write(
        "out/C.tsx",
        "<img src={IMAGES.a} /><img src={IMAGES.b} />\n<img src={IMAGES.c} />\n",
    );
    assert_result(&one(&repo, check), true, "3 matches ≥ 3");
}

#[test]
fn frontmatter_status_checks_equals_not_and_min() {
    let repo = TestRepo::new();
    let check = r#"{"type": "frontmatter_status", "target": "{artifact_path}/AUDIT.md",
                    "checks": {"status": {"not": "FAIL"}, "score": {"min": 8}, "kind": "audit"}}"#;
    assert_result(&one(&repo, check), false, "file not found");
    repo.write("out/AUDIT.md", "# no frontmatter\nstatus: PASS\n");
    assert_result(
        &one(&repo, check),
        false,
        "does not start with a `---` frontmatter block",
    );
    repo.write(
        "out/AUDIT.md",
        "---\nstatus: FAIL\nscore: 7.5\nkind: audit\n---\n",
    );
    let r = one(&repo, check);
    assert_result(&r, false, "score is 7.5, needs at least 8");
    assert_result(&r, false, "status is `FAIL` (must not be `FAIL`)");
    assert_eq!(r["fields"]["score"], "7.5");
    repo.write(
        "out/AUDIT.md",
        "---\nstatus: \"PASS\"\nscore: 8\nkind: audit\n---\nstatus: FAIL in the body is ignored\n",
    );
    assert_result(&one(&repo, check), true, "kind = audit");
}

#[test]
fn content_checks_fall_back_to_the_existing_any_of_output() {
    let repo = TestRepo::new();
    repo.write("out/research/AUDIT.md", "status: FAIL\n");
    let (code, v) = eval(
        &repo,
        r#"{"any_of": [{"path": "{artifact_path}/AUDIT.md"}, {"path": "{artifact_path}/research/AUDIT.md"}]}"#,
        r#"{"type": "not_contains", "target": "{artifact_path}/AUDIT.md", "pattern": "status: FAIL"}"#,
        "standard",
    );
    assert_eq!(
        code, 1,
        "the rejection in the file that exists is not silently skipped"
    );
    let r = &v["validations"][1];
    assert_eq!(r["path"], "out/research/AUDIT.md");
    assert_eq!(r["fallback_from"], "out/AUDIT.md");
    assert_result(r, false, "found `status: FAIL` at line 1");
}

#[test]
fn client_component_is_the_first_client_file_by_name() {
    let repo = TestRepo::new();
    let check =
        r#"{"type": "contains_text", "target": "{client_component}", "patterns": "SOURCES"}"#;
    assert_result(
        &one(&repo, check),
        false,
        "no client component (a file ending in Client.tsx or Client.jsx) in `out`",
    );
    repo.write("out/ZedClient.tsx", "nothing")
        .write("out/RobotClient.jsx", "export const SOURCES = [];");
    let r = one(&repo, check);
    assert_result(&r, true, "all 1 strings present");
    assert_eq!(r["path"], "out/RobotClient.jsx");
}

#[test]
fn url_reachable_offline_is_skipped_and_shown_as_a_warning() {
    let repo = TestRepo::new();
    repo.write("out/images.ts", "const A = \"https://images.example/a.jpg\";\nconst B = \"https://images.example/b.jpg\";\n");
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "validations": [{"type": "url_reachable", "target": "{artifact_path}/images.ts", "url_pattern": "https://images\\.example/[^\"]+"}]}"#,
    );
    let out = repo.check_gate("G1", &["--offline", "--json"]);
    let v = out.ok().json();
    let r = &v["validations"][0];
    assert_eq!(
        (r["skipped"].as_bool(), r["pass"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(r["total_urls"], 2);
    let out = repo.check_gate_env("G1", &[], &[("ORCH_OFFLINE", "1")]);
    out.ok()
        .stdout_has("- url_reachable")
        .stdout_has("skipped (offline): 2 URL(s) not checked")
        .stdout_has("1 warning");
}
