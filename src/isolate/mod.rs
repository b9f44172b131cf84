//! Isolation: each claimed task runs in a `git worktree` of its own, on a
//! branch `orch/<task-id>` made from the base, so concurrent agents never
//! share files or git's index, and nothing in the user's working tree is
//! touched. When the run ends its record and outputs are committed on that
//! branch (one commit), and the branch is left, merged into the base
//! (fast-forward, or rebased when the base moved) or proposed as a pull
//! request through `gh`.

mod sweep;

pub use sweep::{Swept, sweep};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::env;
use crate::error::{Error, Result};
use crate::repo::Repo;
use crate::storage::FileLock;

/// What happens to a task's branch once its run is committed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Finish {
    /// Keep the branch for someone to merge.
    #[default]
    Leave,
    /// Merge it into the base (fast-forward, or rebase first).
    Merge,
    /// Push it and open a pull request with `gh pr create`.
    Pr,
}

/// How isolated runs are set up and finished.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The branch task branches start from and merge into (default: the
    /// branch checked out where the worker started).
    pub base: Option<String>,
    /// Where worktrees go (default `<git common dir>/orch/worktrees`).
    pub dir: Option<PathBuf>,
    pub finish: Finish,
    /// The remote pull requests' branches are pushed to.
    pub remote: String,
}

/// A task's worktree, ready for its run.
pub struct Worktree {
    pub repo: Repo,
    pub branch: String,
    pub base: String,
}

/// How finishing went.
#[derive(Debug, PartialEq, Eq)]
pub enum Finished {
    Left,
    Merged,
    /// The pull request's URL.
    Proposed(String),
    /// Merging conflicts in these outputs; the worktree is kept.
    Conflict(Vec<String>),
}

fn git(dir: &Path, args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::input(format!("cannot run git: {}", crate::repo::io_reason(&e)))
                .hint("isolated runs need git on PATH")
        })
}

