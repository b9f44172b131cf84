//! Every environment variable orch reads, declared once with what it means.
//! Flags that have an environment twin name it in their `--help`.

/// Fixed "now" (RFC 3339, e.g. `2026-01-19T14:30:12Z`) for reproducible
/// records in tests and demos.
pub const NOW: &str = "ORCH_NOW";
/// Seed for the random parts of run and invocation ids, for reproducible
/// records in tests and demos.
pub const SEED: &str = "ORCH_SEED";
/// Any value but `0`/`false`: skip `url_reachable` checks (same as `--offline`).
pub const OFFLINE: &str = "ORCH_OFFLINE";
/// Seconds each `url_reachable` request may take (default 10).
pub const URL_TIMEOUT: &str = "ORCH_URL_TIMEOUT";
/// Seconds to wait for another orch process to release a run's lock (default 60).
pub const LOCK_TIMEOUT: &str = "ORCH_LOCK_TIMEOUT";
/// Seconds a validator plugin or pre-script may run (defaults 60 and 30).
pub const SCRIPT_TIMEOUT: &str = "ORCH_SCRIPT_TIMEOUT";
/// Seconds between SIGTERM and SIGKILL when an agent must stop (default 5).
pub const KILL_GRACE: &str = "ORCH_KILL_GRACE";
/// Seconds between a worker's heartbeats (default 15). A run's own lease
/// beats at least every 5 s.
pub const HEARTBEAT_S: &str = "ORCH_HEARTBEAT_S";
/// Seconds without a heartbeat after which a worker, its claims and the
/// owner of a run are taken for dead (default 60).
pub const STALE_AFTER_S: &str = "ORCH_STALE_AFTER_S";
/// Seconds a claimed task's run may show no progress (no log growth, no
/// record change) before it is stuck and rescued (default 300).
pub const STUCK_AFTER_S: &str = "ORCH_STUCK_AFTER_S";
/// Seconds a worker waits before looking at the queue again when nothing is
/// ready (default 5; `orch worker --poll-interval`).
pub const POLL_INTERVAL: &str = "ORCH_POLL_INTERVAL";
/// A worker's id (`orch worker --id`, `--worker` of `next` and `task`;
/// default `<host>-<pid>`).
pub const WORKER_ID: &str = "ORCH_WORKER_ID";
/// How many tasks one worker runs at once (`orch worker --concurrency`, default 1).
pub const MAX_CONCURRENT: &str = "ORCH_MAX_CONCURRENT";
/// The standard time zone variable: "today" (for due dates, `--since`) is a
/// calendar day in this zone (an IANA name such as `Europe/Paris`, or a
/// POSIX rule such as `EST5EDT`); unset means the system's zone.
pub const TZ: &str = "TZ";
/// Test-only: makes one step of a durable record write fail or kills orch
/// just before it (`<step>[#<n>]:<kill|enospc|erofs|eio|eacces>`), so tests
/// can prove a crash or a full disk at any step loses nothing. See
/// `storage::fault`. Never set it outside tests.
pub const FAULT: &str = "ORCH_FAULT";
/// The git revision whose `orchestration/allowed_signers` says who may
/// approve (default: the remote's default branch, else HEAD).
pub const TRUSTED_REV: &str = "ORCH_TRUSTED_REV";
/// Set (to the run id) in the environment of every agent orch starts, so
/// `orch approve` and `orch reject` can refuse to run inside one.
pub const IN_AGENT: &str = "ORCH_IN_AGENT";
/// Seconds each notification request may take (default 10).
pub const NOTIFY_TIMEOUT: &str = "ORCH_NOTIFY_TIMEOUT";
/// Seconds before the first retry of a notification; doubled for the next
/// (default 1).
pub const NOTIFY_BACKOFF: &str = "ORCH_NOTIFY_BACKOFF";
/// The model agents are asked to use (`--model` wins over it; it wins over
/// the workflow's `model`). orch sets it in every agent's environment to the
/// model it chose.
pub const MODEL: &str = "ORCH_MODEL";
/// The queue's PostgreSQL URL (`--queue` wins over it): `postgres://user@host:5432/db`.
pub const QUEUE_URL: &str = "ORCH_QUEUE_URL";
/// Seconds a command keeps reconnecting to the queue's database after it
/// went away, with backoff, before it gives up (default 60).
pub const QUEUE_RETRY_S: &str = "ORCH_QUEUE_RETRY_S";
/// Standard switch to turn colour off (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";
/// Turn colour on even when output is not a terminal.
pub const FORCE_COLOR: &str = "FORCE_COLOR";

/// Reads a variable as a number of seconds, falling back to `default` when it
/// is unset or not a positive number (`ignored` names such a value).
pub fn seconds(name: &str, default: f64) -> std::time::Duration {
    duration(
        std::env::var(name)
            .ok()
            .and_then(|v| positive_seconds(&v))
            .unwrap_or(default),
    )
}

fn positive_seconds(v: &str) -> Option<f64> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// Variables set to a value orch cannot use and so ignores, each as
/// "NAME=value is not …", for the command line to warn about.
pub fn ignored() -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |name: &str, ok: &dyn Fn(&str) -> bool, expected: &str| {
        if let Ok(v) = std::env::var(name)
            && !ok(&v)
        {
            out.push(format!("{name}={v:?} is not {expected}; ignoring it"));
        }
    };
    check(
        NOW,
        &|v| chrono::DateTime::parse_from_rfc3339(v.trim()).is_ok(),
        "an RFC 3339 time such as 2026-01-19T14:30:12Z",
    );
    for name in [
        URL_TIMEOUT,
        LOCK_TIMEOUT,
        SCRIPT_TIMEOUT,
        KILL_GRACE,
        HEARTBEAT_S,
        STALE_AFTER_S,
        STUCK_AFTER_S,
        NOTIFY_TIMEOUT,
        NOTIFY_BACKOFF,
    ] {
        check(
            name,
            &|v| positive_seconds(v).is_some(),
            "a positive number of seconds",
        );
    }
    out
}

/// The longest time limit orch accepts (about 31 years): longer is "no limit".
pub const MAX_SECONDS: f64 = 1e9;

/// Seconds as a Duration, capped at `MAX_SECONDS` (never panics).
pub fn duration(secs: f64) -> std::time::Duration {
    let secs = if secs.is_finite() {
        secs.clamp(0.0, MAX_SECONDS)
    } else {
        MAX_SECONDS
    };
    std::time::Duration::from_secs_f64(secs)
}

/// True when the variable is set to anything but empty, `0` or `false`.
pub fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE" | "no"))
}
