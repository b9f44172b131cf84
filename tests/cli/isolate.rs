//! Isolation: each task runs in its own git worktree on a branch
//! `orch/<task-id>`; its run is committed there (one commit), then the
//! branch is left, merged into the base, or proposed as a pull request.
//! The user's working tree is never touched.

use std::process::Child;

use crate::common::TestRepo;
use crate::team::{QUICK, add_w, fixture, show};
use crate::workers::finish;

const FAST: [(&str, &str); 3] = [
    ("ORCH_HEARTBEAT_S", "0.1"),
    ("ORCH_STALE_AFTER_S", "5"),
    ("ORCH_POLL_INTERVAL", "0.05"),
];

/// The fixture and three tasks that all write `A1.md` (in out/a, out/b,
/// out/c), committed on `main`; the ids.
fn three_tasks(agent: &str) -> (TestRepo, Vec<String>) {
    let repo = fixture(agent);
    let ids = add_three(&repo);
    (repo, ids)
}

/// Adds the three tasks to `repo`'s queue and commits everything on `main`.
fn add_three(repo: &TestRepo) -> Vec<String> {
    let ids: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|s| add_w(repo, &format!("task {s}"), s, &[]))
        .collect();
    repo.git(&["checkout", "-q", "-b", "main"]);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "backlog"]);
    ids
}

