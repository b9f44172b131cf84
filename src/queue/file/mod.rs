//! The queue on one machine, in files.
//!
//! Committed and merge-friendly: one file per task, one file per event,
//! each written once under a name no other clone can pick, in two flat
//! folders (so reading the whole backlog is two directory listings, not
//! one per task):
//!
//! ```text
//! orchestration/tasks/<id>.json                                  the task as added
//! orchestration/tasks/events/<id>-<seq>-<at>-<type>-<rand>.json  one per event
//! ```
//!
//! Machine state, in the git directory every worktree of the clone shares:
//!
//! ```text
//! .git/orch/queue/claims/<id>/<fence>.json            a claim, created once (O_EXCL)
//! .git/orch/queue/claims/<id>/<fence>.released.json   its end, created once
//! .git/orch/queue/locks/<id>.lock                     serialises writes to one task
//! .git/orch/queue/workers/<worker>.json               the registry, with heartbeats
//! ```
//!
//! A claim succeeds only by creating the next fence's file, which one
//! process alone can do. Writes on behalf of a claim take the task's lock
//! and check that the claim is still the latest and not released, so a
//! holder whose claim was rescued and taken over writes nothing.

mod cache;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::queue::backend::{Backend, Claim, WorkerRecord, Writer};
use crate::queue::task::{Event, EventKind, FORMAT_VERSION, StoredTask, TaskDef};
use crate::repo::{Repo, is_safe_component};
use crate::storage::atomic::{self, TEMP_PREFIX};
use crate::storage::{FileLock, write_atomic};
use crate::{clock, env, json};

/// Where task definitions are committed.
pub const TASKS_DIR: &str = "orchestration/tasks";
/// Where task events are committed.
pub const EVENTS_DIR: &str = "orchestration/tasks/events";

pub struct FileBackend {
    repo: Repo,
    queue: PathBuf,
    /// This worktree's cache of task files already read.
    cache: PathBuf,
}

/// A task's claims folder, read.
struct Claims {
    /// The highest fence claimed so far (0: never claimed).
    max_fence: u64,
    /// The claim with that fence, unless it was released.
    current: Option<Claim>,
}

impl FileBackend {
    pub fn new(repo: &Repo) -> FileBackend {
        let common = repo.git_common_dir().unwrap_or_else(|| repo.join(".git"));
        let own = repo.git_dir().unwrap_or_else(|| repo.join(".git"));
        FileBackend {
            repo: repo.clone(),
            queue: common.join("orch").join("queue"),
            cache: own.join("orch").join("tasks-cache.json"),
        }
    }

    /// A folder of orch's task layout, proven inside the repository.
    fn dir(&self, rel: &str) -> Result<PathBuf> {
        self.repo.contain(rel).map(|p| p.abs).map_err(|e| {
            Error::input(format!("unsafe tasks folder: {e}")).hint(format!(
                "{TASKS_DIR} must be a real folder inside the repository"
            ))
        })
    }

    fn check_id(id: &str) -> Result<()> {
        if is_safe_component(id) && !id.contains('-') {
            Ok(())
        } else {
            Err(Error::input(format!("`{id}` is not a task id"))
                .hint("`orch task list` shows the tasks"))
        }
    }

    fn claims_dir(&self, id: &str) -> PathBuf {
        self.queue.join("claims").join(id)
    }

    fn lock(&self, id: &str) -> Result<FileLock> {
        FileLock::acquire(
            &self.queue.join("locks").join(format!("{id}.lock")),
            &format!("task {id}"),
            env::seconds(env::LOCK_TIMEOUT, 60.0),
        )
    }

    /// One task as its files say now (never from the cache: writes decide on it).
    fn read_task(&self, id: &str) -> Result<Option<StoredTask>> {
        Self::check_id(id)?;
        let Some(def) = cache::read_def(&self.dir(TASKS_DIR)?, &format!("{id}.json"))? else {
            return Ok(None);
        };
        let events_dir = self.dir(EVENTS_DIR)?;
        let prefix = format!("{id}-");
        let mut names: Vec<String> = cache::list(&events_dir, EVENTS_DIR)?
            .into_iter()
            .filter(|n| n.starts_with(&prefix))
            .collect();
        names.sort_unstable();
        let mut events = Vec::with_capacity(names.len());
        for name in names {
            events.push(cache::read_event(&events_dir, &name)?);
        }
        Ok(Some(StoredTask { def, events }))
    }

