//! `orch run start|list|show|complete` and run id resolution.

use crate::common::TestRepo;

#[test]
fn start_creates_the_record_and_logs_folder() {
    let repo = TestRepo::shipped();
    repo.write("prompts/robot.txt", "Write about the word robot.\n");
    let out = repo.orch(&[
        "run",
        "start",
        "--workflow",
        "visual-essay",
        "--slug",
        "robot",
        "--artifact-path",
        "essays/./robot/",
        "--depth",
        "deep",
        "--prompt-file",
        "prompts/robot.txt",
    ]);
    out.ok().stderr_has("next: orch gate start");
    let run = out.stdout.trim();
    assert_eq!(out.stdout.lines().count(), 1, "only the id goes to stdout");
    assert!(repo.exists(&format!("orchestration/runs/{run}/logs")));
    let r = repo.run_json(run);
    assert_eq!(r["run_id"], run);
    assert_eq!(r["status"], "RUNNING");
    assert_eq!(r["depth"], "deep");
    assert_eq!(r["finished_at"], serde_json::Value::Null);
    assert_eq!(r["workflow"]["name"], "visual-essay");
    assert_eq!(
        r["workflow"]["path"],
        "orchestration/workflows/visual-essay.json"
    );
    assert_eq!(r["workflow"]["artifact_path"], "essays/robot");
    assert_eq!(r["prompt"]["file"], "prompts/robot.txt");
    assert_eq!(
        r["prompt"]["sha256"],
        "ba6b0f77546bd081ea2e3e91ad978d953c0f5a5570dcbacb7ec72f4e0886b5e4"
    );
    let gates: Vec<(&str, &str, bool)> = r["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["gate"].as_str().unwrap(),
                g["status"].as_str().unwrap(),
                g["blocking"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        gates,
        vec![
            ("G1", "NOT_STARTED", true),
            ("G2", "NOT_STARTED", true),
            ("G3", "NOT_STARTED", true)
        ]
    );
    assert_eq!(r["events"][0]["type"], "RUN_STARTED");
}

#[test]
fn a_runs_logs_ignore_themselves_in_any_repository() {
    // No .gitignore at all: the logs folder carries its own.
    let repo = TestRepo::vetted();
    let out = repo.orch(&[
        "run",
        "visual-essay",
        "--slug",
        "robot",
        "--agent-cmd",
        "examples/agents/scripted-essay.sh",
        "--json",
    ]);
    // G1 and G2 ran; G3 waits for a person's approval to start. That is the
    // only warning: none about logs git would see.
    let run = out.code(4).json()["run_id"].as_str().unwrap().to_string();
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].starts_with("warning: G3 waits for a signed approval"),
        "{}",
        out.stderr
    );
    let logs = format!("orchestration/runs/{run}/logs");
    assert_eq!(
        repo.read(&format!("{logs}/.gitignore")),
        "# Written by orch: a run's logs (prompt packets, agent output, locks) stay out of git.\n*\n"
    );
    assert!(repo.exists(&format!("{logs}/gates/G1/attempt-1/prompt.txt")));
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(!status.contains("/logs/"), "{status}");
    assert!(status.contains("record/RUN.json"), "{status}");
    repo.git(&["add", "-A"]);
    let staged = repo.git(&["diff", "--cached", "--name-only"]);
    assert!(!staged.contains("/logs/"), "{staged}");
}

#[test]
fn a_run_an_older_orch_made_gets_its_logs_ignored_on_the_next_write() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    let ignore = format!("orchestration/runs/{run}/logs/.gitignore");
    std::fs::remove_file(repo.path().join(&ignore)).unwrap();
    repo.start_gate(&run, "G1", "a").ok();
    assert!(repo.read(&ignore).ends_with("*\n"));
}

#[test]
fn start_uses_the_workflow_default_artifact_path_and_json() {
    let repo = TestRepo::shipped();
    let out = repo.orch(&[
        "run",
        "start",
        "--workflow",
        "visual-essay",
        "--slug",
        "robot",
        "--json",
    ]);
    let v = out.ok().json();
    assert_eq!(v["artifact_path"], "essays/robot");
    assert_eq!(v["depth"], "standard");
    assert_eq!(
        v["record"],
        format!(
            "orchestration/runs/{}/record/RUN.json",
            v["run_id"].as_str().unwrap()
        )
    );
}

