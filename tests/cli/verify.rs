//! `orch verify`: every finding class, every format, the cache, and the
//! Node runner's records.

use serde_json::Value;

use crate::common::{TestRepo, VERIFY_CACHE, compat_dir, copy_dir, settle};

/// A completed, PASSED run of the shipped workflow: the README's main
/// command (scripted agent, vetted skills, G3's start approved).
fn passed_run(repo: &TestRepo) -> String {
    let (out, run) = repo.example_run("robot");
    out.ok();
    run
}

/// (case name, level, kind, message) for every finding.
fn findings(doc: &Value) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for g in doc["groups"].as_array().unwrap() {
        for c in g["cases"].as_array().unwrap() {
            for f in c["findings"].as_array().unwrap() {
                out.push((
                    c["name"].as_str().unwrap().to_string(),
                    f["level"].as_str().unwrap().to_string(),
                    f["kind"].as_str().unwrap().to_string(),
                    f["message"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

fn verify_json(repo: &TestRepo, extra: &[&str], code: i32) -> Value {
    let mut args = vec!["verify", "--format", "json", "--no-cache"];
    args.extend_from_slice(extra);
    repo.orch(&args).code(code).json()
}

#[test]
fn an_untouched_run_holds() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    repo.orch(&["verify"])
        .ok()
        .stdout_has("verify: ok: 4 checked, 0 failed, 0 skipped; 0 errors, 0 warnings");
    let doc = verify_json(&repo, &[], 0);
    assert_eq!(doc["groups"][0]["name"], run.as_str());
    let cases: Vec<&str> = doc["groups"][0]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        cases,
        vec![
            "record",
            "G1 Intake Approval",
            "G2 Research Complete",
            "G3 Spec Approval"
        ]
    );
    assert!(
        doc["groups"][0]["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["outcome"] == "passed")
    );
}

#[test]
fn modified_and_missing_outputs_name_their_gate_and_path() {
    let repo = TestRepo::shipped();
    passed_run(&repo);
    repo.write("essays/robot/research/SOURCES.md", "### one source now\n");
    std::fs::remove_file(repo.path().join("essays/robot/research/QUOTES.md")).unwrap();
    let doc = verify_json(&repo, &[], 1);
    let found = findings(&doc);
    let g2: Vec<_> = found
        .iter()
        .filter(|f| f.0 == "G2 Research Complete")
        .collect();
    assert!(
        g2.iter().any(|f| f.2 == "modified"
            && f.3.starts_with(
                "essays/robot/research/SOURCES.md changed since G2 passed (recorded "
            )
            && f.3.contains(", now ")),
        "{g2:#?}"
    );
    assert!(
        g2.iter().any(|f| f.2 == "missing"
            && f.3 == "essays/robot/research/QUOTES.md was recorded by G2 and no longer exists"),
        "{g2:#?}"
    );
    // The contract fails today too: too few sources, no quotes.
    assert!(
        g2.iter()
            .any(|f| f.2 == "contract_failing" && f.3.contains("min_sources")),
        "{g2:#?}"
    );
}

#[test]
fn a_failing_contract_and_a_changed_contract_are_reported() {
    let repo = TestRepo::shipped();
    passed_run(&repo);
    let path = "orchestration/gates/contracts/G1.contract.json";
    let changed = repo
        .read(path)
        .replace("\"## Depth\"]", "\"## Depth\", \"## Budget\"]");
    repo.write(path, &changed);
    let doc = verify_json(&repo, &[], 1);
    let found = findings(&doc);
    let g1: Vec<_> = found
        .iter()
        .filter(|f| f.0 == "G1 Intake Approval")
        .collect();
    assert!(
        g1.iter().any(|f| f.1 == "error"
            && f.2 == "contract_failing"
            && f.3.contains("missing `## Budget`")),
        "{g1:#?}"
    );
    assert!(
        g1.iter()
            .any(|f| f.1 == "warning" && f.2 == "contract_changed"),
        "{g1:#?}"
    );
    // A contract that changed but still passes is a warning, not a failure.
    let still_passing = repo.read(path).replace(", \"## Budget\"]", "]").replace(
        "\"description\": \"An intake document exists\"",
        "\"description\": \"Reworded\"",
    );
    repo.write(path, &still_passing);
    let doc = verify_json(&repo, &[], 0);
    assert_eq!(doc["summary"]["warnings"], 1);
    assert_eq!(doc["summary"]["errors"], 0);
}

#[test]
fn a_later_gate_is_stale_when_an_earlier_output_changes() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    repo.write(
        "essays/robot/research/SYNTHESIS.md",
        "# Synthesis\n\nRewritten after the spec was approved.\n",
    );
    let doc = verify_json(&repo, &["--run", &run], 1);
    let found = findings(&doc);
    assert!(
        found.iter().any(|f| f.0 == "G3 Spec Approval"
            && f.2 == "stale"
            && f.3 == "G3 is stale: G2 output essays/robot/research/SYNTHESIS.md changed since G3 passed"),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.0 == "G2 Research Complete" && f.2 == "modified")
    );
    assert!(
        !found.iter().any(|f| f.0 == "G1 Intake Approval"),
        "G1 did not depend on G2"
    );
}

#[test]
fn redoing_an_earlier_gate_leaves_the_later_one_stale() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    for gate in ["G1", "G2", "G3"] {
        repo.start_gate(&run, gate, "a").ok();
        repo.do_work(gate, "robot");
        repo.finish_gate(&run, gate).ok();
    }
    // G2 is redone (and passes) after G3 passed: G2 holds, G3's evidence is gone.
    repo.start_gate(&run, "G2", "a").ok();
    repo.write(
        "essays/robot/research/QUOTES.md",
        "# Quotes\n\n- A new quote.\n",
    );
    repo.finish_gate(&run, "G2").ok();
    let doc = verify_json(&repo, &[], 1);
    let found = findings(&doc);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, "G3 Spec Approval");
    assert_eq!(
        found[0].3,
        "G3 is stale: G2 output essays/robot/research/QUOTES.md changed since G3 passed"
    );
}

#[test]
fn inconsistent_and_unreadable_records_are_reported() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    let record = format!("orchestration/runs/{run}/record");
    let a1 = format!("{record}/gates/G1/attempt-1.json");
    repo.write(
        &a1,
        &repo.read(&a1).replace(
            "\"agent\": \"intake-editor\"",
            "\"agent\": \"someone-else\"",
        ),
    );
    std::fs::remove_file(
        repo.path()
            .join(format!("{record}/gates/G3/attempt-1.json")),
    )
    .unwrap();
    repo.write(&format!("{record}/gates/G2/attempt-9.json"), "{}\n");
    let run_json = format!("{record}/RUN.json");
    let mut v: Value = serde_json::from_str(&repo.read(&run_json)).unwrap();
    v["gates"][0]["attempts"][0]["status"] = "FAIL".into();
    v["gates"][2]["status"] = "FAIL".into();
    repo.write(&run_json, &serde_json::to_string_pretty(&v).unwrap());
    repo.write(&format!("{record}/.orch-tmp-abc"), "{");
    repo.write(
        "orchestration/runs/run_broken/record/RUN.json",
        "{\"run_id\": \"run_broken\",\n",
    );

    let doc = verify_json(&repo, &[], 1);
    let found = findings(&doc);
    let record_findings: Vec<&String> = found
        .iter()
        .filter(|f| f.0 == "record")
        .map(|f| &f.3)
        .collect();
    for expected in [
        "G1 attempt 1: the attempt file and RUN.json differ in `agent`, `status`",
        "gate G1 is PASS but its latest attempt (1) is FAIL",
        "G3 attempt 1 has no attempt file",
        "an attempt file with no attempt in RUN.json",
        "gate G3 is FAIL but its latest attempt (1) is PASS",
        "the run is PASSED but blocking gate G3 is FAIL",
        "a temporary file from an interrupted write",
    ] {
        assert!(
            record_findings.iter().any(|m| m.contains(expected)),
            "{expected:?} not in {record_findings:#?}"
        );
    }
    let broken = doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "run_broken")
        .unwrap()
        .clone();
    let f = &broken["cases"][0]["findings"][0];
    assert_eq!(
        (f["kind"].as_str(), f["line"].as_u64()),
        (Some("unreadable"), Some(2))
    );
}

