//! What orch's fold says of each task, kept in the task's row so that a
//! shortlist (`shortlist.rs`) finds the best candidates by index instead of
//! reading every task: its status by its events, priority weight, the
//! earliest its deadline can be, dependencies, tags, whether it has a
//! workflow, when it was created, and how many open tasks list it.
//!
//! Computed by `StoredTask::fold` — the fold every backend and `orch next`
//! use — in the transaction that writes the task, never by SQL. The count
//! of dependents is recounted, under the lock of each task it counts, for
//! every task whose count a write may change.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use postgres::Transaction;

use crate::queue::task::{Event, Status, StoredTask, TaskDef};

/// The status a shortlist reads a task by (`Status::as_str`); `None`: the
/// task cannot be read (it is always read whole, and judged as `orch next`
/// judges it).
struct Summary {
    status: Option<&'static str>,
    weight: Option<i64>,
    due_from: Option<DateTime<Utc>>,
    deps: Vec<String>,
    tags: Vec<String>,
    runnable: bool,
    created_at: String,
}

impl Summary {
    fn of(def: &str, events: &[&str]) -> Summary {
        let task = serde_json::from_str::<TaskDef>(def).ok().and_then(|def| {
            let events = events
                .iter()
                .map(|e| serde_json::from_str::<Event>(e).ok())
                .collect::<Option<Vec<Event>>>()?;
            Some(StoredTask { def, events })
        });
        let Some(task) = task else {
            return Summary {
                status: None,
                weight: None,
                due_from: None,
                deps: Vec::new(),
                tags: Vec::new(),
                runnable: false,
                created_at: String::new(),
            };
        };
        let f = task.fold();
        Summary {
            status: Some(f.status.as_str()),
            weight: Some(i64::try_from(f.priority.weight()).unwrap_or(i64::MAX)),
            due_from: f.due.map(crate::queue::due::Due::earliest_deadline),
            deps: f.depends_on,
            tags: f.tags,
            runnable: task.def.workflow.is_some(),
            created_at: task.def.created_at,
        }
    }
}

/// Whether a task with this status counts as a dependent: open (not DONE
/// or CANCELLED) by its events.
fn counted(status: Option<&str>) -> bool {
    status.is_some_and(|s| s != Status::Done.as_str() && s != Status::Cancelled.as_str())
}

/// Rewrites the summaries of tasks `ids` (their rows locked or new in
/// `tx`) from their definitions and events, then recounts the dependents
/// of every task whose count they may change.
pub fn refresh(tx: &mut Transaction, ids: &[&str]) -> Result<(), postgres::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows = tx.query(
        "SELECT id, def, status, deps FROM orch_tasks WHERE id = ANY($1)",
        &[&ids],
    )?;
    let event_rows = tx.query(
        "SELECT task, body FROM orch_events WHERE task = ANY($1) ORDER BY task, seq",
        &[&ids],
    )?;
    let mut events: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in &event_rows {
        events.entry(r.get(0)).or_default().push(r.get(1));
    }
    let mut touched: BTreeSet<String> = BTreeSet::new();
    let mut cols = Columns::default();
    for r in &rows {
        let id: &str = r.get(0);
        let old_status: Option<&str> = r.get(2);
        let old_deps: Vec<String> = r.get(3);
        let s = Summary::of(r.get(1), events.get(id).map_or(&[][..], Vec::as_slice));
        if counted(old_status) != counted(s.status) || old_deps != s.deps {
            touched.extend(old_deps);
            touched.extend(s.deps.iter().cloned());
        }
        // Others may list it already (a task created after its dependents).
        touched.insert(id.to_string());
        cols.push(id, s);
    }
    tx.execute(
        "UPDATE orch_tasks t SET status = u.status, weight = u.weight, due_from = u.due_from,
             deps = ARRAY(SELECT json_array_elements_text(u.deps::json)),
             tags = ARRAY(SELECT json_array_elements_text(u.tags::json)),
             runnable = u.runnable, created_at = u.created_at
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::text[],
                     $6::text[], $7::boolean[], $8::text[])
              AS u (id, status, weight, due_from, deps, tags, runnable, created_at)
         WHERE t.id = u.id",
        &[
            &cols.ids,
            &cols.status,
            &cols.weight,
            &cols.due_from,
            &cols.deps,
            &cols.tags,
            &cols.runnable,
            &cols.created_at,
        ],
    )?;
    recount(tx, &touched.into_iter().collect::<Vec<_>>())
}

/// Up to this many tasks are recounted through the index on deps.
const FEW: usize = 256;

/// Sets each task's count of open tasks that list it, under its lock (so
/// two writers that change one count one after the other both count).
fn recount(tx: &mut Transaction, ids: &[String]) -> Result<(), postgres::Error> {
    tx.execute(
        "SELECT 1 FROM orch_tasks WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &[&ids],
    )?;
    // The open tasks that list any of them: for a few, found by the index
    // on deps; for many (an import), counted in one pass over every task
    // and joined by hash (`&&` against a long array compares every pair).
    let sql = if ids.len() <= FEW {
        "WITH want AS (SELECT DISTINCT unnest($1::text[]) AS id),
              counted AS (
                  SELECT d.dep AS id, count(*) AS n
                  FROM orch_tasks o
                  CROSS JOIN LATERAL unnest(o.deps) AS d (dep)
                  JOIN want ON want.id = d.dep
                  WHERE o.deps && $1::text[] AND o.status NOT IN ('DONE', 'CANCELLED')
                  GROUP BY d.dep)
         UPDATE orch_tasks t SET dependents = coalesce(counted.n, 0)
         FROM want LEFT JOIN counted USING (id)
         WHERE t.id = want.id AND t.dependents IS DISTINCT FROM coalesce(counted.n, 0)"
    } else {
        "WITH counted AS (
              SELECT d.dep AS id, count(*) AS n
              FROM orch_tasks o
              CROSS JOIN LATERAL unnest(o.deps) AS d (dep)
              WHERE o.status NOT IN ('DONE', 'CANCELLED')
              GROUP BY d.dep)
         UPDATE orch_tasks t SET dependents = coalesce(counted.n, 0)
         FROM orch_tasks w LEFT JOIN counted USING (id)
         WHERE w.id = ANY($1) AND t.id = w.id
           AND t.dependents IS DISTINCT FROM coalesce(counted.n, 0)"
    };
    tx.execute(sql, &[&ids])?;
    Ok(())
}

/// The summaries as columns, for one `UPDATE … FROM unnest(…)`.
#[derive(Default)]
struct Columns<'a> {
    ids: Vec<&'a str>,
    status: Vec<Option<&'static str>>,
    weight: Vec<Option<i64>>,
    due_from: Vec<Option<DateTime<Utc>>>,
    deps: Vec<String>,
    tags: Vec<String>,
    runnable: Vec<bool>,
    created_at: Vec<String>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, id: &'a str, s: Summary) {
        self.ids.push(id);
        self.status.push(s.status);
        self.weight.push(s.weight);
        self.due_from.push(s.due_from);
        self.deps
            .push(serde_json::to_string(&s.deps).unwrap_or_default());
        self.tags
            .push(serde_json::to_string(&s.tags).unwrap_or_default());
        self.runnable.push(s.runnable);
        self.created_at.push(s.created_at);
    }
}