fn spawn(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut cmd = repo.command(args);
    cmd.envs(FAST).envs(env.iter().copied());
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn three_workers(repo: &TestRepo, extra: &[&str]) {
    let workers: Vec<Child> = (0..3)
        .map(|i| {
            let id = format!("w{i}");
            let mut args = vec!["worker", "--id", &id, "--exit-when-empty", "--isolate"];
            args.extend_from_slice(extra);
            spawn(repo, &args, &[])
        })
        .collect();
    for w in workers {
        finish(w).ok();
    }
}

/// The user's view, less the backlog's own event files (the queue's state,
/// shared by every worktree).
fn user_status(repo: &TestRepo) -> String {
    repo.git(&["status", "--porcelain", "--untracked-files=all"])
        .lines()
        .filter(|l| !l.starts_with("?? orchestration/tasks/events/"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_of(repo: &TestRepo, id: &str) -> String {
    show(repo, id)["runs"][0]["run_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn isolated_workers_commit_each_run_on_its_own_branch_and_leave_the_user_tree_alone() {
    let (repo, ids) = three_tasks(QUICK);
    // The user has work of their own in progress.
    repo.write("agent.sh", &format!("{QUICK}# the user's edit\n"));
    repo.write("notes.txt", "mine\n");
    let before = user_status(&repo);
    let head = repo.git(&["rev-parse", "HEAD"]);
    three_workers(&repo, &[]);
    assert_eq!(
        user_status(&repo),
        before,
        "the user's working tree is untouched"
    );
    assert_eq!(repo.git(&["rev-parse", "HEAD"]), head);
    for (id, slug) in ids.iter().zip(["a", "b", "c"]) {
        assert_eq!(show(&repo, id)["task"]["status"], "DONE", "{id}");
        let run = run_of(&repo, id);
        let branch = format!("orch/{id}");
        let log = repo.git(&["log", "--format=%s", &format!("main..{branch}")]);
        assert_eq!(log.lines().count(), 1, "one commit: {log}");
        assert!(log.contains(id) && log.contains(&run), "{log}");
        let files = repo.git(&["diff", "--name-only", "main", &branch]);
        let mut expected = vec![format!("out/{slug}/A1.md")];
        for f in files.lines() {
            assert!(
                f.starts_with(&format!("orchestration/runs/{run}/record/"))
                    || expected.contains(&f.to_string()),
                "{branch} holds {f}, not of its run"
            );
        }
        expected.retain(|e| !files.lines().any(|f| f == e));
        assert!(expected.is_empty(), "{branch} lacks {expected:?}");
        // The worktree of a finished task is gone; its branch stays.
        assert!(
            !repo
                .path()
                .join(format!(".git/orch/worktrees/{id}"))
                .exists()
        );
    }
    assert!(
        !repo.exists("out/a/A1.md"),
        "nothing lands in the user's tree"
    );
}

#[test]
fn merge_mode_lands_every_run_on_the_base() {
    let (repo, ids) = three_tasks(QUICK);
    three_workers(&repo, &["--finish", "merge"]);
    let log = repo.git(&["log", "--format=%s", "main"]);
    for (id, slug) in ids.iter().zip(["a", "b", "c"]) {
        assert_eq!(show(&repo, id)["task"]["status"], "DONE", "{id}");
        assert!(log.contains(&run_of(&repo, id)), "{log}");
        assert_eq!(
            repo.git(&["show", &format!("main:out/{slug}/A1.md")]),
            "done\n"
        );
    }
    assert_eq!(
        user_status(&repo),
        "",
        "the user's tree follows main cleanly"
    );
}

#[test]
fn a_conflict_in_the_outputs_blocks_the_task_and_keeps_its_worktree() {
    // While the agent works, someone commits a different out/a/A1.md on main.
    let agent = "mkdir -p \"$ORCH_ARTIFACT_PATH\"\necho done > \"$ORCH_ARTIFACT_PATH/A1.md\"\n\
        mkdir -p \"$USER_REPO/out/a\" && echo theirs > \"$USER_REPO/out/a/A1.md\"\n\
        git -C \"$USER_REPO\" add out/a/A1.md && git -C \"$USER_REPO\" commit -q -m theirs\n";
    let repo = fixture(agent);
    let id = add_w(&repo, "task a", "a", &[]);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "backlog"]);
    let root = repo.path().display().to_string();
    let w = spawn(
        &repo,
        &[
            "worker",
            "--id",
            "w1",
            "--exit-when-empty",
            "--isolate",
            "--finish",
            "merge",
        ],
        &[("USER_REPO", &root)],
    );
    finish(w);
    let t = show(&repo, &id);
    assert_eq!(t["task"]["status"], "BLOCKED", "{t}");
    let reason = t["task"]["reason"].as_str().unwrap();
    assert!(reason.contains("conflicts in out/a/A1.md"), "{reason}");
    assert!(
        repo.path()
            .join(format!(".git/orch/worktrees/{id}/out/a/A1.md"))
            .exists(),
        "kept"
    );
    assert_eq!(
        repo.read("out/a/A1.md"),
        "theirs\n",
        "the base is as they left it"
    );
    // Cleanup leaves it for the person who resolves the conflict.
    let v = repo.orch(&["worker", "cleanup", "--json"]).ok().json();
    assert_eq!(v["worktrees"][0]["removed"], false, "{v}");
    assert!(
        v["worktrees"][0]["kept_because"]
            .as_str()
            .unwrap()
            .contains("BLOCKED"),
        "{v}"
    );
}

#[test]
fn pr_mode_pushes_the_branch_and_opens_a_pull_request() {
    let (repo, ids) = three_tasks(QUICK);
    let origin = tempfile::tempdir().unwrap();
    let o = origin.path().display().to_string();
    std::process::Command::new("git")
        .args(["init", "-q", "--bare", &o])
        .status()
        .unwrap();
    repo.git(&["remote", "add", "origin", &o]);
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("gh.log");
    let gh = bin.path().join("gh");
    std::fs::write(
        &gh,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\necho https://github.example/o/r/pull/7\n",
            log.display()
        ),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["+x", &gh.display().to_string()])
        .status()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let w = spawn(
        &repo,
        &["task", "run", &ids[0], "--isolate", "--finish", "pr"],
        &[("PATH", &path)],
    );
    finish(w).ok();
    let said = std::fs::read_to_string(&log).unwrap();
    let branch = format!("orch/{}", ids[0]);
    assert!(
        said.starts_with(&format!("pr create --head {branch} --base main")),
        "{said}"
    );
    let pushed = std::process::Command::new("git")
        .args(["-C", &o, "rev-parse", &branch])
        .output()
        .unwrap();
    assert!(pushed.status.success(), "the branch is on origin");
    let t = show(&repo, &ids[0]);
    let done = t["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        done["outputs_uri"], "https://github.example/o/r/pull/7",
        "{t}"
    );
}

/// The dependency finished in the user's tree (its events and run are not
/// committed, so the isolated worktree's copy of the backlog still says
/// TODO): the dependent's packet, in its worktree, tells the agent what
/// the worker's queue says: DONE, with the run and its output.
#[test]
fn an_isolated_runs_packet_reads_the_backlog_of_the_workers_queue() {
    let agent = "mkdir -p \"$ORCH_ARTIFACT_PATH\"\nprintf 'done\\nmade for %s\\n' \"$ORCH_SLUG\" > \"$ORCH_ARTIFACT_PATH/A1.md\"\n\
        cp \"$ORCH_PROMPT_FILE\" \"$USER_REPO/packet-$ORCH_SLUG.txt\"\n";
    let repo = fixture(agent);
    let base = add_w(&repo, "write the base", "base", &[]);
    let top = add_w(&repo, "build on it", "top", &["--depends-on", &base]);
    repo.git(&["checkout", "-q", "-b", "main"]);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "backlog"]);
    let root = repo.path().display().to_string();
    let env = [("USER_REPO", root.as_str())];
    repo.orch_env(&["task", "run", &base], &env).ok();
    repo.orch_env(&["task", "run", &top, "--isolate"], &env)
        .ok();
    let base_run = run_of(&repo, &base);
    let packet = repo.read("packet-top.txt");
    for needle in [
        format!("- {base} DONE: write the base"),
        format!("  - run {base_run} PASSED"),
        "    - out/base/A1.md (gate A1".to_string(),
        "      > made for base".to_string(),
    ] {
        assert!(
            packet.contains(&needle),
            "packet lacks {needle:?}:\n{packet}"
        );
    }
}

