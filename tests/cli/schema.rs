//! `orch schema`: the committed schemas in orchestration/schemas/ are what
//! the code generates (regenerate them when this fails; see README).

use crate::common::{TestRepo, project_root};

#[test]
fn committed_schemas_are_up_to_date() {
    let repo = TestRepo::new();
    for kind in ["contract", "workflow", "run", "attempt", "notify"] {
        let generated = repo.orch(&["schema", kind]).ok().stdout.clone();
        let path = project_root().join(format!("orchestration/schemas/{kind}.schema.json"));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            generated == committed,
            "{} is out of date: run `orch schema {kind} > orchestration/schemas/{kind}.schema.json`",
            path.display()
        );
    }
}

#[test]
fn schema_needs_no_repository_and_refuses_unknown_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::common::BIN)
        .args(["schema", "contract"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["title"], "orch gate contract");
    assert!(
        v["$defs"]["BuiltinValidation"]["oneOf"]
            .as_array()
            .unwrap()
            .len()
            == 15
    );
    TestRepo::new()
        .orch(&["schema", "nope"])
        .code(2)
        .stderr_has("invalid value 'nope'");
}
