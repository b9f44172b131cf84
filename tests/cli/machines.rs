//! Many machines: workers in two clones of one bare remote share a queue
//! on PostgreSQL, and `orch worker --commit --push origin` brings every
//! run's record back through git: each task run once, each run committed
//! once, nothing lost.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::{BIN, Out, git_in as git};
use crate::pgserver;
use crate::team::{QUICK, fixture};

fn orch(dir: &Path, args: &[&str], queue: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("ORCH_QUEUE_URL", queue)
        .env("ORCH_HEARTBEAT_S", "0.2")
        .env("ORCH_POLL_INTERVAL", "0.05")
        .env_remove("ORCH_NOW")
        .env_remove("ORCH_SEED")
        .stdin(Stdio::null());
    cmd
}

/// A bare remote holding the fixture with `tasks` committed task files,
/// and two clones of it; the queue (imported from the first clone).
struct Team {
    _dir: tempfile::TempDir,
    remote: std::path::PathBuf,
    clones: Vec<std::path::PathBuf>,
    queue: String,
}

fn team(tasks: usize) -> Option<Team> {
    let queue = pgserver::fresh_queue()?;
    let origin = fixture(QUICK);
    for i in 0..tasks {
        origin.write(
            &format!("orchestration/tasks/t_{i:04}.json"),
            &format!(
                r#"{{"format_version": 1, "id": "t_{i:04}", "title": "task {i}",
                    "workflow": {{"name": "w", "slug": "s{i}"}},
                    "created_at": "2026-03-01T00:00:00.000Z"}}"#
            ),
        );
    }
    origin.git(&["add", "-A"]);
    origin.git(&["commit", "-qm", "backlog"]);
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("remote.git");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            origin.path().to_str().unwrap(),
            remote.to_str().unwrap(),
        ],
    );
    let clones: Vec<_> = ["a", "b"]
        .iter()
        .map(|name| {
            let path = dir.path().join(name);
            git(
                dir.path(),
                &[
                    "clone",
                    "-q",
                    remote.to_str().unwrap(),
                    path.to_str().unwrap(),
                ],
            );
            git(&path, &["config", "user.name", &format!("Machine {name}")]);
            git(
                &path,
                &["config", "user.email", &format!("{name}@example.com")],
            );
            path
        })
        .collect();
    let out = Out::from(
        &orch(&clones[0], &["queue", "import"], &queue)
            .output()
            .unwrap(),
    );
    out.ok().stdout_has(&format!("copied {tasks} new task(s)"));
    Some(Team {
        _dir: dir,
        remote,
        clones,
        queue,
    })
}

