//! Who is executing a run right now. While `orch run` or `orch run resume`
//! works on a run it holds a lease in `logs/lease.json` (outside the
//! committed record): owner, host, pid, and a heartbeat refreshed every few
//! seconds. A lease whose owner is gone (its process is dead on this host,
//! or its heartbeat is older than a minute, `ORCH_STALE_AFTER_S`) is stale:
//! `run list` says so and `run resume` takes the run over.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::record::Actor;
use crate::repo::Repo;
use crate::storage::{FileLock, layout};
use crate::{clock, env, json};

/// How often the heartbeat is written: every 5 s, or more often when
/// `ORCH_HEARTBEAT_S` says so.
pub fn heartbeat_every() -> Duration {
    env::seconds(env::HEARTBEAT_S, 15.0).min(Duration::from_secs(5))
}

/// A heartbeat older than this means the owner is gone (`ORCH_STALE_AFTER_S`, default 60 s).
pub fn stale_after() -> Duration {
    env::seconds(env::STALE_AFTER_S, 60.0)
}

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

/// Reads the lease of a run and judges it (by the real clock). A lease
/// that cannot be read counts as none here; `held_by_another` and `acquire`
/// report it.
pub fn state(repo: &Repo, run_id: &str) -> State {
    checked_state(repo, run_id).unwrap_or(State::None)
}

/// Like `state`, but a lease file that cannot be read (a FIFO, say) is an
/// error rather than "no owner". An unparsable lease is none: it is only
/// ever replaced whole, so it was not written by a live orch.
fn checked_state(repo: &Repo, run_id: &str) -> Result<State> {
    let now = clock::real_now();
    let text = match crate::storage::regular::read_to_string(&path(repo, run_id)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::None),
        Err(e) => {
            return Err(
                Error::read(format!("{}/lease.json", layout::logs_dir(run_id)), e).hint(
                    "logs/lease.json is orch's own file: delete it if nothing else is running",
                ),
            );
        }
    };
    let Ok(lease) = serde_json::from_str::<Lease>(&text) else {
        return Ok(State::None);
    };
    Ok(judge(lease, now, stale_after()))
}

fn judge(lease: Lease, now: DateTime<Utc>, stale_after: Duration) -> State {
    #[cfg(unix)]
    if lease.host == hostname() && !crate::exec::signal::process_alive(lease.pid) {
        let why = format!(
            "its owner (pid {} on {}) is no longer running",
            lease.pid, lease.host
        );
        return State::Stale(lease, why);
    }
    let age = clock::parse(&lease.heartbeat_at).map(|t| now - t);
    match age {
        Some(age) if age.to_std().is_ok_and(|a| a > stale_after) => {
            let why = format!(
                "no heartbeat from pid {} on {} for {}",
                lease.pid,
                lease.host,
                clock::human_duration(age.num_seconds())
            );
            State::Stale(lease, why)
        }
        _ => State::Live(lease),
    }
}

/// Whether this process owns a lease.
fn is_mine(l: &Lease) -> bool {
    l.pid == std::process::id() && l.host == hostname()
}

/// The live owner of a run, when it is another process.
pub fn held_by_another(repo: &Repo, run_id: &str) -> Result<Option<Lease>> {
    Ok(match checked_state(repo, run_id)? {
        State::Live(l) if !is_mine(&l) => Some(l),
        _ => None,
    })
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
    let now = clock::real_now();
    let taken = match checked_state(repo, run_id)? {
        State::Live(l) if is_mine(&l) => Taken::Fresh,
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
    let shared = Arc::new(Shared {
        path: path.clone(),
        lock: repo.join(&layout::lock_file(run_id)),
        lease: Mutex::new(lease),
        agent: AtomicU32::new(0),
    });
    // Dropping the sender stops the thread at once (no sleep to wait out).
    let (stop, wake) = mpsc::channel::<()>();
    let thread = {
        let shared = Arc::clone(&shared);
        let every = heartbeat_every();
        std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = wake.recv_timeout(every) {
                if !shared.refresh() {
                    break;
                }
            }
        })
    };
    Ok((
        Held {
            shared,
            stop: Some(stop),
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

/// What the owner and its heartbeat thread share.
struct Shared {
    path: PathBuf,
    lock: PathBuf,
    lease: Mutex<Lease>,
    agent: AtomicU32,
}

impl Shared {
    /// Whether the lease file still names this process. A taken-over owner
    /// (it was stopped, its heartbeat went stale, `resume` took the run)
    /// must never rewrite or remove the new owner's lease.
    fn still_mine(&self) -> bool {
        crate::storage::regular::read_to_string(&self.path)
            .ok()
            .and_then(|t| serde_json::from_str::<Lease>(&t).ok())
            .is_some_and(|l| is_mine(&l))
    }

    /// Rewrites the lease with a fresh heartbeat, under the run's lock and
    /// only while it is still ours; false once it is not.
    fn refresh(&self) -> bool {
        let Ok(_guard) = FileLock::acquire(&self.lock, "the run's lease", Duration::from_secs(5))
        else {
            return true;
        };
        if !self.still_mine() {
            return false;
        }
        let mut l = self
            .lease
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        l.heartbeat_at = clock::timestamp(clock::real_now());
        let group = self.agent.load(Ordering::SeqCst);
        l.agent_pgid = (group != 0).then_some(group);
        let _ = write(&self.path, &l);
        true
    }
}

/// Holds a run's lease and keeps its heartbeat fresh until dropped, when
/// the lease is removed (if it is still ours).
pub struct Held {
    shared: Arc<Shared>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Held {
    /// Notes the agent's process group (0: none) in the lease, at once.
    pub fn set_agent(&self, pgid: u32) {
        self.shared.agent.store(pgid, Ordering::SeqCst);
        self.shared.refresh();
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Ok(_guard) =
            FileLock::acquire(&self.shared.lock, "the run's lease", Duration::from_secs(5))
            && self.shared.still_mine()
        {
            let _ = std::fs::remove_file(&self.shared.path);
        }
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
        let judge = |l, now| judge(l, now, Duration::from_secs(60));
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
