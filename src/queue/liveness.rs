//! Is a worker, and so its claims, still alive? A worker process on this
//! host is dead as soon as its process is gone; any worker is dead once
//! its heartbeat is older than `ORCH_STALE_AFTER_S`. Judged by the real
//! clock, never by `ORCH_NOW`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::queue::backend::{Claim, WorkerRecord, WorkerState};
use crate::{clock, env, lease};

/// A verdict, with the reason when it is not good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Live,
    Dead(String),
}

impl Health {
    pub fn is_live(&self) -> bool {
        *self == Health::Live
    }
}

/// The intervals liveness is judged by.
#[derive(Clone, Copy, Debug)]
pub struct Intervals {
    pub heartbeat: Duration,
    pub stale_after: Duration,
    pub stuck_after: Duration,
}

impl Intervals {
    /// From `ORCH_HEARTBEAT_S` (15), `ORCH_STALE_AFTER_S` (60) and `ORCH_STUCK_AFTER_S` (300).
    pub fn from_env() -> Intervals {
        Intervals {
            heartbeat: env::seconds(env::HEARTBEAT_S, 15.0),
            stale_after: env::seconds(env::STALE_AFTER_S, 60.0),
            stuck_after: env::seconds(env::STUCK_AFTER_S, 300.0),
        }
    }
}

/// How long ago `ts` was, by the real clock (`None`: unreadable).
pub fn age(ts: &str, now: DateTime<Utc>) -> Option<Duration> {
    clock::parse(ts).map(|t| (now - t).to_std().unwrap_or_default())
}

pub fn worker(w: &WorkerRecord, now: DateTime<Utc>, stale_after: Duration) -> Health {
    if w.state == WorkerState::Stopped {
        return Health::Dead("it stopped".to_string());
    }
    #[cfg(unix)]
    if let Some(pid) = w.pid
        && w.host == lease::hostname()
        && !crate::exec::signal::process_alive(pid)
    {
        return Health::Dead(format!("its process (pid {pid} on {}) is gone", w.host));
    }
    match age(&w.heartbeat_at, now) {
        Some(a) if a <= stale_after => Health::Live,
        Some(a) => Health::Dead(format!(
            "no heartbeat for {}",
            clock::human_duration(i64::try_from(a.as_secs()).unwrap_or(i64::MAX))
        )),
        None => Health::Dead("its heartbeat cannot be read".to_string()),
    }
}

/// A claim lives while the worker process that made it does.
pub fn claim(
    c: &Claim,
    workers: &[WorkerRecord],
    now: DateTime<Utc>,
    stale_after: Duration,
) -> Health {
    let Some(w) = workers.iter().find(|w| w.id == c.worker) else {
        return Health::Dead(format!("worker `{}` is not registered", c.worker));
    };
    if c.pid.is_some() && w.pid != c.pid {
        return Health::Dead(format!(
            "worker `{}` restarted since it claimed the task",
            c.worker
        ));
    }
    if let Health::Dead(why) = worker(w, now, stale_after) {
        return Health::Dead(format!("worker `{}`: {why}", c.worker));
    }
    // A live worker that no longer beats for this claim lost track of it
    // (say, the reply to its claim never reached it).
    match c.heartbeat_at.as_deref().and_then(|b| age(b, now)) {
        Some(a) if a > stale_after => Health::Dead(format!(
            "worker `{}` is alive but has not beaten for this claim for {}",
            c.worker,
            clock::human_duration(i64::try_from(a.as_secs()).unwrap_or(i64::MAX))
        )),
        _ => Health::Live,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(pid: Option<u32>, host: &str, beat: &str) -> WorkerRecord {
        WorkerRecord {
            id: "w1".into(),
            host: host.into(),
            pid,
            state: WorkerState::Idle,
            started_at: beat.into(),
            heartbeat_at: beat.into(),
            tags: vec![],
            concurrency: 1,
            current: vec![],
            done: 0,
            failed: 0,
        }
    }

    #[test]
    fn heartbeats_and_processes() {
        let now = clock::parse("2026-01-01T00:10:00Z").unwrap();
        let minute = Duration::from_secs(60);
        let me = Some(std::process::id());
        assert!(
            worker(
                &rec(me, &lease::hostname(), "2026-01-01T00:09:30Z"),
                now,
                minute
            )
            .is_live()
        );
        let Health::Dead(why) =
            worker(&rec(None, "elsewhere", "2026-01-01T00:05:00Z"), now, minute)
        else {
            panic!("an old heartbeat is dead")
        };
        assert_eq!(why, "no heartbeat for 5m");
        let dead = {
            let mut c = std::process::Command::new("true").spawn().unwrap();
            let pid = c.id();
            c.wait().unwrap();
            pid
        };
        assert!(
            !worker(
                &rec(Some(dead), &lease::hostname(), "2026-01-01T00:09:59Z"),
                now,
                minute
            )
            .is_live()
        );
        let c = Claim {
            task: "t_a".into(),
            fence: 1,
            worker: "w1".into(),
            host: lease::hostname(),
            pid: Some(12345),
            claimed_at: String::new(),
            heartbeat_at: None,
        };
        let w = rec(me, &lease::hostname(), "2026-01-01T00:09:59Z");
        assert!(
            !claim(&c, std::slice::from_ref(&w), now, minute).is_live(),
            "another process"
        );
        assert!(!claim(&c, &[], now, minute).is_live());
    }
}
