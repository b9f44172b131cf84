//! The backlog as it stands now: every task with its folded events, its
//! claim, its deadline resolved in `TZ`'s zone, and the status it shows
//! (claims, dependencies and its run taken into account). Built once per
//! command from the backend; `select` decides with it.

use std::collections::HashMap;

use crate::error::Result;
use crate::queue::backend::{Backend, Claim, Unread, WorkerRecord};
use crate::queue::due::{Calendar, Deadline};
use crate::queue::liveness::{self, Health};
use crate::queue::select::{self, Criteria, Dep, Item, Plan, Readiness};
use crate::queue::task::{Folded, Status, StoredTask};
use crate::record::RunStatus;
use crate::record::store::Store;
use crate::repo::Repo;
use crate::{clock, lease};

/// One task on the board.
#[derive(Clone, Debug)]
pub struct Entry {
    pub stored: StoredTask,
    pub folded: Folded,
    /// The current claim on it, and whether its worker is alive.
    pub claim: Option<(Claim, Health)>,
    pub deadline: Option<Deadline>,
}

impl Entry {
    pub fn id(&self) -> &str {
        &self.stored.def.id
    }
}

pub struct Board {
    pub entries: Vec<Entry>,
    pub workers: Vec<WorkerRecord>,
    pub cal: Calendar,
    readiness: Vec<Readiness>,
    /// How many open tasks list each entry.
    dependents: Vec<usize>,
    /// A shortlist's board: where the candidates it did not read start
    /// (`None`: every task is here).
    unread: Option<Vec<Unread>>,
}

impl Board {
    /// Reads every task, claim and worker, and judges them now.
    pub fn load(repo: &Repo, backend: &dyn Backend) -> Result<Board> {
        Board::judge(repo, backend, backend.tasks()?)
    }

    /// The board of a backend's shortlist for `criteria` (see
    /// `Backend::shortlist`): only the tasks that decide what is best. Its
    /// `plan` ranks only what no unread task could outrank. `None` when the
    /// backend reads every task anyway.
    pub fn shortlisted(
        repo: &Repo,
        backend: &dyn Backend,
        criteria: &Criteria,
        per_priority: usize,
    ) -> Result<Option<Board>> {
        let Some(list) = backend.shortlist(criteria, per_priority)? else {
            return Ok(None);
        };
        let mut board = Board::judge(repo, backend, list.tasks)?;
        board.dependents = board
            .entries
            .iter()
            .map(|e| list.dependents.get(e.id()).copied().unwrap_or(0))
            .collect();
        // The backend counted tasks open by their events; one whose run
        // since closed it (`follow_run`) no longer counts.
        for e in &board.entries {
            if e.folded.status.is_closed() && !e.stored.fold().status.is_closed() {
                for d in &e.folded.depends_on {
                    if let Some(j) = board.get(d) {
                        board.dependents[j] = board.dependents[j].saturating_sub(1);
                    }
                }
            }
        }
        board.unread = Some(list.unread);
        Ok(Some(board))
    }

    /// The board of a task and the tasks it depends on, each read alone:
    /// enough to tell the task's context (`context::for_run`) without
    /// reading a big backlog, not to rank work.
    pub fn of_task(repo: &Repo, backend: &dyn Backend, id: &str) -> Result<Board> {
        let task = backend.task(id)?;
        let mut tasks: Vec<StoredTask> = task
            .fold()
            .depends_on
            .iter()
            .filter_map(|d| backend.task(d).ok())
            .collect();
        tasks.push(task);
        Board::judge(repo, backend, tasks)
    }

    /// Whether every task is on the board.
    pub fn is_complete(&self) -> bool {
        self.unread.as_ref().is_none_or(Vec::is_empty)
    }

    /// `tasks` with their claims and workers, judged now.
    fn judge(repo: &Repo, backend: &dyn Backend, tasks: Vec<StoredTask>) -> Result<Board> {
        let stale_after = liveness::Intervals::from_env().stale_after;
        let claims = backend.claims()?;
        let workers = backend.workers()?;
        let real_now = clock::real_now();
        let mut by_task: HashMap<String, Claim> =
            claims.into_iter().map(|c| (c.task.clone(), c)).collect();
        let store = Store::new(repo);
        let entries: Vec<Entry> = tasks
            .into_iter()
            .map(|stored| {
                let folded = fold_now(&store, &stored);
                let claim = by_task.remove(&stored.def.id).map(|c| {
                    let health = liveness::claim(&c, &workers, real_now, stale_after);
                    (c, health)
                });
                let deadline = folded.due.map(crate::queue::due::Due::deadline);
                Entry {
                    stored,
                    folded,
                    claim,
                    deadline,
                }
            })
            .collect();
        Ok(Board::new(
            entries,
            workers,
            crate::queue::due::Calendar::current(),
        ))
    }

