//! Reading the backlog fast. Task and event files are written once and
//! never changed (a change to a task is a new event), so a file's name
//! says what is in it: once read, it never needs reading again. This
//! worktree keeps what it has read in `.git/orch/tasks-cache.json` (in the
//! worktree's own git directory, never committed). While neither folder
//! changed (their modification times say so), reading the backlog reads
//! that one file; otherwise the folders are listed and only new files are
//! read. A file that is gone (a checkout, a merge) drops out with it.
//!
//! A task file edited by hand in place keeps its name, so the cache would
//! not see the change: change tasks with `orch task edit`, or delete the
//! cache file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::queue::task::{Event, StoredTask, TaskDef};
use crate::{json, par};

const VERSION: u32 = 2;

#[derive(Default, Serialize, Deserialize)]
struct Cache {
    version: u32,
    /// The two folders' modification times when they were listed, kept
    /// only when safe to trust: while they are unchanged, no file was
    /// added or removed, and the folders need not be listed again.
    listed: Option<(i128, i128)>,
    /// Sorted by file name (so by task id, then by sequence number).
    defs: Vec<(String, TaskDef)>,
    events: Vec<(String, Event)>,
}

/// The `.json` files of a folder (none when it does not exist); `shown`
/// names it in errors.
pub fn list(dir: &Path, shown: &str) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::read(shown, e)),
    };
    Ok(entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.') && Path::new(n).extension().is_some_and(|x| x == "json"))
        .collect())
}

/// A definition file; `None` when it does not exist.
pub fn read_def(dir: &Path, name: &str) -> Result<Option<TaskDef>> {
    let shown = format!("{}/{name}", super::TASKS_DIR);
    let text = match crate::storage::regular::read_to_string(&dir.join(name)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::read(shown, e)),
    };
    let def: TaskDef = json::parse(&text, &shown)?;
    let id = name.strip_suffix(".json").unwrap_or(name);
    if def.id != id {
        return Err(Error::input(format!(
            "{shown}: the task says its id is `{}`, but its file is named for `{id}`",
            def.id
        ))
        .hint("a task file's name and its id must match (was the file copied or renamed?)"));
    }
    Ok(Some(def))
}

pub fn read_event(dir: &Path, name: &str) -> Result<Event> {
    let shown = format!("{}/{name}", super::EVENTS_DIR);
    let text = crate::storage::regular::read_to_string(&dir.join(name))
        .map_err(|e| Error::read(&shown, e))?;
    json::parse(&text, &shown)
}

/// Every task with its events, reading only files the cache has not seen.
pub fn tasks(tasks_dir: &Path, events_dir: &Path, cache_path: &Path) -> Result<Vec<StoredTask>> {
    let mtimes = (mtime(tasks_dir), mtime(events_dir));
    // Checked as UTF-8 once, so the parser need not check every string.
    let mut cache = crate::storage::regular::read(cache_path)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| serde_json::from_str::<Cache>(&t).ok())
        .filter(|c| c.version == VERSION)
        .unwrap_or_default();
    let unchanged = matches!((cache.listed, mtimes), (Some(l), (Some(t), Some(e))) if l == (t, e));
    if !unchanged {
        let listed_at = std::time::SystemTime::now();
        let defs = refresh(
            std::mem::take(&mut cache.defs),
            tasks_dir,
            super::TASKS_DIR,
            read_def,
        )?;
        let events = refresh(
            std::mem::take(&mut cache.events),
            events_dir,
            super::EVENTS_DIR,
            |d, n| read_event(d, n).map(Some),
        )?;
        // Git's racy rule: a folder changed within the second it was listed
        // might change again within the same tick unseen; list it next time.
        let settled = |m: Option<i128>| {
            let since = listed_at
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_nanos();
            m.filter(|m| i128::try_from(since).is_ok_and(|s| s - m > 1_000_000_000))
        };
        cache = Cache {
            version: VERSION,
            listed: settled(mtimes.0).zip(settled(mtimes.1)),
            defs,
            events,
        };
        save(cache_path, &cache);
    }
    // Both lists are sorted by task id: walk them together.
    let mut events = cache.events.into_iter().peekable();
    let mut out = Vec::with_capacity(cache.defs.len());
    for (_, def) in cache.defs {
        let mut mine = Vec::new();
        while let Some((name, _)) = events.peek() {
            let id = name.split('-').next().unwrap_or_default();
            match id.cmp(def.id.as_str()) {
                std::cmp::Ordering::Less => {
                    events.next();
                }
                std::cmp::Ordering::Equal => mine.extend(events.next().map(|(_, e)| e)),
                std::cmp::Ordering::Greater => break,
            }
        }
        out.push(StoredTask { def, events: mine });
    }
    Ok(out)
}

