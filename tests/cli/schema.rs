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

/// Every field of a contract and a workflow is described in its schema, so
/// an editor shows help when hovering over it.
#[test]
fn every_field_of_a_contract_and_a_workflow_is_described() {
    fn undescribed(
        root: &serde_json::Value,
        v: &serde_json::Value,
        at: &str,
        out: &mut Vec<String>,
    ) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(props) = map.get("properties").and_then(|p| p.as_object()) {
                    for (name, prop) in props {
                        let described = prop.get("description").is_some()
                            || prop.get("const").is_some()
                            || prop
                                .get("$ref")
                                .and_then(|r| r.as_str())
                                .and_then(|r| r.strip_prefix("#/$defs/"))
                                .is_some_and(|d| root["$defs"][d].get("description").is_some());
                        if !described {
                            out.push(format!("{at}.{name}"));
                        }
                    }
                }
                for (k, child) in map {
                    undescribed(root, child, &format!("{at}/{k}"), out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    undescribed(root, child, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let repo = TestRepo::new();
    for kind in ["contract", "workflow"] {
        let schema = repo.orch(&["schema", kind]).ok().json();
        assert!(
            schema["description"].is_string(),
            "{kind} has no description"
        );
        let mut missing = Vec::new();
        undescribed(&schema, &schema, kind, &mut missing);
        assert!(
            missing.is_empty(),
            "fields without a description: {missing:#?}"
        );
    }
    let contract = repo.orch(&["schema", "contract"]).ok().json();
    assert_eq!(
        contract["properties"]["blocking"]["description"],
        "Whether a failure of this gate stops the run (default true)."
    );
}
