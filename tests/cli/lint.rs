//! `orch lint` on good and broken sources, on the Node runner's files, and
//! in every output format.

use serde_json::Value;

use crate::common::{TestRepo, compat_dir};

fn findings(doc: &Value) -> Vec<(String, String, String)> {
    doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["cases"].as_array().unwrap().iter())
        .flat_map(|c| c["findings"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["kind"].as_str().unwrap().to_string(),
                format!(
                    "{}:{}:{}: {}",
                    f["file"].as_str().unwrap_or(""),
                    f["line"].as_u64().unwrap_or(0),
                    f["column"].as_u64().unwrap_or(0),
                    f["message"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

#[test]
fn the_shipped_sources_are_clean() {
    // Fully automatic gates need vetted skills: until they are vetted, lint
    // says so, gate by gate; the example's vettings make them clean.
    let repo = TestRepo::shipped();
    let out = repo.orch(&["lint"]);
    out.code(1)
        .stdout_has("lint: FAILED: 12 checked, 1 failed, 0 skipped; 2 errors, 0 warnings")
        .stdout_has("G1: fully_auto, but only vetted skills run without a person (skill `essay-intake` is experimental: no vetting;")
        .stdout_has("G2: fully_auto, but only vetted skills run without a person (skill `essay-research` is experimental");
    assert!(
        !out.stdout.contains("G3: fully_auto"),
        "G3 is human_approval"
    );
    repo.trust_example();
    repo.orch(&["lint"])
        .ok()
        .stdout_has("lint: ok: 12 checked, 0 failed, 0 skipped; 0 errors, 0 warnings");
}

#[cfg(unix)]
#[test]
fn broken_sources_report_every_problem_with_its_position() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TestRepo::shipped();
    repo.write(
        "orchestration/workflows/visual-essay.json",
        r#"{"workflow": "visual-essay", "colour": "blue", "gates": [
  {"gate": "G1", "prompt_template": "G1"},
  {"gate": "G2", "prompt_template": "G2", "retries": 1, "owner": "me"},
  {"gate": "G3", "prompt_template": "G3"},
  {"gate": "G4", "prompt_template": "G4"}
]}"#,
    )
    .write(
        "orchestration/gates/contracts/G1.contract.json",
        "{\"gate\": \"G1\",\n  \"validations\": [],\n}\n",
    )
    .write(
        "orchestration/gates/contracts/G2.contract.json",
        r#"{"gate": "G2", "extra": 1,
  "required_skills": [{"path": "skills/none", "inject": ["SKILL.md"]}],
  "validations": [
    {"type": "nope"},
    {"type": "regex_match", "target": "a", "regex": "(unclosed"},
    {"type": "dir_exists", "target": "{artefact_path}/x"},
    {"type": "min_sources", "target": "a", "thresholds": {"standard": 3}, "huristic": "x"}
  ]}"#,
    )
    .write(
        "orchestration/gates/contracts/G3.contract.json",
        r#"{"gate": "G9"}"#,
    )
    .write(
        "orchestration/prompts/G2.md",
        "Do {slug}\nthen {audience}\n",
    )
    .write("orchestration/validators/lazy", "#!/bin/sh\n");
    std::fs::create_dir_all(repo.path().join("skills/empty")).unwrap();
    repo.write("orchestration/validators/unused", "#!/bin/sh\n");
    std::fs::set_permissions(
        repo.path().join("orchestration/validators/unused"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();

    let out = repo.orch(&["lint", "--format", "json"]);
    let doc = out.code(1).json();
    let found = findings(&doc);
    let has = |level: &str, kind: &str, text: &str| {
        assert!(
            found
                .iter()
                .any(|(l, k, m)| l == level && k == kind && m.contains(text)),
            "no {level} {kind} containing {text:?} in\n{found:#?}"
        );
    };
    has(
        "error",
        "contract",
        "orchestration/gates/contracts/G1.contract.json:3:1: invalid JSON: trailing comma",
    );
    has(
        "error",
        "unknown_type",
        "G2.contract.json:4:5: unknown validation type `nope`",
    );
    has(
        "error",
        "contract",
        "G2.contract.json:5:5: `regex` does not compile",
    );
    has(
        "error",
        "contract",
        "unknown template variable `{artefact_path}`",
    );
    has(
        "error",
        "missing_skill",
        "required skill file `skills/none/SKILL.md` does not exist",
    );
    has(
        "warning",
        "thresholds",
        "`min_sources` has no threshold for quick, deep",
    );
    has(
        "warning",
        "unknown_key",
        "G2.contract.json:7:75: unknown key `huristic` in `min_sources` validation",
    );
    has(
        "warning",
        "unknown_key",
        "G2.contract.json:1:16: unknown key `extra` in contract",
    );
    has(
        "error",
        "gate_name",
        "G3.contract.json:1:2: the file is named for gate `G3` but says `\"gate\": \"G9\"`",
    );
    has(
        "error",
        "contract_gate",
        "gate `G3` points at a contract for gate `G9`",
    );
    has(
        "error",
        "missing_contract",
        "gate `G4`: contract `orchestration/gates/contracts/G4.contract.json` does not exist",
    );
    has(
        "error",
        "missing_prompt",
        "gate `G4`: prompt template `orchestration/prompts/G4.md` does not exist",
    );
    has(
        "warning",
        "unknown_key",
        "visual-essay.json:1:30: unknown key `colour` in workflow",
    );
    has("warning", "unknown_key", "unknown key `owner` in gate `G2`");
    has(
        "error",
        "template_variable",
        "orchestration/prompts/G2.md:2:6: unknown template variable `{audience}`",
    );
    has(
        "error",
        "missing_skill",
        "skills/empty/SKILL.md:0:0: skill folder `skills/empty` has no SKILL.md",
    );
    has(
        "error",
        "validator_not_executable",
        "validator `lazy` is not executable",
    );
    has(
        "warning",
        "validator_unused",
        "no linted contract uses type `unused`",
    );
    assert_eq!(
        doc["summary"]["errors"].as_u64(),
        Some(found.iter().filter(|f| f.0 == "error").count() as u64)
    );

    // A single file can be linted alone; a file orch does not know is a usage error.
    let out = repo.orch(&["lint", "orchestration/prompts/G1.md"]);
    out.ok().stdout_has("0 errors");
    repo.write("README.md", "# notes\n");
    let out = repo.orch(&["lint", "README.md"]);
    assert!(
        out.code(2)
            .one_error()
            .contains("is not a source orch knows how to lint")
    );
    repo.orch(&["lint", "no/such/path"]).code(2);
}

#[cfg_attr(
    orch_no_compat,
    ignore = "../shared/compat/esy was absent when orch was built"
)]
#[test]
fn the_node_runners_files_have_exactly_one_error() {
    let Some(compat) = compat_dir() else { return };
    let repo = TestRepo::new();
    let out = repo.orch(&["lint", compat.to_str().unwrap(), "--format", "json"]);
    let doc = out.code(1).json();
    let found = findings(&doc);
    let errors: Vec<_> = found.iter().filter(|f| f.0 == "error").collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].1, "unknown_type");
    assert!(
        errors[0].2.ends_with(
            "contracts/G5.contract.json:100:5: unknown validation type `viz_tech_match`"
        ),
        "{}",
        errors[0].2
    );
    assert!(
        found
            .iter()
            .any(|f| f.0 == "warning" && f.2.contains("unknown key `agent` in contract"))
    );
    assert_eq!(
        doc["summary"]["cases"], 19,
        "18 contracts and the workflow; run records are not sources"
    );
}

