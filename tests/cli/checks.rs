//! Quality checks (project commands after the agent: block, warn, skip) and
//! the gate types the seeds add: `metric_threshold`, `artifact_exists`
//! (with `orch artifact add`) and `content_check`.

use serde_json::Value;

use crate::common::TestRepo;

/// Workflow `w`: gate A1 run by `agent.sh` (one retry), contract as given.
fn repo_with(contract: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "gates": [
            {"gate": "A1", "executor": {"command": ["sh", "agent.sh"]}, "retries": 1}]}"#,
    );
    repo.write("orchestration/gates/contracts/A1.contract.json", contract);
    repo.write(".gitignore", "orchestration/runs/*/logs/\n");
    repo
}

fn run_id(repo: &TestRepo) -> String {
    let runs = repo.files_under("orchestration/runs");
    runs[0].split('/').nth(2).unwrap().to_string()
}

#[test]
fn quality_checks_block_warn_and_skip() {
    let repo = repo_with(
        r#"{"gate": "A1", "required_outputs": {"all_of": [{"path": "{artifact_path}/A1.md"}]},
            "quality_checks": [
              {"name": "tests", "uses": "tests"},
              {"name": "lint", "command": ["sh", "-c", "echo 'lint: 1 style nit in {artifact_path}'; exit 3"], "on_failure": "warn"},
              {"name": "build", "uses": "build", "on_failure": "skip"}]}"#,
    );
    repo.write(
        "orchestration/commands.json",
        r#"{"tests": {"command": ["sh", "check.sh"], "timeout_s": 30}}"#,
    );
    repo.write(
        "check.sh",
        "if [ -f out/fixed ]; then echo 'all 2 tests pass'; else echo '2 tests failed: test_a, test_b'; echo 'see test_a' >&2; exit 1; fi\n",
    );
    // The first attempt leaves the tests failing; the retry fixes them.
    repo.write(
        "agent.sh",
        "mkdir -p out\necho ok > out/A1.md\nif [ \"$ORCH_ATTEMPT\" = 2 ]; then cat > out/packet.txt; touch out/fixed; fi\n",
    );
    let out = repo.orch(&["run", "w", "--slug", "s"]);
    out.ok()
        .stdout_has("✗ quality_check tests: exit code 1")
        .stdout_has("! quality_check lint: exit code 3 (warning)")
        .stdout_has("- quality_check build: skipped: its on_failure is `skip`")
        .stdout_has("PASS A1 (4 checks, 1 warning)");
    let run = run_id(&repo);
    let r = repo.run_json(&run);
    let first = &r["gates"][0]["attempts"][0];
    assert_eq!(first["status"], "FAIL");
    assert_eq!(
        first["failure_reason"],
        "quality check `tests` failed (exit code 1)"
    );
    let q = &first["quality_checks"];
    assert_eq!(
        (
            q[0]["name"].as_str(),
            q[0]["status"].as_str(),
            q[0]["exit_code"].as_i64()
        ),
        (Some("tests"), Some("failed"), Some(1))
    );
    assert_eq!(q[0]["command"], serde_json::json!(["sh", "check.sh"]));
    assert!(q[0]["duration_ms"].is_u64());
    assert_eq!(
        q[0]["output_excerpt"],
        serde_json::json!({"stdout": "2 tests failed: test_a, test_b", "stderr": "see test_a"})
    );
    assert_eq!(q[1]["status"], "warned");
    assert_eq!(
        q[1]["command"][2], "echo 'lint: 1 style nit in out'; exit 3",
        "variables substituted"
    );
    assert_eq!(
        (q[2]["status"].as_str(), q[2]["reason"].as_str()),
        (Some("skipped"), Some("skipped: its on_failure is `skip`"))
    );
    // The retry's packet carries the failing command's output.
    let packet = repo.read("out/packet.txt");
    assert!(
        packet.contains("- quality check `tests` (sh check.sh): exit code 1"),
        "{packet}"
    );
    assert!(
        packet.contains("2 tests failed: test_a, test_b"),
        "{packet}"
    );
    // Passed with a warning, and it says so.
    let second = &r["gates"][0]["attempts"][1];
    assert_eq!(second["status"], "PASS");
    assert_eq!(second["quality_checks"][0]["status"], "passed");
    assert_eq!(r["gates"][0]["warnings"], 1);
    repo.orch(&["run", "list"])
        .ok()
        .stdout_has("passed, 1 warning");
    assert_eq!(
        repo.orch(&["run", "list", "--json"]).ok().json()[0]["warnings"],
        1
    );
}

