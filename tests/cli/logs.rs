//! Live logs: `orch run logs --follow` prints what an agent writes while
//! it writes it, and stops by itself when the invocation ends (its record
//! is written, or the run's owner is gone). `orch worker list` says how to
//! follow a busy worker's run.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::TestRepo;
use crate::pipeline::{eventually, gone};
use crate::team::{add_w, fixture};

/// Prints a line, waits for the test to create `release` (at most 20 s),
/// prints another, then does the gate's work.
const WAITS: &str = "echo \"first $ORCH_SLUG\"\n\
    i=0; while [ ! -e release ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\n\
    echo \"second $ORCH_SLUG\"\n\
    mkdir -p \"$ORCH_ARTIFACT_PATH\"\necho done > \"$ORCH_ARTIFACT_PATH/A1.md\"\n";

const FAST: [(&str, &str); 3] = [
    ("ORCH_HEARTBEAT_S", "0.1"),
    ("ORCH_STALE_AFTER_S", "5"),
    ("ORCH_POLL_INTERVAL", "0.05"),
];

fn spawn(repo: &TestRepo, args: &[&str]) -> Child {
    let mut cmd = repo.command(args);
    cmd.envs(FAST)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The one run's id, once its agent has printed its first line.
fn run_under_way(repo: &TestRepo) -> String {
    let mut run = String::new();
    eventually("the agent's first line", || {
        let Ok(runs) = std::fs::read_dir(repo.path().join("orchestration/runs")) else {
            return false;
        };
        for r in runs.flatten() {
            let logs = r.path().join("logs/invocations");
            for inv in std::fs::read_dir(logs).into_iter().flatten().flatten() {
                let text =
                    std::fs::read_to_string(inv.path().join("stdout.log")).unwrap_or_default();
                if text.contains("first") {
                    run = r.file_name().into_string().unwrap();
                    return true;
                }
            }
        }
        false
    });
    run
}

/// Follows a run's logs: each line arrives on the channel, then
/// `exit <code>` when the follower ends.
fn follow(repo: &TestRepo, run: &str) -> mpsc::Receiver<String> {
    let mut child = spawn(repo, &["run", "logs", "--run", run, "--follow"]);
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
        let code = child.wait().unwrap().code().unwrap_or(-1);
        let _ = tx.send(format!("exit {code}"));
    });
    rx
}

fn next_line(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(20))
        .expect("a line from `run logs --follow`")
}

#[test]
fn follow_shows_lines_written_after_it_started_and_stops_when_the_invocation_ends() {
    let repo = fixture(WAITS);
    let id = add_w(&repo, "slow", "one", &[]);
    let worker = spawn(&repo, &["worker", "--id", "w1", "--exit-when-empty"]);
    let run = run_under_way(&repo);
    // The busy worker says how to follow its run.
    let list = repo.orch(&["worker", "list"]);
    list.ok()
        .stdout_has(&format!("w1 {id}: orch run logs --run {run} --follow"));
    let rx = follow(&repo, &run);
    assert_eq!(next_line(&rx), "first one");
    repo.write("release", "");
    assert_eq!(
        next_line(&rx),
        "second one",
        "a line written after following began"
    );
    assert_eq!(next_line(&rx), "exit 0", "the follower stops by itself");
    let out = crate::workers::finish(worker);
    out.ok();
    // Afterwards the whole log prints at once; --gate picks the gate's latest.
    repo.orch(&["run", "logs", "--run", &run, "--gate", "A1"])
        .ok()
        .stdout_has("first one\nsecond one\n");
    let v = repo
        .orch(&["run", "logs", "--run", &run, "--json"])
        .ok()
        .json();
    assert_eq!(v["text"], "first one\nsecond one\n");
    assert_eq!(v["gate"], "A1");
    assert_eq!(v["ended"], true);
    let bad = repo.orch(&["run", "logs", "--run", &run, "--gate", "Z9"]);
    assert_ne!(bad.code, 0);
    bad.stderr_has("no invocation logs of gate Z9")
        .stderr_has("hint:");
}

#[test]
fn follow_stops_when_the_runs_owner_dies() {
    let repo = fixture(WAITS);
    let id = add_w(&repo, "slow", "two", &[]);
    let mut runner = spawn(&repo, &["task", "run", &id]);
    let run = run_under_way(&repo);
    let rx = follow(&repo, &run);
    assert_eq!(next_line(&rx), "first two");
    let pid = runner.id();
    runner.kill().unwrap();
    runner.wait().unwrap();
    eventually("the runner gone", || gone(pid));
    assert_eq!(next_line(&rx), "exit 0", "the follower stops by itself");
    repo.write("release", ""); // lets the orphaned agent end
}
