//! `orch worker`: take the next ready task, drive its run with the
//! pipeline `orch run` uses, and record how it ended; repeat. Up to
//! `--concurrency` tasks at once, each on its own thread with its own stop
//! switch. A heartbeat thread keeps the worker's entry fresh and checks,
//! every beat, that each claim is still the task's current one: a claim
//! that was rescued and taken over stops its run at once, and the holder
//! writes nothing more about the task.
//!
//! `drive` (one claimed task through its run) is shared with `orch task
//! run`, which does the same in the foreground for one task.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::interrupt::{self, Stop};
use crate::ops::pipeline::{self, Human, HumanChoice, Observer, Outcome, Progress};
use crate::ops::run::StartOptions;
use crate::queue::Queue;
use crate::queue::backend::{Claim, WorkerRecord, WorkerState, Writer};
use crate::queue::liveness::{self, Intervals};
use crate::queue::rescue::{self, Rescued};
use crate::queue::select::Criteria;
use crate::queue::task::{Event, EventKind, Status, TaskWorkflow};
use crate::record::store::Store;
use crate::{clock, exit, lease};

/// How a worker works.
#[derive(Clone, Debug)]
pub struct Options {
    pub id: String,
    pub concurrency: usize,
    /// Between looks at the queue when nothing is ready.
    pub poll: Duration,
    /// The tags it has: it takes only tasks whose every tag is among them.
    pub tags: Vec<String>,
    /// How runs are driven (`--agent-cmd`, `--offline`, time limits).
    pub pipeline: pipeline::Options,
    /// Stop after one task.
    pub once: bool,
    /// Stop when nothing is ready and nothing is in progress anywhere.
    pub exit_when_empty: bool,
    /// Commit each finished run's record and outputs (one commit per run)…
    pub commit: bool,
    /// … and push them to this remote.
    pub push: Option<String>,
    /// Run each task in its own worktree and branch (`--isolate`).
    pub isolate: Option<crate::isolate::Settings>,
}

/// What a worker reports as it works: one type for the human lines and the
/// JSON lines (`--json`, one object per line, `event` says which).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Report {
    Started {
        worker: String,
        host: String,
        pid: u32,
        concurrency: usize,
        tags: Vec<String>,
    },
    Claimed {
        worker: String,
        task: String,
        title: String,
        fence: u64,
        score: u64,
    },
    RunStarted {
        worker: String,
        task: String,
        run_id: String,
        resumed: bool,
    },
    Gate {
        worker: String,
        task: String,
        gate: String,
        attempt: u32,
        passed: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Finished {
        worker: String,
        task: String,
        run_id: Option<String>,
        status: Option<Status>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Its claim was taken over: nothing was recorded.
        lost: bool,
    },
    Ready {
        worker: String,
        task: String,
        after: String,
    },
    /// A finished run's record and outputs, committed (and pushed).
    Committed {
        worker: String,
        task: String,
        run_id: String,
        commit: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pushed_to: Option<String>,
    },
    Rescued {
        worker: String,
        #[serde(flatten)]
        rescued: Rescued,
    },
    Idle {
        worker: String,
        why: String,
    },
    Error {
        worker: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        task: Option<String>,
        message: String,
    },
    Stopped {
        worker: String,
        done: u64,
        failed: u64,
        interrupted: bool,
    },
}

/// Where reports go (the command line prints them).
pub trait Reporter: Sync {
    fn report(&self, r: &Report);
}

/// How a worker's work ended.
#[derive(Debug, Default)]
pub struct Summary {
    pub done: u64,
    pub failed: u64,
    pub interrupted: bool,
}

impl Summary {
    pub fn exit_code(&self) -> u8 {
        if self.interrupted {
            exit::INTERRUPTED
        } else {
            exit::SUCCESS
        }
    }
}

