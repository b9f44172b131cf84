//! `orch gate start|finish|fail|check`.

use sha2::{Digest, Sha256};

use crate::common::TestRepo;

fn sha256(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[test]
fn start_numbers_attempts_and_refuses_a_second_one_in_progress() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    let out = repo.orch(&[
        "gate", "start", "--run", &run, "--gate", "G1", "--agent", "editor", "--json",
    ]);
    let v = out.ok().json();
    assert_eq!(v["attempt"], 1);
    let r = repo.run_json(&run);
    assert_eq!(r["gates"][0]["status"], "RUNNING");
    assert_eq!(r["gates"][0]["attempts"][0]["agent"], "editor");
    assert_eq!(
        r["gates"][0]["attempts"][0]["started_by"]["email"],
        "author@example.com"
    );
    assert_eq!(repo.attempt_json(&run, "G1", 1)["status"], "RUNNING");
    let ev = r["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            ev["type"].as_str(),
            ev["gate"].as_str(),
            ev["attempt"].as_u64()
        ),
        (Some("GATE_STARTED"), Some("G1"), Some(1))
    );

    let out = repo.start_gate(&run, "G1", "editor");
    assert_eq!(
        out.code(3).one_error(),
        "error: G1 attempt 1 is still in progress"
    );
    out.stderr_has("hint: finish it: orch gate finish");

    repo.finish_gate(&run, "G1").code(1);
    repo.start_gate(&run, "G1", "editor")
        .ok()
        .stdout_has("G1 attempt 2 started");
}

#[test]
fn start_warns_about_earlier_gates_and_refuses_unknown_ones() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G3", "a")
        .ok()
        .stderr_has("warning: earlier gates have not passed yet: G1, G2");
    let out = repo.start_gate(&run, "G9", "a");
    assert_eq!(
        out.code(2).one_error(),
        format!("error: run `{run}` has no gate `G9`")
    );
    out.stderr_has("hint: its gates are: G1, G2, G3");
}

#[test]
fn finish_without_an_attempt_in_progress_is_a_state_error() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    let out = repo.finish_gate(&run, "G1");
    assert_eq!(out.code(3).one_error(), "error: G1 has not been started");
    out.stderr_has("hint: start an attempt first: orch gate start");
}

#[test]
fn finish_hashes_outputs_and_records_the_attempt() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G2", "researcher").ok();
    repo.do_work("G2", "robot");
    let out = repo.finish_gate(&run, "G2");
    out.ok()
        .stdout_has("G2 Research Complete · attempt 1 · depth standard")
        .stdout_has("✓ min_sources")
        .stdout_has("sources ≥ 6 (standard)")
        .stdout_has("✓ min_file_count")
        .stdout_has("hashed 3 outputs")
        .stdout_has("PASS G2 (8 checks)");

    let a = repo.attempt_json(&run, "G2", 1);
    assert_eq!(a["status"], "PASS");
    assert_eq!(a["failure_reason"], serde_json::Value::Null);
    assert_eq!(
        a["contract"]["path"],
        "orchestration/gates/contracts/G2.contract.json"
    );
    assert_eq!(
        a["contract"]["sha256"],
        sha256(
            repo.read("orchestration/gates/contracts/G2.contract.json")
                .as_bytes()
        )
    );
    assert_eq!(
        a["required_outputs"][0],
        "{artifact_path}/research/SOURCES.md"
    );
    let artifacts = a["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 3);
    for art in artifacts {
        let path = art["path"].as_str().unwrap();
        assert_eq!(art["sha256"], sha256(repo.read(path).as_bytes()), "{path}");
        assert_eq!(art["exists"], true);
    }
    let r = repo.run_json(&run);
    assert_eq!(r["gates"][1]["status"], "PASS");
    assert_eq!(r["status"], "RUNNING");
    assert_eq!(r["artifacts_index"].as_array().unwrap().len(), 3);
    assert_eq!(r["artifacts_index"][0]["gate"], "G2");
    let ev = r["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(ev["type"], "GATE_PASSED");
    assert_eq!(ev["message"], "Gate G2 passed on attempt 1");

    let json = repo.start_gate(&run, "G2", "r");
    json.ok();
    repo.write(
        "essays/robot/research/SOURCES.md",
        "### Only one source, now\n",
    );
    let v = repo
        .orch(&["gate", "finish", "--run", &run, "--gate", "G2", "--json"])
        .code(1)
        .json();
    assert_eq!(v["attempt"]["status"], "FAIL");
    assert_eq!(v["run_status"], "FAILED");
    let r = repo.run_json(&run);
    let index = r["artifacts_index"].as_array().unwrap();
    let sources = index
        .iter()
        .find(|e| e["path"] == "essays/robot/research/SOURCES.md")
        .unwrap();
    assert_eq!(sources["sha256"], sha256(b"### Only one source, now\n"));
    assert_eq!(sources["attempt"], 2);
    assert!(sources["updated_at"].is_string());
}

#[test]
fn a_failed_blocking_gate_fails_the_run_until_it_passes() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "a").ok();
    let out = repo.finish_gate(&run, "G1");
    out.code(1)
        .stdout_has("✗ file_exists")
        .stdout_has("none of essays/robot/INTAKE.md, essays/robot/research/INTAKE.md exists")
        .stdout_has("FAIL G1 (4 of 4 checks failed)")
        .stderr_has("G1 is blocking: the run is FAILED");
    let r = repo.run_json(&run);
    assert_eq!(r["status"], "FAILED");
    let reason = r["gates"][0]["attempts"][0]["failure_reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.starts_with("file_exists: none of essays/robot/INTAKE.md"),
        "{reason}"
    );
    assert!(
        reason.contains("; contains_headings: file not found"),
        "{reason}"
    );
    assert_eq!(
        r["events"].as_array().unwrap().last().unwrap()["type"],
        "GATE_FAILED"
    );

    repo.start_gate(&run, "G1", "a").ok();
    assert_eq!(repo.run_json(&run)["status"], "RUNNING");
    repo.do_work("G1", "robot");
    repo.finish_gate(&run, "G1").ok();
    assert_eq!(repo.run_json(&run)["status"], "RUNNING");
}