/// `orchestration/config.json` can make isolation the default (with its
/// finish mode); `--no-isolate` runs one here anyway; a wrong value in it
/// is an error naming the file, and isolation-only options without
/// isolation are refused.
#[test]
fn the_repository_config_makes_isolation_the_default() {
    let (repo, ids) = three_tasks(QUICK);
    repo.write(
        "orchestration/config.json",
        r#"{"isolate": {"default": true, "finish": "merge"}}"#,
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "isolate by default"]);
    repo.orch_env(&["task", "run", &ids[0]], &FAST).ok();
    assert_eq!(show(&repo, &ids[0])["task"]["status"], "DONE");
    assert!(
        repo.git(&["log", "--format=%s", "-1", "main"])
            .contains(&ids[0]),
        "merged into main"
    );
    assert_eq!(user_status(&repo), "", "the user's tree follows main");
    // --no-isolate: here, in the user's tree, no branch.
    repo.orch_env(&["task", "run", &ids[1], "--no-isolate"], &FAST)
        .ok();
    assert!(repo.exists("out/b/A1.md"));
    assert!(
        repo.git(&["branch", "--list", &format!("orch/{}", ids[1])])
            .is_empty()
    );
    // Committing in the user's tree does not go with isolated runs.
    repo.orch(&["worker", "--once", "--commit"])
        .code(2)
        .stderr_has("do not apply to isolated runs");
    repo.write(
        "orchestration/config.json",
        "{\"isolate\": {\"default\": true,\n \"finish\": \"squash\"}}",
    );
    repo.orch(&["task", "run", &ids[2]])
        .code(2)
        .stderr_has("orchestration/config.json:2:")
        .stderr_has("squash");
    for (config, says) in [
        (
            r#"{"isolate": {"finsh": "merge"}}"#,
            "unknown field `finsh`",
        ),
        (
            r#"{"isolate": {"default": true, "base_branch": " "}}"#,
            "isolate.base_branch is empty",
        ),
        // Worktrees where the user's git status would show them.
        (
            r#"{"isolate": {"default": true, "worktrees": "wt"}}"#,
            "would go in `wt`, inside your working tree",
        ),
        (
            r#"{"isolate": {"default": true, "worktrees": "."}}"#,
            "would go in `.`, inside your working tree",
        ),
    ] {
        repo.write("orchestration/config.json", config);
        repo.orch(&["task", "run", &ids[2]])
            .code(2)
            .stderr_has("orchestration/config.json")
            .stderr_has(says);
    }
    assert_eq!(show(&repo, &ids[2])["task"]["status"], "TODO");
    // In a folder git ignores, they are out of sight.
    repo.write(".gitignore", "wt/\n");
    repo.write(
        "orchestration/config.json",
        r#"{"isolate": {"default": true, "worktrees": "wt"}}"#,
    );
    let before = user_status(&repo);
    repo.orch_env(&["task", "run", &ids[2]], &FAST).ok();
    assert_eq!(show(&repo, &ids[2])["task"]["status"], "DONE");
    assert_eq!(user_status(&repo), before);
    repo.write("orchestration/config.json", "{}");
    repo.orch(&["task", "run", &ids[2], "--finish", "merge"])
        .code(2)
        .stderr_has("--finish applies to isolated runs");
}

