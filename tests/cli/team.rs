//! The backlog: `orch task …` and `orch next`. Selection rules (weights,
//! boosts, ties, "today" in TZ's zone), dependencies and cycles, bad input,
//! claims that never hand out one task twice, and two clones whose task
//! files merge without a conflict.

#![allow(clippy::many_single_char_names)] // tasks a, b, c … in dependency chains

use std::collections::HashSet;
use std::process::Command;

use serde_json::Value;

use crate::common::{Out, TestRepo};

pub const NOW: &str = "2026-03-10T12:00:00Z";

thread_local! {
    /// Whether `fixture` repositories keep their queue on PostgreSQL.
    static ON_POSTGRES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `test` with each of its `fixture` repositories on a fresh
/// PostgreSQL queue (skipped, saying why, where there is no server).
pub fn on_postgres(test: fn()) {
    if crate::pgserver::shared().is_some() {
        ON_POSTGRES.with(|p| p.set(true));
        test();
    }
}

/// Points `repo` at a fresh PostgreSQL queue when the test runs on
/// PostgreSQL (`on_postgres`); else it keeps the file queue.
pub fn on_queue(repo: &TestRepo) {
    if ON_POSTGRES.with(std::cell::Cell::get) {
        let url = crate::pgserver::fresh_queue().expect("on_postgres checked the server");
        repo.set_env("ORCH_QUEUE_URL", &url);
    }
}

/// A repository with a one-gate workflow `w` (outputs in `out/<slug>`): the
/// gate needs `out/<slug>/A1.md` containing "done", written by `sh agent.sh`.
pub fn fixture(agent: &str) -> TestRepo {
    let repo = TestRepo::new();
    on_queue(&repo);
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out/{slug}",
            "gates": [{"gate": "A1", "name": "Write it", "agent": "fake", "executor": {"command": ["sh", "agent.sh"]}}]}"#,
    );
    repo.write(
        "orchestration/gates/contracts/A1.contract.json",
        r#"{"gate": "A1", "required_outputs": {"all_of": [{"path": "{artifact_path}/A1.md"}]},
            "validations": [{"type": "contains_text", "target": "{artifact_path}/A1.md", "patterns": ["done"]}]}"#,
    );
    repo.write("agent.sh", agent);
    repo.write(".gitignore", "orchestration/runs/*/logs/\n");
    repo
}

/// An agent that does the gate at once.
pub const QUICK: &str =
    "mkdir -p \"$ORCH_ARTIFACT_PATH\"\necho done > \"$ORCH_ARTIFACT_PATH/A1.md\"\n";

/// `orch …` with a fixed clock and zone.
pub fn at(repo: &TestRepo, args: &[&str]) -> Out {
    repo.orch_env(args, &[("ORCH_NOW", NOW), ("TZ", "UTC")])
}

/// `orch task add --title T EXTRA…`; the new id.
pub fn add(repo: &TestRepo, title: &str, extra: &[&str]) -> String {
    let mut args = vec!["task", "add", "--title", title];
    args.extend_from_slice(extra);
    let out = at(repo, &args);
    out.ok();
    let id = out.stdout.trim().to_string();
    assert!(
        id.starts_with("t_") && !id.contains('\n'),
        "{:?}",
        out.stdout
    );
    id
}

/// `add` with the workflow `w` and a slug.
pub fn add_w(repo: &TestRepo, title: &str, slug: &str, extra: &[&str]) -> String {
    let mut args = vec!["--workflow", "w", "--slug", slug];
    args.extend_from_slice(extra);
    add(repo, title, &args)
}

/// A task's `task show --json`.
pub fn show(repo: &TestRepo, id: &str) -> Value {
    at(repo, &["task", "show", id, "--json"]).ok().json()
}

