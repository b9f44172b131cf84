//! Several orch processes writing the same run at once: every write lands,
//! and nothing but the record is left in the committed folder.

use crate::common::TestRepo;

const WRITERS: usize = 12;

/// Starts WRITERS `orch invocation record` at once for G1; returns the ids they printed.
fn record_concurrently(repo: &TestRepo, run: &str) -> Vec<String> {
    let children: Vec<_> = (0..WRITERS)
        .map(|i| {
            repo.command(&[
                "invocation",
                "record",
                "--run",
                run,
                "--gate",
                "G1",
                "--agent",
                &format!("agent-{i}"),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut ids = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ids.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
    }
    ids
}

#[test]
fn concurrent_invocation_records_all_land() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "a").ok();
    let mut ids = record_concurrently(&repo, &run);
    let r = repo.run_json(&run);
    let mut recorded: Vec<String> = r["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(recorded.len(), WRITERS);
    let mut agents: Vec<&str> = r["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["agent"].as_str().unwrap())
        .collect();
    agents.sort_unstable();
    agents.dedup();
    assert_eq!(agents.len(), WRITERS, "every writer's invocation is there");
    recorded.sort();
    ids.sort();
    assert_eq!(recorded, ids);
    let linked = repo.attempt_json(&run, "G1", 1)["invocation_ids"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(linked, WRITERS);
    assert_eq!(r["events"].as_array().unwrap().len(), 2 + WRITERS);
    assert_eq!(
        repo.files_under(&format!("orchestration/runs/{run}/record")),
        vec![
            format!("orchestration/runs/{run}/record/RUN.json"),
            format!("orchestration/runs/{run}/record/gates/G1/attempt-1.json"),
        ]
    );
}

#[test]
fn concurrent_records_on_a_gate_with_no_attempt_all_land_unlinked() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    let mut ids = record_concurrently(&repo, &run);
    let r = repo.run_json(&run);
    let invocations = r["invocations"].as_array().unwrap();
    let mut recorded: Vec<String> = invocations
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    recorded.sort();
    ids.sort();
    assert_eq!(recorded, ids);
    assert!(invocations.iter().all(|i| i.get("attempt").is_none()));
    assert_eq!(r["gates"][0]["attempts"], serde_json::json!([]));
    assert_eq!(
        repo.files_under(&format!("orchestration/runs/{run}/record")),
        vec![format!("orchestration/runs/{run}/record/RUN.json")]
    );
}

#[test]
fn a_leftover_temp_file_from_a_crashed_writer_is_cleaned_up() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    let record = format!("orchestration/runs/{run}/record");
    repo.write(&format!("{record}/.orch-tmp-crashed"), "{\"half\": ");
    repo.start_gate(&run, "G1", "a").ok();
    assert!(!repo.exists(&format!("{record}/.orch-tmp-crashed")));
}