/// A folder's entries: the cached ones still listed, and the new ones read
/// (on all cores). Sorted by name.
fn refresh<T: Send>(
    cached: Vec<(String, T)>,
    dir: &Path,
    shown: &str,
    read: impl Fn(&Path, &str) -> Result<Option<T>> + Sync,
) -> Result<Vec<(String, T)>> {
    let mut names = list(dir, shown)?;
    names.sort_unstable();
    let mut cached = cached.into_iter().peekable();
    let mut out: Vec<(String, Option<T>)> = Vec::with_capacity(names.len());
    for name in names {
        while cached.next_if(|(n, _)| *n < name).is_some() {}
        let hit = cached.next_if(|(n, _)| *n == name).map(|(_, v)| v);
        out.push((name, hit));
    }
    let missing: Vec<(usize, String)> = (0..out.len())
        .filter(|&i| out[i].1.is_none())
        .map(|i| (i, out[i].0.clone()))
        .collect();
    let read = par::map_with(&missing, || (), |(), (_, name)| read(dir, name));
    let mut fresh = Vec::with_capacity(missing.len());
    for r in read {
        fresh.push(r?);
    }
    for ((i, _), value) in missing.into_iter().zip(fresh) {
        out[i].1 = value;
    }
    Ok(out
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect())
}

fn mtime(dir: &Path) -> Option<i128> {
    let t = std::fs::metadata(dir).ok()?.modified().ok()?;
    i128::try_from(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos()).ok()
}

/// Replaces the cache (no fsync: a cache lost in a crash is rebuilt).
fn save(path: &Path, cache: &Cache) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(bytes) = serde_json::to_vec(cache) else {
        return;
    };
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(id: &str) -> String {
        format!(
            r#"{{"format_version": 1, "id": "{id}", "title": "T {id}", "created_at": "2026-01-01T00:00:00.000Z"}}"#
        )
    }

    #[test]
    fn the_cache_follows_the_folders() {
        let dir = tempfile::tempdir().unwrap();
        let (tasks, events, cache) = (
            dir.path().join("tasks"),
            dir.path().join("events"),
            dir.path().join("c.json"),
        );
        std::fs::create_dir_all(&events).unwrap();
        std::fs::create_dir_all(&tasks).unwrap();
        for i in 0..2500 {
            std::fs::write(
                tasks.join(format!("t_{i:05}.json")),
                def(&format!("t_{i:05}")),
            )
            .unwrap();
        }
        std::fs::write(
            events.join("t_00007-000001-20260101T000000000Z-done-abcdef.json"),
            r#"{"type": "done", "at": "2026-01-01T00:00:00.000Z"}"#,
        )
        .unwrap();
        let first = super::tasks(&tasks, &events, &cache).unwrap();
        assert_eq!(first.len(), 2500);
        assert_eq!(first[7].events.len(), 1);
        let saved: Cache = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
        assert_eq!((saved.defs.len(), saved.events.len()), (2500, 1));
        // A file gone drops out; a new one is read; the rest come from the cache.
        std::fs::remove_file(tasks.join("t_00003.json")).unwrap();
        std::fs::write(tasks.join("t_99999.json"), def("t_99999")).unwrap();
        std::fs::write(tasks.join("t_00004.json"), "not read again").unwrap();
        let second = super::tasks(&tasks, &events, &cache).unwrap();
        assert_eq!(second.len(), 2500);
        assert!(second.iter().all(|t| t.def.id != "t_00003"));
        assert_eq!(second.last().unwrap().def.id, "t_99999");
        assert_eq!(
            second[3].def.title, "T t_00004",
            "a file is read once, by its name"
        );
    }
}