/// One task driven through its run.
#[derive(Debug)]
pub struct Driven {
    pub task: String,
    pub run_id: Option<String>,
    /// The status recorded for the task (`None` when nothing was recorded).
    pub status: Option<Status>,
    pub reason: Option<String>,
    pub outcome: Option<Outcome>,
    /// Why the run could not be driven (the task's reason says it too).
    pub error: Option<Error>,
    /// The claim was taken over while the run went on.
    pub lost: bool,
    /// Dependents that became ready.
    pub ready: Vec<String>,
    /// An isolated run's worktree (where its record is), and whether it is
    /// finished with: `Driven::clean_up` removes it once reported.
    pub worktree: Option<(crate::repo::Repo, bool)>,
}

impl Driven {
    /// The repository the run's record is in.
    pub fn repo<'a>(&'a self, main: &'a crate::repo::Repo) -> &'a crate::repo::Repo {
        self.worktree.as_ref().map_or(main, |(r, _)| r)
    }

    /// Removes a finished isolated run's worktree, or one no run started
    /// in (its branch stays).
    pub fn clean_up(&self, main: &crate::repo::Repo) -> Result<()> {
        match &self.worktree {
            Some((wt, true)) => crate::isolate::remove(main, wt.root()),
            _ => Ok(()),
        }
    }
}

/// What wakes a worker's loop.
enum Wake {
    /// A run it drove ended.
    Done(Box<Driven>),
    /// Another process changed the queue (`Backend::watch`).
    Changed,
}

/// How long the watching thread waits at a time (and so how soon it
/// notices that the worker stops).
const WATCH_SLICE: Duration = Duration::from_millis(200);

/// A claim this process holds, with the switch that stops its run.
struct Held {
    claim: Claim,
    stop: Stop,
}

/// What the worker's threads share: its registry entry and its claims.
struct Shared {
    record: Mutex<WorkerRecord>,
    held: Mutex<Vec<Held>>,
}

impl Shared {
    fn held_ids(&self) -> HashSet<String> {
        lock(&self.held)
            .iter()
            .map(|h| h.claim.task.clone())
            .collect()
    }

    fn snapshot(&self) -> (WorkerRecord, Vec<Claim>) {
        let held = lock(&self.held);
        let mut rec = lock(&self.record).clone();
        rec.current = held.iter().map(|h| h.claim.task.clone()).collect();
        rec.state = if held.is_empty() {
            WorkerState::Idle
        } else {
            WorkerState::Active
        };
        rec.heartbeat_at = clock::timestamp(clock::real_now());
        (rec, held.iter().map(|h| h.claim.clone()).collect())
    }

    /// A heartbeat: the entry refreshed, and lost claims' runs stopped.
    fn beat(&self, queue: &Queue) -> Result<()> {
        let (rec, claims) = self.snapshot();
        let current = queue.backend.beat(&rec, &claims)?;
        let held = lock(&self.held);
        for (claim, still) in claims.iter().zip(current) {
            if !still && let Some(h) = held.iter().find(|h| h.claim == *claim) {
                h.stop.request();
            }
        }
        Ok(())
    }

