//! Where the queue keeps its state, behind one trait. The file backend
//! (`file.rs`) keeps tasks as committed files and claims as create-only
//! files in the git directory: one machine, any number of worktrees. A
//! database backend keeps the same facts for many machines, with the claim
//! as one `SELECT … FOR UPDATE SKIP LOCKED` transaction.
//!
//! What every backend promises:
//! - `claim` is a compare-and-swap that succeeds for one caller only; the
//!   claim carries a fence number that grows with every claim of the task.
//! - A write made on behalf of a claim (`append` with `Writer::Holder`,
//!   `release`) lands only while that claim is the task's current one: a
//!   holder whose claim was taken over cannot write.
//! - Nothing derived (status, readiness, score) is stored: the backend
//!   returns definitions and events, and `select` judges them.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::queue::select::Criteria;
use crate::queue::task::{Event, Priority, StoredTask, TaskDef};

/// A worker's hold on a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub task: String,
    /// 1 for the task's first claim, one more for every later one.
    pub fence: u64,
    pub worker: String,
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Real time (not `ORCH_NOW`): liveness follows the world.
    pub claimed_at: String,
    /// The claim's own last heartbeat, where the backend keeps one apart
    /// from its worker's (PostgreSQL: the row's, aged by the server's
    /// clock). Never stored in the claim itself.
    #[serde(default, skip_serializing)]
    pub heartbeat_at: Option<String>,
}

/// What a worker says it is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerState {
    /// Running at least one task.
    Active,
    /// Waiting for work.
    Idle,
    /// Exited cleanly.
    Stopped,
}

/// A worker's entry in the registry, rewritten by the worker at every heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerRecord {
    pub id: String,
    pub host: String,
    /// The worker's process; absent for a worker outside orch that claims
    /// with `orch next --claim` (its heartbeat alone says it is alive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub state: WorkerState,
    pub started_at: String,
    /// Real time of the last heartbeat.
    pub heartbeat_at: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "one")]
    pub concurrency: u32,
    /// Tasks it holds now.
    #[serde(default)]
    pub current: Vec<String>,
    #[serde(default)]
    pub done: u64,
    #[serde(default)]
    pub failed: u64,
}

fn one() -> u32 {
    1
}