#[test]
fn start_requires_an_artifact_path_when_the_workflow_has_no_default() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "gates": [{"gate": "G1"}]}"#,
    )
    .write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1"}"#,
    );
    let out = repo.orch(&["run", "start", "--workflow", "w", "--slug", "s"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: --artifact-path is required"
    );
    out.stderr_has("hint: workflow `w` declares no default_artifact_path");
    assert!(
        !repo.exists("orchestration/runs") || repo.files_under("orchestration/runs").is_empty()
    );
    repo.orch(&[
        "run",
        "start",
        "--workflow",
        "w",
        "--slug",
        "s",
        "--artifact-path",
        "out/s",
    ])
    .ok();
}

#[test]
fn start_refuses_a_workflow_with_a_broken_contract_and_creates_nothing() {
    let repo = TestRepo::shipped();
    repo.write(
        "orchestration/gates/contracts/G2.contract.json",
        "{\"gate\": \"G2\",\n  \"validations\": [\n    {\"type\": \"bogus\"}\n  ]\n}\n",
    );
    let out = repo.orch(&[
        "run",
        "start",
        "--workflow",
        "visual-essay",
        "--slug",
        "robot",
    ]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/gates/contracts/G2.contract.json:3:5: unknown validation type `bogus`"
    );
    assert!(repo.files_under("orchestration/runs").is_empty());
}

#[test]
fn list_shows_newest_first_with_gate_counts_and_filters() {
    let repo = TestRepo::shipped();
    let older = repo.orch_env(
        &[
            "run",
            "start",
            "--workflow",
            "visual-essay",
            "--slug",
            "older",
        ],
        &[("ORCH_NOW", "2026-01-01T10:00:00Z")],
    );
    let older = older.ok().stdout.trim().to_string();
    let newer = repo.orch_env(
        &[
            "run",
            "start",
            "--workflow",
            "visual-essay",
            "--slug",
            "newer",
        ],
        &[("ORCH_NOW", "2026-01-02T10:00:00Z")],
    );
    let newer = newer.ok().stdout.trim().to_string();
    let now = [("ORCH_NOW", "2026-01-02T10:30:00Z")];
    repo.orch_env(
        &[
            "gate", "start", "--run", &newer, "--gate", "G1", "--agent", "a",
        ],
        &now,
    )
    .ok();
    repo.do_work("G1", "newer");
    repo.orch_env(&["gate", "finish", "--run", &newer, "--gate", "G1"], &now)
        .ok();
    repo.orch_env(
        &["run", "complete", "--run", &older, "--status", "CANCELED"],
        &now,
    )
    .ok();

    let out = repo.orch_env(&["run", "list"], &now);
    let lines: Vec<&str> = out.ok().stdout.lines().collect();
    assert!(
        lines[0].starts_with("RUN ") && lines[0].contains("GATES"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(&newer)
            && lines[1].contains("visual-essay/newer")
            && lines[1].ends_with("1/3"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("running") && !lines[1].contains("idle"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&older) && lines[2].contains("canceled") && lines[2].ends_with("0/3"),
        "{}",
        lines[2]
    );

    let json = repo
        .orch_env(&["run", "list", "--json", "--status", "running"], &now)
        .ok()
        .json();
    let items = json.as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["run_id"], newer.as_str());
    assert_eq!(items[0]["gates_passed"], 1);
    assert_eq!(items[0]["gates_total"], 3);
    assert_eq!(items[0]["idle_seconds"], serde_json::Value::Null);

    let out = repo.orch(&["run", "list", "--status", "bogus"]);
    assert_eq!(out.code(2).one_error(), "error: unknown run status `bogus`");
}

#[test]
fn list_marks_long_idle_running_runs() {
    let repo = TestRepo::shipped();
    repo.orch_env(
        &[
            "run",
            "start",
            "--workflow",
            "visual-essay",
            "--slug",
            "idle",
        ],
        &[("ORCH_NOW", "2026-01-01T10:00:00Z")],
    )
    .ok();
    let later = [("ORCH_NOW", "2026-01-04T11:00:00Z")];
    repo.orch_env(&["run", "list"], &later)
        .ok()
        .stdout_has("running, idle 3d");
    let json = repo
        .orch_env(&["run", "list", "--json"], &later)
        .ok()
        .json();
    assert_eq!(json[0]["status"], "RUNNING");
    assert_eq!(json[0]["activity"], "running, idle 3d");
    assert_eq!(json[0]["idle_seconds"], 3 * 86400 + 3600);
}

#[test]
fn list_with_no_runs_says_so_and_skips_unreadable_records() {
    let repo = TestRepo::shipped();
    let out = repo.orch(&["run", "list"]);
    out.ok().stderr_has("no runs yet in orchestration/runs");
    assert_eq!(out.stdout, "");
    let good = repo.start_run("good");
    repo.write(
        "orchestration/runs/run_broken/record/RUN.json",
        "{\"run_id\": ",
    );
    let out = repo.orch(&["run", "list"]);
    out.ok().stdout_has(&good).stderr_has("warning: skipping run run_broken: orchestration/runs/run_broken/record/RUN.json:1:11: invalid JSON: EOF while parsing a value");
}

#[test]
fn show_renders_the_whole_record() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "editor").ok();
    repo.finish_gate(&run, "G1").code(1);
    repo.start_gate(&run, "G1", "editor").ok();
    repo.do_work("G1", "robot");
    repo.orch(&[
        "invocation",
        "record",
        "--run",
        &run,
        "--gate",
        "G1",
        "--agent",
        "claude",
    ])
    .ok();
    repo.finish_gate(&run, "G1").ok();
    let out = repo.orch(&["run", "show", "--run", &run]);
    out.ok()
        .stdout_has(&run)
        .stdout_has("artifacts  essays/robot")
        .stdout_has("by         Test Author <author@example.com>")
        .stdout_has("gates (1/3 passed)")
        .stdout_has("G1 Intake Approval, 2 attempts")
        .stdout_has("#1 FAIL")
        .stdout_has(
            "✗ file_exists none of essays/robot/INTAKE.md, essays/robot/research/INTAKE.md exists",
        )
        .stdout_has("#2 PASS")
        .stdout_has("✓ frontmatter_status essays/robot/INTAKE.md: status = APPROVED")
        .stdout_has("claude")
        .stdout_has("essays/robot/INTAKE.md")
        .stdout_has("GATE_PASSED");
    let json = repo
        .orch(&["run", "show", "--run", &run, "--json"])
        .ok()
        .json();
    assert_eq!(json, repo.run_json(&run));
}

