//! Which task is next, and why: the one place that decides readiness,
//! score and order. `orch next`, `orch task list --ready` and every worker
//! (on any backend) call it, so they cannot disagree. It is pure: tasks,
//! claims and "now" go in, a ranking and its explanation come out.
//!
//! The rule:
//! - A task is **ready** when its status is TODO, nobody holds a claim on
//!   it, every dependency is DONE, and it is in no dependency cycle (of
//!   tasks waiting on each other: a DONE dependency waits on nothing).
//! - **score** = priority weight (critical 1000, high 100, medium 10, low 1)
//!   × deadline boost: overdue ×10, due today ×5, due within 3 days ×2,
//!   otherwise ×1. A task due on a day is overdue once that day has ended
//!   in `TZ`'s zone; one due at an instant, once the instant has passed.
//! - **ties**: the earlier deadline (none is latest), then more dependents
//!   waiting on it (tasks not DONE or CANCELLED that list it), then the
//!   older task, then the smaller id.
//! - A caller may restrict candidates: to tasks whose every tag it has
//!   (a worker's `--tag`s), and to tasks with a workflow (what a worker can
//!   run). Those are filters on the ready set, reported as exclusions.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::queue::backend::Unread;
use crate::queue::due::{Calendar, Deadline};
use crate::queue::task::{Priority, Status};

/// One task as selection sees it.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    pub id: &'a str,
    /// The status its events lead to (dependencies and claims not counted).
    pub status: Status,
    /// The worker holding a live claim on it.
    pub claimed_by: Option<&'a str>,
    pub priority: Priority,
    pub deadline: Option<Deadline>,
    pub created_at: &'a str,
    pub depends_on: &'a [String],
    pub tags: &'a [String],
    /// It names a workflow, so a worker can run it.
    pub runnable: bool,
}

/// What a caller can take.
#[derive(Clone, Copy, Debug, Default)]
pub struct Criteria<'a> {
    /// Only tasks whose every tag is among these (`None`: any task).
    pub tags: Option<&'a [String]>,
    /// Only tasks with a workflow.
    pub runnable_only: bool,
}

/// The deadline's part of a score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boost {
    Overdue,
    DueToday,
    /// Due in this many days (1 to 3).
    DueSoon(i64),
    None,
}

impl Boost {
    pub fn factor(self) -> u64 {
        match self {
            Boost::Overdue => 10,
            Boost::DueToday => 5,
            Boost::DueSoon(_) => 2,
            Boost::None => 1,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Boost::Overdue => "overdue".to_string(),
            Boost::DueToday => "due today".to_string(),
            Boost::DueSoon(1) => "due tomorrow".to_string(),
            Boost::DueSoon(d) => format!("due in {d} days"),
            Boost::None => "no deadline boost".to_string(),
        }
    }

    /// A stable name for machines: `overdue`, `due_today`, `due_soon`, `none`.
    pub fn key(self) -> &'static str {
        match self {
            Boost::Overdue => "overdue",
            Boost::DueToday => "due_today",
            Boost::DueSoon(_) => "due_soon",
            Boost::None => "none",
        }
    }
}

/// A score and how it was made (Taskwarrior-style: every term visible).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Score {
    pub weight: u64,
    pub boost: Boost,
    pub value: u64,
}

impl Score {
    /// `critical 1000 × due today ×5 = 5000`.
    pub fn breakdown(&self, priority: Priority) -> String {
        format!(
            "{} {} × {} ×{} = {}",
            priority.as_str(),
            self.weight,
            self.boost.describe(),
            self.boost.factor(),
            self.value
        )
    }
}

/// The score of a task: priority weight × deadline boost.
pub fn score(priority: Priority, deadline: Option<&Deadline>, cal: &Calendar) -> Score {
    let boost = match deadline {
        None => Boost::None,
        Some(d) if cal.now >= d.at => Boost::Overdue,
        Some(d) => match (d.day - cal.today).num_days() {
            i64::MIN..=0 => Boost::DueToday,
            days @ 1..=3 => Boost::DueSoon(days),
            _ => Boost::None,
        },
    };
    let weight = priority.weight();
    Score {
        weight,
        boost,
        value: weight * boost.factor(),
    }
}

