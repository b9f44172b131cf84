//! Freeing work that nobody is doing any more. A claim whose worker is
//! dead (its process is gone, or no heartbeat for `ORCH_STALE_AFTER_S`) is
//! released; so is the claim of a live worker whose run made no progress
//! (no log growth, no record change) for `ORCH_STUCK_AFTER_S`. The task
//! goes back to TODO with the reason, its run is marked interrupted (by the
//! rescuer when the owner is dead, by the owner itself when it is alive and
//! sees its claim gone), and the next worker resumes that same run.
//!
//! Release is a compare-and-swap on the claim's fence, so two rescuers, or
//! a rescuer and a late heartbeat, never both win. The rescuer tells the
//! people who asked for it (notify.json's `rescued` event) about each run
//! it freed.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::error::Result;
use crate::queue::Queue;
use crate::queue::backend::Writer;
use crate::queue::board::Board;
use crate::queue::liveness::{self, Health, Intervals};
use crate::queue::task::{Event, EventKind, Status};
use crate::repo::Repo;
use crate::storage::layout;
use crate::{clock, lease};

/// One task given back to the queue.
#[derive(Clone, Debug, Serialize)]
pub struct Rescued {
    pub task: String,
    /// The worker whose claim was released (absent for an orphan: a task
    /// left IN_PROGRESS with no claim at all).
    pub holder: Option<String>,
    pub fence: Option<u64>,
    pub run_id: Option<String>,
    pub reason: String,
    /// Whether the rescuer marked the run interrupted (else its live owner does).
    pub run_interrupted: bool,
    /// The `rescued` notifications sent about the run (recorded in it too).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notified: Vec<crate::notify::Delivery>,
    /// Why they could not be sent (a broken notify.json).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_error: Option<String>,
}

impl Rescued {
    /// Sends the `rescued` notification about its run (recorded in it,
    /// where it is: `home`); never fails the rescue.
    fn notify(mut self, home: &Repo, offline: bool) -> Rescued {
        if let Some(run) = &self.run_id {
            match crate::notify::dispatch(home, run, crate::notify::Event::Rescued, None, offline) {
                Ok(sent) => self.notified = sent,
                Err(e) => self.notify_error = Some(e.to_string()),
            }
        }
        self
    }
}

/// Rescues what `board` shows is abandoned; `rescuer` names who does it.
/// With `offline`, the notifications are recorded, not sent. `None` when
/// another process is rescuing right now (one rescuer at a time: on a
/// database, whoever holds its advisory lock), which is left to it.
pub fn rescue(
    queue: &Queue,
    board: &Board,
    rescuer: &str,
    iv: &Intervals,
    offline: bool,
) -> Result<Option<Vec<Rescued>>> {
    let mut out = Vec::new();
    let ran = queue.backend.while_rescuing(&mut || {
        out = rescue_now(queue, board, rescuer, iv, offline)?;
        Ok(())
    })?;
    Ok(ran.then_some(out))
}

fn rescue_now(
    queue: &Queue,
    board: &Board,
    rescuer: &str,
    iv: &Intervals,
    offline: bool,
) -> Result<Vec<Rescued>> {
    let mut out = Vec::new();
    let now = SystemTime::now();
    let host = lease::hostname();
    for e in &board.entries {
        let run_id = e.folded.run_id.clone();
        // Where the run is recorded: here, or an isolated run's worktree.
        let home = || {
            run_id.as_deref().map_or_else(
                || queue.repo.clone(),
                |r| crate::isolate::run_home(queue.repo, e.id(), r),
            )
        };
        match &e.claim {
            Some((claim, health)) => {
                let (dead, why) = match health {
                    Health::Dead(why) => (true, why.clone()),
                    Health::Live => {
                        let stuck = e.folded.status == Status::InProgress
                            && liveness::age(&claim.claimed_at, clock::real_now())
                                .is_some_and(|a| a > iv.stuck_after)
                            && run_id
                                .as_deref()
                                .and_then(|r| last_progress(home().root(), r))
                                .is_some_and(|t| {
                                    now.duration_since(t).unwrap_or_default() > iv.stuck_after
                                });
                        if !stuck {
                            continue;
                        }
                        (
                            false,
                            format!("its run showed no progress for {}", human(iv.stuck_after)),
                        )
                    }
                };
                let reason = format!("rescued by {rescuer}: {why}");
                let mut event =
                    Event::new(EventKind::Released, crate::ops::actor(queue.repo)).reason(&reason);
                event.run_id.clone_from(&run_id);
                event.worker = Some(rescuer.to_string());
                if !queue.backend.release(claim, Some(&event))? {
                    continue;
                }
                let home = home();
                let run_interrupted = match (&run_id, dead) {
                    (Some(r), true) => {
                        crate::ops::run::interrupt(&home, r, &reason).unwrap_or(false)
                    }
                    _ => false,
                };
                out.push(
                    Rescued {
                        task: e.id().to_string(),
                        holder: Some(claim.worker.clone()),
                        fence: Some(claim.fence),
                        run_id,
                        reason,
                        run_interrupted,
                        notified: Vec::new(),
                        notify_error: None,
                    }
                    .notify(&home, offline),
                );
            }
            // IN_PROGRESS by its events but claimed by nobody: the machine
            // state that held it is gone (a crash, a deleted .git/orch).
            // Only a worker on this host could have held it here.
            None if e.folded.status == Status::InProgress
                && e.folded.host.as_deref() == Some(host.as_str())
                && run_id
                    .as_deref()
                    .is_none_or(|r| matches!(lease::held_by_another(&home(), r), Ok(None))) =>
            {
                let reason =
                    format!("rescued by {rescuer}: it was IN_PROGRESS, but no worker holds it");
                let mut event =
                    Event::new(EventKind::Released, crate::ops::actor(queue.repo)).reason(&reason);
                event.run_id.clone_from(&run_id);
                event.worker = Some(rescuer.to_string());
                let still = |t: &crate::queue::task::StoredTask| {
                    let f = t.fold();
                    f.status == Status::InProgress && f.run_id == e.folded.run_id
                };
                if queue
                    .backend
                    .append(e.id(), &event, Writer::Unclaimed(&still))
                    .is_err()
                {
                    continue;
                }
                let home = home();
                let run_interrupted = run_id.as_deref().is_some_and(|r| {
                    crate::ops::run::interrupt(&home, r, &reason).unwrap_or(false)
                });
                out.push(
                    Rescued {
                        task: e.id().to_string(),
                        holder: None,
                        fence: None,
                        run_id,
                        reason,
                        run_interrupted,
                        notified: Vec::new(),
                        notify_error: None,
                    }
                    .notify(&home, offline),
                );
            }
            None => {}
        }
    }
    Ok(out)
}

/// The last time a run showed progress: its record changed, or an agent
/// wrote to its logs (the lease's heartbeat does not count).
pub fn last_progress(root: &Path, run_id: &str) -> Option<SystemTime> {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut last = mtime(&root.join(layout::run_json(run_id)));
    let invocations = root.join(layout::logs_dir(run_id)).join("invocations");
    for entry in walkdir::WalkDir::new(invocations)
        .min_depth(2)
        .max_depth(2)
        .into_iter()
        .flatten()
    {
        if let Some(t) = mtime(entry.path()) {
            last = Some(last.map_or(t, |l| l.max(t)));
        }
    }
    last
}

fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        clock::human_duration(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}