pub fn status(repo: &TestRepo, id: &str) -> String {
    show(repo, id)["task"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The ids `next --explain --json` ranks, best first.
fn ranked(repo: &TestRepo, env: &[(&str, &str)]) -> Vec<(String, u64)> {
    let v = repo.orch_env(&["next", "--explain", "--json"], env).json();
    v["explain"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["score"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn add_prints_the_id_alone_and_commits_one_file_per_task() {
    let repo = fixture(QUICK);
    let a = add(&repo, "Write the intro", &[]);
    let def = repo.read_json(&format!("orchestration/tasks/{a}.json"));
    assert_eq!(def["id"], a.as_str());
    assert_eq!(def["priority"], "medium", "the default priority");
    assert_eq!(def["created_by"]["name"], "Test Author");
    let b = add_w(
        &repo,
        "Research",
        "robot",
        &[
            "--priority",
            "critical",
            "--due",
            "2026-03-12",
            "--depends-on",
            &a,
            "--tag",
            "essay",
        ],
    );
    let def = repo.read_json(&format!("orchestration/tasks/{b}.json"));
    assert_eq!(def["due"], "2026-03-12");
    assert_eq!(def["depends_on"], serde_json::json!([a]));
    assert_eq!(def["workflow"]["name"], "w");
    assert_eq!(def["workflow"]["slug"], "robot");
    assert!(
        def.get("status").is_none(),
        "status is derived, never stored: {def}"
    );
    let out = at(
        &repo,
        &["task", "add", "--title", "J", "--json", "--priority", "low"],
    )
    .ok()
    .json();
    assert_eq!(out["priority"], "low");
    assert_eq!(
        repo.files_under("orchestration/tasks").len(),
        3,
        "one file per task, no ledger"
    );
}

#[test]
pub fn bad_task_input_is_refused_with_exit_2() {
    let repo = fixture(QUICK);
    let a = add(&repo, "A", &[]);
    for (args, needle) in [
        (
            vec!["--depends-on", "t_nothere"],
            "--depends-on `t_nothere`",
        ),
        (
            vec!["--due", "soonish"],
            "cannot read the due date `soonish`",
        ),
        (vec!["--due", "2026-02-30"], "cannot read the due date"),
        (vec!["--priority", "urgent"], "invalid value 'urgent'"),
        (vec!["--slug", "x"], "--workflow"),
        (vec!["--workflow", "nope", "--slug", "x"], "nope"),
        (
            vec!["--workflow", "w", "--slug", "../x"],
            "not a safe path component",
        ),
        (vec!["--tag", "two words"], "tag `two words`"),
    ] {
        let mut all = vec!["task", "add", "--title", "T"];
        all.extend(args);
        let out = at(&repo, &all);
        out.code(2);
        assert!(out.stderr.contains(needle), "{all:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
    at(&repo, &["task", "add", "--title", "  "])
        .code(2)
        .one_error();
    at(&repo, &["task", "show", "t_zzz"]).code(2).one_error();
    at(&repo, &["task", "progress", &a, "--percent", "101"]).code(2);
    at(&repo, &["task", "progress", &a, "--percent", "-1"]).code(2);
    at(&repo, &["task", "list", "--status", "SLEEPING"])
        .code(2)
        .stderr_has("unknown task status");
    at(&repo, &["task", "list", "--cursor", "nonsense"])
        .code(2)
        .one_error();
    at(&repo, &["task", "list", "--since", "last week"])
        .code(2)
        .one_error();
    let tasks = at(&repo, &["task", "list", "--json"]).ok().json();
    assert_eq!(
        tasks.as_array().map(Vec::len),
        Some(1),
        "nothing half-written"
    );
}

#[test]
pub fn dependencies_that_would_make_a_cycle_are_refused() {
    let repo = fixture(QUICK);
    let a = add(&repo, "A", &[]);
    let b = add(&repo, "B", &["--depends-on", &a]);
    let c = add(&repo, "C", &["--depends-on", &b]);
    let out = at(&repo, &["task", "edit", &a, "--depends-on", &c]);
    out.code(2);
    assert!(
        out.one_error().contains(&format!("{a} → {c} → {b} → {a}")),
        "{}",
        out.stderr
    );
    at(&repo, &["task", "edit", &a, "--depends-on", &a])
        .code(2)
        .stderr_has("cycle");
    at(&repo, &["task", "edit", &a, "--depends-on", "t_gone"]).code(2);
    at(&repo, &["task", "edit", &a])
        .code(2)
        .stderr_has("nothing to change");
    // A harmless edit is an event, not a rewrite of task.json.
    at(
        &repo,
        &[
            "task",
            "edit",
            &c,
            "--priority",
            "critical",
            "--no-depends-on",
            &b,
        ],
    )
    .ok();
    let t = show(&repo, &c);
    assert_eq!(t["task"]["priority"], "critical");
    assert_eq!(t["task"]["depends_on"], serde_json::json!([]));
    assert_eq!(t["definition"]["priority"], "medium");
}

#[test]
pub fn weights_boosts_and_ties_decide_what_is_next() {
    let repo = fixture(QUICK);
    let env = [("ORCH_NOW", NOW), ("TZ", "UTC")];
    let low_overdue = add(
        &repo,
        "low, overdue",
        &["--priority", "low", "--due", "2026-03-09"],
    );
    let medium_today = add(&repo, "medium, due today", &["--due", "2026-03-10"]);
    let medium_soon = add(&repo, "medium, in 3 days", &["--due", "2026-03-13"]);
    let medium_later = add(&repo, "medium, in 4 days", &["--due", "2026-03-14"]);
    let high = add(&repo, "high", &["--priority", "high"]);
    let crit = add(
        &repo,
        "critical, in an hour",
        &["--priority", "critical", "--due", "2026-03-10T13:00:00Z"],
    );
    let passed = add(
        &repo,
        "high, an hour ago",
        &["--priority", "high", "--due", "2026-03-10T11:00:00Z"],
    );
    let r = ranked(&repo, &env);
    assert_eq!(
        r,
        vec![
            (crit.clone(), 5000),
            (passed.clone(), 1000),
            (high.clone(), 100),
            (medium_today.clone(), 50),
            (medium_soon.clone(), 20),
            (low_overdue.clone(), 10),
            (medium_later.clone(), 10),
        ]
    );
    // Ties between low_overdue and medium_later (10 each): the earlier deadline.
    let out = repo.orch_env(&["next"], &env);
    out.ok();
    assert_eq!(
        out.stdout.lines().next(),
        Some(crit.as_str()),
        "the id on the first line"
    );
    assert!(
        out.stdout.contains("critical 1000 × due today ×5 = 5000"),
        "{}",
        out.stdout
    );
    let v = repo.orch_env(&["next", "--json"], &env).ok().json();
    assert_eq!(v["id"], crit.as_str());
    assert_eq!(v["score"], 5000);
    assert_eq!(v["priority"], "critical");
    assert_eq!(v["due"], "2026-03-10T13:00:00Z");
    assert_eq!(v["title"], "critical, in an hour");
}

#[test]
pub fn today_is_a_calendar_day_in_the_zone_of_tz() {
    let repo = fixture(QUICK);
    let d11 = add(&repo, "due on the 11th", &["--due", "2026-03-11"]);
    let d10 = add(&repo, "due on the 10th", &["--due", "2026-03-10"]);
    // 23:30 UTC on the 10th: still the 10th in UTC ...
    let utc = [("ORCH_NOW", "2026-03-10T23:30:00Z"), ("TZ", "UTC")];
    assert_eq!(
        ranked(&repo, &utc),
        vec![(d10.clone(), 50), (d11.clone(), 20)]
    );
    // ... but already the 11th two hours east of Greenwich (POSIX: UTC-2 means UTC+2).
    let east = [("ORCH_NOW", "2026-03-10T23:30:00Z"), ("TZ", "EET-2")];
    assert_eq!(
        ranked(&repo, &east),
        vec![(d10.clone(), 100), (d11.clone(), 50)]
    );
    // ... and still the 10th five hours west, where the 10th is not over.
    let west = [("ORCH_NOW", "2026-03-11T03:00:00Z"), ("TZ", "EST5")];
    assert_eq!(ranked(&repo, &west), vec![(d10, 50), (d11, 20)]);
}

#[test]
pub fn more_dependents_then_older_then_id_break_ties() {
    let repo = fixture(QUICK);
    let add_early = |t: &str| {
        repo.orch_env(
            &["task", "add", "--title", t],
            &[("ORCH_NOW", "2026-03-01T00:00:00Z")],
        )
    };
    let first = add_early("older").ok().stdout.trim().to_string();
    let popular = add(&repo, "popular", &[]);
    add(
        &repo,
        "waits on popular",
        &["--depends-on", &popular, "--priority", "low"],
    );
    let plain = add(&repo, "plain", &[]);
    let r: Vec<String> = ranked(&repo, &[("ORCH_NOW", NOW), ("TZ", "UTC")])
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(r, vec![popular.clone(), first.clone(), plain.clone()]);
    let v = repo
        .orch_env(&["next", "--explain", "--json"], &[("ORCH_NOW", NOW)])
        .json();
    let order: Vec<&str> = v["explain"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["order"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        order[1],
        "tie on score and deadline: more dependents go first"
    );
    assert_eq!(
        order[2],
        "tie on score, deadline and dependents: the older task goes first"
    );
    // Same age, same everything: the smaller id.
    let same = fixture(QUICK);
    let ids: Vec<String> = (0..3).map(|i| add(&same, &format!("s{i}"), &[])).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    let r: Vec<String> = ranked(&same, &[("ORCH_NOW", NOW)])
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(r, sorted);
}

/// A claim takes exactly the task `orch next` names, on either backend
/// (the database's claim follows the one ranking, it does not make its own).
#[test]
pub fn claims_take_the_task_next_names() {
    let repo = fixture(QUICK);
    let low = add(&repo, "low", &["--priority", "low"]);
    let soon = add(
        &repo,
        "high, due tomorrow",
        &["--priority", "high", "--due", "2026-03-11"],
    );
    let blocker = add(&repo, "medium, two wait on it", &[]);
    // Older than the others: it goes first among equals.
    let plain = repo
        .orch_env(
            &["task", "add", "--title", "medium"],
            &[("ORCH_NOW", "2026-03-01T00:00:00Z"), ("TZ", "UTC")],
        )
        .ok()
        .stdout
        .trim()
        .to_string();
    let after = add(
        &repo,
        "critical, after the blocker",
        &["--priority", "critical", "--depends-on", &blocker],
    );
    let also = add(&repo, "after the blocker too", &["--depends-on", &blocker]);
    let high = add(&repo, "high", &["--priority", "high"]);
    let mut order = Vec::new();
    loop {
        let next = at(&repo, &["next"]);
        if next.code == 1 {
            break;
        }
        let named = next.ok().stdout.lines().next().unwrap().to_string();
        let claimed = at(&repo, &["next", "--claim", "--worker", "w1"]);
        assert_eq!(claimed.ok().stdout.lines().next(), Some(named.as_str()));
        at(&repo, &["task", "done", &named, "--worker", "w1"]).ok();
        order.push(named);
    }
    assert_eq!(order, [soon, high, blocker, after, plain, also, low]);
}

#[test]
pub fn only_todo_tasks_whose_dependencies_are_done_are_ready() {
    let repo = fixture(QUICK);
    let a = add(&repo, "A", &["--priority", "low"]);
    let b = add(&repo, "B", &["--priority", "critical", "--depends-on", &a]);
    let c = add(&repo, "C", &["--priority", "critical", "--depends-on", &b]);
    let r = ranked(&repo, &[("ORCH_NOW", NOW)]);
    assert_eq!(r, vec![(a.clone(), 1)]);
    assert_eq!(status(&repo, &b), "BLOCKED");
    let listed = at(&repo, &["task", "list", "--ready", "--json"])
        .ok()
        .json();
    let ready: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ready,
        vec![a.as_str()],
        "task list --ready agrees with next"
    );
    let out = at(&repo, &["task", "done", &a]);
    out.ok().stdout_has(&format!("DONE {a}"));
    out.stderr_has(&format!("{b} is ready now"));
    assert_eq!(ranked(&repo, &[("ORCH_NOW", NOW)]), vec![(b.clone(), 1000)]);
    // A failed dependency keeps its dependents waiting, and says so.
    at(
        &repo,
        &["task", "fail", &b, "--reason", "the sources were wrong"],
    )
    .ok();
    let out = at(&repo, &["next"]);
    out.code(1);
    out.stderr_has(&format!("nothing is ready: 1 task waits on {b} (FAILED)"));
    let t = show(&repo, &c);
    assert_eq!(t["task"]["status"], "BLOCKED");
    assert_eq!(t["depends_on"][0]["status"], "FAILED");
    assert_eq!(t["task"]["reason"], format!("waits on {b} (FAILED)"));
}

#[test]
pub fn nothing_ready_says_why_and_exits_1() {
    let repo = fixture(QUICK);
    let out = at(&repo, &["next"]);
    out.code(1).stderr_has("there are no tasks yet");
    let a = add(&repo, "A", &[]);
    let b = add(&repo, "B", &["--depends-on", &a]);
    add(&repo, "C", &["--depends-on", &b]);
    add(&repo, "D", &["--depends-on", &a]);
    let claimed = at(&repo, &["next", "--claim", "--worker", "w9"]);
    claimed.ok();
    assert_eq!(claimed.stdout.lines().next(), Some(a.as_str()));
    let out = at(&repo, &["next"]);
    out.code(1);
    out.stderr_has(&format!(
        "nothing is ready: 3 tasks wait on {a} (IN_PROGRESS)"
    ));
    let v = at(&repo, &["next", "--json"]).code(1).json();
    assert_eq!(v["id"], Value::Null);
    assert!(
        v["why"].as_str().unwrap().contains("3 tasks wait on"),
        "{v}"
    );
    let explain = at(&repo, &["next", "--explain"]);
    explain.code(1);
    explain
        .stdout_has("left out")
        .stdout_has("IN_PROGRESS: claimed by worker w9 (fence 1)");
    explain.stdout_has(&format!("BLOCKED: waits on {a} (IN_PROGRESS)"));
}

#[test]
pub fn concurrent_claims_never_hand_out_one_task_twice() {
    let repo = fixture(QUICK);
    let ids: HashSet<String> = (0..8).map(|i| add(&repo, &format!("t{i}"), &[])).collect();
    let children: Vec<_> = (0..10)
        .map(|i| {
            repo.command(&["next", "--claim", "--worker", &format!("w{i}")])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut got = Vec::new();
    let mut empty = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        match out.status.code() {
            Some(0) => got.push(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .next()
                    .unwrap()
                    .to_string(),
            ),
            Some(1 | 3) => empty += 1,
            other => panic!(
                "unexpected exit {other:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    let unique: HashSet<String> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "a task was claimed twice: {got:?}");
    assert_eq!(unique, ids, "every task was claimed once");
    assert_eq!(empty, 2);
}

#[test]
pub fn statuses_change_only_in_the_allowed_ways() {
    let repo = fixture(QUICK);
    let a = add(&repo, "A", &[]);
    at(&repo, &["task", "retry", &a])
        .code(3)
        .stderr_has("only a FAILED or CANCELLED task");
    at(
        &repo,
        &[
            "task",
            "progress",
            &a,
            "--percent",
            "40",
            "--message",
            "outline written",
        ],
    )
    .ok();
    assert_eq!(show(&repo, &a)["task"]["progress"], 40);
    at(&repo, &["task", "fail", &a, "--reason", "no sources"]).ok();
    let t = show(&repo, &a);
    assert_eq!(
        (t["task"]["status"].as_str(), t["task"]["reason"].as_str()),
        (Some("FAILED"), Some("no sources"))
    );
    at(&repo, &["task", "retry", &a]).ok().stdout_has("TODO");
    at(&repo, &["task", "cancel", &a, "--reason", "not needed"]).ok();
    assert_eq!(status(&repo, &a), "CANCELLED");
    at(&repo, &["task", "done", &a]).code(3).stderr_has("retry");
    at(&repo, &["task", "retry", &a]).ok();
    at(&repo, &["task", "done", &a]).ok();
    at(&repo, &["task", "done", &a]).code(3);
    at(&repo, &["task", "progress", &a, "--percent", "10"]).code(3);
    // The history keeps everything, in order.
    let kinds: Vec<String> = show(&repo, &a)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "progress",
            "failed",
            "retried",
            "cancelled",
            "retried",
            "done"
        ]
    );
    let human = at(&repo, &["task", "show", &a]);
    human
        .ok()
        .stdout_has("history")
        .stdout_has("failed no sources");
}

#[test]
pub fn a_claimed_task_is_written_only_by_its_holder() {
    let repo = fixture(QUICK);
    let a = add(&repo, "A", &[]);
    at(&repo, &["next", "--claim", "--worker", "ext"]).ok();
    // A person cannot close it under a live worker ...
    at(&repo, &["task", "done", &a])
        .code(3)
        .stderr_has("being worked on by worker `ext`");
    // ... the holder can, fenced by its claim.
    at(
        &repo,
        &["task", "progress", &a, "--percent", "50", "--worker", "ext"],
    )
    .ok();
    at(
        &repo,
        &[
            "task",
            "progress",
            &a,
            "--percent",
            "60",
            "--worker",
            "other",
        ],
    )
    .code(3)
    .stderr_has("does not hold");
    let ev = &show(&repo, &a)["events"][0];
    assert_eq!(
        (ev["worker"].as_str(), ev["fence"].as_u64()),
        (Some("ext"), Some(1))
    );
    // Its heartbeat stops; a rescue frees the task; another worker claims it.
    let stale = [("ORCH_STALE_AFTER_S", "0.2"), ("ORCH_NOW", NOW)];
    std::thread::sleep(std::time::Duration::from_millis(400));
    repo.orch_env(&["worker", "rescue"], &stale)
        .ok()
        .stdout_has(&format!("{a}  TODO"));
    repo.orch_env(&["next", "--claim", "--worker", "late"], &stale)
        .ok();
    // The first holder's writes are refused now: its claim was taken over.
    let out = repo.orch_env(&["task", "done", &a, "--worker", "ext"], &stale);
    out.code(3).stderr_has("does not hold");
    repo.orch_env(&["task", "done", &a, "--worker", "late"], &stale)
        .ok();
    let kinds: Vec<String> = show(&repo, &a)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["progress", "released", "done"]);
}

#[test]
pub fn task_list_filters_pages_and_exports_csv() {
    let repo = fixture(QUICK);
    let mut ids = Vec::new();
    for (i, title) in [
        "=HYPERLINK(\"http://x\")",
        "plain, with a comma",
        "+1",
        "tagged",
        "@me",
    ]
    .iter()
    .enumerate()
    {
        let now = format!("2026-03-0{}T10:00:00Z", i + 1);
        let mut args = vec!["task", "add", "--title", title];
        if *title == "tagged" {
            args.extend(["--tag", "gpu"]);
        }
        ids.push(
            repo.orch_env(&args, &[("ORCH_NOW", &now)])
                .ok()
                .stdout
                .trim()
                .to_string(),
        );
    }
    at(&repo, &["task", "done", &ids[1]]).ok();
    let csv = at(&repo, &["task", "list", "--format", "csv"])
        .ok()
        .stdout
        .clone();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,title,status,reason,priority,due,score,ready")
    );
    assert!(csv.contains(&format!("{},'@me,TODO", ids[4])), "{csv}");
    assert!(csv.contains(&format!("{},'+1,TODO", ids[2])), "{csv}");
    assert!(
        csv.contains(&format!(
            "{},\"'=HYPERLINK(\"\"http://x\"\")\",TODO",
            ids[0]
        )),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("{},\"plain, with a comma\",DONE", ids[1])),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 6);
    let only = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["task", "list", "--json"];
        all.extend_from_slice(args);
        at(&repo, &all)
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(only(&["--status", "done"]), vec![ids[1].clone()]);
    assert_eq!(only(&["--tag", "gpu"]), vec![ids[3].clone()]);
    assert_eq!(
        only(&["--since", "2026-03-04"]),
        vec![ids[4].clone(), ids[3].clone(), ids[1].clone()],
        "created or changed since"
    );
    // Paging: newest first, every task once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["task", "list", "--json", "--limit", "2"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        let page = at(&repo, &args).ok().json();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    let human = at(&repo, &["task", "list", "--limit", "2"]);
    human
        .ok()
        .stderr_has("3 more; next page: orch task list --limit 2 --cursor ");
    assert_eq!(
        at(&repo, &["task", "list", "--format", "csv", "--limit", "1"])
            .stdout
            .lines()
            .count(),
        2
    );
}

fn git(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn orch_in(dir: &std::path::Path, args: &[&str]) -> Out {
    let out = Command::new(crate::common::BIN)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("ORCH_SEED")
        .env_remove("ORCH_NOW")
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn two_clones_merge_their_task_files_without_a_conflict() {
    let base = fixture(QUICK);
    let one = add(&base, "one", &[]);
    let two = add(&base, "two", &[]);
    let x = add(&base, "x", &[]);
    let y = add(&base, "y", &[]);
    git(base.path(), &["add", "-A"]);
    git(base.path(), &["commit", "-qm", "backlog"]);
    let other = tempfile::tempdir().unwrap();
    let clone = other.path().join("clone");
    git(
        other.path(),
        &["clone", "-q", base.path().to_str().unwrap(), "clone"],
    );

    // Here: a new task, `one` finished, progress on `two`, x waits on y.
    let mine = add(&base, "added here", &[]);
    orch_in(base.path(), &["task", "done", &one]).ok();
    orch_in(
        base.path(),
        &[
            "task",
            "progress",
            &two,
            "--percent",
            "30",
            "--message",
            "here",
        ],
    )
    .ok();
    orch_in(base.path(), &["task", "edit", &x, "--depends-on", &y]).ok();
    git(base.path(), &["add", "-A"]);
    git(base.path(), &["commit", "-qm", "here"]);
    // There: another task, `two` finished, progress on `two` too, y waits on x.
    let theirs = orch_in(&clone, &["task", "add", "--title", "added there"])
        .ok()
        .stdout
        .trim()
        .to_string();
    orch_in(
        &clone,
        &[
            "task",
            "progress",
            &two,
            "--percent",
            "70",
            "--message",
            "there",
        ],
    )
    .ok();
    orch_in(&clone, &["task", "done", &two]).ok();
    orch_in(&clone, &["task", "edit", &y, "--depends-on", &x]).ok();
    git(&clone, &["add", "-A"]);
    git(&clone, &["commit", "-qm", "there"]);

    git(
        base.path(),
        &["fetch", "-q", clone.to_str().unwrap(), "HEAD"],
    );
    let merged = git(base.path(), &["merge", "--no-edit", "FETCH_HEAD"]);
    assert!(merged.status.success());
    let conflicts = git(base.path(), &["diff", "--name-only", "--diff-filter=U"]);
    assert!(
        conflicts.stdout.is_empty(),
        "conflicts: {}",
        String::from_utf8_lossy(&conflicts.stdout)
    );

    for (id, want) in [
        (&one, "DONE"),
        (&two, "DONE"),
        (&mine, "TODO"),
        (&theirs, "TODO"),
    ] {
        assert_eq!(status(&base, id), want, "{id}");
    }
    let progress: Vec<String> = show(&base, &two)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "progress")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        progress.len(),
        2,
        "both clones' progress is kept: {progress:?}"
    );
    // The merge made a cycle nobody could have added alone: it is never
    // ready, and says so.
    let v = at(&base, &["next", "--explain", "--json"]).ok().json();
    let why: Vec<String> = v["explain"]["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"] == x.as_str() || e["id"] == y.as_str())
        .map(|e| e["why"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(why.len(), 2);
    assert!(
        why.iter().all(|w| w.contains("in a dependency cycle")),
        "{why:?}"
    );
}

#[test]
fn worktrees_of_one_clone_share_claims() {
    let repo = fixture(QUICK);
    let a = add(&repo, "A", &[]);
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "backlog"]);
    let wt = repo.path().join("wt2");
    git(
        repo.path(),
        &["worktree", "add", "-q", wt.to_str().unwrap()],
    );
    orch_in(&wt, &["next", "--claim", "--worker", "in-wt2"]).ok();
    let out = orch_in(repo.path(), &["next"]);
    out.code(1);
    assert!(
        out.stderr.contains("1 task is IN_PROGRESS"),
        "{}",
        out.stderr
    );
    let t = orch_in(repo.path(), &["task", "show", &a, "--json"])
        .ok()
        .json();
    assert_eq!(t["claim"]["worker"], "in-wt2");
}

#[test]
pub fn changes_print_the_task_state_as_json() {
    let repo = fixture(QUICK);
    let t = add(&repo, "json please", &[]);
    let state = |args: &[&str]| {
        let mut all = vec!["task"];
        all.extend_from_slice(args);
        all.push("--json");
        at(&repo, &all).ok().json()
    };
    let s = state(&["progress", &t, "--percent", "40", "--message", "half"]);
    assert_eq!(s["id"], t.as_str());
    assert_eq!(s["percent"], 40);
    assert_eq!(s["message"], "half");
    assert_eq!(state(&["fail", &t, "--reason", "no"])["status"], "FAILED");
    assert_eq!(state(&["fail", &t, "--reason", "no"])["reason"], "no");
    assert_eq!(state(&["retry", &t])["status"], "TODO");
    assert_eq!(state(&["edit", &t, "--title", "renamed"])["status"], "TODO");
    assert_eq!(
        state(&["cancel", &t, "--reason", "dropped"])["status"],
        "CANCELLED"
    );
}
