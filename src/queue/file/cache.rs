//! Reading the backlog fast. Task and event files are written once and
//! never changed (a change to a task is a new event), so a file's name
//! says what is in it: once read, it never needs reading again. This
//! worktree keeps what it has read in `.git/orch/tasks-cache.json` (in the
//! worktree's own git directory, never committed); reading the backlog is
//! then two directory listings and only the files that are new. A file
//! that is gone (a checkout, a merge) drops out of the cache with it.
//!
//! A task file edited by hand in place keeps its name, so the cache would
//! not see the change: change tasks with `orch task edit`, or delete the
//! cache file.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::queue::task::{Event, StoredTask, TaskDef};
use crate::{json, par};

const VERSION: u32 = 1;

#[derive(Default, Serialize, Deserialize)]
struct Cache {
    version: u32,
    defs: HashMap<String, TaskDef>,
    events: HashMap<String, Event>,
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
    let text = match std::fs::read_to_string(dir.join(name)) {
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
    let text = std::fs::read_to_string(dir.join(name)).map_err(|e| Error::read(&shown, e))?;
    json::parse(&text, &shown)
}

/// Every task with its events, reading only files the cache has not seen.
pub fn tasks(tasks_dir: &Path, events_dir: &Path, cache_path: &Path) -> Result<Vec<StoredTask>> {
    let mut def_names = list(tasks_dir, super::TASKS_DIR)?;
    let mut event_names = list(events_dir, super::EVENTS_DIR)?;
    def_names.sort_unstable();
    event_names.sort_unstable();
    let mut cache = std::fs::read(cache_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Cache>(&b).ok())
        .filter(|c| c.version == VERSION)
        .unwrap_or_default();
    let new_defs: Vec<&String> = def_names
        .iter()
        .filter(|n| !cache.defs.contains_key(*n))
        .collect();
    let new_events: Vec<&String> = event_names
        .iter()
        .filter(|n| !cache.events.contains_key(*n))
        .collect();
    for (name, def) in new_defs.iter().zip(par::map_with(
        &new_defs,
        || (),
        |(), n| read_def(tasks_dir, n),
    )) {
        if let Some(def) = def? {
            cache.defs.insert((*name).clone(), def);
        }
    }
    for (name, ev) in new_events.iter().zip(par::map_with(
        &new_events,
        || (),
        |(), n| read_event(events_dir, n),
    )) {
        cache.events.insert((*name).clone(), ev?);
    }
    // Files that are gone drop out.
    let read = (cache.defs.len(), cache.events.len());
    let listed_defs: std::collections::HashSet<&String> = def_names.iter().collect();
    let listed_events: std::collections::HashSet<&String> = event_names.iter().collect();
    cache.defs.retain(|n, _| listed_defs.contains(n));
    cache.events.retain(|n, _| listed_events.contains(n));
    let removed = read != (cache.defs.len(), cache.events.len());
    if removed || !new_defs.is_empty() || !new_events.is_empty() {
        cache.version = VERSION;
        save(cache_path, &cache);
    }
    let mut events_of: HashMap<&str, Vec<Event>> = HashMap::new();
    for name in &event_names {
        if let (Some(id), Some(ev)) = (name.split('-').next(), cache.events.get(name)) {
            events_of.entry(id).or_default().push(ev.clone());
        }
    }
    Ok(def_names
        .iter()
        .filter_map(|n| {
            let def = cache.defs.get(n)?.clone();
            let events = events_of.remove(def.id.as_str()).unwrap_or_default();
            Some(StoredTask { def, events })
        })
        .collect())
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