    fn forget(&self, task: &str) {
        lock(&self.held).retain(|h| h.claim.task != task);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `--commit [--push REMOTE]`: one commit for a finished run, then the push.
fn publish_run(queue: &Queue, opts: &Options, rep: &dyn Reporter, task: &str, run_id: &str) {
    let title = queue
        .backend
        .task(task)
        .map(|t| t.fold().title)
        .unwrap_or_default();
    match crate::publish::publish(queue.repo, run_id, task, &title, opts.push.as_deref()) {
        Ok(Some(commit)) => rep.report(&Report::Committed {
            worker: opts.id.clone(),
            task: task.to_string(),
            run_id: run_id.to_string(),
            commit,
            pushed_to: opts.push.clone(),
        }),
        Ok(None) => {}
        Err(e) => rep.report(&Report::Error {
            worker: opts.id.clone(),
            task: Some(task.to_string()),
            message: format!("committing run {run_id}: {e}"),
        }),
    }
}

/// A new registry entry for this process.
pub fn record(id: &str, tags: &[String], concurrency: usize) -> WorkerRecord {
    let now = clock::timestamp(clock::real_now());
    WorkerRecord {
        id: id.to_string(),
        host: lease::hostname(),
        pid: Some(std::process::id()),
        state: WorkerState::Idle,
        started_at: now.clone(),
        heartbeat_at: now,
        tags: tags.to_vec(),
        concurrency: u32::try_from(concurrency).unwrap_or(u32::MAX),
        current: Vec::new(),
        done: 0,
        failed: 0,
    }
}

/// Registers a worker process, refusing an id a live worker already uses.
fn register(queue: &Queue, rec: &WorkerRecord, iv: &Intervals) -> Result<()> {
    super::ops::check_worker_id(&rec.id)?;
    if let Some(w) = queue
        .backend
        .workers()?
        .into_iter()
        .find(|w| w.id == rec.id)
        && w.pid != rec.pid
        && liveness::worker(&w, clock::real_now(), iv.stale_after).is_live()
    {
        return Err(Error::conflict(format!(
            "worker `{}` is already running ({})",
            rec.id,
            w.pid.map_or_else(
                || format!("outside orch, on {}", w.host),
                |p| format!("pid {p} on {}", w.host)
            )
        ))
        .hint("give this worker another id: --id, or ORCH_WORKER_ID"));
    }
    queue.backend.beat(rec, &[])?;
    Ok(())
}

/// Runs a worker until it is told to stop (a signal, `--once`,
/// `--exit-when-empty`).
pub fn run(queue: &Queue, opts: &Options, rep: &dyn Reporter) -> Result<Summary> {
    let iv = Intervals::from_env();
    let rec = record(&opts.id, &opts.tags, opts.concurrency);
    register(queue, &rec, &iv)?;
    interrupt::install();
    rep.report(&Report::Started {
        worker: opts.id.clone(),
        host: rec.host.clone(),
        pid: std::process::id(),
        concurrency: opts.concurrency,
        tags: opts.tags.clone(),
    });
    let shared = Shared {
        record: Mutex::new(rec),
        held: Mutex::new(Vec::new()),
    };
    let mut summary = Summary::default();
    let (done_tx, done_rx) = mpsc::channel::<Wake>();
    let (stop_beats, beats_stopped) = mpsc::channel::<()>();
    let watching = AtomicBool::new(true);
    std::thread::scope(|s| {
        let shared = &shared;
        s.spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                beats_stopped.recv_timeout(iv.heartbeat)
            {
                let _ = shared.beat(queue);
            }
        });
        // Others' changes wake the loop at once (polling stays the fallback).
        if let Some(mut watch) = queue.backend.watch() {
            let (tx, watching) = (done_tx.clone(), &watching);
            s.spawn(move || {
                while watching.load(Ordering::Relaxed) {
                    if watch.wait(WATCH_SLICE) && tx.send(Wake::Changed).is_err() {
                        break;
                    }
                }
            });
        }
        let mut active = 0usize;
        let mut taken = 0usize;
        let mut last_idle = String::new();
        let criteria = Criteria {
            tags: Some(&opts.tags),
            runnable_only: true,
        };
        let finished = |d: Driven, summary: &mut Summary| {
            shared.forget(&d.task);
            let mut rec = lock(&shared.record);
            match d.status {
                Some(Status::Done) => rec.done += 1,
                Some(Status::Failed | Status::Blocked) => rec.failed += 1,
                _ => {}
            }
            summary.done = rec.done;
            summary.failed = rec.failed;
            drop(rec);
            rep.report(&Report::Finished {
                worker: opts.id.clone(),
                task: d.task.clone(),
                run_id: d.run_id.clone(),
                status: d.status,
                reason: d.reason.clone(),
                lost: d.lost,
            });
            if opts.commit
                && !d.lost
                && let Some(run_id) = &d.run_id
            {
                publish_run(queue, opts, rep, &d.task, run_id);
            }
            for t in &d.ready {
                rep.report(&Report::Ready {
                    worker: opts.id.clone(),
                    task: t.clone(),
                    after: d.task.clone(),
                });
            }
        };
        loop {
            while let Ok(w) = done_rx.try_recv() {
                if let Wake::Done(d) = w {
                    active -= 1;
                    finished(*d, &mut summary);
                }
            }
            if interrupt::requested() || (opts.once && taken > 0 && active == 0) {
                break;
            }
            let board = match queue.work_board(&criteria) {
                Ok(b) => b,
                Err(e) => {
                    rep.report(&Report::Error {
                        worker: opts.id.clone(),
                        task: None,
                        message: e.to_string(),
                    });
                    if let Ok(Wake::Done(d)) = done_rx.recv_timeout(opts.poll) {
                        active -= 1;
                        finished(*d, &mut summary);
                    }
                    continue;
                }
            };
            let board = match rescue::rescue(queue, &board, &opts.id, &iv, opts.pipeline.offline) {
                Ok(None) => board,
                Ok(Some(rescued)) if rescued.is_empty() => board,
                Ok(Some(rescued)) => {
                    for r in rescued {
                        rep.report(&Report::Rescued {
                            worker: opts.id.clone(),
                            rescued: r,
                        });
                    }
                    match queue.work_board(&criteria) {
                        Ok(b) => b,
                        Err(_) => continue,
                    }
                }
                Err(e) => {
                    rep.report(&Report::Error {
                        worker: opts.id.clone(),
                        task: None,
                        message: format!("rescue: {e}"),
                    });
                    board
                }
            };
            let mut claimed_now = 0;
            while active < opts.concurrency && !(opts.once && taken > 0) && !interrupt::requested()
            {
                let (rec, _) = shared.snapshot();
                match queue.claim_next(&board, &rec, &criteria, &shared.held_ids()) {
                    Ok(Some((claim, i))) => {
                        let e = &board.entries[i];
                        let score = crate::queue::select::score(
                            e.folded.priority,
                            e.deadline.as_ref(),
                            &board.cal,
                        );
                        rep.report(&Report::Claimed {
                            worker: opts.id.clone(),
                            task: claim.task.clone(),
                            title: e.folded.title.clone(),
                            fence: claim.fence,
                            score: score.value,
                        });
                        let stop = Stop::default();
                        lock(&shared.held).push(Held {
                            claim: claim.clone(),
                            stop: stop.clone(),
                        });
                        let _ = shared.beat(queue);
                        let tx = done_tx.clone();
                        let mut popts = opts.pipeline.clone();
                        popts.stop = stop;
                        s.spawn(move || {
                            let mut obs = Lines {
                                rep,
                                worker: &opts.id,
                                task: &claim.task,
                            };
                            let d = drive(
                                queue,
                                &claim,
                                &popts,
                                opts.isolate.as_ref(),
                                &mut obs,
                                &mut Nobody,
                            );
                            if let Err(e) = d.clean_up(queue.repo) {
                                rep.report(&Report::Error {
                                    worker: opts.id.clone(),
                                    task: Some(d.task.clone()),
                                    message: format!("removing its worktree: {e}"),
                                });
                            }
                            let _ = tx.send(Wake::Done(Box::new(d)));
                        });
                        active += 1;
                        taken += 1;
                        claimed_now += 1;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        rep.report(&Report::Error {
                            worker: opts.id.clone(),
                            task: None,
                            message: e.to_string(),
                        });
                        break;
                    }
                }
            }
            if active == 0 && claimed_now == 0 {
                let plan = board.plan(&criteria);
                if plan.ranked.is_empty() {
                    let why = board.why_nothing(&plan);
                    let busy = board
                        .entries
                        .iter()
                        .any(|e| e.claim.as_ref().is_some_and(|(_, h)| h.is_live()));
                    if opts.exit_when_empty && !busy {
                        if why != last_idle {
                            rep.report(&Report::Idle {
                                worker: opts.id.clone(),
                                why,
                            });
                        }
                        break;
                    }
                    if why != last_idle {
                        rep.report(&Report::Idle {
                            worker: opts.id.clone(),
                            why: why.clone(),
                        });
                        last_idle = why;
                    }
                }
            }
            // Until a run ends, the poll interval passes, or (with room
            // for more work) the queue changed.
            let deadline = Instant::now() + opts.poll;
            while let Some(left) = deadline.checked_duration_since(Instant::now()) {
                match done_rx.recv_timeout(left) {
                    Ok(Wake::Done(d)) => {
                        active -= 1;
                        finished(*d, &mut summary);
                        break;
                    }
                    Ok(Wake::Changed) if active < opts.concurrency => break,
                    Ok(Wake::Changed) => {}
                    Err(_) => break,
                }
            }
        }
        while active > 0 {
            match done_rx.recv() {
                Ok(Wake::Done(d)) => {
                    active -= 1;
                    finished(*d, &mut summary);
                }
                Ok(Wake::Changed) => {}
                Err(_) => break,
            }
        }
        drop(stop_beats);
        watching.store(false, Ordering::Relaxed);
    });
    summary.interrupted = interrupt::requested();
    let (mut rec, _) = shared.snapshot();
    rec.state = WorkerState::Stopped;
    let _ = queue.backend.beat(&rec, &[]);
    rep.report(&Report::Stopped {
        worker: opts.id.clone(),
        done: summary.done,
        failed: summary.failed,
        interrupted: summary.interrupted,
    });
    Ok(summary)
}

