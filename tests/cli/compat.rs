//! The Node runner's real files (`../shared/compat/esy`): every contract and
//! the workflow load, and its run records list and show. Skipped, saying
//! why, where that folder is absent.

use crate::common::{TestRepo, compat_dir, copy_dir};

#[cfg_attr(
    orch_no_compat,
    ignore = "../shared/compat/esy was absent when orch was built"
)]
#[test]
fn every_compat_contract_loads_and_checks() {
    let Some(compat) = compat_dir() else { return };
    let repo = TestRepo::new();
    copy_dir(
        &compat.join("contracts"),
        &repo.path().join("orchestration/gates/contracts"),
    );
    let workflow = compat.join("workflows/visual-essay.json");
    let workflow = workflow.to_str().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(compat.join("contracts"))
        .unwrap()
        .flatten()
    {
        let name = entry.file_name().into_string().unwrap();
        let gate = name.trim_end_matches(".contract.json");
        let out = repo.orch(&[
            "gate",
            "check",
            "--gate",
            gate,
            "--workflow",
            workflow,
            "--slug",
            "turkana-boy",
            "--artifact-path",
            "src/app/essays/science/turkana-boy",
            "--offline",
            "--json",
        ]);
        if gate == "G5" {
            let line = out.code(2).one_error();
            assert!(
                line.ends_with("unknown validation type `viz_tech_match`"),
                "{line}"
            );
            assert!(
                line.starts_with("error: orchestration/gates/contracts/G5.contract.json:"),
                "{line}"
            );
        } else {
            // Nothing exists in this tree, so each contract fails; but it loads and evaluates.
            let v = out.code(1).json();
            assert_eq!(v["gate"], gate);
            assert!(!v["validations"].as_array().unwrap().is_empty(), "{gate}");
        }
        checked += 1;
    }
    assert_eq!(checked, 18);
}

#[cfg_attr(
    orch_no_compat,
    ignore = "../shared/compat/esy was absent when orch was built"
)]
#[cfg(unix)]
#[test]
fn g5_loads_with_a_validator_plugin_for_viz_tech_match() {
    use std::os::unix::fs::PermissionsExt;
    let Some(compat) = compat_dir() else { return };
    let repo = TestRepo::new();
    repo.write(
        "orchestration/validators/viz_tech_match",
        "#!/bin/sh\necho '{\"pass\": true, \"reason\": \"claims match imports\"}'\n",
    );
    std::fs::set_permissions(
        repo.path().join("orchestration/validators/viz_tech_match"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let contract = compat.join("contracts/G5.contract.json");
    let out = repo.orch(&[
        "gate",
        "check",
        "--gate",
        "G5",
        "--contract",
        contract.to_str().unwrap(),
        "--slug",
        "s",
        "--artifact-path",
        "out",
        "--json",
    ]);
    let v = out.code(1).json();
    let viz = v["validations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "viz_tech_match")
        .unwrap()
        .clone();
    assert_eq!(viz["pass"], true);
    assert_eq!(viz["reason"], "claims match imports");
}

#[cfg_attr(
    orch_no_compat,
    ignore = "../shared/compat/esy was absent when orch was built"
)]
#[test]
fn compat_run_records_list_and_show() {
    let Some(compat) = compat_dir() else { return };
    let repo = TestRepo::new();
    copy_dir(
        &compat.join("runs"),
        &repo.path().join("orchestration/runs"),
    );
    let out = repo.orch(&["run", "list"]);
    let lines: Vec<&str> = out.ok().stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", out.stdout);
    assert!(
        lines[1].starts_with("run_20260305T220244258Z_turkana-boy--opus-4-6_ppjt1l"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("visual-essay/turkana-boy") && lines[1].contains("passed"),
        "{}",
        lines[1]
    );
    assert!(
        lines[3].starts_with("run_20260119T222303959Z_the-word-robot_uc2s1f")
            && lines[3].ends_with("2/3"),
        "{}",
        lines[3]
    );

    let out = repo.orch(&["run", "show", "--run", "uc2s1f"]);
    out.ok()
        .stdout_has("run_20260119T222303959Z_the-word-robot_uc2s1f")
        .stdout_has("G2 Research Complete, 2 attempts")
        .stdout_has("✓ min_sources")
        .stdout_has("inv_1768861428652_b1g2");
    // The Node runner's absolute_path fields are read and dropped, never echoed.
    assert!(!out.stdout.contains("/Users/"), "{}", out.stdout);
    let json = repo
        .orch(&["run", "show", "--run", "uc2s1f", "--json"])
        .ok()
        .json();
    assert!(!json.to_string().contains("/Users/"), "{json}");
    let json = repo
        .orch(&["run", "show", "--run", "ppjt1l", "--json"])
        .ok()
        .json();
    assert_eq!(json["status"], "PASSED");
    assert_eq!(
        json["workflow"]["variant"], "opus-4-6",
        "unknown fields are kept"
    );
    let text = json.to_string();
    assert!(
        !text.contains("\"absolute_path\"") && !text.contains("\"resolved_path\""),
        "{text}"
    );
    let json = repo
        .orch(&["run", "show", "--run", "g8x4ci", "--json"])
        .ok()
        .json();
    assert_eq!(json["depth"], "deep");
}

#[cfg_attr(
    orch_no_compat,
    ignore = "../shared/compat/esy was absent when orch was built"
)]
#[test]
fn writing_to_a_compat_run_keeps_its_history_and_drops_absolute_paths() {
    let Some(compat) = compat_dir() else { return };
    let repo = TestRepo::new();
    copy_dir(
        &compat.join("runs"),
        &repo.path().join("orchestration/runs"),
    );
    let run = "run_20260119T222303959Z_the-word-robot_uc2s1f";
    repo.orch(&[
        "invocation",
        "record",
        "--run",
        run,
        "--gate",
        "G2",
        "--agent",
        "orch-test",
    ])
    .ok();
    let r = repo.run_json(run);
    assert_eq!(r["format_version"], 1);
    assert_eq!(r["gates"][1]["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(r["invocations"][0]["id"], "inv_1768861428652_b1g2");
    assert_eq!(
        r["invocations"][0]["model"], "unknown",
        "unknown fields survive a rewrite"
    );
    assert_eq!(r["invocations"].as_array().unwrap().len(), 2);
    let text = repo.read(&format!("orchestration/runs/{run}/record/RUN.json"));
    assert!(
        !text.contains("/Users/"),
        "absolute paths must not be written back"
    );
    let attempt = repo.attempt_json(run, "G2", 2);
    assert_eq!(attempt["invocation_ids"].as_array().unwrap().len(), 2);
    assert!(!attempt.to_string().contains("/Users/"));
}
