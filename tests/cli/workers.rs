//! Workers: claiming, running, recording. Four workers over forty tasks
//! run each exactly once; a worker killed with SIGKILL is rescued and its
//! run resumed; SIGTERM gives the work back; a stuck run is rescued and the
//! worker that lost its claim writes nothing more; statuses follow runs.
//! Intervals are sub-second through the environment.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Out, TestRepo};
use crate::pipeline::{eventually, gone, pid_in};
use crate::team::{QUICK, add, add_w, at, fixture, show, status};

/// Short intervals: a heartbeat every 0.1 s, a look at the queue every
/// 0.05 s. A dead worker on this host is known at once by its process; the
/// heartbeat's limit stays a few seconds, so a busy machine that delays a
/// beat does not make a live worker look dead.
const FAST: [(&str, &str); 3] = [
    ("ORCH_HEARTBEAT_S", "0.1"),
    ("ORCH_STALE_AFTER_S", "5"),
    ("ORCH_POLL_INTERVAL", "0.05"),
];

pub fn spawn_worker(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut all = vec!["worker"];
    all.extend_from_slice(args);
    let mut cmd = repo.command(&all);
    for (k, v) in FAST.iter().chain(env) {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most a minute) for a child orch and returns what it printed.
pub fn finish(mut child: Child) -> Out {
    let until = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            panic!(
                "orch did not finish: {:?}",
                child.wait_with_output().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

pub fn kinds(task: &Value) -> Vec<String> {
    task["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

fn runs(repo: &TestRepo) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(repo.path().join("orchestration/runs"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn attempt_statuses(repo: &TestRepo, run: &str) -> Vec<String> {
    repo.run_json(run)["gates"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap().to_string())
        .collect()
}

/// An agent that sleeps on its first call (writing its pid), then works.
const SLOW_FIRST: &str = "if [ ! -e slept ]; then touch slept; echo $$ > agent.pid; sleep 30; fi\nmkdir -p \"$ORCH_ARTIFACT_PATH\"\necho done > \"$ORCH_ARTIFACT_PATH/A1.md\"\n";

#[test]
pub fn four_workers_run_forty_tasks_exactly_once() {
    let repo = fixture(QUICK);
    let ids: Vec<String> = (0..40)
        .map(|i| add_w(&repo, &format!("task {i}"), &format!("s{i}"), &[]))
        .collect();
    let workers: Vec<Child> = (0..4)
        .map(|i| {
            spawn_worker(
                &repo,
                &["--id", &format!("w{i}"), "--exit-when-empty", "--json"],
                &[],
            )
        })
        .collect();
    let mut claimed = Vec::new();
    for w in workers {
        let out = finish(w);
        out.ok();
        for line in out.stdout.lines() {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if v["event"] == "claimed" {
                claimed.push(v["task"].as_str().unwrap().to_string());
            }
        }
    }
    claimed.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(claimed, want, "every task claimed exactly once");
    assert_eq!(runs(&repo).len(), 40, "one run per task");
    for id in &ids {
        let t = show(&repo, id);
        assert_eq!(t["task"]["status"], "DONE", "{id}");
        let k = kinds(&t);
        assert_eq!(
            k.iter().filter(|k| *k == "started").count(),
            1,
            "{id}: {k:?}"
        );
        assert_eq!(k.last().map(String::as_str), Some("done"));
        assert_eq!(t["runs"].as_array().unwrap().len(), 1);
        assert_eq!(t["runs"][0]["status"], "PASSED");
    }
}

/// A task whose agent sleeps on its first call, and worker w1 working on
/// it: the task, the worker, the agent's pid.
fn slow_task_under_way() -> (TestRepo, String, Child, u32) {
    let repo = fixture(SLOW_FIRST);
    let t = add_w(&repo, "slow", "slow", &[]);
    let w1 = spawn_worker(&repo, &["--id", "w1"], &[]);
    let agent = pid_in(&repo, "agent.pid");
    eventually("the task to start", || status(&repo, &t) == "IN_PROGRESS");
    (repo, t, w1, agent)
}

#[test]
pub fn a_worker_killed_with_sigkill_is_rescued_and_its_run_resumed() {
    let (repo, t, w1, agent) = slow_task_under_way();
    signal(w1.id(), "-KILL");
    finish(w1);
    let run = runs(&repo).pop().unwrap();
    // The claim outlives its worker until a rescue.
    assert!(repo.orch(&["worker", "list"]).stdout.contains("stale"));
    let rescued = repo
        .orch_env(&["worker", "rescue", "--json"], &FAST)
        .ok()
        .json();
    assert_eq!(rescued[0]["task"], t.as_str());
    assert_eq!(rescued[0]["holder"], "w1");
    assert_eq!(rescued[0]["run_id"], run.as_str());
    assert_eq!(rescued[0]["run_interrupted"], true);
    assert!(
        rescued[0]["reason"].as_str().unwrap().contains("is gone"),
        "{rescued}"
    );
    eventually("the dead worker's agent to be stopped", || gone(agent));
    assert_eq!(status(&repo, &t), "TODO");
    assert_eq!(repo.run_json(&run)["status"], "INTERRUPTED");
    assert_eq!(attempt_statuses(&repo, &run), ["INTERRUPTED"]);
    repo.orch_env(&["worker", "rescue"], &FAST)
        .ok()
        .stderr_has("nothing to rescue");

    // The next worker resumes the same run, keeping its history.
    // A ready task of lower priority waits: the approved one goes first.
    let other = add_w(&repo, "lower", "low", &["--priority", "low"]);
    let out = repo.orch_env(
        &["worker", "--id", "w2", "--once", "--exit-when-empty"],
        &FAST,
    );
    out.ok().stderr_has(&format!("w2: {t}: resumed run {run}"));
    assert_eq!(status(&repo, &other), "TODO");
    assert_eq!(runs(&repo), vec![run.clone()]);
    assert_eq!(repo.run_json(&run)["status"], "PASSED");
    assert_eq!(attempt_statuses(&repo, &run), ["INTERRUPTED", "PASS"]);
    let task = show(&repo, &t);
    assert_eq!(task["task"]["status"], "DONE");
    assert_eq!(
        kinds(&task),
        ["started", "released", "started", "progress", "done"]
    );
    assert_eq!(task["events"][1]["run_id"], run.as_str());
    assert_eq!(
        task["events"][2]["fence"], 2,
        "the second claim has the next fence"
    );
}

#[test]
pub fn sigterm_gives_the_work_back_and_exits_130() {
    let (repo, t, w1, agent) = slow_task_under_way();
    // One id, one live worker.
    repo.orch(&["worker", "--id", "w1", "--once"])
        .code(3)
        .stderr_has("worker `w1` is already running");
    signal(w1.id(), "-TERM");
    let out = finish(w1);
    out.code(130).stderr_has("w1: stopped (interrupted)");
    eventually("its agent to be stopped", || gone(agent));
    let task = show(&repo, &t);
    assert_eq!(task["task"]["status"], "TODO");
    assert!(
        task["task"]["reason"]
            .as_str()
            .unwrap()
            .contains("the run is resumable"),
        "{task}"
    );
    let run = runs(&repo).pop().unwrap();
    assert_eq!(repo.run_json(&run)["status"], "INTERRUPTED");
    let list = repo.orch(&["worker", "list", "--json"]).ok().json();
    assert_eq!(list["workers"][0]["state"], "stopped");
    assert_eq!(list["workers"][0]["current"], serde_json::json!([]));
    repo.orch_env(
        &["worker", "--id", "w1", "--once", "--exit-when-empty"],
        &FAST,
    )
    .ok();
    assert_eq!(status(&repo, &t), "DONE");
    assert_eq!(attempt_statuses(&repo, &run), ["INTERRUPTED", "PASS"]);
}

#[test]
pub fn a_stuck_run_is_rescued_and_the_worker_that_lost_it_writes_nothing() {
    let repo = fixture(SLOW_FIRST);
    let t = add_w(&repo, "slow", "slow", &[]);
    // The worker rescues while it polls: its own run, silent for 1.5 s, is stuck.
    let w1 = spawn_worker(
        &repo,
        &["--id", "w1", "--exit-when-empty"],
        &[("ORCH_STUCK_AFTER_S", "1.5")],
    );
    let out = finish(w1);
    out.ok();
    out.stderr_has(&format!(
        "w1: rescued {t}: rescued by w1: its run showed no progress for 1s"
    ));
    out.stderr_has(&format!(
        "w1: {t}: its claim was taken over; nothing recorded"
    ));
    let run = runs(&repo).pop().unwrap();
    assert_eq!(attempt_statuses(&repo, &run), ["INTERRUPTED", "PASS"]);
    let task = show(&repo, &t);
    assert_eq!(task["task"]["status"], "DONE");
    // Between the rescue and the second claim, the first holder wrote nothing.
    assert_eq!(
        kinds(&task),
        ["started", "released", "started", "progress", "done"]
    );
    assert_eq!(task["events"][1]["worker"], "w1");
    assert_eq!(task["events"][2]["fence"], 2);
}

#[test]
pub fn a_task_follows_its_run() {
    let repo = fixture(
        "case \"$ORCH_SLUG\" in\n\
         bad) mkdir -p \"$ORCH_ARTIFACT_PATH\"; echo nope > \"$ORCH_ARTIFACT_PATH/A1.md\" ;;\n\
         stuck) echo '{\"status\": \"blocked\", \"reason\": \"the API key is missing\"}' ;;\n\
         *) mkdir -p \"$ORCH_ARTIFACT_PATH\"; echo done > \"$ORCH_ARTIFACT_PATH/A1.md\" ;;\n\
         esac\n",
    );
    repo.write(
        "orchestration/workflows/h.json",
        r#"{"workflow": "h", "default_artifact_path": "out/{slug}", "gates": [{"gate": "A1", "name": "By hand"}]}"#,
    );
    let good = add_w(&repo, "good", "good", &[]);
    let bad = add_w(&repo, "bad", "bad", &[]);
    let stuck = add_w(&repo, "stuck", "stuck", &[]);
    let person = add(&repo, "by hand", &["--workflow", "h", "--slug", "person"]);
    let after = add(&repo, "after the person", &["--depends-on", &person]);
    repo.orch_env(&["worker", "--id", "w1", "--exit-when-empty"], &FAST)
        .ok();
    assert_eq!(status(&repo, &good), "DONE");
    let b = show(&repo, &bad);
    assert_eq!(b["task"]["status"], "FAILED");
    assert!(
        b["task"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("A1 failed:"),
        "{b}"
    );
    let s = show(&repo, &stuck);
    assert_eq!(s["task"]["status"], "BLOCKED");
    assert_eq!(
        s["task"]["reason"],
        "A1: the agent is blocked: the API key is missing"
    );
    let p = show(&repo, &person);
    assert_eq!(p["task"]["status"], "AWAITING_INPUT");
    assert!(
        p["task"]["reason"]
            .as_str()
            .unwrap()
            .contains("A1 waits for a person"),
        "{p}"
    );
    assert_eq!(status(&repo, &after), "BLOCKED");
    // The person does the work; `task run` resumes the run, which validates it.
    repo.write("out/person/A1.md", "done by hand\n");
    let out = repo.orch_env(&["task", "run", &person], &FAST);
    out.ok().stdout_has("PASSED");
    out.stderr_has(&format!("task {person} is DONE"))
        .stderr_has(&format!("{after} is ready now"));
    assert_eq!(
        show(&repo, &person)["runs"].as_array().unwrap().len(),
        1,
        "the same run"
    );
    // A failed task comes back with `retry`; its open run is resumed.
    repo.write("agent.sh", QUICK);
    at(&repo, &["task", "retry", &bad]).ok();
    repo.orch_env(
        &["worker", "--id", "w1", "--once", "--exit-when-empty"],
        &FAST,
    )
    .ok();
    let b = show(&repo, &bad);
    assert_eq!(b["task"]["status"], "DONE");
    assert_eq!(b["runs"].as_array().unwrap().len(), 1);
    assert_eq!(
        kinds(&b),
        [
            "started", "failed", "retried", "started", "progress", "done"
        ]
    );
}

#[test]
pub fn workers_take_only_tasks_whose_tags_they_have() {
    let repo = fixture(QUICK);
    let plain = add_w(&repo, "plain", "plain", &[]);
    let gpu = add_w(
        &repo,
        "gpu",
        "gpu",
        &["--tag", "gpu", "--priority", "critical"],
    );
    let hand = add(&repo, "by hand", &["--priority", "critical"]);
    let out = repo.orch_env(&["worker", "--id", "plain", "--exit-when-empty"], &FAST);
    out.ok()
        .stderr_has("1 task is ready but tagged for other workers (tags: gpu)");
    assert_eq!(
        (status(&repo, &plain), status(&repo, &gpu)),
        ("DONE".into(), "TODO".into())
    );
    repo.orch_env(
        &["worker", "--id", "big", "--tag", "gpu", "--exit-when-empty"],
        &FAST,
    )
    .ok();
    assert_eq!(status(&repo, &gpu), "DONE");
    assert_eq!(status(&repo, &hand), "TODO", "no workflow: a person's task");
    let v = at(&repo, &["next", "--tag", "gpu", "--explain", "--json"])
        .ok()
        .json();
    assert_eq!(v["id"], hand.as_str());
}

#[test]
pub fn worker_list_shows_workers_and_the_queue() {
    let repo = fixture(QUICK);
    add_w(&repo, "a", "a", &[]);
    let out = repo.orch(&["worker", "list"]);
    out.ok()
        .stderr_has("no workers available: start one with `orch worker`");
    out.stdout_has("queue: 1 ready");
    let next = at(&repo, &["next"]);
    next.ok().stderr_has("no workers available");
    repo.orch_env(
        &[
            "worker",
            "--id",
            "w1",
            "--exit-when-empty",
            "--concurrency",
            "2",
        ],
        &FAST,
    )
    .ok();
    let v = repo.orch(&["worker", "list", "--json"]).ok().json();
    let w = &v["workers"][0];
    assert_eq!(
        (w["id"].as_str(), w["state"].as_str()),
        (Some("w1"), Some("stopped"))
    );
    assert_eq!(
        (w["done"].as_u64(), w["failed"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(w["concurrency"], 2);
    assert_eq!(v["recent"]["done"], 1);
    assert_eq!(v["recent"]["failure_rate"], 0.0);
    // A worker gone for more than a day is forgotten by cleanup.
    let path = repo.path().join(".git/orch/queue/workers/w1.json");
    let mut rec: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    rec["heartbeat_at"] = "2020-01-01T00:00:00.000Z".into();
    std::fs::write(&path, rec.to_string()).unwrap();
    repo.orch(&["worker", "cleanup"])
        .ok()
        .stdout_has("forgot w1");
    assert_eq!(
        repo.orch(&["worker", "list", "--json"]).json()["workers"],
        serde_json::json!([])
    );
    // Bad settings are refused before anything starts.
    repo.orch(&["worker", "--poll-interval", "0"])
        .code(2)
        .one_error();
    repo.orch(&["worker", "--concurrency", "0"]).code(2);
    repo.orch(&["worker", "--id", "a b"]).code(2).one_error();
    repo.orch_env(
        &["worker", "--once", "--exit-when-empty"],
        &[("ORCH_MAX_CONCURRENT", "many")],
    )
    .code(2);
}

#[test]
pub fn one_worker_runs_several_tasks_at_once() {
    let repo = fixture(
        "sleep 0.2\nmkdir -p \"$ORCH_ARTIFACT_PATH\"\necho done > \"$ORCH_ARTIFACT_PATH/A1.md\"\n",
    );
    let ids: Vec<String> = (0..6)
        .map(|i| add_w(&repo, &format!("t{i}"), &format!("s{i}"), &[]))
        .collect();
    let out = repo.orch_env(
        &[
            "worker",
            "--id",
            "w1",
            "--concurrency",
            "3",
            "--exit-when-empty",
            "--json",
        ],
        &FAST,
    );
    out.ok();
    let most = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .fold((0i32, 0i32), |(now, most), v| match v["event"].as_str() {
            Some("claimed") => (now + 1, most.max(now + 1)),
            Some("finished") => (now - 1, most),
            _ => (now, most),
        })
        .1;
    assert!(most > 1 && most <= 3, "held {most} at once");
    for id in &ids {
        assert_eq!(status(&repo, id), "DONE");
    }
    assert_eq!(runs(&repo).len(), 6);
}

#[test]
pub fn cancelling_a_running_task_stops_its_run() {
    let (repo, t, w1, agent) = slow_task_under_way();
    // A person may not close it under a live worker, but may cancel it.
    repo.orch(&["task", "done", &t])
        .code(3)
        .stderr_has("being worked on by worker `w1`");
    repo.orch(&["task", "cancel", &t, "--reason", "not needed after all"])
        .ok();
    eventually("the worker to stop the agent", || gone(agent));
    let run = runs(&repo).pop().unwrap();
    eventually("the run to be interrupted", || {
        repo.run_json(&run)["status"] == "INTERRUPTED"
    });
    signal(w1.id(), "-TERM");
    let out = finish(w1);
    out.code(130).stderr_has(&format!(
        "w1: {t}: its claim was taken over; nothing recorded"
    ));
    let task = show(&repo, &t);
    assert_eq!(task["task"]["status"], "CANCELLED");
    assert_eq!(kinds(&task), ["started", "cancelled"]);
    // Retried, it resumes the same run.
    repo.orch(&["task", "retry", &t]).ok();
    repo.orch_env(
        &["worker", "--id", "w2", "--once", "--exit-when-empty"],
        &FAST,
    )
    .ok();
    assert_eq!(status(&repo, &t), "DONE");
    assert_eq!(attempt_statuses(&repo, &run), ["INTERRUPTED", "PASS"]);
}

#[test]
pub fn a_task_awaiting_approval_says_so_and_the_next_worker_resumes_it_once_approved() {
    let repo = TestRepo::vetted();
    crate::team::on_queue(&repo);
    let team = fixture(QUICK);
    for f in [
        "orchestration/gates/contracts/A1.contract.json",
        "agent.sh",
        ".gitignore",
    ] {
        repo.write(f, &team.read(f));
    }
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out/{slug}",
            "gates": [{"gate": "A1", "name": "Write it", "agent": "fake", "executor": {"command": ["sh", "agent.sh"]},
                       "approval": {"required": true}}]}"#,
    );
    let t = add_w(&repo, "approve me", "appr", &[]);
    let after = add(&repo, "after it", &["--depends-on", &t]);
    // The worker's options are the run's, as `orch run` records them.
    repo.orch_env(
        &[
            "worker",
            "--id",
            "w1",
            "--exit-when-empty",
            "--model",
            "m-1",
        ],
        &FAST,
    )
    .ok();
    let run = runs(&repo).pop().unwrap();
    let record = repo.run_json(&run);
    assert_eq!(record["status"], "AWAITING_APPROVAL");
    assert_eq!(record["task"], t.as_str(), "the run names its task");
    assert_eq!(record["options"]["model"], "m-1");

    let task = show(&repo, &t);
    assert_eq!(task["task"]["status"], "AWAITING_APPROVAL");
    let why = task["task"]["reason"].as_str().unwrap();
    assert!(
        why.contains("A1 awaits approval of its outputs (0 of 1 so far)")
            && why.contains(&format!("orch approve --run {run} --gate A1")),
        "{why}"
    );
    assert_eq!(status(&repo, &after), "BLOCKED");
    let listed = repo
        .orch(&["task", "list", "--status", "awaiting_approval", "--json"])
        .ok()
        .json();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [t.as_str()]);
    repo.orch(&["worker", "list"])
        .ok()
        .stdout_has("1 awaiting approval");
    // Nothing to do for a worker until a person approves.
    repo.orch_env(
        &["worker", "--id", "w1", "--once", "--exit-when-empty"],
        &FAST,
    )
    .ok();
    assert_eq!(status(&repo, &t), "AWAITING_APPROVAL");

    repo.reviewer_decides("approve", &run, "A1", "reads well")
        .ok();
    let task = show(&repo, &t);
    assert_eq!(task["task"]["status"], "TODO", "{task}");
    assert!(
        task["task"]["reason"]
            .as_str()
            .unwrap()
            .contains("the next worker resumes it"),
        "{task}"
    );
    // A ready task of lower priority waits: the approved one goes first.
    let other = add_w(&repo, "lower", "low", &["--priority", "low"]);
    let out = repo.orch_env(
        &["worker", "--id", "w2", "--once", "--exit-when-empty"],
        &FAST,
    );
    out.ok().stderr_has(&format!("w2: {t}: resumed run {run}"));
    assert_eq!(status(&repo, &other), "TODO");
    assert_eq!(status(&repo, &t), "DONE");
    assert_eq!(status(&repo, &after), "TODO");
    let record = repo.run_json(&run);
    assert_eq!(record["status"], "PASSED");
    assert_eq!(record["options"]["model"], "m-1", "resume kept the model");
}

#[test]
pub fn a_rescue_tells_the_people_who_asked_and_names_the_task() {
    let (repo, t, w1, agent) = slow_task_under_way();
    repo.write(
        "orchestration/notify.json",
        r#"{"targets": [{"name": "lead", "format": "json", "url_env": "HOOK_URL", "events": ["rescued"]}]}"#,
    );
    signal(w1.id(), "-KILL");
    finish(w1);
    let run = runs(&repo).pop().unwrap();
    // Offline: recorded in the run, not sent.
    let server = crate::common::Server::start(&[200]);
    let mut env = FAST.to_vec();
    env.push(("HOOK_URL", server.url.as_str()));
    let mut offline = env.clone();
    offline.push(("ORCH_OFFLINE", "1"));
    let rescued = repo
        .orch_env(&["worker", "rescue", "--json"], &offline)
        .ok()
        .json();
    assert_eq!(rescued[0]["task"], t.as_str());
    assert_eq!(rescued[0]["notified"][0]["event"], "rescued");
    assert_eq!(rescued[0]["notified"][0]["status"], "pending");
    assert!(server.requests().is_empty(), "offline sends nothing");
    let kept = repo.read_json(&format!(
        "orchestration/runs/{run}/record/notifications.json"
    ));
    assert_eq!(kept["notifications"][0]["event"], "rescued");
    eventually("the dead worker's agent to be stopped", || gone(agent));

    // `orch notify retry` sends it: the message names the task and the run.
    repo.orch_env(&["notify", "retry"], &env).ok();
    let sent = server.requests();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let body = sent[0].json();
    assert_eq!(body["event"], "rescued");
    assert_eq!(body["run_id"], run.as_str());
    assert_eq!(body["task"], t.as_str());
}