#[test]
fn a_failed_non_blocking_gate_does_not_fail_the_run() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "gates": [{"gate": "G1"}]}"#,
    )
    .write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "blocking": false, "required_outputs": {"all_of": [{"path": "{artifact_path}/x.md"}]}}"#,
    );
    let run = repo
        .orch(&["run", "start", "--workflow", "w", "--slug", "s"])
        .ok()
        .stdout
        .trim()
        .to_string();
    repo.start_gate(&run, "G1", "a").ok();
    repo.finish_gate(&run, "G1")
        .code(1)
        .stdout_has("✗ file_exists")
        .stdout_has("missing out/x.md");
    let r = repo.run_json(&run);
    assert_eq!(r["gates"][0]["status"], "FAIL");
    assert_eq!(r["status"], "RUNNING");
    repo.orch(&["run", "complete", "--run", &run])
        .ok()
        .stdout_has("PASSED");
}

#[test]
fn fail_records_a_manual_failure() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "a").ok();
    repo.orch(&[
        "gate",
        "fail",
        "--run",
        &run,
        "--gate",
        "G1",
        "--reason",
        "scope too broad",
    ])
    .ok()
    .stdout_has("G1 attempt 1 recorded as FAIL: scope too broad");
    let a = repo.attempt_json(&run, "G1", 1);
    assert_eq!(a["status"], "FAIL");
    assert_eq!(a["failure_reason"], "scope too broad");
    assert_eq!(a["manual_failure"], true);
    assert!(a["finished_at"].is_string());
    let r = repo.run_json(&run);
    assert_eq!(r["status"], "FAILED");
    assert_eq!(
        r["events"].as_array().unwrap().last().unwrap()["message"],
        "Gate G1 failed (manual): scope too broad"
    );

    // No attempt in progress: a reviewer's rejection becomes a new attempt.
    let v = repo
        .orch(&[
            "gate",
            "fail",
            "--run",
            &run,
            "--gate",
            "G1",
            "--reason",
            "rejected in review",
            "--agent",
            "reviewer",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(v["attempt"]["attempt"], 2);
    assert_eq!(repo.attempt_json(&run, "G1", 2)["agent"], "reviewer");

    let out = repo.orch(&[
        "gate", "fail", "--run", &run, "--gate", "G1", "--reason", "  ",
    ]);
    assert_eq!(out.code(2).one_error(), "error: --reason must not be empty");
    let before = repo.run_json(&run);
    for args in [
        &[
            "gate", "start", "--run", &run, "--gate", "G2", "--agent", "",
        ][..],
        &[
            "gate", "fail", "--run", &run, "--gate", "G1", "--reason", "r", "--agent", " ",
        ],
        &[
            "invocation",
            "record",
            "--run",
            &run,
            "--gate",
            "G1",
            "--agent",
            "",
            "--status",
            "SUCCESS",
        ],
    ] {
        let out = repo.orch(args);
        assert_eq!(
            out.code(2).one_error(),
            "error: --agent must not be empty",
            "{args:?}"
        );
        out.stderr_has("hint: name who does the work");
    }
    assert_eq!(repo.run_json(&run), before, "nothing was recorded");
}

#[test]
fn check_reports_without_writing_anything() {
    let repo = TestRepo::shipped();
    repo.do_work("G1", "robot");
    let before = repo.files_under(".");
    let out = repo.orch(&[
        "gate",
        "check",
        "--gate",
        "G1",
        "--slug",
        "robot",
        "--artifact-path",
        "essays/robot",
    ]);
    out.ok()
        .stdout_has("G1 Intake Approval · depth standard")
        .stdout_has("PASS G1 (4 checks)");
    assert_eq!(repo.files_under("."), before);

    let v = repo
        .orch(&[
            "gate",
            "check",
            "--gate",
            "G2",
            "--workflow",
            "visual-essay",
            "--slug",
            "robot",
            "--artifact-path",
            "essays/robot",
            "--json",
        ])
        .code(1)
        .json();
    assert_eq!(v["status"], "FAIL");
    assert_eq!(
        v["contract"],
        "orchestration/gates/contracts/G2.contract.json"
    );
    assert!(
        v["failure_reason"]
            .as_str()
            .unwrap()
            .contains("missing essays/robot/research/SOURCES.md")
    );

    let out = repo.orch(&[
        "gate",
        "check",
        "--gate",
        "G1",
        "--contract",
        "orchestration/gates/contracts/G2.contract.json",
        "--slug",
        "robot",
        "--artifact-path",
        "essays/robot",
    ]);
    assert_eq!(
        out.code(2).one_error(),
        "error: contract `orchestration/gates/contracts/G2.contract.json` is for gate `G2`, not `G1`"
    );
    assert_eq!(repo.files_under("."), before);
}

#[test]
fn check_scales_thresholds_by_depth() {
    let repo = TestRepo::shipped();
    repo.do_work("G2", "robot");
    let check = |depth: &str| {
        repo.orch(&[
            "gate",
            "check",
            "--gate",
            "G2",
            "--slug",
            "robot",
            "--artifact-path",
            "essays/robot",
            "--depth",
            depth,
            "--json",
        ])
    };
    let quick = check("quick");
    let v = quick.ok().json();
    let count = v["validations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "min_file_count")
        .unwrap()
        .clone();
    assert_eq!(
        (
            count["count"].as_u64(),
            count["threshold"].as_u64(),
            count["depth"].as_str()
        ),
        (Some(3), Some(2), Some("quick"))
    );
    let deep = check("deep");
    let v = deep.code(1).json();
    let reason = v["failure_reason"].as_str().unwrap();
    assert!(
        reason.contains("missing essays/robot/research/TIMELINE.md"),
        "{reason}"
    );
    assert!(
        reason.contains("3 files matching `*.md`, need at least 5 (deep)"),
        "{reason}"
    );
}

#[test]
fn pre_scripts_run_before_validation_and_failures_are_warnings() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out/{slug}", "gates": [{"gate": "G1"}]}"#,
    )
    .write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1",
            "pre_scripts": [
              {"path": "scripts/register.sh", "args": ["--slug", "{slug}", "--dir", "{artifact_path}"]},
              {"path": "scripts/broken.sh"},
              {"path": "scripts/missing.sh"}
            ],
            "validations": [{"type": "contains_text", "target": "index.txt", "patterns": ["{slug}"]}]}"#,
    )
    .write("scripts/register.sh", "mkdir -p \"$4\"\necho \"$2 $ORCH_GATE\" >> index.txt\necho registered\n")
    .write("scripts/broken.sh", "echo failing >&2\nexit 7\n");
    let run = repo
        .orch(&["run", "start", "--workflow", "w", "--slug", "essay"])
        .ok()
        .stdout
        .trim()
        .to_string();
    repo.start_gate(&run, "G1", "a").ok();
    let out = repo.finish_gate(&run, "G1");
    out.ok()
        .stdout_has("✓ pre_script")
        .stdout_has("scripts/broken.sh (failed, exit 7)")
        .stdout_has("scripts/missing.sh (missing)")
        .stderr_has("warning: pre-script scripts/broken.sh failed");
    assert_eq!(repo.read("index.txt"), "essay G1\n");
    let a = repo.attempt_json(&run, "G1", 1);
    let scripts = a["pre_scripts"].as_array().unwrap();
    assert_eq!(
        scripts[0]["args"],
        serde_json::json!(["--slug", "essay", "--dir", "out/essay"])
    );
    assert_eq!(
        (
            scripts[0]["status"].as_str(),
            scripts[0]["exit_code"].as_i64()
        ),
        (Some("ok"), Some(0))
    );
    assert_eq!(
        (
            scripts[1]["status"].as_str(),
            scripts[1]["exit_code"].as_i64()
        ),
        (Some("failed"), Some(7))
    );
    assert_eq!(scripts[2]["status"], "missing");
    let log = repo.read(&format!(
        "orchestration/runs/{run}/logs/gates/G1/attempt-1/pre-script-2.log"
    ));
    assert!(log.contains("failing"), "{log}");
}