#[test]
fn junit_and_github_formats() {
    let repo = TestRepo::vetted();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "validations": [{"type": "bogus"}]}"#,
    );
    let out = repo.orch(&["lint", "--format", "junit", "--output", "lint.xml"]);
    out.code(1);
    assert_eq!(out.stdout, "", "the report went to the file");
    let xml = repo.read("lint.xml");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(
        (root.attribute("tests"), root.attribute("failures")),
        (Some("12"), Some("1"))
    );
    let failing: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failing.len(), 1);
    assert!(
        failing[0]
            .attribute("message")
            .unwrap()
            .contains("unknown validation type `bogus`")
    );
    assert_eq!(
        failing[0].parent().unwrap().attribute("name"),
        Some("orchestration/gates/contracts/G1.contract.json")
    );

    let summary = repo.path().join("summary.md");
    let out = repo.orch_env(
        &["lint", "--format", "github"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    out.code(1).stdout_has(
        "::error file=orchestration/gates/contracts/G1.contract.json,line=1,col=32,title=orch lint%3A contracts orchestration/gates/contracts/G1.contract.json (unknown_type)::unknown validation type `bogus`",
    );
    let md = std::fs::read_to_string(summary).unwrap();
    assert!(
        md.starts_with("### orch lint\n\n❌ 1 of 12 failed: 1 error, 0 warnings."),
        "{md}"
    );
    assert!(md.contains("| ❌ | contracts | orchestration/gates/contracts/G1.contract.json | unknown_type: unknown validation type `bogus` |"), "{md}");
}

#[test]
fn paths_a_run_would_refuse_are_lint_errors() {
    let repo = TestRepo::shipped();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1",
  "required_outputs": {"all_of": [{"path": "/etc/passwd"}]},
  "pre_scripts": [{"path": "../../bin/true"}],
  "validations": [{"type": "contains_text", "target": "{artifact_path}/../../x", "patterns": "a"}]}"#,
    );
    let workflow = "orchestration/workflows/visual-essay.json";
    repo.write(
        workflow,
        &repo.read(workflow).replace(
            "\"orchestration/gates/contracts/G2.contract.json\"",
            "\"/tmp/G2.contract.json\"",
        ),
    );
    let doc = repo.orch(&["lint", "--format", "json"]).code(1).json();
    let found = findings(&doc);
    for expected in [
        "G1.contract.json:2:44: required output `/etc/passwd`: is an absolute path",
        "G1.contract.json:3:28: pre-script `../../bin/true`: leaves the repository",
        "validation target `{artifact_path}/../../x`: leaves the repository",
        "gate `G2`: contract `/tmp/G2.contract.json` is an absolute path",
    ] {
        assert!(
            found
                .iter()
                .any(|f| f.0 == "error" && f.1 == "unsafe_path" && f.2.contains(expected)),
            "{expected}: {found:#?}"
        );
    }
    repo.write(
        workflow,
        &repo.read(workflow).replace(
            "\"prompt_template\": \"G3\"",
            "\"prompt_template\": \"../../evil\"",
        ),
    );
    let doc = repo.orch(&["lint", "--format", "json"]).code(1).json();
    assert!(findings(&doc).iter().any(|f| {
        f.2.contains("prompt_template `../../evil` is not a template name")
    }));
}
