//! Getting a finished run into git: one commit per run (its record and
//! its outputs, nothing else), and a push that rebases on the remote when
//! the remote moved. Each run lives in a folder of its own, so two
//! machines that push at once never conflict: the loser rebases and
//! pushes again. `orch worker --commit [--push REMOTE]` uses it.

use std::process::Command;

use crate::env;
use crate::error::{Error, Result};
use crate::record::store::Store;
use crate::repo::Repo;
use crate::storage::{FileLock, layout};

/// How many times a push rebases and tries again before it gives up.
const PUSH_TRIES: u32 = 30;

fn git(repo: &Repo, args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .args(args)
        .current_dir(repo.root())
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::input(format!("cannot run git: {}", crate::repo::io_reason(&e)))
                .hint("orch worker --commit needs git on PATH")
        })
}

/// Runs git, which must succeed; its stdout.
fn git_ok(repo: &Repo, args: &[&str]) -> Result<String> {
    let out = git(repo, args)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::conflict(format!(
            "git {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .hint("the run is recorded in the working tree; commit it by hand once git is sorted out"))
    }
}

/// Commits a finished run and, with `remote`, pushes it: under a lock, so
/// workers that share a clone take turns with git's index.
pub fn publish(
    repo: &Repo,
    run_id: &str,
    task: &str,
    title: &str,
    remote: Option<&str>,
) -> Result<Option<String>> {
    let git_dir = repo.git_common_dir().unwrap_or_else(|| repo.join(".git"));
    let _lock = FileLock::acquire(
        &git_dir.join("orch").join("publish.lock"),
        "git commits of runs",
        env::seconds(env::LOCK_TIMEOUT, 60.0),
    )?;
    let commit = commit_run(repo, run_id, task, title)?;
    if commit.is_some()
        && let Some(remote) = remote
    {
        push(repo, remote)?;
    }
    Ok(commit)
}

/// Commits run `run_id`'s record and outputs, with a message naming the
/// task and the run. The new commit, or `None` when there was nothing to
/// commit (committed already).
pub fn commit_run(repo: &Repo, run_id: &str, task: &str, title: &str) -> Result<Option<String>> {
    let run = Store::new(repo).load(run_id)?;
    let mut paths = vec![layout::record_dir(run_id)];
    let outputs = &run.workflow.artifact_path;
    if !outputs.is_empty() && repo.contain(outputs).is_ok_and(|p| p.abs.exists()) {
        paths.push(outputs.clone());
    }
    let mut add = vec!["add", "--all", "--"];
    add.extend(paths.iter().map(String::as_str));
    git_ok(repo, &add)?;
    let mut staged = vec!["diff", "--cached", "--quiet", "--"];
    staged.extend(paths.iter().map(String::as_str));
    if git(repo, &staged)?.status.success() {
        return Ok(None);
    }
    let message = format!(
        "orch: task {task} run {run_id} {}\n\n{title}\n",
        run.status.as_str()
    );
    let mut commit = vec!["commit", "--quiet", "--no-verify", "-m", &message, "--"];
    commit.extend(paths.iter().map(String::as_str));
    git_ok(repo, &commit)?;
    Ok(Some(
        git_ok(repo, &["rev-parse", "HEAD"])?.trim().to_string(),
    ))
}

/// Pushes the current branch to `remote`, rebasing on it first when it moved.
pub fn push(repo: &Repo, remote: &str) -> Result<()> {
    let branch = git_ok(repo, &["symbolic-ref", "--short", "HEAD"]).map_err(|_| {
        Error::conflict("cannot push: HEAD is not on a branch")
            .hint("check out the branch the team's records go to, then start the worker")
    })?;
    let branch = branch.trim();
    let refspec = format!("HEAD:refs/heads/{branch}");
    let mut last = String::new();
    for attempt in 0..PUSH_TRIES {
        let out = git(repo, &["push", "--quiet", remote, &refspec])?;
        if out.status.success() {
            return Ok(());
        }
        // Others push too: wait a little, and not in step with them.
        let jitter = u64::from(std::process::id() % 7) * 5;
        std::thread::sleep(std::time::Duration::from_millis(
            (10u64 << attempt.min(6)) + jitter,
        ));
        last = String::from_utf8_lossy(&out.stderr).trim().to_string();
        // The remote moved: take its commits under ours (other runs' folders).
        git_ok(repo, &["fetch", "--quiet", remote, branch])?;
        git_ok(repo, &["rebase", "--quiet", "--autostash", "FETCH_HEAD"]).inspect_err(|_| {
            let _ = git(repo, &["rebase", "--abort"]);
        })?;
    }
    Err(Error::conflict(format!(
        "could not push to `{remote}` after {PUSH_TRIES} tries: {last}"
    ))
    .hint(format!("the commits are here: push by hand with `git pull --rebase {remote} {branch} && git push {remote}`")))
}