#[test]
fn junit_output_opens_in_junit_viewers() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    let other = repo.start_run("second");
    repo.write("essays/robot/research/SOURCES.md", "changed\n");
    repo.orch(&[
        "verify",
        "--format",
        "junit",
        "--output",
        "reports/verify.xml",
        "--no-cache",
    ])
    .code(1);
    let xml = repo.read("reports/verify.xml");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    let count = |node: roxmltree::Node, tag: &str| {
        node.descendants().filter(|n| n.has_tag_name(tag)).count()
    };
    for attr in [
        ("tests", "testcase"),
        ("failures", "failure"),
        ("skipped", "skipped"),
    ] {
        let total: usize = suites
            .iter()
            .map(|s| s.attribute(attr.0).unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(
            root.attribute(attr.0).unwrap().parse::<usize>().unwrap(),
            total,
            "{}",
            attr.0
        );
        for s in &suites {
            assert_eq!(
                s.attribute(attr.0).unwrap().parse::<usize>().unwrap(),
                count(*s, attr.1),
                "{} in {:?}",
                attr.0,
                s.attribute("name")
            );
        }
    }
    let passed = suites
        .iter()
        .find(|s| s.attribute("name") == Some(run.as_str()))
        .unwrap();
    assert_eq!(passed.attribute("tests"), Some("4"));
    let failures: Vec<_> = passed
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 2, "G2 modified and G3 stale");
    assert_eq!(
        failures[0].parent().unwrap().attribute("name"),
        Some("G2 Research Complete")
    );
    assert_eq!(failures[0].attribute("type"), Some("modified"));
    assert!(
        failures[1]
            .attribute("message")
            .unwrap()
            .starts_with("G3 is stale: G2 output")
    );
    let unstarted = suites
        .iter()
        .find(|s| s.attribute("name") == Some(other.as_str()))
        .unwrap();
    assert_eq!(
        unstarted.attribute("skipped"),
        Some("3"),
        "gates that have not passed are skipped"
    );
}

