//! Copying tasks between backends: `orch queue import` (the committed task
//! files into PostgreSQL) and `orch queue export` (PostgreSQL's tasks back
//! into task files, so the repository stays the record a reviewer reads).
//! Idempotent: a task or event the destination has already is left alone,
//! so copying twice adds nothing. Claims and workers are machine state and
//! stay where they are.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::error::Result;
use crate::queue::backend::{Backend, Writer};
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
    let mut out = Copied::default();
    for t in from.tasks()? {
        out.seen += 1;
        let known = have.remove(&t.def.id).unwrap_or_default();
        if known.is_empty() && to.create(&t.def)? {
            out.tasks += 1;
        }
        for e in &t.events {
            if !known.contains(&key(e)) {
                to.append(&t.def.id, e, Writer::Anyone)?;
                out.events += 1;
            }
        }
    }
    Ok(out)
}
