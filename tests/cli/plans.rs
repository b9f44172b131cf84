//! Unattended plans: command gates with no contract (the exit code
//! decides), gates skipped by a condition, and the shipped nightly plan.

use serde_json::Value;

use crate::common::{TestRepo, project_root};

fn plan(gates: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/p.json",
        &format!(r#"{{"workflow": "p", "default_artifact_path": "out", "gates": [{gates}]}}"#),
    );
    repo
}

fn only_run(repo: &TestRepo) -> Value {
    let files = repo.files_under("orchestration/runs");
    let id = files[0].split('/').nth(2).unwrap();
    repo.run_json(id)
}

#[test]
fn without_a_contract_the_exit_code_decides() {
    let repo = plan(
        r#"{"gate": "fmt", "executor": {"command": ["sh", "-c", "echo formatted"]}, "contract": null},
           {"gate": "test", "executor": {"command": ["sh", "-c", "echo '2 failed' >&2; exit 3"]}, "contract": null, "retries": 0},
           {"gate": "lint", "executor": {"command": ["true"]}, "contract": null}"#,
    );
    let out = repo.orch(&["run", "p", "--slug", "nightly"]);
    out.code(1).stdout_has("FAILED").stderr_has("exit code 3");
    let run = only_run(&repo);
    assert_eq!(run["gates"][0]["status"], "PASS");
    assert!(run["gates"][0]["attempts"][0].get("contract").is_none());
    assert_eq!(run["gates"][1]["status"], "FAIL");
    let reason = run["gates"][1]["attempts"][0]["failure_reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("exit code 3"), "{reason}");
    assert_eq!(run["gates"][2]["status"], "NOT_STARTED");
    assert_eq!(run["invocations"][1]["log_excerpt"]["stderr"], "2 failed");
    assert_eq!(run["invocations"][0]["log_excerpt"]["stdout"], "formatted");
    // verify does not look for a contract the gate does not have.
    repo.orch(&["verify", "--format", "json"]).ok();
    repo.orch(&["lint"]).ok();
}

#[test]
fn a_gate_whose_condition_does_not_hold_is_skipped_and_counts_as_passed() {
    let repo = plan(
        r#"{"gate": "docs", "executor": {"command": ["true"]}, "contract": null, "when": {"changed": ["docs/**"]}},
           {"gate": "deploy", "executor": {"command": ["true"]}, "contract": null, "when": {"env": "DEPLOY_TOKEN"}},
           {"gate": "test", "executor": {"command": ["true"]}, "contract": null, "when": {"changed": ["src/**"]}}"#,
    );
    repo.write("src/lib.rs", "// one\n");
    repo.write("docs/guide.md", "# guide\n");
    repo.commit("base");
    repo.write("src/lib.rs", "// two\n");
    let out = repo.orch(&["run", "p", "--slug", "s", "--base", "HEAD"]);
    out.ok()
        .stdout_has("PASSED")
        .stderr_has("docs SKIPPED: no file matching docs/** changed since HEAD")
        .stderr_has("deploy SKIPPED: DEPLOY_TOKEN is not set");
    let run = only_run(&repo);
    assert_eq!(run["status"], "PASSED");
    assert_eq!(run["gates"][0]["status"], "SKIPPED");
    assert_eq!(
        run["gates"][0]["skip_reason"],
        "no file matching docs/** changed since HEAD"
    );
    assert_eq!(run["gates"][0]["attempts"], Value::Array(vec![]));
    assert_eq!(run["gates"][1]["status"], "SKIPPED");
    assert_eq!(run["gates"][2]["status"], "PASS", "src/lib.rs changed");
    assert!(
        run["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "GATE_SKIPPED")
    );
    repo.orch(&["verify"])
        .ok()
        .stdout_has("skipped: DEPLOY_TOKEN is not set");

    // Set and not empty: the gate runs. Without --base, a changed-files
    // condition cannot be judged, and the gate runs too.
    let repo2 = plan(
        r#"{"gate": "deploy", "executor": {"command": ["true"]}, "contract": null, "when": {"env": "DEPLOY_TOKEN"}},
           {"gate": "docs", "executor": {"command": ["true"]}, "contract": null, "when": {"changed": ["docs/**"]}}"#,
    );
    repo2
        .orch_env(&["run", "p", "--slug", "s"], &[("DEPLOY_TOKEN", "x")])
        .ok();
    let run = only_run(&repo2);
    assert_eq!(run["gates"][0]["status"], "PASS");
    assert_eq!(run["gates"][1]["status"], "PASS");
    let out = repo2.orch(&["run", "p", "--slug", "t", "--base", "no-such-rev"]);
    out.code(2);
    assert!(
        out.one_error()
            .contains("--base `no-such-rev` does not name a commit")
    );
}

#[test]
fn the_base_a_run_started_with_is_recorded_and_used_again_on_resume() {
    let repo = plan(
        r#"{"gate": "first", "executor": {"command": ["sh", "-c", "test -f go"]}, "contract": null, "retries": 0},
           {"gate": "docs", "executor": {"command": ["true"]}, "contract": null, "when": {"changed": ["docs/**"]}}"#,
    );
    repo.write("docs/guide.md", "# guide\n");
    repo.commit("base");
    repo.write("docs/guide.md", "# guide, edited\n");
    repo.commit("docs edited");
    let id = |out: &crate::common::Out| out.json()["run_id"].as_str().unwrap().to_string();
    let started = |slug: &str| {
        let out = repo.orch(&["run", "p", "--slug", slug, "--base", "HEAD", "--json"]);
        let run = id(out.code(1));
        assert_eq!(
            repo.run_json(&run)["options"],
            serde_json::json!({"base": "HEAD"})
        );
        run
    };
    let (s, t) = (started("s"), started("t"));
    repo.write("go", "");
    // Resumed without --base: the recorded one judges the condition, so
    // docs (unchanged since HEAD) is skipped, not run for want of a base.
    repo.orch(&["run", "resume", "--run", &s])
        .ok()
        .stderr_has("docs SKIPPED: no file matching docs/** changed since HEAD");
    assert_eq!(repo.run_json(&s)["gates"][1]["status"], "SKIPPED");
    // Given again, --base wins, is recorded, and the change is in the events.
    repo.orch(&["run", "resume", "--run", &t, "--base", "HEAD~1"])
        .ok();
    let r = repo.run_json(&t);
    assert_eq!(r["gates"][1]["status"], "PASS", "docs changed since HEAD~1");
    assert_eq!(r["options"], serde_json::json!({"base": "HEAD~1"}));
    assert!(
        r["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["message"] == "Run resumed with --base `HEAD~1` (was `HEAD`)"),
        "{}",
        r["events"]
    );
}

#[test]
fn bad_conditions_and_patterns_are_positioned_errors() {
    for (gate, message) in [
        (r#"{"gate": "a", "when": {}}"#, "`when` needs `changed`"),
        (
            r#"{"gate": "a", "when": {"chnaged": ["x"]}}"#,
            "unknown field `chnaged`",
        ),
        (
            r#"{"gate": "a", "when": {"changed": ["src/[a"]}}"#,
            "is not a glob",
        ),
        (
            r#"{"gate": "a", "outputs_uri_pattern": "("}"#,
            "outputs_uri_pattern does not compile",
        ),
        (
            r#"{"gate": "a", "approval": {"min_approvals": 0}}"#,
            "min_approvals must be at least 1",
        ),
    ] {
        let repo = plan(gate);
        let out = repo.orch(&["run", "p", "--slug", "s"]);
        out.code(2);
        let line = out.one_error();
        assert!(line.contains("orchestration/workflows/p.json:1:"), "{line}");
        assert!(line.contains(message), "{line}");
        repo.orch(&["lint"]).code(1).stdout_has(message);
    }
}

#[test]
fn the_shipped_nightly_plan_is_valid() {
    let repo = TestRepo::new();
    crate::common::copy_file(
        &project_root().join("orchestration/workflows/nightly.json"),
        &repo.path().join("orchestration/workflows/nightly.json"),
    );
    repo.orch(&["lint"]).ok();
    let wf: Value = repo.read_json("orchestration/workflows/nightly.json");
    for g in wf["gates"].as_array().unwrap() {
        assert!(
            g["contract"].is_null() && g.get("contract").is_some(),
            "{g}"
        );
        assert!(g["executor"]["command"].is_array(), "{g}");
    }
}