/// A dependency that is not DONE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dep {
    /// Index of the dependency.
    Task(usize),
    /// An id no task has (deleted, or not merged yet).
    Missing(String),
}

/// Whether a task could be taken, before any caller's criteria.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Not TODO (its status says why).
    NotTodo,
    /// TODO, but a worker holds a claim on it (its run is starting).
    Claimed,
    /// Dependencies that are not DONE.
    Waiting(Vec<Dep>),
    /// In a dependency cycle: the ids around it.
    Cycle(Vec<String>),
}

/// Why a task is not a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    Not(Readiness),
    /// Ready, but it has tags the caller lacks.
    Tags(Vec<String>),
    /// Ready, but has no workflow for a worker to run.
    NoWorkflow,
}

/// The outcome of a selection.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Candidates, best first: (index, score).
    pub ranked: Vec<(usize, Score)>,
    /// Every other task with the reason.
    pub excluded: Vec<(usize, Why)>,
    /// How many tasks wait on each task (not DONE or CANCELLED ones).
    pub dependents: Vec<usize>,
    pub readiness: Vec<Readiness>,
}

impl Plan {
    pub fn best(&self) -> Option<usize> {
        self.ranked.first().map(|(i, _)| *i)
    }
}

/// Readiness of every task (criteria aside). Linear in tasks and edges.
pub fn readiness(items: &[Item]) -> Vec<Readiness> {
    let index = index_of(items);
    let cycles = cycles(items, &index);
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            if it.status != Status::Todo {
                return Readiness::NotTodo;
            }
            if let Some(cycle) = &cycles[i] {
                return Readiness::Cycle(cycle.clone());
            }
            let waiting: Vec<Dep> = it
                .depends_on
                .iter()
                .filter_map(|d| match index.get(d.as_str()) {
                    None => Some(Dep::Missing(d.clone())),
                    Some(&j) if items[j].status != Status::Done => Some(Dep::Task(j)),
                    Some(_) => None,
                })
                .collect();
            if !waiting.is_empty() {
                Readiness::Waiting(waiting)
            } else if it.claimed_by.is_some() {
                Readiness::Claimed
            } else {
                Readiness::Ready
            }
        })
        .collect()
}

/// Ranks the ready tasks that meet `criteria`, best first, and says why
/// every other task is left out.
pub fn plan(items: &[Item], criteria: &Criteria, cal: &Calendar) -> Plan {
    plan_with(items, readiness(items), dependents(items), criteria, cal)
}

/// `plan`, with the readiness of `items` and their dependents already
/// known (`readiness(items)`, `dependents(items)`, or counts a backend kept).
pub fn plan_with(
    items: &[Item],
    readiness: Vec<Readiness>,
    dependents: Vec<usize>,
    criteria: &Criteria,
    cal: &Calendar,
) -> Plan {
    let mut ranked = Vec::new();
    let mut excluded = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if readiness[i] != Readiness::Ready {
            excluded.push((i, Why::Not(readiness[i].clone())));
            continue;
        }
        if let Some(have) = criteria.tags {
            let missing: Vec<String> = it
                .tags
                .iter()
                .filter(|t| !have.contains(t))
                .cloned()
                .collect();
            if !missing.is_empty() {
                excluded.push((i, Why::Tags(missing)));
                continue;
            }
        }
        if criteria.runnable_only && !it.runnable {
            excluded.push((i, Why::NoWorkflow));
            continue;
        }
        ranked.push((i, score(it.priority, it.deadline.as_ref(), cal)));
    }
    ranked.sort_by(|(a, sa), (b, sb)| order(items, &dependents, (*a, sa), (*b, sb)));
    Plan {
        ranked,
        excluded,
        dependents,
        readiness,
    }
}

