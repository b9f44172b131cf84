//! Exit codes, in one place, because scripts and CI branch on them.
//!
//! "A gate failed" and "orch could not do what you asked" are different
//! answers and get different codes. The README carries the same table.

/// Everything asked for was done, and every gate or check involved passed.
pub const SUCCESS: u8 = 0;
/// orch did its job and the answer is "no": a gate, a check or a verification failed.
pub const FAILED: u8 = 1;
/// Usage or input error: bad arguments, a broken contract or workflow, an
/// unknown run, a path that leaves the repository.
pub const USAGE: u8 = 2;
/// The run's record does not allow the operation in its current state (no
/// attempt in progress, run already completed, written by a newer orch, lock
/// held too long by another process).
pub const CONFLICT: u8 = 3;
/// A run paused for a person and cannot continue without one: a person's
/// gate (no terminal), or a gate awaiting signed approvals.
pub const AWAITING_INPUT: u8 = 4;
/// orch could not read or write what it needed (permissions, full disk), or
/// could not reach the queue's database.
pub const IO: u8 = 5;
/// Interrupted by SIGINT or SIGTERM; the run was left resumable.
pub const INTERRUPTED: u8 = 130;