/// Holds a claim for a foreground run (`orch task run`): registered as a
/// worker process, with a heartbeat, until dropped.
pub struct Foreground<'q> {
    queue: &'q Queue<'q>,
    shared: Arc<Shared>,
    stop_beats: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub stop: Stop,
}

impl<'q> Foreground<'q> {
    /// Registers `id` and starts its heartbeat.
    pub fn start(queue: &'q Queue<'q>, id: &str) -> Result<Foreground<'q>> {
        let iv = Intervals::from_env();
        let rec = record(id, &[], 1);
        register(queue, &rec, &iv)?;
        let shared = Arc::new(Shared {
            record: Mutex::new(rec),
            held: Mutex::new(Vec::new()),
        });
        let (tx, rx) = mpsc::channel::<()>();
        let beat_shared = Arc::clone(&shared);
        let repo = queue.repo.clone();
        let backend = Arc::clone(&queue.backend);
        let thread = std::thread::spawn(move || {
            let q = Queue {
                repo: &repo,
                backend,
            };
            while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(iv.heartbeat) {
                let _ = beat_shared.beat(&q);
            }
        });
        Ok(Foreground {
            queue,
            shared,
            stop_beats: Some(tx),
            thread: Some(thread),
            stop: Stop::default(),
        })
    }

    pub fn record(&self) -> WorkerRecord {
        self.shared.snapshot().0
    }

    /// Holds `claim`: its loss stops the run.
    pub fn hold(&self, claim: &Claim) {
        lock(&self.shared.held).push(Held {
            claim: claim.clone(),
            stop: self.stop.clone(),
        });
        let _ = self.shared.beat(self.queue);
    }
}