/// Best first: score, then earlier deadline, then more dependents, then
/// older, then id.
fn order(items: &[Item], dependents: &[usize], a: (usize, &Score), b: (usize, &Score)) -> Ordering {
    let (ia, ib) = (&items[a.0], &items[b.0]);
    b.1.value
        .cmp(&a.1.value)
        .then_with(|| match (ia.deadline, ib.deadline) {
            (Some(x), Some(y)) => x.at.cmp(&y.at),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| dependents[b.0].cmp(&dependents[a.0]))
        .then_with(|| ia.created_at.cmp(ib.created_at))
        .then_with(|| ia.id.cmp(ib.id))
}

/// Whether a ready task outranks every candidate a shortlist left unread
/// of one priority (`Unread`: they come after its last one read, in
/// deadline, dependents, age and id order, and are due no earlier than its
/// `due_from`). `dependents` is the task's own count.
pub fn beats_unread(
    item: &Item,
    score: &Score,
    dependents: usize,
    unread: &Unread,
    cal: &Calendar,
) -> bool {
    // The best an unread task can score: due as early as it can be, on
    // the earliest day that instant can fall on.
    let earliest = unread.due_from.map(|at| Deadline {
        at,
        day: crate::calendar::local_day(at) - chrono::Duration::days(1),
    });
    let best = self::score(unread.priority, earliest.as_ref(), cal).value;
    if score.value != best {
        return score.value > best;
    }
    let tail = || {
        dependents
            .cmp(&unread.dependents)
            .reverse()
            .then_with(|| item.created_at.cmp(&unread.created_at))
            .then_with(|| item.id.cmp(&unread.id))
            == Ordering::Less
    };
    match (item.deadline.map(|d| d.at), unread.due_from) {
        (Some(at), Some(from)) => at < from || (at == from && tail()),
        (Some(_), None) => true,
        (None, Some(_)) => false,
        (None, None) => tail(),
    }
}

/// What decided the order between a candidate and the one ranked just
/// above it: `None` when the score alone did.
pub fn tie_break(items: &[Item], plan: &Plan, pos: usize) -> Option<&'static str> {
    let (above, sa) = plan.ranked.get(pos.checked_sub(1)?)?;
    let (this, sb) = plan.ranked.get(pos)?;
    if sa.value != sb.value {
        return None;
    }
    let (a, b) = (&items[*above], &items[*this]);
    Some(if a.deadline.map(|d| d.at) != b.deadline.map(|d| d.at) {
        "tie on score: the earlier deadline goes first"
    } else if plan.dependents[*above] != plan.dependents[*this] {
        "tie on score and deadline: more dependents go first"
    } else if a.created_at != b.created_at {
        "tie on score, deadline and dependents: the older task goes first"
    } else {
        "tie on everything else: the smaller id goes first"
    })
}

fn index_of<'a>(items: &'a [Item]) -> HashMap<&'a str, usize> {
    items.iter().enumerate().map(|(i, it)| (it.id, i)).collect()
}

/// For each task, how many open tasks (not DONE or CANCELLED) list it as a dependency.
pub fn dependents(items: &[Item]) -> Vec<usize> {
    let index = index_of(items);
    let mut counts = vec![0; items.len()];
    for it in items.iter().filter(|it| !it.status.is_closed()) {
        for d in it.depends_on {
            if let Some(&j) = index.get(d.as_str()) {
                counts[j] += 1;
            }
        }
    }
    counts
}

