//! Test-only fault injection (`ORCH_FAULT`, see `env::FAULT`): makes a named
//! step of a durable write fail with a chosen error, or kills orch just
//! before it, so tests can prove that every step leaves a record whole.
//!
//! `ORCH_FAULT=<step>[#<n>]:<action>`: the `n`th time (default the first)
//! this process reaches `step`, `kill` aborts the process on the spot (no
//! cleanup, like SIGKILL), and `enospc`, `erofs`, `eio` or `eacces` make the
//! step fail with that error. Steps: `journal` (appending a change to the
//! run's journal), `temp` (writing a record file's temporary copy),
//! `rename` (moving one into place: attempt files first, RUN.json last).
//! A change RUN.json does not show (notifications) renames first and
//! journals after. `write_atomic` (a file replaced on its own: vettings,
//! reports) has a `temp` and a `rename` step too. On a PostgreSQL queue,
//! `pg-append-reply` (a task event) and `pg-commit-reply` (any other
//! write) commit, then act as if the reply was lost. `worktree-remove`:
//! removing an isolated run's worktree (a worker that dies there leaves
//! it to `orch worker cleanup`).

use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

struct Plan {
    step: String,
    nth: u32,
    action: String,
    seen: AtomicU32,
}

fn plan() -> Option<&'static Plan> {
    static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
    PLAN.get_or_init(|| {
        let spec = std::env::var(crate::env::FAULT).ok()?;
        let (point, action) = spec.trim().split_once(':')?;
        let (step, nth) = match point.split_once('#') {
            Some((s, n)) => (s, n.parse().ok()?),
            None => (point, 1),
        };
        Some(Plan {
            step: step.to_string(),
            nth,
            action: action.to_string(),
            seen: AtomicU32::new(0),
        })
    })
    .as_ref()
}

/// Called at each step of a durable write: `Ok` unless a fault is planned here.
pub fn at(step: &str) -> io::Result<()> {
    let Some(plan) = plan().filter(|p| p.step == step) else {
        return Ok(());
    };
    if plan.seen.fetch_add(1, Ordering::SeqCst) + 1 != plan.nth {
        return Ok(());
    }
    let code = match plan.action.as_str() {
        "kill" => std::process::abort(),
        "enospc" => libc::ENOSPC,
        "erofs" => libc::EROFS,
        "eacces" => libc::EACCES,
        _ => libc::EIO,
    };
    Err(io::Error::from_raw_os_error(code))
}