impl Drop for Foreground<'_> {
    fn drop(&mut self) {
        drop(self.stop_beats.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = self
            .queue
            .backend
            .forget_worker(&self.shared.snapshot().0.id);
    }
}

/// Nobody to ask: a person's gate pauses the run (AWAITING_INPUT).
pub struct Nobody;

impl Human for Nobody {
    fn decide(&mut self, _: &str, _: &str, _: &std::path::Path, _: &str) -> HumanChoice {
        HumanChoice::Pause
    }
}

/// A worker's view of a run: one line per gate result.
struct Lines<'a> {
    rep: &'a dyn Reporter,
    worker: &'a str,
    task: &'a str,
}

impl Observer for Lines<'_> {
    fn on(&mut self, event: &Progress) {
        match event {
            Progress::Started {
                run_id, resumed, ..
            } => self.rep.report(&Report::RunStarted {
                worker: self.worker.to_string(),
                task: self.task.to_string(),
                run_id: (*run_id).to_string(),
                resumed: *resumed,
            }),
            Progress::Evaluated {
                gate,
                attempt,
                evaluation,
                failure,
                ..
            } => self.rep.report(&Report::Gate {
                worker: self.worker.to_string(),
                task: self.task.to_string(),
                gate: (*gate).to_string(),
                attempt: *attempt,
                passed: evaluation.passed && failure.is_none(),
                reason: failure.map(str::to_string),
            }),
            _ => {}
        }
    }
}