/// For each task in a dependency cycle, the ids around its cycle (Tarjan's
/// strongly connected components, iteratively, so long chains cannot
/// overflow the stack). A dependency that is DONE is no edge: nothing
/// waits on it, so a cycle through it holds nobody up.
fn cycles(items: &[Item], index: &HashMap<&str, usize>) -> Vec<Option<Vec<String>>> {
    let n = items.len();
    let edges: Vec<Vec<usize>> = items
        .iter()
        .map(|it| {
            it.depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .filter(|&j| items[j].status != Status::Done)
                .collect()
        })
        .collect();
    let mut out = vec![None; n];
    let mut order = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if order[root] != usize::MAX {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut edge)) = work.last_mut() {
            if *edge == 0 && order[v] == usize::MAX {
                order[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = edges[v].get(*edge) {
                *edge += 1;
                if order[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(order[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == order[v] {
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                if members.len() > 1 || edges[v].contains(&v) {
                    members.sort_by_key(|&m| items[m].id);
                    let ids: Vec<String> =
                        members.iter().map(|&m| items[m].id.to_string()).collect();
                    for m in members {
                        out[m] = Some(ids.clone());
                    }
                }
            }
        }
    }
    out
}

/// Whether making `task` depend on `on` would close a cycle (`on` already
/// reaches `task` through dependencies). The path, `on` … `task`, if so.
pub fn would_cycle(items: &[Item], task: &str, on: &str) -> Option<Vec<String>> {
    if task == on {
        return Some(vec![task.to_string(), task.to_string()]);
    }
    let index = index_of(items);
    let start = *index.get(on)?;
    let mut came_from: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen = vec![false; items.len()];
    seen[start] = true;
    while let Some(v) = queue.pop_front() {
        for d in items[v].depends_on {
            if d == task {
                let mut path = vec![items[v].id.to_string()];
                let mut at = v;
                while let Some(&p) = came_from.get(&at) {
                    path.push(items[p].id.to_string());
                    at = p;
                }
                path.reverse();
                let mut cycle = vec![task.to_string()];
                cycle.extend(path);
                cycle.push(task.to_string());
                return Some(cycle);
            }
            if let Some(&w) = index.get(d.as_str())
                && !seen[w]
            {
                seen[w] = true;
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    None
}

/// The tasks at the root of a wait: following dependencies that are TODO
/// and waiting themselves, down to those that are not (IN_PROGRESS,
/// FAILED, missing, in a cycle, claimed, or ready but left out).
pub fn root_blockers(items: &[Item], readiness: &[Readiness], i: usize) -> Vec<Dep> {
    let mut roots = Vec::new();
    let mut seen = vec![false; items.len()];
    let mut todo = vec![i];
    seen[i] = true;
    while let Some(v) = todo.pop() {
        let Readiness::Waiting(deps) = &readiness[v] else {
            continue;
        };
        for d in deps {
            match d {
                Dep::Missing(_) => {
                    if !roots.contains(d) {
                        roots.push(d.clone());
                    }
                }
                Dep::Task(j) => {
                    if seen[*j] {
                        continue;
                    }
                    seen[*j] = true;
                    if matches!(readiness[*j], Readiness::Waiting(_)) {
                        todo.push(*j);
                    } else {
                        roots.push(Dep::Task(*j));
                    }
                }
            }
        }
    }
    roots
}

#[cfg(test)]
#[allow(clippy::many_single_char_names)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn cal() -> Calendar {
        Calendar {
            now: crate::clock::parse("2026-03-10T12:00:00Z").unwrap(),
            today: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
        }
    }

    fn day(d: u32) -> Deadline {
        let day = NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        Deadline {
            at: day
                .succ_opt()
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc(),
            day,
        }
    }

    struct T {
        id: &'static str,
        status: Status,
        priority: Priority,
        deadline: Option<Deadline>,
        created: &'static str,
        deps: Vec<String>,
        tags: Vec<String>,
        claimed: Option<&'static str>,
    }

    fn t(id: &'static str, priority: Priority) -> T {
        T {
            id,
            status: Status::Todo,
            priority,
            deadline: None,
            created: "2026-01-01T00:00:00.000Z",
            deps: vec![],
            tags: vec![],
            claimed: None,
        }
    }

    fn items(ts: &[T]) -> Vec<Item<'_>> {
        ts.iter()
            .map(|t| Item {
                id: t.id,
                status: t.status,
                claimed_by: t.claimed,
                priority: t.priority,
                deadline: t.deadline,
                created_at: t.created,
                depends_on: &t.deps,
                tags: &t.tags,
                runnable: true,
            })
            .collect()
    }

    fn ranked_ids(ts: &[T]) -> Vec<&'static str> {
        let its = items(ts);
        plan(&its, &Criteria::default(), &cal())
            .ranked
            .iter()
            .map(|(i, _)| ts[*i].id)
            .collect()
    }

    #[test]
    fn weights_and_boosts() {
        let c = cal();
        let s = |p, d: Option<Deadline>| score(p, d.as_ref(), &c);
        assert_eq!(s(Priority::Critical, None).value, 1000);
        assert_eq!(s(Priority::High, None).value, 100);
        assert_eq!(s(Priority::Medium, None).value, 10);
        assert_eq!(s(Priority::Low, None).value, 1);
        assert_eq!(s(Priority::Medium, Some(day(9))).boost, Boost::Overdue);
        assert_eq!(s(Priority::Medium, Some(day(9))).value, 100);
        assert_eq!(s(Priority::Medium, Some(day(10))).boost, Boost::DueToday);
        assert_eq!(s(Priority::Medium, Some(day(10))).value, 50);
        assert_eq!(s(Priority::Medium, Some(day(11))).boost, Boost::DueSoon(1));
        assert_eq!(s(Priority::Medium, Some(day(13))).value, 20);
        assert_eq!(s(Priority::Medium, Some(day(14))).boost, Boost::None);
        // An instant earlier today has passed: overdue, not "due today".
        let passed = Deadline {
            at: c.now - chrono::Duration::minutes(1),
            day: c.today,
        };
        assert_eq!(s(Priority::Low, Some(passed)).boost, Boost::Overdue);
        let later = Deadline {
            at: c.now + chrono::Duration::hours(1),
            day: c.today,
        };
        assert_eq!(s(Priority::Low, Some(later)).boost, Boost::DueToday);
        assert_eq!(
            s(Priority::Critical, Some(day(10))).breakdown(Priority::Critical),
            "critical 1000 × due today ×5 = 5000"
        );
    }

    #[test]
    fn a_deadline_can_outrank_a_priority() {
        // medium overdue: 10 × 10 = 100 > low (1) and = high (100); the
        // tie goes to the one with a deadline.
        let mut overdue = t("t_late", Priority::Medium);
        overdue.deadline = Some(day(1));
        let mut soon = t("t_soon", Priority::Low);
        soon.deadline = Some(day(12));
        let mut crit = t("t_crit", Priority::Critical);
        crit.status = Status::Done;
        assert_eq!(
            ranked_ids(&[t("t_high", Priority::High), soon, overdue, crit]),
            vec!["t_late", "t_high", "t_soon"]
        );
    }

    #[test]
    fn ties_go_to_deadline_then_dependents_then_age_then_id() {
        let mut early = t("t_z", Priority::High);
        early.deadline = Some(day(20));
        let mut late = t("t_y", Priority::High);
        late.deadline = Some(day(21));
        assert_eq!(ranked_ids(&[late, early]), vec!["t_z", "t_y"]);

        let popular = t("t_p", Priority::High);
        let mut waiter = t("t_w", Priority::Low);
        waiter.deps = vec!["t_p".into()];
        let lonely = t("t_a", Priority::High);
        assert_eq!(ranked_ids(&[lonely, popular, waiter]), vec!["t_p", "t_a"]);

        let mut old = t("t_n", Priority::High);
        old.created = "2025-12-01T00:00:00.000Z";
        assert_eq!(
            ranked_ids(&[t("t_m", Priority::High), old]),
            vec!["t_n", "t_m"]
        );
        assert_eq!(
            ranked_ids(&[t("t_b", Priority::High), t("t_a", Priority::High)]),
            vec!["t_a", "t_b"]
        );
    }

    #[test]
    fn dependencies_must_be_done() {
        let mut a = t("t_a", Priority::Low);
        a.status = Status::Done;
        let mut b = t("t_b", Priority::Low);
        b.status = Status::InProgress;
        let mut c = t("t_c", Priority::Critical);
        c.deps = vec!["t_a".into(), "t_b".into()];
        let mut d = t("t_d", Priority::Critical);
        d.deps = vec!["t_gone".into()];
        let mut e = t("t_e", Priority::Critical);
        e.deps = vec!["t_c".into()];
        let ts = [a, b, c, d, e];
        let its = items(&ts);
        let p = plan(&its, &Criteria::default(), &cal());
        assert!(p.ranked.is_empty());
        assert_eq!(p.readiness[2], Readiness::Waiting(vec![Dep::Task(1)]));
        assert_eq!(
            p.readiness[3],
            Readiness::Waiting(vec![Dep::Missing("t_gone".into())])
        );
        // t_e waits on t_c, which waits on t_b: the root is t_b.
        assert_eq!(root_blockers(&its, &p.readiness, 4), vec![Dep::Task(1)]);
    }

    #[test]
    fn cycles_are_never_ready() {
        let mut a = t("t_a", Priority::High);
        a.deps = vec!["t_b".into()];
        let mut b = t("t_b", Priority::High);
        b.deps = vec!["t_a".into()];
        let mut s = t("t_s", Priority::High);
        s.deps = vec!["t_s".into()];
        let mut after = t("t_c", Priority::High);
        after.deps = vec!["t_a".into()];
        let ts = [a, b, s, after, t("t_free", Priority::Low)];
        let its = items(&ts);
        let p = plan(&its, &Criteria::default(), &cal());
        let cycle = vec!["t_a".to_string(), "t_b".to_string()];
        assert_eq!(p.readiness[0], Readiness::Cycle(cycle.clone()));
        assert_eq!(p.readiness[1], Readiness::Cycle(cycle));
        assert!(matches!(p.readiness[2], Readiness::Cycle(_)));
        assert_eq!(p.readiness[3], Readiness::Waiting(vec![Dep::Task(0)]));
        assert_eq!(p.best(), Some(4));
        assert_eq!(
            would_cycle(&its[..2], "t_x", "t_a"),
            None,
            "t_a does not reach t_x"
        );
        assert_eq!(would_cycle(&its, "t_free", "t_c"), None);
        let mut x = t("t_x", Priority::Low);
        x.deps = vec!["t_y".into()];
        let mut y = t("t_y", Priority::Low);
        y.deps = vec!["t_z".into()];
        let z = t("t_z", Priority::Low);
        let ts = [x, y, z];
        let its = items(&ts);
        assert_eq!(
            would_cycle(&its, "t_z", "t_x"),
            Some(vec!["t_z".into(), "t_x".into(), "t_y".into(), "t_z".into()])
        );
        assert!(would_cycle(&its, "t_x", "t_x").is_some());
    }

    #[test]
    fn long_chains_do_not_overflow() {
        let ids: Vec<String> = (0..50_000).map(|i| format!("t_{i}")).collect();
        let deps: Vec<Vec<String>> = (0..50_000)
            .map(|i| {
                if i == 0 {
                    vec![]
                } else {
                    vec![ids[i - 1].clone()]
                }
            })
            .collect();
        let its: Vec<Item> = ids
            .iter()
            .zip(&deps)
            .map(|(id, d)| Item {
                id,
                status: Status::Todo,
                claimed_by: None,
                priority: Priority::Low,
                deadline: None,
                created_at: "x",
                depends_on: d,
                tags: &[],
                runnable: true,
            })
            .collect();
        let p = plan(&its, &Criteria::default(), &cal());
        assert_eq!(p.best(), Some(0));
        assert_eq!(p.ranked.len(), 1);
    }

    #[test]
    fn claimed_tags_and_workflows_exclude() {
        let mut claimed = t("t_c", Priority::Critical);
        claimed.claimed = Some("w1");
        let mut gpu = t("t_g", Priority::Critical);
        gpu.tags = vec!["gpu".into()];
        let plain = t("t_p", Priority::Low);
        let ts = [claimed, gpu, plain];
        let its = items(&ts);
        let none: Vec<String> = vec![];
        let p = plan(
            &its,
            &Criteria {
                tags: Some(&none),
                runnable_only: false,
            },
            &cal(),
        );
        assert_eq!(p.best(), Some(2));
        assert!(p.excluded.contains(&(0, Why::Not(Readiness::Claimed))));
        assert!(p.excluded.contains(&(1, Why::Tags(vec!["gpu".into()]))));
        let have = vec!["gpu".to_string()];
        let p = plan(
            &its,
            &Criteria {
                tags: Some(&have),
                runnable_only: false,
            },
            &cal(),
        );
        assert_eq!(p.best(), Some(1));
        let mut its = its;
        its[1].runnable = false;
        let p = plan(
            &its,
            &Criteria {
                tags: None,
                runnable_only: true,
            },
            &cal(),
        );
        assert_eq!(p.best(), Some(2));
        assert!(p.excluded.contains(&(1, Why::NoWorkflow)));
    }
}