#[test]
fn github_annotations_and_the_step_summary() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    std::fs::remove_file(repo.path().join("essays/robot/SPEC.md")).unwrap();
    let summary = repo.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let out = repo.orch_env(
        &["verify", "--format", "github", "--no-cache"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    out.code(1).stdout_has(&format!(
        "::error file=essays/robot/SPEC.md,title=orch verify%3A {run} G3 Spec Approval (missing)::essays/robot/SPEC.md was recorded by G3 and no longer exists"
    ));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("earlier step\n### orch verify\n\n❌ 1 of 4 failed"),
        "appended, not replaced:\n{md}"
    );
    assert!(md.contains(&format!("| ❌ | {run} | G3 Spec Approval | missing: essays/robot/SPEC.md was recorded by G3 and no longer exists |")), "{md}");
}

#[test]
fn run_selection_and_usage_errors() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    repo.start_run("other");
    let doc = verify_json(&repo, &["--run", &run[run.len() - 6..]], 0);
    assert_eq!(doc["groups"].as_array().unwrap().len(), 1);
    let out = repo.orch(&["verify", "--run", "nope"]);
    assert_eq!(out.code(2).one_error(), "error: no run matches `nope`");
    repo.orch(&["verify", "--all", "--run", &run]).code(2);
    let empty = TestRepo::new();
    empty
        .orch(&["verify"])
        .ok()
        .stdout_has("verify: ok: 0 checked");
}

const CACHE: &str = VERIFY_CACHE;

/// Rewrites the cached finding of the (only) run, with a valid checksum.
fn poison_cache(repo: &TestRepo, edit: impl Fn(&mut Value)) {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    let text = repo.read(CACHE);
    let (header, rest) = text.split_once('\n').unwrap();
    let (at, body) = rest.split_once('\n').unwrap();
    let mut fields: Vec<String> = at.split('\t').map(String::from).collect();
    let body: String = body
        .lines()
        .map(|line| match line.strip_prefix("g\t") {
            Some(json) => {
                let mut group: Value = serde_json::from_str(json).unwrap();
                edit(&mut group);
                format!("g\t{group}\n")
            }
            None => format!("{line}\n"),
        })
        .collect();
    fields[4] = body.len().to_string();
    fields[3] = Sha256::digest(body.as_bytes())
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
    repo.write(CACHE, &format!("{header}\n{}\n{body}", fields.join("\t")));
}

