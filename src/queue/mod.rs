//! The team's backlog: tasks with priorities, deadlines and dependencies;
//! `orch next` to pick one; workers that claim tasks and drive their runs;
//! rescue when a worker dies.
//!
//! - `task`: what is committed (a definition and append-only events) and
//!   how a status is folded from it.
//! - `select`: the one rule for readiness, score and order (pure).
//! - `board`: the backlog as it stands now, built from a backend.
//! - `backend`: the storage trait; `file`: the one-machine backend; `pg`:
//!   PostgreSQL, for many machines; `target`: which one a command uses.
//! - `context`: what an agent doing a task is told about it.
//! - `ops`: what people do (add, edit, done, …); `worker` and `rescue`:
//!   what workers do.

pub mod backend;
pub mod board;
pub mod context;
pub mod due;
pub mod file;
pub mod liveness;
pub mod ops;
pub mod pg;
pub mod rescue;
pub mod select;
pub mod target;
pub mod task;
pub mod transfer;
pub mod worker;

pub use ops::Queue;