    fn write_event(&self, id: &str, event: &Event) -> Result<()> {
        let task = self.read_task(id)?.ok_or_else(|| no_task(id))?;
        if task.def.format_version > FORMAT_VERSION {
            return Err(Error::conflict(format!(
                "task `{id}` was written by a newer orch (format {}); this orch will not change it",
                task.def.format_version
            ))
            .hint("upgrade orch to change this task"));
        }
        let events_dir = self.dir(EVENTS_DIR)?;
        let prefix = format!("{id}-");
        let seq = cache::list(&events_dir, EVENTS_DIR)?
            .iter()
            .filter_map(|n| n.strip_prefix(&prefix))
            .filter_map(|rest| rest.split('-').next()?.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1;
        let at = clock::parse(&event.at).unwrap_or_else(clock::now);
        let name = format!(
            "{id}-{seq:06}-{}-{}-{}.json",
            at.format("%Y%m%dT%H%M%S%3fZ"),
            event.kind.as_str(),
            clock::random_token(6)
        );
        // No clean-up of temporary files here: writers of other tasks share
        // the folder (a crashed writer's leftover is ignored by git and orch).
        write_atomic(&events_dir.join(&name), &json::to_pretty(event))
            .map_err(|e| Error::write(format!("{EVENTS_DIR}/{name}"), e))
    }

    fn read_claims(&self, id: &str) -> Result<Claims> {
        let dir = self.claims_dir(id);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Claims {
                    max_fence: 0,
                    current: None,
                });
            }
            Err(e) => return Err(Error::read(dir.display(), e)),
        };
        let mut max_fence = 0;
        let mut released = Vec::new();
        for name in entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
        {
            if let Some(f) = name.strip_suffix(".released.json") {
                released.extend(f.parse::<u64>().ok());
            } else if let Some(f) = name
                .strip_suffix(".json")
                .and_then(|f| f.parse::<u64>().ok())
            {
                max_fence = max_fence.max(f);
            }
        }
        let current = if max_fence == 0 || released.contains(&max_fence) {
            None
        } else {
            let path = dir.join(fence_file(max_fence));
            // A claim file that cannot be read (a crash while it was written)
            // still holds the fence; its unknown holder is dead to rescue.
            Some(
                crate::storage::regular::read_to_string(&path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Claim>(&t).ok())
                    .unwrap_or_else(|| Claim {
                        task: id.to_string(),
                        fence: max_fence,
                        worker: "?".to_string(),
                        host: "?".to_string(),
                        pid: None,
                        claimed_at: String::new(),
                        heartbeat_at: None,
                    }),
            )
        };
        Ok(Claims { max_fence, current })
    }

    fn worker_path(&self, id: &str) -> PathBuf {
        self.queue.join("workers").join(format!("{id}.json"))
    }
}

fn fence_file(fence: u64) -> String {
    format!("{fence:010}.json")
}

fn no_task(id: &str) -> Error {
    Error::input(format!("there is no task `{id}`")).hint("`orch task list` shows the tasks")
}

/// A temporary file beside `path` holding `bytes`, ready to be moved into place.
fn staged(path: &Path, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    Ok(tmp)
}

/// Creates `path` with `bytes` only if it does not exist: the whole file
/// appears at once, or nothing does. `durable`: flushed to disk first.
fn create_exclusive(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<bool> {
    let tmp = staged(path, bytes)?;
    if durable {
        tmp.as_file().sync_all()?;
    }
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(true),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e.error),
    }
}

/// Replaces a file of machine state (no fsync: it describes live
/// processes, and a crash makes them stale anyway).
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    staged(path, bytes)?
        .persist(path)
        .map(|_| ())
        .map_err(|e| e.error)
}

