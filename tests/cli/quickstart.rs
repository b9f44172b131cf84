//! The README's manual-mode quick start, end to end: a newcomer's PASSED run.

use crate::common::TestRepo;

#[test]
fn manual_quick_start_passes_and_records_look_right() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("the-word-robot");
    assert!(
        run.starts_with("run_") && run.contains("_the-word-robot_"),
        "{run}"
    );

    for (gate, agent) in [
        ("G1", "intake-editor"),
        ("G2", "research-agent"),
        ("G3", "spec-writer"),
    ] {
        repo.start_gate(&run, gate, agent).ok();
        repo.do_work(gate, "the-word-robot");
        repo.orch(&[
            "invocation",
            "record",
            "--run",
            &run,
            "--gate",
            gate,
            "--agent",
            agent,
        ])
        .ok();
        repo.finish_gate(&run, gate)
            .ok()
            .stdout_has(&format!("PASS {gate}"));
    }
    repo.orch(&["run", "complete", "--run", &run])
        .ok()
        .stdout_has("PASSED");

    let record = repo.run_json(&run);
    assert_eq!(record["status"], "PASSED");
    assert_eq!(record["format_version"], 1);
    assert_eq!(record["created_by"]["name"], "Test Author");
    assert_eq!(record["workflow"]["artifact_path"], "essays/the-word-robot");
    assert!(record["finished_at"].is_string());
    let gates = record["gates"].as_array().unwrap();
    assert!(gates.iter().all(|g| g["status"] == "PASS"));
    assert_eq!(record["invocations"].as_array().unwrap().len(), 3);
    let index: Vec<&str> = record["artifacts_index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert!(
        index.contains(&"essays/the-word-robot/research/SOURCES.md"),
        "{index:?}"
    );
    let events: Vec<&str> = record["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"RUN_STARTED"));
    assert_eq!(events.last(), Some(&"RUN_COMPLETED"));

    // What a reviewer sees in git: RUN.json and one file per attempt, nothing else.
    assert_eq!(
        repo.files_under(&format!("orchestration/runs/{run}/record")),
        vec![
            format!("orchestration/runs/{run}/record/RUN.json"),
            format!("orchestration/runs/{run}/record/gates/G1/attempt-1.json"),
            format!("orchestration/runs/{run}/record/gates/G2/attempt-1.json"),
            format!("orchestration/runs/{run}/record/gates/G3/attempt-1.json"),
        ]
    );
    // Each attempt file is the attempt in RUN.json, plus the format version.
    let mut file = repo.attempt_json(&run, "G2", 1);
    assert_eq!(
        file.as_object_mut().unwrap().remove("format_version"),
        Some(1.into())
    );
    assert_eq!(file, record["gates"][1]["attempts"][0]);
    // Repo-relative paths only: the machine's path never appears.
    let root = repo.path().to_string_lossy().into_owned();
    for f in repo.files_under(&format!("orchestration/runs/{run}/record")) {
        let text = repo.read(&f);
        assert!(
            !text.contains(&root),
            "{f} contains the absolute path {root}"
        );
        assert!(text.ends_with("}\n"), "{f} lacks the trailing newline");
    }
}

#[test]
fn same_inputs_give_byte_identical_records() {
    let record = |_: usize| {
        let repo = TestRepo::shipped();
        let env = [("ORCH_NOW", "2026-01-19T14:30:12Z"), ("ORCH_SEED", "fixed")];
        let out = repo.orch_env(
            &[
                "run",
                "start",
                "--workflow",
                "visual-essay",
                "--slug",
                "robot",
            ],
            &env,
        );
        let run = out.ok().stdout.trim().to_string();
        repo.orch_env(
            &[
                "gate", "start", "--run", &run, "--gate", "G1", "--agent", "a",
            ],
            &env,
        )
        .ok();
        repo.do_work("G1", "robot");
        repo.orch_env(&["gate", "finish", "--run", &run, "--gate", "G1"], &env)
            .ok();
        (
            run.clone(),
            repo.read(&format!("orchestration/runs/{run}/record/RUN.json")),
        )
    };
    let (a_id, a) = record(0);
    let (b_id, b) = record(1);
    assert_eq!(a_id, b_id);
    assert!(a_id.starts_with("run_20260119T143012000Z_robot_"), "{a_id}");
    assert_eq!(a, b);
    assert!(a.contains("\"started_at\": \"2026-01-19T14:30:12.000Z\""));
}
