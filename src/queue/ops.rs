//! What people do to the backlog: add and edit tasks, report progress,
//! finish, fail, cancel and retry them, and claim the next one. Plain
//! functions over plain options, on any backend.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::contract::Depth;
use crate::error::{Error, Result};
use crate::queue::backend::{Backend, Claim, WorkerRecord, WorkerState, Writer};
use crate::queue::board::Board;
use crate::queue::due::{Calendar, Due};
use crate::queue::file::FileBackend;
use crate::queue::liveness::{self, Health};
use crate::queue::pg::PgBackend;
use crate::queue::select::{self, Criteria};
use crate::queue::target::{self, Target};
use crate::queue::task::{
    Edit, Event, EventKind, FORMAT_VERSION, Priority, Status, StoredTask, TaskDef, TaskWorkflow,
};
use crate::record::store::Store;
use crate::repo::{Repo, is_safe_component};
use crate::workflow::LoadedWorkflow;
use crate::{clock, lease};

/// The backlog of one repository, on its backend.
pub struct Queue<'r> {
    pub repo: &'r Repo,
    /// Shared with the threads of a worker (heartbeats).
    pub backend: Arc<dyn Backend>,
}

/// `orch task add`.
#[derive(Clone, Debug, Default)]
pub struct AddOptions {
    pub title: String,
    pub description: Option<String>,
    pub workflow: Option<WorkflowOptions>,
    pub priority: Priority,
    /// As typed: `2026-03-01`, `2026-03-01T17:00`, `today`, `+3d`, …
    pub due: Option<String>,
    pub depends_on: Vec<String>,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct WorkflowOptions {
    pub name: String,
    pub slug: String,
    pub artifact_path: Option<String>,
    pub depth: Depth,
    /// As given on the command line (relative to the current directory).
    pub prompt_file: Option<std::path::PathBuf>,
}

/// `orch task edit`: what to change (dependencies and tags as queries).
#[derive(Clone, Debug, Default)]
pub struct EditOptions {
    pub title: Option<String>,
    pub priority: Option<Priority>,
    pub due: Option<String>,
    pub clear_due: bool,
    pub add_depends_on: Vec<String>,
    pub remove_depends_on: Vec<String>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
}

/// What finishing a task changed.
pub struct Finished {
    pub id: String,
    /// Dependents that are ready now.
    pub ready: Vec<String>,
}

impl<'r> Queue<'r> {
    /// The repository's queue on the file backend.
    pub fn open(repo: &'r Repo) -> Queue<'r> {
        Queue {
            repo,
            backend: Arc::new(FileBackend::new(repo)),
        }
    }

    /// The repository's queue where `--queue` (`flag`), `ORCH_QUEUE_URL`
    /// or the repository's config puts it (see `target`).
    pub fn connect(repo: &'r Repo, flag: Option<&str>) -> Result<Queue<'r>> {
        Ok(match target::resolve(repo, flag)? {
            Target::File => Queue::open(repo),
            Target::Postgres(url) => Queue {
                repo,
                backend: Arc::new(PgBackend::open(&url)?),
            },
        })
    }

    pub fn board(&self) -> Result<Board> {
        Board::load(self.repo, self.backend.as_ref())
    }

    /// The board to choose work from with `criteria` (`orch next`, claims,
    /// workers). On a backend that shortlists (PostgreSQL), only the tasks
    /// that decide it, read again with more candidates while those cannot
    /// decide; every task when nothing is ready (to say why), and on the
    /// file backend.
    pub fn work_board(&self, criteria: &Criteria) -> Result<Board> {
        let mut per_priority = 16;
        while per_priority <= 16 * 8 * 8 {
            let Some(board) =
                Board::shortlisted(self.repo, self.backend.as_ref(), criteria, per_priority)?
            else {
                break;
            };
            if !board.plan(criteria).ranked.is_empty() {
                return Ok(board);
            }
            if board.is_complete() {
                break;
            }
            per_priority *= 8;
        }
        self.board()
    }

    /// A full task id, or a unique prefix (with or without `t_`) or suffix of one.
    pub fn resolve(&self, query: &str) -> Result<String> {
        let q = query.trim();
        if q.is_empty() {
            return Err(Error::input("empty task id").hint("`orch task list` shows the tasks"));
        }
        let ids = self.backend.ids()?;
        if ids.iter().any(|id| id == q) {
            return Ok(q.to_string());
        }
        let with_prefix = format!("t_{q}");
        let matches: Vec<&String> = ids
            .iter()
            .filter(|id| id.starts_with(q) || id.starts_with(&with_prefix) || id.ends_with(q))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] if ids.is_empty() => Err(Error::input(format!(
                "no task matches `{q}`: there are no tasks yet"
            ))
            .hint("add one with `orch task add --title \"…\"`")),
            [] => Err(Error::input(format!("no task matches `{q}`")).hint(
                "`orch task list` shows the tasks; any unique prefix or suffix of an id works",
            )),
            many => Err(Error::input(format!("`{q}` matches {} tasks", many.len()))
                .hint(format!(
                    "candidates: {}",
                    many.iter()
                        .take(10)
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .hint("give more of the id")),
        }
    }

    /// `orch task add`: validates everything, then writes `task.json`.
    pub fn add(&self, opts: &AddOptions) -> Result<TaskDef> {
        crate::ops::non_empty(
            "--title",
            &opts.title,
            "say what the task is: --title \"Write the intro\"",
        )?;
        let cal = Calendar::current();
        let due = opts
            .due
            .as_deref()
            .map(|d| parse_due(d, &cal))
            .transpose()?;
        let mut depends_on = Vec::new();
        for q in &opts.depends_on {
            let id = self.resolve(q).map_err(|e| {
                Error::input(format!("--depends-on `{q}`: {e}"))
                    .hint("a task can only depend on tasks that exist: `orch task list` shows them")
            })?;
            if !depends_on.contains(&id) {
                depends_on.push(id);
            }
        }
        let tags = check_tags(&opts.tags)?;
        let workflow = opts
            .workflow
            .as_ref()
            .map(|w| self.check_workflow(w).map(Box::new))
            .transpose()?;
        let by = crate::ops::actor(self.repo);
        for _ in 0..8 {
            let def = TaskDef {
                format_version: FORMAT_VERSION,
                id: format!("t_{}", clock::random_token(8)),
                title: opts.title.trim().to_string(),
                description: opts
                    .description
                    .as_deref()
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_string),
                priority: opts.priority,
                due,
                depends_on: depends_on.clone(),
                tags: tags.clone(),
                workflow: workflow.clone(),
                created_at: clock::now_timestamp(),
                created_by: by.clone(),
            };
            if self.backend.create(&def)? {
                return Ok(def);
            }
        }
        Err(
            Error::conflict("could not find a free task id after 8 tries")
                .hint("unset ORCH_SEED if it is set"),
        )
    }

    fn check_workflow(&self, w: &WorkflowOptions) -> Result<TaskWorkflow> {
        crate::ops::check_slug(&w.slug)?;
        let wf = LoadedWorkflow::find(self.repo, &w.name)?;
        let name = match &wf.rel {
            Some(rel) if crate::workflow::is_path_spec(&w.name) => rel.clone(),
            Some(_) => w.name.clone(),
            None => {
                return Err(Error::input(format!("workflow `{}` is outside the repository", w.name))
                    .hint("a task's workflow must be committed with it: put it under orchestration/workflows/"));
            }
        };
        if let Some(p) = &w.artifact_path {
            self.repo
                .contain(p)
                .map_err(|e| e.into_error("--artifact-path"))?;
        } else if wf.def.default_artifact_path.is_none() {
            return Err(Error::input("--artifact-path is required").hint(format!(
                "workflow `{}` declares no default_artifact_path",
                wf.def.workflow
            )));
        }
        let prompt_file = w
            .prompt_file
            .as_ref()
            .map(|p| self.repo_relative_file(p))
            .transpose()?;
        Ok(TaskWorkflow {
            name,
            slug: w.slug.clone(),
            artifact_path: w.artifact_path.clone(),
            depth: w.depth,
            prompt_file,
        })
    }

    fn repo_relative_file(&self, given: &Path) -> Result<String> {
        let shown = given.display().to_string();
        let abs = std::fs::canonicalize(given).map_err(|e| {
            Error::read(&shown, e).hint("--prompt-file names a text file in the repository")
        })?;
        self.repo.relative(&abs).ok_or_else(|| {
            Error::input(format!("prompt file `{shown}` is outside the repository"))
                .hint("keep the prompt in the repository, so every worker can read it")
        })
    }

    /// `orch task edit`.
    pub fn edit(&self, query: &str, opts: &EditOptions) -> Result<String> {
        let id = self.resolve(query)?;
        let cal = Calendar::current();
        let board = self.board()?;
        let items = board.items();
        let mut edit = Edit {
            title: opts.title.as_ref().map(|t| t.trim().to_string()),
            priority: opts.priority,
            due: opts
                .due
                .as_deref()
                .map(|d| parse_due(d, &cal))
                .transpose()?,
            clear_due: opts.clear_due,
            add_tags: check_tags(&opts.add_tags)?,
            remove_tags: opts.remove_tags.clone(),
            ..Edit::default()
        };
        if let Some(t) = &edit.title {
            crate::ops::non_empty("--title", t, "give the new title")?;
        }
        for q in &opts.add_depends_on {
            let dep = self.resolve(q).map_err(|e| {
                Error::input(format!("--depends-on `{q}`: {e}"))
                    .hint("a task can only depend on tasks that exist: `orch task list` shows them")
            })?;
            if let Some(cycle) = select::would_cycle(&items, &id, &dep) {
                return Err(Error::input(format!(
                    "`{id}` cannot depend on `{dep}`: that would make a cycle ({})",
                    cycle.join(" → ")
                ))
                .hint("a task can never be ready if it waits, through others, on itself"));
            }
            edit.add_depends_on.push(dep);
        }
        for q in &opts.remove_depends_on {
            edit.remove_depends_on
                .push(self.resolve(q).unwrap_or_else(|_| q.clone()));
        }
        if edit.is_empty() {
            return Err(Error::input("nothing to change")
                .hint("give --title, --priority, --due, --no-due, --depends-on, --no-depends-on, --tag or --untag"));
        }
        let mut event = Event::new(EventKind::Edited, crate::ops::actor(self.repo));
        event.edit = Some(Box::new(edit));
        self.backend.append(&id, &event, Writer::Anyone)?;
        Ok(id)
    }

    /// `orch task progress`: a note, from anyone, or fenced when `worker` holds the task.
    pub fn progress(
        &self,
        query: &str,
        percent: u8,
        message: Option<&str>,
        worker: Option<&str>,
    ) -> Result<String> {
        let id = self.resolve(query)?;
        let status = self.shown_status(&id)?;
        if status.is_closed() {
            return Err(Error::conflict(format!("task `{id}` is {status}"))
                .hint("progress is for open tasks"));
        }
        let mut event = Event::new(EventKind::Progress, crate::ops::actor(self.repo));
        event.percent = Some(percent);
        event.message = message.map(str::to_string);
        match worker {
            Some(w) => {
                let claim = self.held_by(&id, w)?;
                event.worker = Some(w.to_string());
                event.fence = Some(claim.fence);
                self.backend.append(&id, &event, Writer::Holder(&claim))?;
                self.keep_alive(w)?;
            }
            None => self.backend.append(&id, &event, Writer::Anyone)?,
        }
        Ok(id)
    }

    /// `orch task done`.
    pub fn done(&self, query: &str, worker: Option<&str>) -> Result<Finished> {
        let id = self.resolve(query)?;
        let status = self.shown_status(&id)?;
        if status.is_closed() {
            return Err(
                Error::conflict(format!("task `{id}` is already {status}")).hint(
                    if status == Status::Cancelled {
                        "bring it back first: orch task retry"
                    } else {
                        "a DONE task stays done; add a new task for more work"
                    },
                ),
            );
        }
        let event = Event::new(EventKind::Done, crate::ops::actor(self.repo));
        self.close(&id, event, worker, false)?;
        let ready = self.board()?.ready_dependents(&id);
        Ok(Finished { id, ready })
    }

    /// `orch task fail`.
    pub fn fail(&self, query: &str, reason: &str, worker: Option<&str>) -> Result<String> {
        crate::ops::non_empty("--reason", reason, "say why it failed")?;
        let id = self.resolve(query)?;
        let status = self.shown_status(&id)?;
        if status.is_closed() {
            return Err(Error::conflict(format!("task `{id}` is {status}"))
                .hint("only an open task can fail"));
        }
        let event = Event::new(EventKind::Failed, crate::ops::actor(self.repo)).reason(reason);
        self.close(&id, event, worker, false)?;
        Ok(id)
    }

    /// `orch task cancel`: takes the claim back if a worker holds it (the
    /// worker stops the run, which stays resumable).
    pub fn cancel(&self, query: &str, reason: &str) -> Result<String> {
        crate::ops::non_empty("--reason", reason, "say why it is cancelled")?;
        let id = self.resolve(query)?;
        let status = self.shown_status(&id)?;
        if status.is_closed() {
            return Err(Error::conflict(format!("task `{id}` is already {status}")));
        }
        let event = Event::new(EventKind::Cancelled, crate::ops::actor(self.repo)).reason(reason);
        self.close(&id, event, None, true)?;
        Ok(id)
    }

    /// `orch task retry`: a FAILED or CANCELLED task back to TODO.
    pub fn retry(&self, query: &str) -> Result<String> {
        let id = self.resolve(query)?;
        let (status, folded) = self.statuses(&id)?;
        if !matches!(status, Status::Failed | Status::Cancelled) {
            return Err(Error::conflict(format!(
                "task `{id}` is {status}; only a FAILED or CANCELLED task can be retried"
            )));
        }
        let event = Event::new(EventKind::Retried, crate::ops::actor(self.repo));
        let unchanged = |t: &StoredTask| t.fold().status == folded;
        self.backend
            .append(&id, &event, Writer::Unclaimed(&unchanged))?;
        Ok(id)
    }

    /// The status a task shows, and the one its events lead to (what a
    /// write checks has not changed meanwhile).
    fn statuses(&self, id: &str) -> Result<(Status, Status)> {
        let board = self.board()?;
        let i = board
            .get(id)
            .ok_or_else(|| Error::input(format!("there is no task `{id}`")))?;
        Ok((board.shown(i).0, board.entries[i].stored.fold().status))
    }

    fn shown_status(&self, id: &str) -> Result<Status> {
        Ok(self.statuses(id)?.0)
    }

    /// Writes a closing event. A worker's own write is fenced by its claim;
    /// a person's is refused while a live worker holds the task, unless
    /// `take_back` (cancel), and a dead worker's claim is released with it.
    fn close(
        &self,
        id: &str,
        mut event: Event,
        worker: Option<&str>,
        take_back: bool,
    ) -> Result<()> {
        if let Some(w) = worker {
            let claim = self.held_by(id, w)?;
            event.worker = Some(w.to_string());
            event.fence = Some(claim.fence);
            if !self.backend.release(&claim, Some(&event))? {
                return Err(Error::conflict(format!(
                    "worker `{w}` no longer holds task `{id}`; nothing was written"
                )));
            }
            return Ok(());
        }
        let folded = self.statuses(id)?.1;
        let unchanged = |t: &StoredTask| t.fold().status == folded;
        match self.backend.claim_of(id)? {
            None => self
                .backend
                .append(id, &event, Writer::Unclaimed(&unchanged)),
            Some(claim) => {
                let health = self.claim_health(&claim)?;
                if health.is_live() && !take_back {
                    return Err(Error::conflict(format!(
                        "task `{id}` is being worked on by worker `{}`",
                        claim.worker
                    ))
                    .hint("stop it with `orch task cancel`, or let the worker finish")
                    .hint(format!(
                        "if you are that worker, say so: --worker {}",
                        claim.worker
                    )));
                }
                if let Some(run) = &claim_run(self, id) {
                    event.run_id = Some(run.clone());
                }
                if self.backend.release(&claim, Some(&event))? {
                    Ok(())
                } else {
                    Err(Error::conflict(format!(
                        "task `{id}` changed hands while this was written; nothing was written"
                    ))
                    .hint("try again"))
                }
            }
        }
    }

    fn claim_health(&self, claim: &Claim) -> Result<Health> {
        let workers = self.backend.workers()?;
        Ok(liveness::claim(
            claim,
            &workers,
            clock::real_now(),
            liveness::Intervals::from_env().stale_after,
        ))
    }

    /// The claim `worker` holds on `id`, or why it holds none.
    fn held_by(&self, id: &str, worker: &str) -> Result<Claim> {
        match self.backend.claim_of(id)? {
            Some(c) if c.worker == worker => Ok(c),
            Some(c) => Err(Error::conflict(format!(
                "worker `{worker}` does not hold task `{id}`: worker `{}` does (fence {})",
                c.worker, c.fence
            ))
            .hint("its claim may have been rescued after a missed heartbeat; claim another task")),
            None => Err(Error::conflict(format!(
                "worker `{worker}` does not hold task `{id}`; nobody does"
            ))
            .hint(format!(
                "claim it first: orch next --claim --worker {worker}"
            ))),
        }
    }

    /// Refreshes the heartbeat of a worker outside orch (`next --claim`).
    fn keep_alive(&self, worker: &str) -> Result<()> {
        if let Some(mut rec) = self.backend.workers()?.into_iter().find(|w| w.id == worker) {
            rec.heartbeat_at = clock::timestamp(clock::real_now());
            self.backend.beat(&rec, &[])?;
        }
        Ok(())
    }

    /// Registers `worker` as a worker outside orch (its heartbeats come
    /// from its `--worker` commands), refusing the id of a live orch worker.
    pub fn external_worker(&self, worker: &str, tags: &[String]) -> Result<WorkerRecord> {
        check_worker_id(worker)?;
        let now = clock::timestamp(clock::real_now());
        let existing = self.backend.workers()?.into_iter().find(|w| w.id == worker);
        if let Some(w) = &existing
            && w.pid.is_some()
            && liveness::worker(
                w,
                clock::real_now(),
                liveness::Intervals::from_env().stale_after,
            )
            .is_live()
        {
            return Err(Error::conflict(format!(
                "`{worker}` is the id of a running `orch worker` (pid {} on {})",
                w.pid.unwrap_or_default(),
                w.host
            ))
            .hint("give this caller an id of its own"));
        }
        let rec = WorkerRecord {
            id: worker.to_string(),
            host: lease::hostname(),
            pid: None,
            state: WorkerState::Active,
            started_at: existing
                .as_ref()
                .map_or_else(|| now.clone(), |w| w.started_at.clone()),
            heartbeat_at: now,
            tags: tags.to_vec(),
            concurrency: 1,
            current: existing.map(|w| w.current).unwrap_or_default(),
            done: 0,
            failed: 0,
        };
        self.backend.beat(&rec, &[])?;
        Ok(rec)
    }

    /// Claims the best ready task that `criteria` allows, skipping `held`
    /// (tasks this worker holds already). The claim, and the board it was
    /// chosen from; `None` when nothing could be claimed.
    pub fn claim_next(
        &self,
        board: &Board,
        worker: &WorkerRecord,
        criteria: &Criteria,
        held: &HashSet<String>,
    ) -> Result<Option<(Claim, usize)>> {
        let plan = board.plan(criteria);
        let done: HashSet<&str> = board
            .entries
            .iter()
            .filter(|e| e.folded.status == Status::Done)
            .map(super::board::Entry::id)
            .collect();
        let store = Store::new(self.repo);
        let still_ready = |t: &StoredTask| {
            let f = super::board::fold_now(&store, t);
            f.status == Status::Todo && f.depends_on.iter().all(|d| done.contains(d.as_str()))
        };
        let ranked: Vec<(usize, &str)> = plan
            .ranked
            .iter()
            .map(|(i, _)| (*i, board.entries[*i].id()))
            .filter(|(_, id)| !held.contains(*id))
            .collect();
        // The best few at a time: almost always the first batch has one.
        for batch in ranked.chunks(16) {
            let ids: Vec<&str> = batch.iter().map(|(_, id)| *id).collect();
            if let Some(c) = self.backend.claim_first(&ids, worker, &still_ready)? {
                let i = batch.iter().find(|(_, id)| *id == c.task).map(|(i, _)| *i);
                return Ok(i.map(|i| (c, i)));
            }
        }
        Ok(None)
    }

    /// Claims one named task for `worker`, if it can be worked on now: a
    /// ready TODO task, or one whose run waits for a person or was blocked
    /// (resuming it continues the run). Says why not otherwise.
    pub fn claim_task(&self, board: &Board, id: &str, worker: &WorkerRecord) -> Result<Claim> {
        let i = board
            .get(id)
            .ok_or_else(|| Error::input(format!("there is no task `{id}`")))?;
        let (status, reason) = board.shown(i);
        let e = &board.entries[i];
        let resumable = (e.folded.status.is_waiting() || e.folded.status == Status::Blocked)
            && e.folded.run_id.is_some();
        if e.stored.def.workflow.is_none() {
            return Err(Error::input(format!("task `{id}` has no workflow to run"))
                .hint("it is done by hand: orch task done"));
        }
        if !board.is_ready(i) && !resumable {
            let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
            return Err(
                Error::conflict(format!("task `{id}` is {status}{why}")).hint(match status {
                    Status::Failed | Status::Cancelled => "bring it back first: orch task retry",
                    Status::Blocked => "`orch task show` lists what it waits on",
                    _ => "`orch task show` has its history",
                }),
            );
        }
        let want = e.folded.status;
        let store = Store::new(self.repo);
        let still = |t: &StoredTask| super::board::fold_now(&store, t).status == want;
        self.backend.claim(id, worker, &still)?.ok_or_else(|| {
            Error::conflict(format!(
                "task `{id}` was claimed by another worker just now"
            ))
            .hint("`orch next` shows what else is ready")
        })
    }
}

/// The run a task's events attached last.
fn claim_run(q: &Queue, id: &str) -> Option<String> {
    q.backend.task(id).ok().and_then(|t| t.fold().run_id)
}

fn parse_due(text: &str, cal: &Calendar) -> Result<Due> {
    Due::parse_arg(text, cal).ok_or_else(|| {
        Error::input(format!("cannot read the due date `{text}`")).hint(
            "give a day (2026-03-01), a time (2026-03-01T17:00, in TZ's zone, or with an offset), today, tomorrow or +3d",
        )
    })
}

fn check_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for t in tags {
        if !is_safe_component(t) {
            return Err(Error::input(format!("tag `{t}` is not a simple name"))
                .hint("use letters, digits, `.`, `_` and `-` (e.g. `gpu`, `essay`)"));
        }
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

/// Worker ids name files: the same rule as slugs.
pub fn check_worker_id(id: &str) -> Result<()> {
    if is_safe_component(id) {
        Ok(())
    } else {
        Err(
            Error::input(format!("worker id `{id}` is not a simple name"))
                .hint("use letters, digits, `.`, `_` and `-` (e.g. `w1`, `build-box-2`)"),
        )
    }
}

/// This process's default worker id: `<host>-<pid>`.
pub fn default_worker_id() -> String {
    let host: String = lease::hostname()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{}-{}", host.trim_matches('-'), std::process::id())
}