#[test]
fn a_second_verify_answers_from_the_cache_and_no_cache_checks_afresh() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    settle();
    repo.orch(&["verify"]).ok();
    let cache = repo.read(CACHE);
    assert!(cache.contains(&format!("@\t{run}\t")), "{cache}");
    assert!(
        cache.contains("d\tessays/robot/SPEC.md\n"),
        "recorded outputs are among what the finding depends on"
    );
    // Prove the cache is read: poison the finding, and verify believes it...
    poison_cache(&repo, |g| {
        g["cases"][1]["findings"] = serde_json::json!([
            {"level": "error", "kind": "poisoned", "message": "from the cache"}
        ]);
    });
    let doc = repo.orch(&["verify", "--format", "json"]).code(1).json();
    assert_eq!(findings(&doc)[0].2, "poisoned");
    // ...while --no-cache checks afresh and leaves the cache alone.
    let before = repo.read(CACHE);
    repo.orch(&["verify", "--no-cache"]).ok();
    assert_eq!(repo.read(CACHE), before);
    // A damaged entry is not believed.
    repo.write(CACHE, &before.replace("from the cache", "from the cachf"));
    repo.orch(&["verify"]).ok();
}

/// Makes G3's contract (still valid) require a heading SPEC.md lacks;
/// returns its path.
fn require_layer_7(repo: &TestRepo) -> &'static str {
    let contract = "orchestration/gates/contracts/G3.contract.json";
    let mut c: Value = serde_json::from_str(&repo.read(contract)).unwrap();
    c["validations"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "type": "contains_headings",
            "target": "{artifact_path}/SPEC.md",
            "required_headings": ["## Layer 7"]
        }));
    repo.write(contract, &serde_json::to_string_pretty(&c).unwrap());
    contract
}

/// A change made to a repository in a test.
type Change = Box<dyn Fn(&TestRepo)>;

#[test]
fn a_cached_finding_is_dropped_when_anything_it_depends_on_changes() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    let record = format!("orchestration/runs/{run}/record");
    let changes: Vec<(&str, Change, &str)> = vec![
        (
            "an output edited in place, same size and modification time",
            Box::new(|repo: &TestRepo| {
                repo.edit_in_place("essays/robot/SPEC.md", |t| t.replacen('#', "%", 1));
            }),
            "modified",
        ),
        (
            "a new file in the record",
            Box::new(move |repo: &TestRepo| {
                repo.write(&format!("{record}/gates/G1/notes.txt"), "mine\n");
            }),
            "stray_file",
        ),
        (
            "a contract that no longer passes",
            Box::new(|repo: &TestRepo| {
                require_layer_7(repo);
            }),
            "contract_failing",
        ),
        (
            "recorded outputs removed with their folder",
            Box::new(|repo: &TestRepo| {
                std::fs::remove_dir_all(repo.path().join("essays/robot/research")).unwrap();
                std::fs::create_dir(repo.path().join("essays/robot/research")).unwrap();
            }),
            "missing",
        ),
    ];
    for (what, change, kind) in changes {
        settle();
        repo.orch(&["verify", "--offline"]);
        assert!(repo.read(CACHE).contains(&run), "{what}: cached");
        change(&repo);
        let doc = repo
            .orch(&["verify", "--offline", "--format", "json"])
            .json();
        assert!(
            findings(&doc).iter().any(|f| f.2 == kind),
            "{what}: {:#?}",
            findings(&doc)
        );
    }
}

#[test]
fn the_cache_follows_the_real_clock_even_with_orch_now() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    settle();
    // With the clock of ORCH_NOW, every file would look changed "later".
    repo.orch_env(&["verify"], &[("ORCH_NOW", "2000-01-01T00:00:00Z")])
        .ok();
    assert!(repo.read(CACHE).contains(&run));
}

#[cfg_attr(
    orch_no_compat,
    ignore = "../shared/compat/esy was absent when orch was built"
)]
#[test]
fn the_node_runners_records_are_verified_too() {
    let Some(compat) = compat_dir() else { return };
    let repo = TestRepo::new();
    copy_dir(
        &compat.join("runs"),
        &repo.path().join("orchestration/runs"),
    );
    let doc = verify_json(&repo, &["--offline"], 1);
    let found = findings(&doc);
    assert!(
        found.iter().any(|f| f.0 == "record"
            && f.3 == "G2 attempt 2: the attempt file and RUN.json differ in `invocation_ids`"),
        "the Node runner did not rewrite the attempt file when it linked an invocation: {found:#?}"
    );
    assert!(found.iter().any(|f| {
        f.2 == "missing"
            && f.3
                .starts_with("src/app/essays/etymology/the-word-robot/research/CITATIONS.md")
    }));
    assert_eq!(doc["summary"]["groups"], 3);
}

