//! `Backend::shortlist` on PostgreSQL: the few tasks that decide what is
//! best to take, found by index in the summaries `summary.rs` keeps, so
//! `orch next` and a claim read dozens of tasks of a backlog of 100,000.
//!
//! SQL only filters and orders by stored columns; it never scores. For
//! each priority it reads the first TODO, unclaimed candidates whose every
//! dependency is DONE by its events (or may be: a status that may follow a
//! run) in the order `select` ranks tasks of one priority; then every task
//! whose status may follow its run or that is claimed; then the
//! dependencies of all of them. `select` ranks what was read, and
//! `select::beats_unread` says how much of that ranking no unread task
//! could change.

use std::collections::{HashMap, HashSet};

use postgres::Transaction;

use crate::error::Result;
use crate::queue::backend::{Shortlist, Unread};
use crate::queue::select::Criteria;
use crate::queue::task::Priority;

/// Statuses by events after which a task's status cannot follow its run
/// (`board::follow_run`): read only as candidates or dependencies.
const SETTLED: &str = "('TODO', 'DONE', 'CANCELLED', 'FAILED')";

/// Reads the shortlist in `tx` (which should see one snapshot). The
/// outer error: the database's; the inner: a row orch cannot read.
pub fn shortlist(
    tx: &mut Transaction,
    criteria: &Criteria,
    per_priority: usize,
) -> Result<Result<Shortlist>, postgres::Error> {
    let weights: Vec<i64> = Priority::ALL.iter().map(|p| weight(*p)).collect();
    let tags: Option<Vec<String>> = criteria.tags.map(<[String]>::to_vec);
    let limit = i64::try_from(per_priority).unwrap_or(i64::MAX);
    let candidates = tx.query(
        &format!(
            "SELECT l.id, l.weight, l.due_from, l.dependents, l.created_at
             FROM unnest($1::bigint[]) AS w (weight)
             CROSS JOIN LATERAL (
                 SELECT t.id, t.weight, t.due_from, t.dependents, t.created_at
                 FROM orch_tasks t
                 WHERE t.status = 'TODO' AND t.claim IS NULL AND t.weight = w.weight
                   AND ($2::text[] IS NULL OR t.tags <@ $2::text[])
                   AND (NOT $3::boolean OR t.runnable)
                   AND NOT EXISTS (
                       SELECT 1 FROM unnest(t.deps) AS d (id)
                       WHERE NOT EXISTS (
                           SELECT 1 FROM orch_tasks x
                           WHERE x.id = d.id
                             AND (x.status IS NULL OR x.status = 'DONE'
                                  OR x.status NOT IN {SETTLED})))
                 ORDER BY t.due_from, t.dependents DESC, t.created_at, t.id
                 LIMIT $4) l"
        ),
        &[&weights, &tags, &criteria.runnable_only, &limit],
    )?;
    let mut unread = Vec::new();
    let mut want: Vec<String> = Vec::new();
    for p in Priority::ALL {
        let of: Vec<&postgres::Row> = candidates
            .iter()
            .filter(|r| r.get::<_, i64>(1) == weight(p))
            .collect();
        want.extend(of.iter().map(|r| r.get::<_, String>(0)));
        if of.len() == per_priority
            && let Some(last) = of.last()
        {
            unread.push(Unread {
                priority: p,
                due_from: last.get(2),
                dependents: count(last.get(3)),
                created_at: last.get(4),
                id: last.get(0),
            });
        }
    }
    let unsettled = tx.query(
        &format!(
            "SELECT id FROM orch_tasks
             WHERE status IS NULL OR status NOT IN {SETTLED} OR claim IS NOT NULL"
        ),
        &[],
    )?;
    want.extend(unsettled.iter().map(|r| r.get::<_, String>(0)));
    let mut out = Shortlist {
        unread,
        ..Shortlist::default()
    };
    if let Err(e) = read(tx, &want, &mut out)? {
        return Ok(Err(e));
    }
    // The dependencies of what was read, to judge its readiness.
    let have: HashSet<&str> = out.tasks.iter().map(|t| t.def.id.as_str()).collect();
    let deps: Vec<String> = out
        .tasks
        .iter()
        .flat_map(|t| t.fold().depends_on)
        .filter(|d| !have.contains(d.as_str()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    Ok(read(tx, &deps, &mut out)?.map(|()| out))
}

fn weight(p: Priority) -> i64 {
    i64::try_from(p.weight()).unwrap_or(i64::MAX)
}

fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// Reads tasks `ids` whole, with their counts of dependents, into `out`.
fn read(
    tx: &mut Transaction,
    ids: &[String],
    out: &mut Shortlist,
) -> Result<Result<()>, postgres::Error> {
    if ids.is_empty() {
        return Ok(Ok(()));
    }
    let rows = tx.query(
        "SELECT id, def, dependents FROM orch_tasks WHERE id = ANY($1) ORDER BY id",
        &[&ids],
    )?;
    let mut events: HashMap<String, Vec<String>> = HashMap::new();
    for r in tx.query(
        "SELECT task, body FROM orch_events WHERE task = ANY($1) ORDER BY task, seq",
        &[&ids],
    )? {
        events.entry(r.get(0)).or_default().push(r.get(1));
    }
    for r in rows {
        let id: String = r.get(0);
        let bodies = events.remove(&id).unwrap_or_default();
        match super::stored(r.get(1), bodies.iter().map(String::as_str)) {
            Ok(task) => out.tasks.push(task),
            Err(e) => return Ok(Err(e)),
        }
        out.dependents.insert(id, count(r.get(2)));
    }
    Ok(Ok(()))
}