/// Writes the task's events as its run goes: `started` with the run id
/// when the run begins, `progress` as gates pass. Every write is fenced by
/// the claim; the first refusal stops the run.
struct TaskEvents<'a> {
    queue: &'a Queue<'a>,
    claim: &'a Claim,
    stop: &'a Stop,
    inner: &'a mut dyn Observer,
    run_id: Option<String>,
    gates: Vec<String>,
    lost: bool,
}

impl TaskEvents<'_> {
    fn write(&mut self, event: &Event) {
        if self.lost {
            return;
        }
        if self
            .queue
            .backend
            .append(&self.claim.task, event, Writer::Holder(self.claim))
            .is_err()
        {
            self.lost = true;
            self.stop.request();
        }
    }

    fn event(&self, kind: EventKind) -> Event {
        let mut e = Event::new(kind, crate::ops::actor(self.queue.repo));
        e.worker = Some(self.claim.worker.clone());
        e.fence = Some(self.claim.fence);
        e.run_id.clone_from(&self.run_id);
        e
    }
}

impl Observer for TaskEvents<'_> {
    fn on(&mut self, event: &Progress) {
        match event {
            Progress::Started { run_id, .. } => {
                self.run_id = Some((*run_id).to_string());
                self.gates = Store::new(self.queue.repo)
                    .load(run_id)
                    .map(|r| r.gates.iter().map(|g| g.gate.clone()).collect())
                    .unwrap_or_default();
                let mut e = self.event(EventKind::Started);
                e.host = Some(lease::hostname());
                self.write(&e);
            }
            Progress::Evaluated {
                gate,
                evaluation,
                failure,
                ..
            } if evaluation.passed && failure.is_none() => {
                let at = self
                    .gates
                    .iter()
                    .position(|g| g == gate)
                    .map_or(0, |i| i + 1);
                let mut e = self.event(EventKind::Progress);
                e.gate = Some((*gate).to_string());
                e.percent = (!self.gates.is_empty())
                    .then(|| u8::try_from(at * 100 / self.gates.len()).unwrap_or(100));
                e.message = Some(format!("{gate} passed"));
                self.write(&e);
            }
            _ => {}
        }
        self.inner.on(event);
    }
}

/// The run options for task `task`'s workflow: the run records the task it does.
fn start_options(repo: &crate::repo::Repo, task: &str, wf: &TaskWorkflow) -> StartOptions {
    StartOptions {
        workflow: wf.name.clone(),
        slug: wf.slug.clone(),
        artifact_path: wf.artifact_path.clone(),
        depth: wf.depth,
        prompt_file: wf.prompt_file.as_ref().map(|p| repo.join(p)),
        task: Some(task.to_string()),
    }
}