/// `orch worker cleanup` removes a worktree no run needs (its task DONE,
/// everything committed on its branch), and keeps, saying why, one whose
/// task is claimed (by a live worker, then a dead one) and one holding an
/// interrupted run that the next worker resumes there, until its task is
/// DONE another way. While the isolated run goes on, `orch worker list`
/// gives the command that follows it in its worktree; when its worker is
/// killed, rescue marks the run interrupted there.
#[test]
fn cleanup_removes_only_the_worktrees_no_run_needs() {
    // A task's first run says so, then sleeps (until it is killed), unless
    // told not to.
    let agent = "if [ ! -e \"$USER_REPO/quick-$ORCH_SLUG\" ]; then echo \"working on $ORCH_SLUG\"\n\
        echo $$ > \"$USER_REPO/agent-$ORCH_SLUG\"; touch \"$USER_REPO/quick-$ORCH_SLUG\"; exec sleep 30; fi\n\
        mkdir -p \"$ORCH_ARTIFACT_PATH\"\necho done > \"$ORCH_ARTIFACT_PATH/A1.md\"\n";
    let (repo, ids) = three_tasks(agent);
    let root = repo.path().display().to_string();
    let env = [("USER_REPO", root.as_str())];
    let wt = |id: &str| format!(".git/orch/worktrees/{id}");
    let cleanup = || {
        repo.orch_env(&["worker", "cleanup", "--json"], &FAST)
            .ok()
            .json()
    };
    let entry = |v: &serde_json::Value, id: &str| {
        v["worktrees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["task"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no worktree of {id} in {v}"))
    };
    let kept_because = |v: &serde_json::Value, id: &str, why: &str| {
        let e = entry(v, id);
        assert_eq!(e["removed"], false, "{v}");
        assert!(e["kept_because"].as_str().unwrap().contains(why), "{e}");
        assert!(repo.path().join(wt(id)).exists());
    };
    // a: done, its run committed on orch/<a>; a worktree of it left behind.
    repo.write("quick-a", "");
    repo.orch_env(&["task", "run", &ids[0], "--isolate"], &env)
        .ok();
    assert!(!repo.path().join(wt(&ids[0])).exists(), "removed when done");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        &wt(&ids[0]),
        &format!("orch/{}", ids[0]),
    ]);
    // b and c: under way, each in its worktree.
    let mut running: Vec<Child> = ids[1..]
        .iter()
        .map(|id| spawn(&repo, &["task", "run", id, "--isolate"], &env))
        .collect();
    crate::pipeline::eventually("b and c to start", || {
        repo.exists("quick-b") && repo.exists("quick-c")
    });
    let v = cleanup();
    assert_eq!(entry(&v, &ids[0])["removed"], true, "{v}");
    assert!(!repo.path().join(wt(&ids[0])).exists());
    kept_because(&v, &ids[1], "claimed");
    // What worker list says to type follows b's run where it is.
    let listed = repo.orch(&["worker", "list", "--json"]).ok().json();
    let b_run = run_of(&repo, &ids[1]);
    let command = listed["workers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["follow"].as_array().unwrap().clone())
        .find(|f| f["task"] == ids[1].as_str())
        .unwrap_or_else(|| panic!("nothing to follow b in {listed}"))["command"]
        .as_str()
        .unwrap()
        .to_string();
    let words: Vec<&str> = command.split(' ').collect();
    assert_eq!(words[..2], ["orch", "-C"], "{command}");
    assert!(words[2].ends_with(&wt(&ids[1])), "{command}");
    assert_eq!(words[3..], ["run", "logs", "--run", &b_run, "--follow"]);
    repo.orch(&words[1..words.len() - 1])
        .ok()
        .stdout_has("working on b");
    // Their workers die (and their agents with them): still claimed until
    // a rescue, which marks each run interrupted in its worktree.
    for (child, slug) in running.iter_mut().zip(["b", "c"]) {
        child.kill().unwrap();
        child.wait().unwrap();
        let pid = repo.read(&format!("agent-{slug}"));
        std::process::Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .unwrap();
    }
    kept_because(
        &cleanup(),
        &ids[1],
        "which is gone: `orch worker rescue` frees it",
    );
    repo.orch_env(&["worker", "rescue"], &FAST)
        .ok()
        .stdout_has(&format!("run {b_run} marked interrupted"));
    assert_eq!(show(&repo, &ids[1])["task"]["status"], "TODO");
    let in_worktree: serde_json::Value = serde_json::from_str(&repo.read(&format!(
        "{}/orchestration/runs/{b_run}/record/RUN.json",
        wt(&ids[1])
    )))
    .unwrap();
    assert_eq!(in_worktree["status"], "INTERRUPTED");
    let v = cleanup();
    kept_because(&v, &ids[1], "uncommitted");
    kept_because(&v, &ids[2], "uncommitted");
    // The next run of b resumes there and finishes; c is done by hand, so
    // no run needs its interrupted one any more.
    repo.orch_env(&["task", "run", &ids[1], "--isolate"], &env)
        .ok();
    assert_eq!(show(&repo, &ids[1])["task"]["status"], "DONE");
    let log = repo.git(&["log", "--format=%s", &format!("main..orch/{}", ids[1])]);
    assert!(
        log.contains(&b_run),
        "the run resumed is the one committed: {log}"
    );
    repo.orch(&["task", "done", &ids[2]]).ok();
    let v = cleanup();
    assert_eq!(v["worktrees"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(entry(&v, &ids[2])["removed"], true, "{v}");
    assert!(!repo.path().join(wt(&ids[2])).exists());
    assert_eq!(cleanup()["worktrees"], serde_json::json!([]));
    repo.orch(&["worker", "cleanup"])
        .ok()
        .stderr_has("no worker has been gone for more than a day");
}

/// A worker killed after committing a task's run, before removing its
/// worktree, leaves the worktree behind: `orch worker cleanup` (after a
/// rescue, which has nothing to free) removes it and says so; the branch
/// keeps the run.
#[test]
fn a_worktree_a_killed_worker_left_is_removed_by_cleanup() {
    let (repo, ids) = three_tasks(QUICK);
    let w = spawn(
        &repo,
        &["worker", "--id", "w1", "--once", "--isolate"],
        &[("ORCH_FAULT", "worktree-remove:kill")],
    );
    let out = finish(w);
    assert_ne!(out.code, 0, "it was killed: {}", out.stderr);
    let id = ids
        .iter()
        .find(|id| show(&repo, id)["task"]["status"] == "DONE")
        .expect("the task it ran");
    let left = format!(".git/orch/worktrees/{id}");
    assert!(repo.path().join(&left).exists(), "left behind");
    assert_eq!(show(&repo, id)["task"]["status"], "DONE");
    repo.orch_env(&["worker", "rescue"], &FAST).ok();
    repo.orch_env(&["worker", "cleanup"], &FAST)
        .ok()
        .stdout_has(&format!("removed {left} (task {id})"));
    assert!(!repo.path().join(&left).exists());
    assert!(repo.git(&["worktree", "list"]).lines().count() == 1);
    let run = run_of(&repo, id);
    assert!(
        repo.git(&["log", "--format=%s", &format!("main..orch/{id}")])
            .contains(&run)
    );
}

/// With the queue on PostgreSQL nothing of the backlog lives in the
/// working tree, so isolated workers leave the user's `git status`
/// byte for byte as it was, untracked files included.
#[test]
fn on_postgres_isolated_workers_leave_git_status_identical() {
    let Some(url) = crate::pgserver::fresh_queue() else {
        return;
    };
    let repo = fixture(QUICK);
    repo.set_env("ORCH_QUEUE_URL", &url);
    let ids = add_three(&repo);
    repo.write("agent.sh", &format!("{QUICK}# the user's edit\n"));
    repo.write("notes.txt", "mine\n");
    let status = || repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    let before = status();
    three_workers(&repo, &["--queue", &url]);
    assert_eq!(status(), before, "git status is identical");
    for id in &ids {
        assert_eq!(show(&repo, id)["task"]["status"], "DONE", "{id}");
        assert_eq!(
            repo.git(&["log", "--format=%s", &format!("main..orch/{id}")])
                .lines()
                .count(),
            1
        );
    }
}

/// A run that cannot start (its workflow, on the base branch, is broken)
/// leaves no worktree behind.
#[test]
fn a_run_that_cannot_start_leaves_no_worktree() {
    let (repo, ids) = three_tasks(QUICK);
    // Broken on main; whole in the user's tree (not yet committed).
    let whole = repo.read("orchestration/workflows/w.json");
    repo.write("orchestration/workflows/w.json", "{\"workflow\": ");
    repo.git(&["commit", "-q", "-am", "break the workflow"]);
    repo.write("orchestration/workflows/w.json", &whole);
    repo.orch_env(&["task", "run", &ids[0], "--isolate"], &FAST)
        .code(2)
        .stderr_has("orchestration/workflows/w.json");
    assert!(
        !repo
            .path()
            .join(format!(".git/orch/worktrees/{}", ids[0]))
            .exists(),
        "removed"
    );
    assert!(
        repo.git(&["worktree", "list"]).lines().count() == 1,
        "{}",
        repo.git(&["worktree", "list"])
    );
}

/// Rescue judges an isolated run by its worktree: a run silent there for
/// longer than ORCH_STUCK_AFTER_S is rescued as stuck, and the process
/// that drove it gives it up.
#[test]
fn an_isolated_run_that_makes_no_progress_is_rescued_as_stuck() {
    let agent = "echo $$ > \"$USER_REPO/agent\"\nexec sleep 30\n";
    let (repo, ids) = three_tasks(agent);
    let root = repo.path().display().to_string();
    let stuck = [("ORCH_STUCK_AFTER_S", "0.3"), ("USER_REPO", root.as_str())];
    let run = spawn(&repo, &["task", "run", &ids[0], "--isolate"], &stuck);
    crate::pipeline::eventually("the agent to start", || repo.exists("agent"));
    crate::pipeline::eventually("a rescue", || {
        repo.orch_env(&["worker", "rescue"], &stuck)
            .ok()
            .stdout
            .contains("its run showed no progress")
    });
    let pid = repo.read("agent");
    let out = finish(run);
    std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    out.stderr_has("its claim was taken over");
    assert_eq!(show(&repo, &ids[0])["task"]["status"], "TODO");
}