/// Runs `per_clone` workers in each clone until the queue is empty; the
/// JSON lines they printed.
fn work(team: &Team, per_clone: usize, extra: &[&str]) -> Vec<Value> {
    let children: Vec<Child> = team
        .clones
        .iter()
        .enumerate()
        .flat_map(|(c, dir)| {
            (0..per_clone).map(move |i| {
                let id = format!("m{c}w{i}");
                let mut args = vec!["worker", "--id", &id, "--exit-when-empty", "--json"];
                args.extend_from_slice(extra);
                orch(dir, &args, &team.queue)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
        })
        .collect();
    let mut lines = Vec::new();
    for child in children {
        let out = Out::from(&child.wait_with_output().unwrap());
        out.ok();
        for line in out.stdout.lines() {
            lines.push(serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")));
        }
    }
    lines
}

/// Every task of the backlog ran once and was committed once, on the remote.
fn assert_each_once(team: &Team, tasks: usize, lines: &[Value]) {
    let mut claimed: HashMap<String, usize> = HashMap::new();
    for v in lines.iter().filter(|v| v["event"] == "claimed") {
        *claimed
            .entry(v["task"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(claimed.len(), tasks, "every task claimed");
    assert!(claimed.values().all(|n| *n == 1), "a task ran twice");
    let errors: Vec<&Value> = lines.iter().filter(|v| v["event"] == "error").collect();
    assert!(errors.is_empty(), "{errors:?}");
    let log = git(&team.remote, &["log", "--format=%s"]);
    let commits: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("orch: task"))
        .collect();
    assert_eq!(commits.len(), tasks, "one commit per run");
    let mut named: HashMap<&str, usize> = HashMap::new();
    for c in &commits {
        // "orch: task t_0001 run <run-id> PASSED"
        let words: Vec<&str> = c.split_whitespace().collect();
        assert_eq!((words[3], words[5]), ("run", "PASSED"), "{c}");
        *named.entry(words[2]).or_default() += 1;
    }
    assert_eq!(named.len(), tasks, "each task committed once");
    // The remote holds every run's record and outputs.
    let files = git(&team.remote, &["ls-tree", "-r", "--name-only", "HEAD"]);
    let records = files
        .lines()
        .filter(|f| f.ends_with("/record/RUN.json"))
        .count();
    assert_eq!(records, tasks);
    let outputs = files.lines().filter(|f| f.ends_with("/A1.md")).count();
    assert_eq!(outputs, tasks);
    assert!(!files.contains("/logs/"), "logs stay out of git");
    // And the queue says DONE for all.
    let v: Value = serde_json::from_slice(
        &orch(&team.clones[1], &["queue", "status", "--json"], &team.queue)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(v["tasks"]["DONE"].as_u64(), Some(tasks as u64), "{v}");
}

#[test]
fn two_clones_commit_and_push_each_run_once() {
    let Some(team) = team(12) else {
        return;
    };
    let lines = work(&team, 2, &["--push", "origin"]);
    assert_each_once(&team, 12, &lines);
    let pushed = lines
        .iter()
        .filter(|v| v["event"] == "committed" && v["pushed_to"] == "origin")
        .count();
    assert_eq!(pushed, 12);
}

#[test]
fn eight_workers_on_two_clones_run_400_tasks_once_each() {
    let Some(team) = team(400) else {
        return;
    };
    // Each clone commits its runs; then each pushes once (the second
    // rebases on the first: one folder per run, so no conflict).
    let lines = work(&team, 4, &["--commit"]);
    for clone in &team.clones {
        git(clone, &["pull", "-q", "--rebase", "origin", "HEAD"]);
        git(clone, &["push", "-q", "origin", "HEAD"]);
    }
    assert_each_once(&team, 400, &lines);
}

#[test]
fn workers_ride_out_a_postgres_restart_and_no_task_is_lost_or_run_twice() {
    let Some(server) = pgserver::PgServer::start() else {
        return;
    };
    let queue = server.database();
    let repo = fixture(
        "sleep 0.1\nmkdir -p \"$ORCH_ARTIFACT_PATH\"\necho done > \"$ORCH_ARTIFACT_PATH/A1.md\"\n",
    );
    for i in 0..30 {
        repo.write(
            &format!("orchestration/tasks/t_{i:04}.json"),
            &format!(
                r#"{{"format_version": 1, "id": "t_{i:04}", "title": "task {i}",
                    "workflow": {{"name": "w", "slug": "s{i}"}},
                    "created_at": "2026-03-01T00:00:00.000Z"}}"#
            ),
        );
    }
    let run = |args: &[&str]| orch(repo.path(), args, &queue);
    Out::from(&run(&["queue", "init"]).output().unwrap()).ok();
    Out::from(&run(&["queue", "import"]).output().unwrap()).ok();
    let workers: Vec<Child> = (0..2)
        .map(|i| {
            run(&[
                "worker",
                "--id",
                &format!("w{i}"),
                "--exit-when-empty",
                "--json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(800));
    server.stop_server();
    std::thread::sleep(std::time::Duration::from_millis(500));
    server.start_server();
    let mut claimed: HashMap<String, usize> = HashMap::new();
    for w in workers {
        let out = Out::from(&w.wait_with_output().unwrap());
        out.ok();
        for line in out.stdout.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            if v["event"] == "claimed" {
                *claimed
                    .entry(v["task"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
        }
    }
    assert_eq!(claimed.len(), 30, "every task ran");
    assert!(
        claimed.values().all(|n| *n == 1),
        "a task ran twice: {claimed:?}"
    );
    let v: Value =
        serde_json::from_slice(&run(&["queue", "status", "--json"]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(v["tasks"]["DONE"].as_u64(), Some(30), "{v}");
}

#[test]
fn commit_and_push_are_refused_with_isolate_which_commits_on_the_task_branch() {
    let repo = fixture(QUICK);
    for flags in [&["--commit"][..], &["--push", "origin"][..]] {
        let mut args = vec!["worker", "--isolate", "--once"];
        args.extend_from_slice(flags);
        repo.orch(&args)
            .code(2)
            .stderr_has("cannot be used with")
            .stderr_has("--isolate");
    }
    assert!(repo.git(&["branch", "--list", "orch/*"]).is_empty());
}