impl Backend for FileBackend {
    fn ids(&self) -> Result<Vec<String>> {
        let mut ids: Vec<String> = cache::list(&self.dir(TASKS_DIR)?, TASKS_DIR)?
            .into_iter()
            .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
            .filter(|id| Self::check_id(id).is_ok())
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn tasks(&self) -> Result<Vec<StoredTask>> {
        cache::tasks(&self.dir(TASKS_DIR)?, &self.dir(EVENTS_DIR)?, &self.cache)
    }

    fn task(&self, id: &str) -> Result<StoredTask> {
        self.read_task(id)?.ok_or_else(|| no_task(id))
    }

    fn create(&self, def: &TaskDef) -> Result<bool> {
        Self::check_id(&def.id)?;
        let root = self.dir(TASKS_DIR)?;
        atomic::create_dir_all_durable(&root).map_err(|e| Error::write(TASKS_DIR, e))?;
        let created = create_exclusive(
            &root.join(format!("{}.json", def.id)),
            &json::to_pretty(def),
            true,
        )
        .map_err(|e| Error::write(format!("{TASKS_DIR}/{}.json", def.id), e))?;
        atomic::sync_dir(&root).map_err(|e| Error::write(TASKS_DIR, e))?;
        Ok(created)
    }

    fn append(&self, id: &str, event: &Event, writer: Writer) -> Result<()> {
        let _lock = self.lock(id)?;
        match writer {
            Writer::Anyone => {}
            Writer::Unclaimed(still) => {
                if let Some(c) = self.read_claims(id)?.current {
                    return Err(Error::conflict(format!(
                        "task `{id}` is claimed by worker `{}` (fence {})",
                        c.worker, c.fence
                    ))
                    .hint("wait for it, or stop it: `orch task cancel` takes the claim back"));
                }
                if !self.read_task(id)?.is_some_and(|t| still(&t)) {
                    return Err(changed(id));
                }
            }
            Writer::Holder(claim) => {
                let current = self.read_claims(id)?.current;
                if current.as_ref().map(|c| c.fence) != Some(claim.fence) {
                    return Err(lost(claim, current.as_ref()));
                }
            }
        }
        self.write_event(id, event)
    }

    fn claims(&self) -> Result<Vec<Claim>> {
        let dir = self.queue.join("claims");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::read(dir.display(), e)),
        };
        let ids: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| is_safe_component(n))
            .collect();
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.read_claims(&id)?.current);
        }
        Ok(out)
    }

    fn claim_of(&self, id: &str) -> Result<Option<Claim>> {
        Ok(self.read_claims(id)?.current)
    }

    fn claim(
        &self,
        id: &str,
        worker: &WorkerRecord,
        still_ready: &dyn Fn(&StoredTask) -> bool,
    ) -> Result<Option<Claim>> {
        let _lock = self.lock(id)?;
        let state = self.read_claims(id)?;
        if let Some(c) = state.current {
            return Ok((c.worker == worker.id).then_some(c));
        }
        let Some(task) = self.read_task(id)? else {
            return Ok(None);
        };
        if !still_ready(&task) {
            return Ok(None);
        }
        let claim = Claim {
            task: id.to_string(),
            fence: state.max_fence + 1,
            worker: worker.id.clone(),
            host: worker.host.clone(),
            pid: worker.pid,
            claimed_at: clock::timestamp(clock::real_now()),
            heartbeat_at: None,
        };
        let dir = self.claims_dir(id);
        let created = create_exclusive(
            &dir.join(fence_file(claim.fence)),
            &json::to_pretty(&claim),
            false,
        )
        .map_err(|e| Error::write(dir.display(), e))?;
        if !created {
            return Ok(None);
        }
        // Older fences are history nobody reads.
        for old in 1..claim.fence {
            let _ = std::fs::remove_file(dir.join(fence_file(old)));
            let _ = std::fs::remove_file(dir.join(format!("{old:010}.released.json")));
        }
        Ok(Some(claim))
    }

    fn release(&self, claim: &Claim, event: Option<&Event>) -> Result<bool> {
        let _lock = self.lock(&claim.task)?;
        let current = self.read_claims(&claim.task)?.current;
        if current.as_ref().map(|c| c.fence) != Some(claim.fence) {
            return Ok(false);
        }
        if let Some(e) = event {
            self.write_event(&claim.task, e)?;
        }
        let dir = self.claims_dir(&claim.task);
        if event.is_some_and(|e| e.kind == EventKind::Done) {
            // DONE is final: nothing will claim the task again, so its
            // claims folder goes (listing claims stays cheap as work is done).
            let _ = std::fs::remove_dir_all(&dir);
            return Ok(true);
        }
        let marker = serde_json::json!({
            "fence": claim.fence,
            "released_at": clock::timestamp(clock::real_now()),
            "event": event.map(|e| e.kind.as_str()),
        });
        create_exclusive(
            &dir.join(format!("{:010}.released.json", claim.fence)),
            &json::to_pretty(&marker),
            false,
        )
        .map_err(|e| Error::write(dir.display(), e))
    }

    fn beat(&self, worker: &WorkerRecord, claims: &[Claim]) -> Result<Vec<bool>> {
        let path = self.worker_path(&worker.id);
        replace(&path, &json::to_pretty(worker)).map_err(|e| Error::write(path.display(), e))?;
        claims
            .iter()
            .map(|c| Ok(self.read_claims(&c.task)?.current.map(|cur| cur.fence) == Some(c.fence)))
            .collect()
    }

    fn workers(&self) -> Result<Vec<WorkerRecord>> {
        let dir = self.queue.join("workers");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::read(dir.display(), e)),
        };
        let mut out: Vec<WorkerRecord> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| crate::storage::regular::read_to_string(&e.path()).ok())
            .filter_map(|t| serde_json::from_str(&t).ok())
            .collect();
        out.sort_by(|a: &WorkerRecord, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn forget_worker(&self, id: &str) -> Result<()> {
        match std::fs::remove_file(self.worker_path(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::write(self.worker_path(id).display(), e)),
        }
    }
}

/// The refusal when a task changed between being judged and being written.
pub fn changed(id: &str) -> Error {
    Error::conflict(format!(
        "task `{id}` changed while this was being written; nothing was written"
    ))
    .hint("look again (`orch task show`) and retry if it still applies")
}

/// The refusal a holder gets once its claim is gone.
pub(crate) fn lost(claim: &Claim, current: Option<&Claim>) -> Error {
    let now = match current {
        Some(c) => format!("worker `{}` holds it now (fence {})", c.worker, c.fence),
        None => "it was released".to_string(),
    };
    Error::conflict(format!(
        "worker `{}` no longer holds task `{}` (its claim, fence {}, was taken over: {now}); nothing was written",
        claim.worker, claim.task, claim.fence
    ))
    .hint("a rescued claim belongs to whoever claims the task next; `orch task show` has its history")
}
