//! `orch invocation record`.

use crate::common::TestRepo;

#[test]
fn record_appends_and_links_to_the_current_attempt() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    let out = repo.orch(&[
        "invocation",
        "record",
        "--run",
        &run,
        "--gate",
        "G1",
        "--agent",
        "claude",
    ]);
    // No attempt yet: recorded for the gate, unlinked, and said so.
    let unlinked = out.ok().stdout.trim().to_string();
    out.stderr_has("warning: G1 has no attempt yet: the invocation is recorded for the gate, linked to no attempt");
    let r = repo.run_json(&run);
    assert_eq!(r["invocations"][0]["id"], unlinked.as_str());
    assert!(r["invocations"][0].get("attempt").is_none());
    assert_eq!(r["gates"][0]["attempts"], serde_json::json!([]));
    assert!(
        r["events"].as_array().unwrap().last().unwrap()["message"]
            .as_str()
            .unwrap()
            .ends_with("recorded for G1, no attempt yet (not linked)")
    );

    repo.start_gate(&run, "G1", "a").ok();
    let out = repo.orch(&[
        "invocation",
        "record",
        "--run",
        &run,
        "--gate",
        "G1",
        "--agent",
        "claude",
        "--status",
        "fail",
    ]);
    let id = out.ok().stdout.trim().to_string();
    assert!(id.starts_with("inv_"), "{id}");
    let v = repo
        .orch(&[
            "invocation",
            "record",
            "--run",
            &run,
            "--gate",
            "G1",
            "--agent",
            "codex",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(v["status"], "SUCCESS");
    assert_eq!(v["attempt"], 1);

    let r = repo.run_json(&run);
    let invs = &r["invocations"].as_array().unwrap()[1..];
    assert_eq!(invs.len(), 2);
    assert_eq!(invs[0]["id"], id.as_str());
    assert_eq!(invs[0]["gate"], "G1");
    assert_eq!(invs[0]["agent"], "claude");
    assert_eq!(invs[0]["status"], "FAIL");
    assert!(invs[0]["timestamp"].is_string());
    assert_eq!(
        r["gates"][0]["attempts"][0]["invocation_ids"],
        serde_json::json!([id, v["id"]])
    );
    assert_eq!(
        repo.attempt_json(&run, "G1", 1)["invocation_ids"],
        r["gates"][0]["attempts"][0]["invocation_ids"]
    );
    let ev = r["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(ev["type"], "INVOCATION_RECORDED");
    assert_eq!(ev["invocation_id"], v["id"]);
}

#[test]
fn record_after_a_gate_finished_updates_its_attempt_file() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "a").ok();
    repo.do_work("G1", "robot");
    repo.finish_gate(&run, "G1").ok();
    let id = repo
        .orch(&[
            "invocation",
            "record",
            "--run",
            &run,
            "--gate",
            "G1",
            "--agent",
            "late",
        ])
        .ok()
        .stdout
        .trim()
        .to_string();
    let file = repo.attempt_json(&run, "G1", 1);
    assert_eq!(file["status"], "PASS");
    assert_eq!(file["invocation_ids"], serde_json::json!([id]));
}

#[test]
fn an_implausible_cost_is_refused() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "a").ok();
    for bad in ["1e308", "-5", "inf"] {
        let flag = format!("--cost-usd={bad}");
        let out = repo.orch(&[
            "invocation",
            "record",
            "--run",
            &run,
            "--gate",
            "G1",
            "--agent",
            "a",
            &flag,
        ]);
        assert_eq!(
            out.code(2).one_error(),
            "error: --cost-usd must be a number of US dollars from 0 to 1e9",
            "{bad}"
        );
    }
}
