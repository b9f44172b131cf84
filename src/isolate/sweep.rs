//! `orch worker cleanup`'s part for isolation: removes the worktrees that
//! no run needs any more (left behind by a worker that died between
//! committing a run and removing its worktree, say), and keeps, saying
//! why, every one a run may still need.

use serde::Serialize;

use super::{Settings, git, list, remove};
use crate::error::Result;
use crate::queue::Queue;
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
/// uncommitted (an interrupted run is resumed there). Everything a removed
/// worktree held is on its branch, which stays.
pub fn sweep(queue: &Queue, s: &Settings) -> Result<Vec<Swept>> {
    let board = queue.board()?;
    let mut out = Vec::new();
    for (task, path) in list(queue.repo, s)? {
        let kept = match board.get(&task).map(|i| &board.entries[i]) {
            Some(e) if e.claim.is_some() => Some(format!(
                "its task is claimed by worker `{}`",
                e.claim.as_ref().map_or("", |(c, _)| c.worker.as_str())
            )),
            Some(e) if e.folded.status == Status::Blocked => {
                Some("its task is BLOCKED: resolve it there, or retry or cancel the task".into())
            }
            _ => dirty(&path).then(|| {
                "it holds uncommitted changes (an interrupted run, resumed there)".to_string()
            }),
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

/// Whether a worktree has changes or files git does not ignore (or cannot
/// be read: then it is kept).
fn dirty(path: &std::path::Path) -> bool {
    git(path, &["status", "--porcelain", "--untracked-files=all"])
        .map_or(true, |o| !o.status.success() || !o.stdout.is_empty())
}