    pub fn new(mut entries: Vec<Entry>, workers: Vec<WorkerRecord>, cal: Calendar) -> Board {
        // Sorted by id, so a task is found by binary search.
        if !entries.is_sorted_by(|a, b| a.id() <= b.id()) {
            entries.sort_by(|a, b| a.id().cmp(b.id()));
        }
        let mut board = Board {
            entries,
            workers,
            cal,
            readiness: Vec::new(),
            dependents: Vec::new(),
            unread: None,
        };
        let items = board.items();
        let (readiness, dependents) = (select::readiness(&items), select::dependents(&items));
        board.readiness = readiness;
        board.dependents = dependents;
        board
    }

    /// The tasks as `select` sees them.
    pub fn items(&self) -> Vec<Item<'_>> {
        self.entries
            .iter()
            .map(|e| Item {
                id: e.id(),
                status: e.folded.status,
                claimed_by: e.claim.as_ref().map(|(c, _)| c.worker.as_str()),
                priority: e.folded.priority,
                deadline: e.deadline,
                created_at: &e.stored.def.created_at,
                depends_on: &e.folded.depends_on,
                tags: &e.folded.tags,
                runnable: e.stored.def.workflow.is_some(),
            })
            .collect()
    }

    /// The ranking for `criteria` (a shortlist's board: for the criteria
    /// it was read for, and only as far as no unread task could change it).
    pub fn plan(&self, criteria: &Criteria) -> Plan {
        let items = self.items();
        let mut plan = select::plan_with(
            &items,
            self.readiness.clone(),
            self.dependents.clone(),
            criteria,
            &self.cal,
        );
        if let Some(unread) = &self.unread {
            let sure = plan
                .ranked
                .iter()
                .take_while(|(i, score)| {
                    unread.iter().all(|u| {
                        select::beats_unread(&items[*i], score, plan.dependents[*i], u, &self.cal)
                    })
                })
                .count();
            plan.ranked.truncate(sure);
        }
        plan
    }

    pub fn get(&self, id: &str) -> Option<usize> {
        self.entries.binary_search_by(|e| e.id().cmp(id)).ok()
    }

    pub fn is_ready(&self, i: usize) -> bool {
        self.readiness[i] == Readiness::Ready
    }

    /// The status a task shows, and why: a TODO task that waits on a
    /// dependency is BLOCKED, one a worker has claimed is IN_PROGRESS.
    pub fn shown(&self, i: usize) -> (Status, Option<String>) {
        let e = &self.entries[i];
        match &self.readiness[i] {
            Readiness::Ready => (Status::Todo, e.folded.reason.clone()),
            Readiness::NotTodo => {
                let reason = match (&e.folded.status, &e.claim) {
                    (Status::InProgress, Some((c, h))) => Some(claim_note(c, h)),
                    _ => e.folded.reason.clone(),
                };
                (e.folded.status, reason)
            }
            Readiness::Claimed => {
                let (c, h) = e.claim.as_ref().expect("claimed tasks have a claim");
                (Status::InProgress, Some(claim_note(c, h)))
            }
            Readiness::Waiting(deps) => (Status::Blocked, Some(self.waits_on(deps))),
            Readiness::Cycle(ids) => {
                let mut path = ids.clone();
                path.push(ids[0].clone());
                (
                    Status::Blocked,
                    Some(format!("in a dependency cycle: {}", path.join(" → "))),
                )
            }
        }
    }

    /// `t_x (IN_PROGRESS), t_y (missing)`.
    pub fn dep_list(&self, deps: &[Dep]) -> String {
        deps.iter()
            .map(|d| match d {
                Dep::Task(j) => format!("{} ({})", self.entries[*j].id(), self.shown(*j).0),
                Dep::Missing(id) => format!("{id} (no such task)"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn waits_on(&self, deps: &[Dep]) -> String {
        format!("waits on {}", self.dep_list(deps))
    }

    /// Tasks that list `id` as a dependency.
    pub fn dependents_of(&self, id: &str) -> Vec<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.folded.depends_on.iter().any(|d| d == id))
            .map(|(i, _)| i)
            .collect()
    }

    /// "Nothing is ready" in one line: what the left-out tasks wait on.
    pub fn why_nothing(&self, plan: &Plan) -> String {
        if self.entries.is_empty() {
            return "there are no tasks yet: add one with `orch task add --title …`".to_string();
        }
        let items = self.items();
        let mut roots: Vec<(String, usize)> = Vec::new();
        let mut counts: Vec<(String, usize)> = Vec::new();
        let bump = |list: &mut Vec<(String, usize)>, key: String| match list
            .iter_mut()
            .find(|(k, _)| *k == key)
        {
            Some((_, n)) => *n += 1,
            None => list.push((key, 1)),
        };
        let mut missing_tags: Vec<String> = Vec::new();
        for (i, why) in &plan.excluded {
            match why {
                select::Why::Not(Readiness::Waiting(_)) => {
                    for root in select::root_blockers(&items, &plan.readiness, *i) {
                        let label = match root {
                            Dep::Task(j) => {
                                let (status, _) = self.shown(j);
                                format!("{} ({status})", self.entries[j].id())
                            }
                            Dep::Missing(id) => format!("{id} (no such task)"),
                        };
                        bump(&mut roots, label);
                    }
                }
                select::Why::Not(Readiness::Cycle(_)) => {
                    bump(&mut counts, "in a dependency cycle".to_string());
                }
                select::Why::Not(_) => {
                    let (status, _) = self.shown(*i);
                    if !status.is_closed() {
                        bump(&mut counts, format!("{status}"));
                    }
                }
                select::Why::Tags(tags) => {
                    bump(
                        &mut counts,
                        "ready but tagged for other workers".to_string(),
                    );
                    for t in tags {
                        if !missing_tags.contains(t) {
                            missing_tags.push(t.clone());
                        }
                    }
                }
                select::Why::NoWorkflow => {
                    bump(
                        &mut counts,
                        "ready but without a workflow to run".to_string(),
                    );
                }
            }
        }
        let tasks = |n: usize| {
            if n == 1 {
                "1 task".to_string()
            } else {
                format!("{n} tasks")
            }
        };
        let mut parts: Vec<String> = roots
            .iter()
            .map(|(label, n)| {
                let verb = if *n == 1 { "waits" } else { "wait" };
                format!("{} {verb} on {label}", tasks(*n))
            })
            .collect();
        for (what, n) in &counts {
            let verb = if *n == 1 { "is" } else { "are" };
            let mut line = format!("{} {verb} {what}", tasks(*n));
            if what.starts_with("ready but tagged") {
                line = format!("{line} (tags: {})", missing_tags.join(", "));
            }
            parts.push(line);
        }
        if parts.is_empty() {
            let closed = self.entries.len();
            return format!("all {} are DONE or CANCELLED", tasks(closed));
        }
        parts.join("; ")
    }

    /// The dependents of `id` that are ready now (after `id` became DONE,
    /// these are the ones it unblocked).
    pub fn ready_dependents(&self, id: &str) -> Vec<String> {
        self.dependents_of(id)
            .into_iter()
            .filter(|&j| self.is_ready(j))
            .map(|j| self.entries[j].id().to_string())
            .collect()
    }
}

fn claim_note(c: &Claim, h: &Health) -> String {
    match h {
        Health::Live => format!("claimed by worker {} (fence {})", c.worker, c.fence),
        Health::Dead(why) => format!(
            "claimed by worker {}, which looks dead ({why}): `orch worker rescue` frees it",
            c.worker
        ),
    }
}

/// What a task's files say now, its run taken into account: the one
/// reading of a task's status that the board, claims and `next` share.
pub fn fold_now(store: &Store, stored: &StoredTask) -> Folded {
    let mut folded = stored.fold();
    follow_run(store, &mut folded);
    folded
}

/// A task whose run waits for a person (or was blocked) follows its run: a
/// person who resumed it by hand (`orch run resume`) and saw it pass has
/// finished the task, and a run that no longer waits (its approvals, or a
/// person's `orch gate finish`, decided the gate) and that nobody drives is
/// TODO again, so the next worker resumes it.
fn follow_run(store: &Store, f: &mut Folded) {
    if !(f.status.is_waiting() || f.status == Status::Blocked) {
        return;
    }
    let Some(run) = f.run_id.as_deref().and_then(|r| store.load(r).ok()) else {
        return;
    };
    match run.status {
        RunStatus::Passed => {
            f.status = Status::Done;
            f.reason = Some(format!("its run {} passed", run.run_id));
            f.done_at.clone_from(&run.finished_at);
        }
        RunStatus::Failed if run.finished_at.is_some() => {
            f.status = Status::Failed;
            f.reason = Some(format!("its run {} was completed FAILED", run.run_id));
        }
        RunStatus::Canceled => {
            f.status = Status::Cancelled;
            f.reason = Some(format!("its run {} was canceled", run.run_id));
        }
        RunStatus::AwaitingInput | RunStatus::AwaitingApproval => {}
        _ if f.status.is_waiting()
            && !run.is_completed()
            && matches!(lease::held_by_another(store.repo(), &run.run_id), Ok(None)) =>
        {
            let what = run
                .events
                .last()
                .and_then(|e| e.message.clone())
                .unwrap_or_else(|| format!("it is {}", run.status));
            f.reason = Some(format!(
                "its run {} no longer waits ({what}): the next worker resumes it",
                run.run_id
            ));
            f.status = Status::Todo;
        }
        _ => {}
    }
}
