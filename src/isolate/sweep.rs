//! `orch worker cleanup`'s part for isolation: removes the worktrees that
//! no run needs any more (left behind by a worker that died between
//! committing a run and removing its worktree, say), and keeps, saying
//! why, every one a run may still need.

use serde::Serialize;

use super::{Settings, git, list, remove};
use crate::error::Result;
use crate::queue::Queue;
use crate::queue::liveness::Health;
use crate::queue::task::Status;

/// One worktree of an isolated run, and what cleanup did with it.
#[derive(Debug, Serialize)]
pub struct Swept {
    pub task: String,
    /// Repository-relative when it is inside the repository.
    pub path: String,
    pub removed: bool,
    /// Why it was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_because: Option<String>,
}

/// Removes the worktrees of tasks that are not claimed, not `BLOCKED` (a
/// merge conflict is resolved there) and whose worktree holds nothing
/// uncommitted (an interrupted run is resumed there), or whose task is
/// `DONE` (no run resumes there any more). What a removed
/// worktree committed is on its branch, which stays.
pub fn sweep(queue: &Queue, s: &Settings) -> Result<Vec<Swept>> {
    let board = queue.board()?;
    let mut out = Vec::new();
    for (task, path) in list(queue.repo, s)? {
        let kept = match board.get(&task).map(|i| &board.entries[i]) {
            Some(e) => match (&e.claim, e.folded.status) {
                (Some((c, Health::Live)), _) => {
                    Some(format!("its task is claimed by worker `{}`", c.worker))
                }
                (Some((c, Health::Dead(_))), _) => Some(format!(
                    "its task is still claimed by worker `{}`, which is gone: `orch worker rescue` frees it",
                    c.worker
                )),
                (None, Status::Blocked) => Some(
                    "its task is BLOCKED: resolve it there, or retry or cancel the task".into(),
                ),
                // DONE another way: no run resumes there any more. (A
                // CANCELLED task may be retried, resuming its run there.)
                (None, Status::Done) => None,
                (None, _) => interrupted(&path),
            },
            None => interrupted(&path),
        };
        if kept.is_none() {
            remove(queue.repo, &path)?;
        }
        out.push(Swept {
            task,
            path: queue.repo.display(&path),
            removed: kept.is_none(),
            kept_because: kept,
        });
    }
    if out.iter().any(|s| s.removed) {
        let _ = git(queue.repo.root(), &["worktree", "prune"]);
    }
    Ok(out)
}

/// Why a worktree is kept for its task's next run: it has changes or
/// files git does not ignore (or cannot be read).
fn interrupted(path: &std::path::Path) -> Option<String> {
    git(path, &["status", "--porcelain", "--untracked-files=all"])
        .map_or(true, |o| !o.status.success() || !o.stdout.is_empty())
        .then(|| "it holds uncommitted changes (an interrupted run, resumed there)".to_string())
}