/// Drives a claimed task's run to its end (resuming the task's open run
/// if it has one) and records the outcome with the claim's release. Never
/// fails: what went wrong is the task's reason.
pub fn drive(
    queue: &Queue,
    claim: &Claim,
    opts: &pipeline::Options,
    isolate: Option<&crate::isolate::Settings>,
    inner: &mut dyn Observer,
    human: &mut dyn Human,
) -> Driven {
    let mut driven = Driven {
        task: claim.task.clone(),
        run_id: None,
        status: None,
        reason: None,
        outcome: None,
        error: None,
        lost: false,
        ready: Vec::new(),
        worktree: None,
    };
    let task = match queue.backend.task(&claim.task) {
        Ok(t) => t,
        Err(e) => {
            driven.reason = Some(e.to_string());
            driven.error = Some(e);
            let _ = queue.backend.release(claim, None);
            return driven;
        }
    };
    let folded = task.fold();
    let Some(wf) = task.def.workflow.as_deref().cloned() else {
        driven.reason = Some("the task has no workflow".into());
        let _ = queue.backend.release(claim, None);
        return driven;
    };
    // Isolated: the run happens in the task's own worktree and branch.
    let wt = match isolate.map(|i| crate::isolate::prepare(queue.repo, &claim.task, i)) {
        Some(Ok(wt)) => Some(wt),
        Some(Err(e)) => {
            driven.reason = Some(format!("cannot make the task's worktree: {e}"));
            let mut event = Event::new(EventKind::Failed, crate::ops::actor(queue.repo));
            event.worker = Some(claim.worker.clone());
            event.fence = Some(claim.fence);
            event.reason.clone_from(&driven.reason);
            driven.error = Some(e);
            if queue.backend.release(claim, Some(&event)).unwrap_or(false) {
                driven.status = Some(Status::Failed);
            }
            return driven;
        }
        None => None,
    };
    let repo = wt.as_ref().map_or(queue.repo, |w| &w.repo);
    let store = Store::new(repo);
    let open_run = folded
        .run_id
        .clone()
        .filter(|r| store.load(r).is_ok_and(|run| !run.is_completed()));
    // The task as this worker's queue tells it, not the worktree's copy.
    let mut opts = opts.clone();
    // If it cannot be read, the packet says so rather than fall back to
    // what the run's repository holds (an isolated worktree's is stale).
    opts.task_context = Some(match crate::queue::context::for_run(queue, &claim.task) {
        Ok(c) => crate::queue::context::render(&c),
        Err(e) => format!(
            "## Task {}\n\n(its context cannot be read: {e})\n",
            claim.task
        ),
    });
    let opts = &opts;
    let mut events = TaskEvents {
        queue,
        claim,
        stop: &opts.stop,
        inner,
        run_id: None,
        gates: Vec::new(),
        lost: false,
    };
    let result = match &open_run {
        Some(run) => pipeline::resume(repo, run, opts, &mut events, human),
        None => pipeline::start_and_run(
            repo,
            &start_options(repo, &claim.task, &wf),
            opts,
            &mut events,
            human,
        ),
    };
    driven.run_id = events.run_id.clone().or(open_run);
    let started = events.run_id.is_some();
    let (mut kind, mut reason) = match &result {
        Ok((run_id, outcome)) => outcome_event(repo, run_id, outcome, &claim.worker),
        Err(Error::Interrupted) => (
            EventKind::Released,
            format!(
                "worker {} was interrupted; the run is resumable",
                claim.worker
            ),
        ),
        // Another orch drives the run right now: leave the task as it was.
        Err(e) if e.exit_code() == exit::CONFLICT && !started => {
            driven.reason = Some(e.to_string());
            let _ = queue.backend.release(claim, None);
            driven.error = result.err();
            return driven;
        }
        Err(e) => (EventKind::Failed, format!("cannot run: {e}")),
    };
    let mut outputs_uri = None;
    if let (Some(wt), Some(settings), Ok((run_id, outcome))) = (&wt, isolate, &result)
        && matches!(outcome, Outcome::Passed | Outcome::Failed { .. })
    {
        match crate::isolate::finish(queue.repo, wt, run_id, &claim.task, &folded.title, settings) {
            Ok(crate::isolate::Finished::Conflict(paths)) => {
                kind = EventKind::Blocked;
                reason = format!(
                    "merging {} into {} conflicts in {}; the worktree is kept at {}",
                    wt.branch,
                    wt.base,
                    paths.join(", "),
                    wt.repo.root().display()
                );
            }
            Ok(crate::isolate::Finished::Proposed(url)) => {
                outputs_uri = Some(url);
                driven.worktree = Some((wt.repo.clone(), true));
            }
            Ok(_) => driven.worktree = Some((wt.repo.clone(), true)),
            Err(e) => {
                kind = EventKind::Blocked;
                reason = format!(
                    "the run ended but its branch {} could not be finished: {e}",
                    wt.branch
                );
            }
        }
    }
    if driven.worktree.is_none() {
        // Kept while it holds a run; one no run started in goes.
        let unused = driven.run_id.is_none();
        driven.worktree = wt.map(|w| (w.repo, unused));
    }
    match result {
        Ok((_, o)) => driven.outcome = Some(o),
        Err(e) => driven.error = Some(e),
    }
    let mut event = Event::new(kind, crate::ops::actor(queue.repo));
    event.outputs_uri = outputs_uri;
    event.worker = Some(claim.worker.clone());
    event.fence = Some(claim.fence);
    event.run_id.clone_from(&driven.run_id);
    match kind {
        EventKind::AwaitingInput | EventKind::AwaitingApproval => {
            event.message = Some(reason.clone());
        }
        EventKind::Done => {}
        _ => event.reason = Some(reason.clone()),
    }
    event.gate = driven
        .outcome
        .as_ref()
        .and_then(Outcome::gate)
        .map(str::to_string);
    match queue.backend.release(claim, Some(&event)) {
        Ok(true) => {
            driven.status = Some(match kind {
                EventKind::Done => Status::Done,
                EventKind::Failed => Status::Failed,
                EventKind::Blocked => Status::Blocked,
                EventKind::AwaitingInput => Status::AwaitingInput,
                EventKind::AwaitingApproval => Status::AwaitingApproval,
                _ => Status::Todo,
            });
            driven.reason = (kind != EventKind::Done).then_some(reason);
            if kind == EventKind::Done {
                driven.ready = queue
                    .board()
                    .map(|b| b.ready_dependents(&claim.task))
                    .unwrap_or_default();
            }
        }
        Ok(false) => {
            driven.lost = true;
            driven.reason = Some("its claim was taken over; nothing was recorded".into());
        }
        Err(e) => {
            // The outcome could not be written (a full disk?): give the task
            // back without it rather than hold it forever; a rescue finds it.
            driven.reason = Some(format!("its outcome could not be recorded: {e}"));
            driven.error.get_or_insert(e);
            let _ = queue.backend.release(claim, None);
        }
    }
    driven
}

