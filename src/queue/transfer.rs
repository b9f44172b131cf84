//! Copying tasks between backends: `orch queue import` (the committed task
//! files into PostgreSQL) and `orch queue export` (PostgreSQL's tasks back
//! into task files, so the repository stays the record a reviewer reads).
//! Idempotent: a task or event the destination has already is left alone,
//! so copying twice adds nothing. Claims and workers are machine state and
//! stay where they are.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::error::Result;
use crate::queue::backend::Backend;
use crate::queue::task::Event;

/// What a copy added.
#[derive(Debug, Default, Serialize)]
pub struct Copied {
    /// Tasks the destination did not have.
    pub tasks: usize,
    /// Events the destination did not have (of new and known tasks).
    pub events: usize,
    /// Tasks the source holds.
    pub seen: usize,
}

fn key(e: &Event) -> String {
    serde_json::to_string(e).expect("events serialize")
}

/// Copies every task and event of `from` that `to` lacks.
pub fn copy(from: &dyn Backend, to: &dyn Backend) -> Result<Copied> {
    let mut have: HashMap<String, HashSet<String>> = to
        .tasks()?
        .into_iter()
        .map(|t| (t.def.id.clone(), t.events.iter().map(key).collect()))
        .collect();
    let source = from.tasks()?;
    let mut new = Vec::new();
    let mut events = Vec::new();
    for t in &source {
        let known = have.remove(&t.def.id);
        if known.is_none() {
            new.push(&t.def);
        }
        let known = known.unwrap_or_default();
        events.extend(
            t.events
                .iter()
                .filter(|e| !known.contains(&key(e)))
                .map(|e| (t.def.id.as_str(), e)),
        );
    }
    let tasks = to.copy_in(&new, &events)?;
    Ok(Copied {
        tasks,
        events: events.len(),
        seen: source.len(),
    })
}