#[test]
fn a_quality_check_naming_an_unknown_command_is_refused_before_a_run() {
    let repo =
        repo_with(r#"{"gate": "A1", "quality_checks": [{"name": "t", "uses": "typecheck"}]}"#);
    repo.write("agent.sh", "true\n");
    repo.write(
        "orchestration/commands.json",
        r#"{"tests": ["cargo", "test"]}"#,
    );
    let out = repo.orch(&["run", "w", "--slug", "s"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: quality check `t` uses `typecheck`, which orchestration/commands.json does not define"
    );
    out.stderr_has("hint: it defines: tests");
    assert!(repo.files_under("orchestration/runs").is_empty());
    repo.write(
        "orchestration/gates/contracts/A1.contract.json",
        "{\"gate\": \"A1\",\n \"quality_checks\": [{\"name\": \"t\", \"uses\": \"tests\", \"command\": [\"x\"]}]}",
    );
    assert_eq!(
        repo.orch(&["run", "w", "--slug", "s"]).code(2).one_error(),
        "error: orchestration/gates/contracts/A1.contract.json:2:30: quality check `t` has both `command` and `uses`; give one"
    );
}

/// `gate check --json` of one validation over the files written.
fn check_one(repo: &TestRepo, validation: &str) -> Value {
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        &format!(r#"{{"gate": "G1", "validations": [{validation}]}}"#),
    );
    let out = repo.check_gate("G1", &["--json"]);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    out.json()["validations"][0].clone()
}

#[track_caller]
fn assert_result(r: &Value, pass: bool, reason: &str) {
    assert_eq!(r["pass"], pass, "{r:#}");
    assert_eq!(r["reason"], reason, "{r:#}");
}

#[test]
fn metric_threshold_over_json_and_frontmatter() {
    let repo = TestRepo::new();
    repo.write(
        "out/score.json",
        r#"{"jury": {"score": 82, "verdict": "ship"}, "score": "64.5"}"#,
    );
    repo.write("out/report.md", "---\nscore: 64\n---\n# Report\n");
    let check = |v: &str| check_one(&repo, v);
    let r = check(
        r#"{"type": "metric_threshold", "source": "{artifact_path}/score.json", "pointer": "/jury/score", "operator": ">=", "threshold": 70}"#,
    );
    assert_result(&r, true, "/jury/score = 82 >= 70");
    assert_eq!(r["value"], 82.0);
    assert_result(
        &check(
            r#"{"type": "metric_threshold", "source": "{artifact_path}/score.json", "key": "score", "operator": ">", "threshold": 70}"#,
        ),
        false,
        "score is 64.5, needs > 70",
    );
    assert_result(
        &check(
            r#"{"type": "metric_threshold", "source": "{artifact_path}/report.md", "key": "score", "threshold": 60}"#,
        ),
        true,
        "score = 64 >= 60",
    );
    assert_result(
        &check(
            r#"{"type": "metric_threshold", "source": "{artifact_path}/report.md", "metric": "score", "operator": "<", "threshold": 60}"#,
        ),
        false,
        "score is 64, needs < 60",
    );
    assert_result(
        &check(
            r#"{"type": "metric_threshold", "source": "{artifact_path}/missing.json", "pointer": "/x", "threshold": 1}"#,
        ),
        false,
        "file not found",
    );
    assert_result(
        &check(
            r#"{"type": "metric_threshold", "source": "{artifact_path}/score.json", "pointer": "/jury/nope", "threshold": 1}"#,
        ),
        false,
        "/jury/nope is not in out/score.json",
    );
    assert_result(
        &check(
            r#"{"type": "metric_threshold", "source": "{artifact_path}/score.json", "pointer": "/jury/verdict", "threshold": 1}"#,
        ),
        false,
        "/jury/verdict is `ship`, not a number",
    );
    assert_result(
        &check(
            r#"{"type": "metric_threshold", "source": "{artifact_path}/report.md", "pointer": "/score", "threshold": 1}"#,
        ),
        false,
        "a pointer (/score) needs a JSON file; out/report.md is not one (use `key` for frontmatter)",
    );
    // Mistakes in the contract are contract errors, with their position.
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        "{\"gate\": \"G1\", \"validations\": [\n  {\"type\": \"metric_threshold\", \"source\": \"a.json\", \"key\": \"x\", \"operator\": \"~\", \"threshold\": 1}]}",
    );
    let out = repo.check_gate("G1", &[]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/gates/contracts/G1.contract.json:2:3: unknown operator `~`"
    );
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "validations": [{"type": "metric_threshold", "source": "a.json", "threshold": 1}]}"#,
    );
    repo.check_gate("G1", &[]).code(2).stderr_has(
        "metric_threshold needs one of `pointer` (JSON) or `key` (JSON or frontmatter)",
    );
}