fn git_ok(dir: &Path, args: &[&str]) -> Result<String> {
    let out = git(dir, args)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(Error::conflict(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn common_dir(main: &Repo) -> Result<PathBuf> {
    main.git_common_dir()
        .ok_or_else(|| Error::input("isolated runs need a git repository").hint("run `git init`"))
}

/// The branch a task's run is done on.
pub fn branch(task: &str) -> String {
    format!("orch/{task}")
}

/// Where the worktrees of this clone's isolated runs go.
pub fn worktrees_dir(main: &Repo, s: &Settings) -> Result<PathBuf> {
    match &s.dir {
        Some(d) if d.is_absolute() => Ok(d.clone()),
        Some(d) => Ok(main.root().join(d)),
        None => Ok(common_dir(main)?.join("orch").join("worktrees")),
    }
}

/// Checks, before a task is claimed, that the worktrees `s` puts in stay
/// out of the user's `git status`: outside the working tree, in its `.git`,
/// or in a folder git ignores.
pub fn check(main: &Repo, s: &Settings) -> Result<()> {
    let dir = worktrees_dir(main, s)?;
    let Ok(rel) = dir.strip_prefix(main.root()) else {
        return Ok(());
    };
    let rel = rel.display().to_string();
    let inside = match main.contain(&rel) {
        Ok(p) => p.rel,
        Err(_) if !rel.is_empty() => return Ok(()),
        Err(_) => String::new(),
    };
    let seen = if inside.is_empty() {
        true
    } else if inside == ".git" || inside.starts_with(".git/") {
        false
    } else {
        !git(
            main.root(),
            &["check-ignore", "-q", "--", &format!("{inside}/")],
        )?
        .status
        .success()
    };
    if seen {
        return Err(Error::input(format!(
            "isolated runs' worktrees would go in `{}`, inside your working tree, where `git status` shows them",
            if inside.is_empty() { "." } else { &inside }
        ))
        .hint("use a folder outside it (--worktrees ../orch-worktrees, or \"worktrees\" in orchestration/config.json), or one .gitignore lists"));
    }
    Ok(())
}

/// The task's worktree: made on its first run (branch `orch/<task>` from
/// the base), found again when its run is resumed.
pub fn prepare(main: &Repo, task: &str, s: &Settings) -> Result<Worktree> {
    let base = match &s.base {
        Some(b) => b.clone(),
        None => git_ok(main.root(), &["symbolic-ref", "--short", "HEAD"]).map_err(|_| {
            Error::input("isolated runs need a base branch: HEAD is not on a branch")
                .hint("check out a branch, or name one with --base")
        })?,
    };
    let path = worktrees_dir(main, s)?.join(task);
    let branch = branch(task);
    let _lock = lock(main)?;
    if !path.join(".git").exists() {
        let exists = git(
            main.root(),
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{branch}"),
            ],
        )?
        .status
        .success();
        let shown = path.display().to_string();
        let _ = git(main.root(), &["worktree", "prune"]);
        if exists {
            git_ok(
                main.root(),
                &["worktree", "add", "--quiet", &shown, &branch],
            )?;
        } else {
            git_ok(
                main.root(),
                &["worktree", "add", "--quiet", "-b", &branch, &shown, &base],
            )?;
        }
    }
    Ok(Worktree {
        repo: Repo::at(&path)?,
        branch,
        base,
    })
}

/// Serialises what isolated runs do to shared git state (worktrees, the base).
fn lock(main: &Repo) -> Result<FileLock> {
    FileLock::acquire(
        &common_dir(main)?.join("orch").join("publish.lock"),
        "git commits of runs",
        env::seconds(env::LOCK_TIMEOUT, 60.0),
    )
}

/// Commits the run on the task's branch, then leaves, merges or proposes
/// it. The caller removes the worktree once it has reported the run
/// (`remove`), except after a conflict.
pub fn finish(
    main: &Repo,
    wt: &Worktree,
    run_id: &str,
    task: &str,
    title: &str,
    s: &Settings,
) -> Result<Finished> {
    crate::publish::commit_run(&wt.repo, run_id, task, title)?;
    let done = match s.finish {
        Finish::Leave => Finished::Left,
        Finish::Merge => merge(main, wt)?,
        Finish::Pr => propose(wt, run_id, task, title, s)?,
    };
    Ok(done)
}

/// Rebases the branch on the base when the base moved, then moves the
/// base to it (in the user's working tree only when the base is checked
/// out there, as `git merge --ff-only` would).
fn merge(main: &Repo, wt: &Worktree) -> Result<Finished> {
    let _lock = lock(main)?;
    let dir = wt.repo.root();
    if !git(dir, &["rebase", "--quiet", &wt.base])?.status.success() {
        let paths = git_ok(dir, &["diff", "--name-only", "--diff-filter=U"])?;
        let _ = git(dir, &["rebase", "--abort"]);
        return Ok(Finished::Conflict(
            paths.lines().map(str::to_string).collect(),
        ));
    }
    let checked_out =
        git_ok(main.root(), &["symbolic-ref", "--short", "HEAD"]).is_ok_and(|b| b == wt.base);
    if checked_out {
        git_ok(main.root(), &["merge", "--ff-only", "--quiet", &wt.branch])?;
    } else {
        let new = git_ok(dir, &["rev-parse", "HEAD"])?;
        let old = git_ok(
            main.root(),
            &["rev-parse", &format!("refs/heads/{}", wt.base)],
        )?;
        git_ok(
            main.root(),
            &["update-ref", &format!("refs/heads/{}", wt.base), &new, &old],
        )?;
    }
    Ok(Finished::Merged)
}

/// Pushes the branch and opens a pull request; its URL (the task's
/// outputs URI) is returned for the task's record (the run's is final).
fn propose(wt: &Worktree, run_id: &str, task: &str, title: &str, s: &Settings) -> Result<Finished> {
    let dir = wt.repo.root();
    git_ok(
        dir,
        &["push", "--quiet", "--set-upstream", &s.remote, &wt.branch],
    )?;
    let body = format!("orch task {task}, run {run_id}.");
    let out = Command::new("gh")
        .args([
            "pr", "create", "--head", &wt.branch, "--base", &wt.base, "--title", title, "--body",
            &body,
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::input(format!("cannot run gh: {}", crate::repo::io_reason(&e))).hint(
                "install GitHub's CLI and run `gh auth login`, or finish isolated runs with --finish leave",
            )
        })?;
    if !out.status.success() {
        return Err(Error::conflict(format!(
            "gh pr create failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .hint(format!(
            "the branch {} is pushed; open the pull request by hand",
            wt.branch
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let url = stdout
        .split_whitespace()
        .rfind(|w| w.starts_with("https://") || w.starts_with("http://"))
        .ok_or_else(|| Error::conflict(format!("gh pr create printed no URL: {}", stdout.trim())))?
        .to_string();
    Ok(Finished::Proposed(url))
}

/// Removes a worktree (its branch stays).
pub fn remove(main: &Repo, path: &Path) -> Result<()> {
    crate::storage::fault::at("worktree-remove")
        .map_err(|e| Error::conflict(format!("cannot remove the worktree: {e}")))?;
    git_ok(
        main.root(),
        &["worktree", "remove", "--force", &path.display().to_string()],
    )
    .map(|_| ())
}

/// The worktree checked out on task `task`'s branch, wherever it was made
/// (any `--worktrees` folder): `None` when there is none.
pub fn worktree_of(main: &Repo, task: &str) -> Option<PathBuf> {
    let out = git(main.root(), &["worktree", "list", "--porcelain"]).ok()?;
    let wanted = format!("branch refs/heads/{}", branch(task));
    let mut path = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some(p) = line.strip_prefix("worktree ") {
            path = Some(PathBuf::from(p));
        } else if line == wanted {
            return path;
        }
    }
    None
}

/// The repository task `task`'s run `run_id` is recorded in: `main`, or
/// the task's worktree while an isolated run is there (not yet merged).
/// Rescue, stuck checks and `orch worker list` look at a run there.
pub fn run_home(main: &Repo, task: &str, run_id: &str) -> Repo {
    let holds = |root: &Path| {
        root.join(crate::storage::layout::run_json(run_id))
            .is_file()
    };
    if holds(main.root()) {
        return main.clone();
    }
    worktree_of(main, task)
        .filter(|p| holds(p))
        .and_then(|p| Repo::at(&p).ok())
        .unwrap_or_else(|| main.clone())
}

/// Worktrees of this clone's isolated runs: (task id, path).
pub fn list(main: &Repo, s: &Settings) -> Result<Vec<(String, PathBuf)>> {
    let dir = worktrees_dir(main, s)?;
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| {
                let e = e.ok()?;
                Some((e.file_name().into_string().ok()?, e.path()))
            })
            .collect()
        })
        .unwrap_or_default();
    found.sort();
    Ok(found)
}