#[test]
fn complete_computes_the_status_from_blocking_gates() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "a").ok();
    let out = repo.orch(&["run", "complete", "--run", &run, "--json"]);
    let v = out.ok().json();
    assert_eq!(v["status"], "FAILED");
    let r = repo.run_json(&run);
    assert_eq!(r["status"], "FAILED");
    assert!(r["finished_at"].is_string());
    // The attempt left in progress is closed, in RUN.json and in its file.
    assert_eq!(r["gates"][0]["attempts"][0]["status"], "FAIL");
    assert_eq!(repo.attempt_json(&run, "G1", 1)["status"], "FAIL");
    let last = r["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "RUN_COMPLETED");
    assert_eq!(last["status"], "FAILED");

    let before = repo.read(&format!("orchestration/runs/{run}/record/RUN.json"));
    let out = repo.orch(&["run", "complete", "--run", &run]);
    assert!(
        out.code(3).one_error().contains("was completed (FAILED)"),
        "{}",
        out.stderr
    );
    repo.start_gate(&run, "G2", "a").code(3);
    assert_eq!(
        repo.read(&format!("orchestration/runs/{run}/record/RUN.json")),
        before
    );
}

#[test]
fn complete_with_an_explicit_status() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.orch(&["run", "complete", "--run", &run, "--status", "canceled"])
        .ok()
        .stdout_has("CANCELED");
    assert_eq!(repo.run_json(&run)["status"], "CANCELED");
}

#[test]
fn run_ids_resolve_by_unique_prefix_or_suffix() {
    let repo = TestRepo::shipped();
    let a = repo.start_run("alpha");
    let b = repo.start_run("beta");
    let suffix = &a[a.len() - 6..];
    repo.orch(&["run", "show", "--run", suffix, "--json"]).ok();
    let prefix = &b[..b.find("_beta").unwrap() + 5];
    let shown = repo
        .orch(&["run", "show", "--run", prefix, "--json"])
        .ok()
        .json();
    assert_eq!(shown["run_id"], b.as_str());

    let out = repo.orch(&["run", "show", "--run", "run_"]);
    assert_eq!(out.code(2).one_error(), "error: `run_` matches 2 runs");
    out.stderr_has(&a).stderr_has(&b);
    let out = repo.orch(&["run", "show", "--run", "nope"]);
    assert_eq!(out.code(2).one_error(), "error: no run matches `nope`");
    out.stderr_has("hint: `orch run list` shows the runs");
}