#[test]
fn content_check_is_contains_headings_by_its_seed_name() {
    let repo = TestRepo::new();
    repo.write("out/prd.md", "# PRD\n\n## Problem\n\n## Goals\n");
    let r = check_one(
        &repo,
        r###"{"type": "content_check", "file": "{artifact_path}/prd.md", "requiredSections": ["## Problem", "## Goals"]}"###,
    );
    assert_eq!(r["type"], "content_check");
    assert_result(&r, true, "all 2 headings present");
    assert_result(
        &check_one(
            &repo,
            r###"{"type": "content_check", "file": "{artifact_path}/prd.md", "requiredSections": ["## Risks"]}"###,
        ),
        false,
        "missing `## Risks`",
    );
    assert_result(
        &check_one(
            &repo,
            r###"{"type": "content_check", "file": "{artifact_path}/none.md", "requiredSections": ["## Risks"]}"###,
        ),
        false,
        "file not found",
    );
    repo.orch(&["lint"]).ok();
}

#[test]
fn artifact_exists_finds_registered_artifacts_and_printed_urls() {
    let repo = repo_with(
        r#"{"gate": "A1", "validations": [{"type": "artifact_exists", "artifact_type": "url", "label": "Chromatic"}]}"#,
    );
    repo.write(
        "agent.sh",
        "echo 'opened https://github.com/acme/site/pull/7'\n",
    );
    repo.orch(&["run", "w", "--slug", "s"]).code(1);
    let run = run_id(&repo);
    let a = &repo.run_json(&run)["gates"][0]["attempts"][0];
    assert_eq!(
        a["validations"][0]["reason"],
        "the run has no `url` artifact labelled `Chromatic`: add one with `orch artifact add`"
    );
    // Registered by a person (or CI), then the gate is redone.
    repo.orch(&[
        "artifact",
        "add",
        "--run",
        &run,
        "--gate",
        "A1",
        "--type",
        "url",
        "--label",
        "Chromatic",
        "--url",
        "https://www.chromatic.com/build?appId=1&number=2",
    ])
    .ok()
    .stdout_has("added url `Chromatic` to");
    repo.orch(&["run", "resume", "--run", &run]).ok();
    let r = repo.run_json(&run);
    assert_eq!(r["registered_artifacts"][0]["label"], "Chromatic");
    assert_eq!(
        r["registered_artifacts"][0]["added_by"]["email"],
        "author@example.com"
    );
    let passed = r["gates"][0]["attempts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(passed["validations"][0]["pass"], true);
    assert!(
        r["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "ARTIFACT_ADDED")
    );

    // A pull request the agent printed counts; so does a registered file.
    repo.write(
        "orchestration/gates/contracts/A1.contract.json",
        r#"{"gate": "A1", "validations": [{"type": "artifact_exists", "artifact_type": "pull_request"},
                                          {"type": "artifact_exists", "artifact_type": "file", "label": "Report"}]}"#,
    );
    let repo2 = &repo;
    repo2.orch(&["run", "w", "--slug", "t"]).code(1);
    let run2 = repo2
        .files_under("orchestration/runs")
        .iter()
        .map(|f| f.split('/').nth(2).unwrap().to_string())
        .find(|id| *id != run)
        .unwrap();
    let v = &repo2.run_json(&run2)["gates"][0]["attempts"][0]["validations"];
    assert_eq!(
        v[0]["reason"],
        "A1's agent printed https://github.com/acme/site/pull/7"
    );
    assert_eq!(v[1]["pass"], false);
    repo2.write("out/report.pdf", "%PDF");
    repo2
        .orch(&[
            "artifact",
            "add",
            "--run",
            &run2,
            "--gate",
            "A1",
            "--type",
            "file",
            "--label",
            "Report",
            "--path",
            "out/report.pdf",
        ])
        .ok();
    repo2
        .orch(&[
            "artifact", "add", "--run", &run2, "--gate", "A1", "--type", "url", "--label", "X",
            "--url", "ftp://x",
        ])
        .code(2)
        .stderr_has("`ftp://x` is not an http(s) URL");
    repo2
        .orch(&[
            "artifact",
            "add",
            "--run",
            &run2,
            "--gate",
            "A9",
            "--type",
            "url",
            "--label",
            "X",
            "--url",
            "https://x",
        ])
        .code(2)
        .stderr_has("has no gate `A9`");
    repo2.orch(&["run", "resume", "--run", &run2]).ok();
    // Without a run there is nothing to find; bad input is refused.
    repo2
        .orch(&[
            "gate",
            "check",
            "--gate",
            "A1",
            "--workflow",
            "w",
            "--slug",
            "s",
            "--artifact-path",
            "out",
            "--json",
        ])
        .code(1)
        .stdout_has("there is none here (gate check has no run)");
}