/// The task event a run's outcome leads to, with its reason: the task's
/// status follows its run for every outcome.
fn outcome_event(
    repo: &crate::repo::Repo,
    run_id: &str,
    outcome: &Outcome,
    worker: &str,
) -> (EventKind, String) {
    match outcome {
        Outcome::Passed => (EventKind::Done, String::new()),
        Outcome::Failed { gate, reason } if gate.is_empty() => (EventKind::Failed, reason.clone()),
        Outcome::Failed { gate, reason } => (EventKind::Failed, format!("{gate} failed: {reason}")),
        Outcome::Blocked { gate, reason } => (
            EventKind::Blocked,
            format!("{gate}: the agent is blocked: {reason}"),
        ),
        Outcome::AwaitingInput { gate, packet } => (
            EventKind::AwaitingInput,
            format!("{gate} waits for a person (prompt packet: {packet})"),
        ),
        Outcome::AwaitingAnswers { gate, questions } => (
            EventKind::AwaitingInput,
            format!("{gate} failed and asks a person questions first: answer them in {questions}"),
        ),
        Outcome::AwaitingApproval { gate, have, need } => {
            let scope = Store::new(repo)
                .load(run_id)
                .map(|run| crate::ops::approval::awaited(&run, gate))
                .unwrap_or_default();
            (
                EventKind::AwaitingApproval,
                format!(
                    "{gate} awaits {} ({have} of {need} so far): {}",
                    scope.awaited(),
                    crate::ui::orch_command(&format!("approve --run {run_id} --gate {gate}"))
                ),
            )
        }
        Outcome::Interrupted { .. } => (
            EventKind::Released,
            format!("worker {worker} stopped; the run is resumable"),
        ),
    }
}