/// On whose behalf an event is written, and so when it is refused.
#[derive(Clone, Copy)]
pub enum Writer<'a> {
    /// The holder of this claim: refused unless it is the task's current claim.
    Holder(&'a Claim),
    /// A person or a rescuer outside any claim: refused while the task has
    /// a current claim, and unless the check says yes of the task as it is
    /// at the moment of writing (it has not changed since it was judged).
    Unclaimed(&'a dyn Fn(&StoredTask) -> bool),
    /// Anyone, claimed or not (progress notes, edits).
    Anyone,
}

/// The tasks that decide what is best to take, read without reading every
/// task (`Backend::shortlist`): for each priority its first candidates
/// in the order `select` ranks tasks of one priority (earliest deadline,
/// most dependents, oldest, smallest id), every task whose status may
/// follow its run or that is claimed, and the dependencies of all of them.
#[derive(Debug, Default)]
pub struct Shortlist {
    pub tasks: Vec<StoredTask>,
    /// How many open tasks list each task read (open by their events).
    pub dependents: HashMap<String, usize>,
    /// Per priority with candidates left unread: the last one read; the
    /// unread ones come after it in that order.
    pub unread: Vec<Unread>,
}

/// Where the unread candidates of one priority start (see `Shortlist`).
#[derive(Clone, Debug)]
pub struct Unread {
    pub priority: Priority,
    /// The earliest any of them can be due (`Due::earliest_deadline`);
    /// `None`: none of them has a due date.
    pub due_from: Option<DateTime<Utc>>,
    pub dependents: usize,
    pub created_at: String,
    pub id: String,
}

/// A way to hear, without polling, that another process changed the queue.
pub trait Watch: Send {
    /// Waits up to `timeout` for a change that may make work ready (a task
    /// added, released, finished, edited); true when one may have happened.
    fn wait(&mut self, timeout: Duration) -> bool;
}

/// The queue's storage.
pub trait Backend: Send + Sync {
    /// Every task id, sorted.
    fn ids(&self) -> Result<Vec<String>>;
    /// Every task with its events (oldest first).
    fn tasks(&self) -> Result<Vec<StoredTask>>;
    /// One task by its full id.
    fn task(&self, id: &str) -> Result<StoredTask>;
    /// Stores a new task; false, writing nothing, when its id is taken.
    fn create(&self, def: &TaskDef) -> Result<bool>;
    /// Appends an event to a task (see `Writer` for when it is refused).
    fn append(&self, id: &str, event: &Event, writer: Writer) -> Result<()>;
    /// Stores what `orch queue import` or `export` copies in: the tasks of
    /// `new` (those whose id is taken are left alone), then `events`, as
    /// `Writer::Anyone` appends them. The tasks it created. One by one by
    /// default; a database takes a whole backlog in one transaction.
    fn copy_in(&self, new: &[&TaskDef], events: &[(&str, &Event)]) -> Result<usize> {
        let mut created = 0;
        for def in new {
            created += usize::from(self.create(def)?);
        }
        for (id, event) in events {
            self.append(id, event, Writer::Anyone)?;
        }
        Ok(created)
    }
    /// Every current claim (the latest of a task, not released).
    fn claims(&self) -> Result<Vec<Claim>>;
    /// The current claim on one task.
    fn claim_of(&self, id: &str) -> Result<Option<Claim>>;
    /// Claims a task for `worker` unless a current claim holds it (a
    /// compare-and-swap; claiming again as the same worker returns its
    /// claim). `still_ready` sees the task as it is at the moment of the
    /// claim; when it says no, nothing is claimed.
    fn claim(
        &self,
        id: &str,
        worker: &WorkerRecord,
        still_ready: &dyn Fn(&StoredTask) -> bool,
    ) -> Result<Option<Claim>>;
    /// Claims the first of `ids` (best first) that no current claim holds
    /// and `still_ready` accepts, for `worker`. The file backend tries them
    /// one by one; a database does it in one transaction.
    fn claim_first(
        &self,
        ids: &[&str],
        worker: &WorkerRecord,
        still_ready: &dyn Fn(&StoredTask) -> bool,
    ) -> Result<Option<Claim>> {
        for id in ids {
            if let Some(c) = self.claim(id, worker, still_ready)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
    /// Runs `f` (a rescue) unless another process is rescuing now; false
    /// when one is. On a database, whoever holds an advisory lock rescues.
    fn while_rescuing(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<bool> {
        f().map(|()| true)
    }
    /// The tasks that decide what `criteria` may take, with at most
    /// `per_priority` candidates of each priority (see `Shortlist`); `None`
    /// when the backend cannot tell without reading every task (`tasks`).
    fn shortlist(&self, criteria: &Criteria, per_priority: usize) -> Result<Option<Shortlist>> {
        let _ = (criteria, per_priority);
        Ok(None)
    }
    /// Something idle workers wait on to wake at once when the queue
    /// changes; `None` when the backend cannot tell (workers poll). On a
    /// database: `LISTEN`, woken by the `NOTIFY` of every write that may
    /// make work ready.
    fn watch(&self) -> Option<Box<dyn Watch>> {
        None
    }
    /// Ends a claim, appending `event` with it, only while it is current.
    /// False when it was not (taken over, or already released).
    fn release(&self, claim: &Claim, event: Option<&Event>) -> Result<bool>;
    /// Records a worker's heartbeat (registering it the first time) and
    /// says, for each of `claims`, whether it is still current.
    fn beat(&self, worker: &WorkerRecord, claims: &[Claim]) -> Result<Vec<bool>>;
    /// The worker registry.
    fn workers(&self) -> Result<Vec<WorkerRecord>>;
    /// Removes a worker from the registry.
    fn forget_worker(&self, id: &str) -> Result<()>;
}
