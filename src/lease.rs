//! Who is executing a run right now. While `orch run` or `orch run resume`
//! works on a run it holds a lease in `logs/lease.json` (outside the
//! committed record): owner, host, pid, and a heartbeat refreshed every few
//! seconds. A lease whose owner is gone (its process is dead on this host,
//! or its heartbeat is older than a minute) is stale: `run list` says so and
//! `run resume` takes the run over.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::record::Actor;
use crate::repo::Repo;
use crate::storage::{FileLock, layout};
use crate::{clock, env, json};

/// How often the heartbeat is written.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
/// A heartbeat older than this means the owner is gone.
pub const STALE_AFTER_SECONDS: i64 = 60;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: String,
    pub host: String,
    pub pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    pub acquired_at: String,
    pub heartbeat_at: String,
    /// The agent's process group, while one runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_pgid: Option<u32>,
}

/// A run's lease as seen now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    None,
    Live(Lease),
    /// The owner is gone; the string says how orch knows.
    Stale(Lease, String),
}

pub fn path(repo: &Repo, run_id: &str) -> PathBuf {
    repo.join(&format!("{}/lease.json", layout::logs_dir(run_id)))
}

/// This machine's name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// Reads the lease of a run and judges it.
pub fn state(repo: &Repo, run_id: &str, now: DateTime<Utc>) -> State {
    let Ok(text) = std::fs::read_to_string(path(repo, run_id)) else {
        return State::None;
    };
    let Ok(lease) = serde_json::from_str::<Lease>(&text) else {
        return State::None;
    };
    judge(lease, now)
}

fn judge(lease: Lease, now: DateTime<Utc>) -> State {
    #[cfg(unix)]
    if lease.host == hostname() && !crate::exec::signal::process_alive(lease.pid) {
        let why = format!(
            "its owner (pid {} on {}) is no longer running",
            lease.pid, lease.host
        );
        return State::Stale(lease, why);
    }
    let age = clock::parse(&lease.heartbeat_at).map(|t| (now - t).num_seconds());
    match age {
        Some(secs) if secs > STALE_AFTER_SECONDS => {
            let why = format!(
                "no heartbeat from pid {} on {} for {}",
                lease.pid,
                lease.host,
                clock::human_duration(secs)
            );
            State::Stale(lease, why)
        }
        _ => State::Live(lease),
    }
}

/// Holds a run's lease and keeps its heartbeat fresh until dropped, when
/// the lease is removed.
pub struct Held {
    path: PathBuf,
    lease: Arc<Mutex<Lease>>,
    stop: Option<mpsc::Sender<()>>,
    agent: Arc<AtomicU32>,
    thread: Option<JoinHandle<()>>,
}

/// What taking the lease replaced.
pub enum Taken {
    Fresh,
    TookOver(Lease, String),
}

/// Takes the run's lease, refusing when a live owner holds it. A stale
/// owner's agent, if it is still running on this host, is stopped.
pub fn acquire(repo: &Repo, run_id: &str, actor: Option<Actor>) -> Result<(Held, Taken)> {
    let _lock = FileLock::acquire(
        &repo.join(&layout::lock_file(run_id)),
        &format!("run {run_id}"),
        env::seconds(env::LOCK_TIMEOUT, 60.0),
    )?;
    let now = clock::now();
    let taken = match state(repo, run_id, now) {
        State::Live(l) if l.pid == std::process::id() && l.host == hostname() => Taken::Fresh,
        State::Live(l) => {
            return Err(Error::conflict(format!(
                "run `{run_id}` is being executed by pid {} on {} (heartbeat {})",
                l.pid, l.host, l.heartbeat_at
            ))
            .hint("wait for it to finish, or stop that process; a stale owner is taken over automatically"));
        }
        State::Stale(l, why) => {
            #[cfg(unix)]
            if let Some(group) = l.agent_pgid.filter(|_| l.host == hostname()) {
                crate::exec::signal::kill_group(group, crate::exec::signal::KILL);
            }
            Taken::TookOver(l, why)
        }
        State::None => Taken::Fresh,
    };
    let stamp = clock::timestamp(now);
    let lease = Lease {
        owner: "orch".to_string(),
        host: hostname(),
        pid: std::process::id(),
        actor,
        acquired_at: stamp.clone(),
        heartbeat_at: stamp,
        agent_pgid: None,
    };
    let path = path(repo, run_id);
    write(&path, &lease)?;
    let lease = Arc::new(Mutex::new(lease));
    let agent = Arc::new(AtomicU32::new(0));
    // Dropping the sender stops the thread at once (no sleep to wait out).
    let (stop, wake) = mpsc::channel::<()>();
    let thread = {
        let (path, lease, agent) = (path.clone(), Arc::clone(&lease), Arc::clone(&agent));
        std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = wake.recv_timeout(HEARTBEAT_EVERY) {
                let mut l = lease
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                l.heartbeat_at = clock::now_timestamp();
                let group = agent.load(Ordering::SeqCst);
                l.agent_pgid = (group != 0).then_some(group);
                let _ = write(&path, &l);
            }
        })
    };
    Ok((
        Held {
            path,
            lease,
            stop: Some(stop),
            agent,
            thread: Some(thread),
        },
        taken,
    ))
}

/// Replaces the lease file whole (temp file and rename), without fsync:
/// it describes a live process, so a crash makes it stale anyway.
fn write(path: &std::path::Path, lease: &Lease) -> Result<()> {
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    std::fs::write(&tmp, json::to_pretty(lease))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::write(path.display(), e))
}

impl Held {
    /// Notes the agent's process group (0: none) in the lease, at once.
    pub fn set_agent(&self, pgid: u32) {
        self.agent.store(pgid, Ordering::SeqCst);
        let mut l = self
            .lease
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        l.agent_pgid = (pgid != 0).then_some(pgid);
        l.heartbeat_at = clock::now_timestamp();
        let _ = write(&self.path, &l);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(pid: u32, host: &str, heartbeat: &str) -> Lease {
        Lease {
            owner: "orch".into(),
            host: host.into(),
            pid,
            actor: None,
            acquired_at: heartbeat.into(),
            heartbeat_at: heartbeat.into(),
            agent_pgid: None,
        }
    }

    #[test]
    fn staleness() {
        let now = clock::parse("2026-01-01T00:10:00Z").unwrap();
        let me = std::process::id();
        assert!(matches!(
            judge(lease(me, &hostname(), "2026-01-01T00:09:50Z"), now),
            State::Live(_)
        ));
        assert!(matches!(
            judge(lease(me, "elsewhere", "2026-01-01T00:01:00Z"), now),
            State::Stale(..)
        ));
        assert!(matches!(
            judge(lease(me, "elsewhere", "2026-01-01T00:09:30Z"), now),
            State::Live(_)
        ));
        let dead = {
            let mut c = std::process::Command::new("true").spawn().unwrap();
            let pid = c.id();
            c.wait().unwrap();
            pid
        };
        let State::Stale(_, why) = judge(lease(dead, &hostname(), "2026-01-01T00:09:59Z"), now)
        else {
            panic!("a dead owner on this host is stale")
        };
        assert!(why.contains("is no longer running"), "{why}");
    }
}