#[test]
fn leftover_logs_are_not_runs_and_stray_record_files_are_flagged() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    // Ignored logs left behind after switching branches.
    std::fs::create_dir_all(
        repo.path()
            .join("orchestration/runs/run_gone/logs/invocations"),
    )
    .unwrap();
    let doc = verify_json(&repo, &[], 0);
    assert_eq!(doc["summary"]["groups"], 1);
    let out = repo.orch(&["verify", "--run", "run_gone"]);
    assert!(out.code(1).stdout.contains("has no record"));
    repo.write(
        &format!("orchestration/runs/{run}/record/notes.txt"),
        "mine\n",
    );
    // A merge leftover beside an attempt file, too.
    repo.write(
        &format!("orchestration/runs/{run}/record/gates/G1/attempt-1.json.orig"),
        "{}\n",
    );
    let doc = verify_json(&repo, &[], 0);
    let strays: Vec<&str> = doc["groups"][0]["cases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap())
        .filter(|f| f["kind"] == "stray_file" && f["level"] == "warning")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        strays,
        [
            format!("orchestration/runs/{run}/record/gates/G1/attempt-1.json.orig"),
            format!("orchestration/runs/{run}/record/notes.txt"),
        ]
    );
}

#[test]
fn staged_selects_the_runs_a_commit_touches() {
    let repo = TestRepo::shipped();
    let run = passed_run(&repo);
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap()
    };
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    let doc = verify_json(&repo, &["--staged"], 0);
    assert_eq!(doc["summary"]["groups"], 0, "nothing staged");
    repo.write("essays/robot/research/QUOTES.md", "changed\n");
    git(&["add", "essays/robot/research/QUOTES.md"]);
    let doc = verify_json(&repo, &["--staged"], 1);
    assert_eq!(doc["groups"][0]["name"], run.as_str());
    repo.orch(&["verify", "--staged", "--all"]).code(2);
    git(&["reset", "-q", "--hard"]);

    // Moving a recorded output away counts: a rename is its old path too.
    git(&["mv", "essays/robot/SPEC.md", "essays/robot/SPEC-old.md"]);
    let doc = verify_json(&repo, &["--staged"], 1);
    assert_eq!(doc["summary"]["groups"], 1);
    assert!(
        findings(&doc).iter().any(|f| f.2 == "missing"),
        "{:#?}",
        findings(&doc)
    );
    git(&["reset", "-q", "--hard"]);

    // So does a valid contract change that a passed gate no longer meets.
    let contract = require_layer_7(&repo);
    git(&["add", contract]);
    let doc = verify_json(&repo, &["--staged"], 1);
    assert_eq!(doc["summary"]["groups"], 1);
    assert!(
        findings(&doc)
            .iter()
            .any(|f| f.0.starts_with("G3") && f.2 == "contract_failing" && f.3.contains("Layer 7")),
        "{:#?}",
        findings(&doc)
    );
}

#[test]
fn quiet_shows_only_what_is_wrong_and_says_each_path_once() {
    let repo = TestRepo::shipped();
    passed_run(&repo);
    let out = repo.orch(&["verify", "--quiet"]);
    assert_eq!(
        out.ok().stdout,
        "verify: ok: 4 checked, 0 failed, 0 skipped; 0 errors, 0 warnings\n"
    );
    repo.write("essays/robot/SPEC.md", "rewritten\n");
    let out = repo.orch(&["verify", "-q", "--color", "never"]);
    let lines: Vec<&str> = out.code(1).stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert!(lines[0].starts_with("run_"), "{lines:#?}");
    assert_eq!(lines[1], "  ✗ G3 Spec Approval");
    assert!(
        lines[2].starts_with("      error: essays/robot/SPEC.md changed since G3 passed"),
        "{lines:#?}"
    );
    assert!(
        lines[3].contains("G3.contract.json: the contract no longer passes"),
        "{lines:#?}"
    );
    assert!(lines[4].starts_with("verify: FAILED"), "{lines:#?}");
    repo.orch(&["lint", "--quiet"])
        .ok()
        .stdout_has("lint: ok: 12 checked");
}
