//! `orch worker`: run tasks from the backlog; `worker list`, `rescue` and
//! `cleanup`; and `orch task run`, one task in the foreground.

use clap::{Args, Subcommand};
use serde_json::json;

use crate::error::{Error, Result};
use crate::queue::backend::WorkerState;
use crate::queue::liveness::{self, Health, Intervals};
use crate::queue::task::{EventKind, Status};
use crate::queue::worker::{self, Report, Reporter};
use crate::queue::{Queue, ops, rescue};
use crate::repo::Repo;
use crate::report::progress::ProgressView;
use crate::ui::{Ui, sanitize_line};
use crate::{clock, env, exit, json};

const AFTER_LONG_HELP: &str = "\
Environment:
  ORCH_WORKER_ID       the worker's id (--id)
  ORCH_MAX_CONCURRENT  tasks at once (--concurrency)
  ORCH_POLL_INTERVAL   seconds between looks at the queue (--poll-interval)
  ORCH_HEARTBEAT_S     seconds between heartbeats (default 15)
  ORCH_STALE_AFTER_S   seconds without a heartbeat before a worker is dead and its
                       claims are rescued (default 60)
  ORCH_STUCK_AFTER_S   seconds a claimed run may show no progress (log growth,
                       record changes) before it is rescued (default 300)";

/// Run tasks from the backlog: claim the next ready task, run its
/// workflow, record how it ended, repeat.
///
/// A worker takes only tasks with a workflow whose every tag it has
/// (--tag). Its claims are atomic (two workers never run one task) and
/// kept alive by heartbeats; a worker also rescues the claims of dead
/// workers and stuck runs it finds, and resumes those runs. Ctrl-C (or
/// SIGTERM) stops its agents, puts its tasks back to TODO with their runs
/// resumable, and exits 130.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_long_help = AFTER_LONG_HELP,
    override_usage = "orch worker [OPTIONS]\n       orch worker <COMMAND>"
)]
pub struct WorkerCommand {
    #[command(subcommand)]
    pub action: Option<WorkerAction>,
    #[command(flatten)]
    pub run: WorkerArgs,
    #[command(flatten)]
    pub queue: super::queue::QueueArg,
}

#[derive(Debug, Subcommand)]
pub enum WorkerAction {
    /// List workers (id, host, pid, state, current tasks, last heartbeat,
    /// done and failed counts), the queue and the recent failure rate.
    List(JsonArg),
    /// Release the claims of dead workers and stuck runs: the tasks go back
    /// to TODO, their runs are marked interrupted, and the next worker
    /// resumes them.
    #[command(after_long_help = AFTER_LONG_HELP)]
    Rescue(RescueArgs),
    /// Forget workers that have been gone for more than a day, and remove
    /// the worktrees of isolated runs that no run needs any more (never one
    /// whose task is claimed or BLOCKED, or that holds uncommitted work).
    Cleanup(JsonArg),
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RescueArgs {
    /// Record the `rescued` notifications (orchestration/notify.json) in
    /// each freed run without sending them (`orch notify retry` sends them).
    #[arg(long, env = env::OFFLINE, value_parser = clap::builder::FalseyValueParser::new())]
    pub offline: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // clap flags
pub struct WorkerArgs {
    /// This worker's id (default <host>-<pid>).
    #[arg(long, value_name = "W", env = env::WORKER_ID)]
    pub id: Option<String>,
    /// How many tasks to run at once.
    #[arg(long, value_name = "N", env = env::MAX_CONCURRENT, default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Seconds between looks at the queue when nothing is ready.
    #[arg(long, value_name = "SECS", env = env::POLL_INTERVAL, default_value_t = 5.0)]
    pub poll_interval: f64,
    /// A tag this worker has; it takes only tasks whose every tag it has
    /// (without --tag, only untagged tasks). Repeat for more.
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    #[command(flatten)]
    pub agents: super::pipeline::AgentArgs,
    /// Stop after one task.
    #[arg(long)]
    pub once: bool,
    /// Stop once nothing is ready and no task is in progress anywhere.
    #[arg(long)]
    pub exit_when_empty: bool,
    /// Commit each finished run's record and outputs in this clone: one
    /// commit per run, its message naming the task and the run. (With
    /// --isolate each run is committed on its own branch instead: see --finish.)
    #[arg(long, conflicts_with = "isolate")]
    pub commit: bool,
    /// After each commit, push to this remote (implies --commit), rebasing
    /// on it when it moved: each run has its own folder, so this never
    /// conflicts.
    #[arg(long, value_name = "REMOTE", conflicts_with = "isolate")]
    pub push: Option<String>,
    /// Report as JSON lines on stdout (one object per event).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub isolate: IsolateArgs,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum FinishArg {
    Leave,
    Merge,
    Pr,
}

/// `--isolate` and how isolated runs finish: `orch worker` and `orch task run`.
/// Each option left out comes from orchestration/config.json's "isolate"
/// section, if there is one.
#[derive(Debug, Args)]
pub struct IsolateArgs {
    /// Run each task in its own git worktree, on a branch orch/<task-id>
    /// made from --base-branch; the run's record and outputs are committed there
    /// (one commit) and the user's working tree is never touched. The default
    /// when orchestration/config.json says {"isolate": {"default": true}}.
    #[arg(long, conflicts_with = "no_isolate")]
    pub isolate: bool,
    /// Run in this working tree, though orchestration/config.json makes
    /// isolation the default.
    #[arg(long)]
    pub no_isolate: bool,
    /// The branch task branches start from and merge into (default: the
    /// branch checked out here).
    #[arg(long, value_name = "BRANCH")]
    pub base_branch: Option<String>,
    /// Once committed: leave the branch (the default); merge it into the base
    /// (fast-forward, or rebase when the base moved; a conflict in the
    /// outputs makes the task BLOCKED and keeps the worktree); or push it
    /// and open a pull request with `gh pr create`.
    #[arg(long, value_enum)]
    pub finish: Option<FinishArg>,
    /// The remote --finish pr pushes to [default: origin].
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
    /// Where worktrees go (default: inside the git directory, .git/orch/worktrees).
    #[arg(long, value_name = "DIR")]
    pub worktrees: Option<std::path::PathBuf>,
}

impl IsolateArgs {
    /// How runs are isolated (`None`: in this working tree): these options
    /// over the repository's config.
    pub fn settings(&self, repo: &Repo) -> Result<Option<crate::isolate::Settings>> {
        use crate::isolate::{Finish, Settings};
        let config = crate::config::load(repo)?.isolate.unwrap_or_default();
        let on = self.isolate || (config.default && !self.no_isolate);
        if !on {
            let given = [
                (self.base_branch.is_some(), "--base-branch"),
                (self.finish.is_some(), "--finish"),
                (self.remote.is_some(), "--remote"),
                (self.worktrees.is_some(), "--worktrees"),
            ];
            if let Some((_, flag)) = given.iter().find(|(g, _)| *g) {
                return Err(Error::input(format!(
                    "{flag} applies to isolated runs, and this one is not isolated"
                ))
                .hint("add --isolate (or make it the default: {\"isolate\": {\"default\": true}} in orchestration/config.json)"));
            }
            return Ok(None);
        }
        let settings = Settings {
            base: self.base_branch.clone().or(config.base_branch),
            dir: self.worktrees.clone().or(config.worktrees),
            finish: match self.finish {
                Some(FinishArg::Leave) => Finish::Leave,
                Some(FinishArg::Merge) => Finish::Merge,
                Some(FinishArg::Pr) => Finish::Pr,
                None => config.finish.map(Finish::from).unwrap_or_default(),
            },
            remote: self
                .remote
                .clone()
                .or(config.remote)
                .unwrap_or_else(|| "origin".to_string()),
        };
        crate::isolate::check(repo, &settings)?;
        Ok(Some(settings))
    }
}

pub fn execute(cmd: WorkerCommand, repo: &Repo, ui: &Ui) -> Result<u8> {
    let queue = Queue::connect(repo, cmd.queue.url())?;
    match cmd.action {
        None => work(&queue, cmd.run, ui),
        Some(WorkerAction::List(a)) => list(&queue, a.json, ui),
        Some(WorkerAction::Rescue(a)) => rescue_now(&queue, &a, ui),
        Some(WorkerAction::Cleanup(a)) => cleanup(&queue, a.json, ui),
    }
}

fn work(queue: &Queue, args: WorkerArgs, ui: &Ui) -> Result<u8> {
    if !args.poll_interval.is_finite()
        || args.poll_interval <= 0.0
        || args.poll_interval > env::MAX_SECONDS
    {
        return Err(
            Error::input("--poll-interval must be a positive number of seconds")
                .hint("e.g. --poll-interval 5 (or ORCH_POLL_INTERVAL=5)"),
        );
    }
    let pipeline = args.agents.options(None)?;
    let id = args.id.unwrap_or_else(ops::default_worker_id);
    ops::check_worker_id(&id)?;
    let opts = worker::Options {
        id,
        concurrency: usize::from(args.concurrency),
        poll: env::duration(args.poll_interval),
        tags: args.tag,
        pipeline,
        once: args.once,
        exit_when_empty: args.exit_when_empty,
        commit: args.commit || args.push.is_some(),
        push: args.push,
        isolate: args.isolate.settings(queue.repo)?,
    };
    if opts.commit && opts.isolate.is_some() {
        return Err(Error::input(
            "--commit and --push do not apply to isolated runs: each run is committed on its task's branch",
        )
        .hint("finish isolated runs with --finish merge or --finish pr, or run here with --no-isolate"));
    }
    let printer = Printer {
        ui,
        json: args.json,
    };
    let summary = worker::run(queue, &opts, &printer)?;
    Ok(summary.exit_code())
}

/// Worker reports: JSON lines on stdout, or a line each on stderr.
struct Printer<'u> {
    ui: &'u Ui,
    json: bool,
}

impl Reporter for Printer<'_> {
    fn report(&self, r: &Report) {
        if self.json {
            self.ui.line(&serde_json::to_string(r).unwrap_or_default());
            return;
        }
        let line = match r {
            Report::Started {
                worker,
                host,
                pid,
                concurrency,
                tags,
            } => format!(
                "worker {worker} started (pid {pid} on {host}): {concurrency} task(s) at once, {}; Ctrl-C stops it",
                if tags.is_empty() {
                    "untagged tasks only".to_string()
                } else {
                    format!("tasks tagged with any of: {}", tags.join(", "))
                }
            ),
            Report::Claimed {
                worker,
                task,
                title,
                fence,
                score,
            } => {
                format!("{worker}: claimed {task} \"{title}\" (score {score}, fence {fence})")
            }
            Report::RunStarted {
                worker,
                task,
                run_id,
                resumed,
            } => format!(
                "{worker}: {task}: {} run {run_id}",
                if *resumed { "resumed" } else { "started" }
            ),
            Report::Gate {
                worker,
                task,
                gate,
                attempt,
                passed,
                reason,
            } => format!(
                "{worker}: {task}: {gate} {} (attempt {attempt}){}",
                if *passed { "PASS" } else { "FAIL" },
                reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
            Report::Finished {
                worker,
                task,
                run_id,
                status,
                reason,
                lost,
            } => {
                let run = run_id
                    .as_deref()
                    .map(|r| format!(" (run {r})"))
                    .unwrap_or_default();
                match (lost, status) {
                    (true, _) => {
                        format!("{worker}: {task}: its claim was taken over; nothing recorded{run}")
                    }
                    (false, Some(s)) => format!(
                        "{worker}: {task}: {s}{}{run}",
                        reason
                            .as_deref()
                            .filter(|r| !r.is_empty())
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    ),
                    (false, None) => format!(
                        "{worker}: {task}: not run: {}",
                        reason.as_deref().unwrap_or("unknown")
                    ),
                }
            }
            Report::Ready {
                worker,
                task,
                after,
            } => {
                format!("{worker}: {task} is ready now ({after} is DONE)")
            }
            Report::Rescued { worker, rescued } => format!(
                "{worker}: rescued {}: {}{}{}",
                rescued.task,
                rescued.reason,
                if rescued.run_interrupted {
                    format!(
                        "; run {} marked interrupted",
                        rescued.run_id.as_deref().unwrap_or("?")
                    )
                } else {
                    String::new()
                },
                rescued
                    .notified
                    .iter()
                    .map(|d| format!("; {}", d.describe()))
                    .chain(
                        rescued
                            .notify_error
                            .iter()
                            .map(|e| format!("; notifications: {e}"))
                    )
                    .collect::<String>()
            ),
            Report::Committed {
                worker,
                task,
                run_id,
                commit,
                pushed_to,
            } => format!(
                "{worker}: committed {run_id} ({task}) as {}{}",
                commit.get(..10).unwrap_or(commit),
                pushed_to
                    .as_deref()
                    .map(|r| format!(", pushed to {r}"))
                    .unwrap_or_default()
            ),
            Report::Idle { worker, why } => format!("{worker}: waiting: {why}"),
            Report::Error {
                worker,
                task,
                message,
            } => format!(
                "{worker}: error{}: {message}",
                task.as_deref()
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            ),
            Report::Stopped {
                worker,
                done,
                failed,
                interrupted,
            } => format!(
                "{worker}: stopped{}: {done} done, {failed} failed",
                if *interrupted { " (interrupted)" } else { "" }
            ),
        };
        self.ui.note(&sanitize_line(&line));
    }
}

fn list(queue: &Queue, as_json: bool, ui: &Ui) -> Result<u8> {
    let board = queue.board()?;
    let iv = Intervals::from_env();
    let now = clock::real_now();
    let workers: Vec<serde_json::Value> = board
        .workers
        .iter()
        .map(|w| {
            let health = liveness::worker(w, now, iv.stale_after);
            let state = match (&health, w.state) {
                (_, WorkerState::Stopped) => "stopped",
                (Health::Dead(_), _) => "stale",
                (Health::Live, WorkerState::Active) => "active",
                (Health::Live, WorkerState::Idle) => "idle",
            };
            // What to type to watch each run it drives.
            let follow: Vec<serde_json::Value> = if state == "active" {
                w.current
                    .iter()
                    .filter_map(|t| {
                        let run = board.entries[board.get(t)?].folded.run_id.as_ref()?;
                        // An isolated run is followed in its worktree.
                        let home = crate::isolate::run_home(queue.repo, t, run);
                        let dir = if home.root() == queue.repo.root() {
                            String::new()
                        } else {
                            format!("-C {} ", shell_word(&home.root().display().to_string()))
                        };
                        Some(json!({"task": t, "run_id": run,
                                    "command": format!("orch {dir}run logs --run {run} --follow")}))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            json!({
                "id": w.id,
                "host": w.host,
                "follow": follow,
                "pid": w.pid,
                "state": state,
                "why": match health { Health::Dead(why) if state == "stale" => Some(why), _ => None },
                "current": w.current,
                "heartbeat_at": w.heartbeat_at,
                "heartbeat_age_s": liveness::age(&w.heartbeat_at, now).map(|a| a.as_secs()),
                "done": w.done,
                "failed": w.failed,
                "tags": w.tags,
                "concurrency": w.concurrency,
            })
        })
        .collect();
    let count = |s: Status| {
        (0..board.entries.len())
            .filter(|&i| board.shown(i).0 == s)
            .count()
    };
    let ready = (0..board.entries.len())
        .filter(|&i| board.is_ready(i))
        .count();
    let (done, failed) = recent_outcomes(&board);
    let live = workers
        .iter()
        .filter(|w| matches!(w["state"].as_str(), Some("active" | "idle")))
        .count();
    let warning = (ready > 0 && live == 0).then_some(
        "no workers available: start one with `orch worker` (tasks stay queued until one does)",
    );
    if as_json {
        ui.out(&json::to_pretty_string(&json!({
            "workers": workers,
            "queue": {
                "ready": ready,
                "todo": count(Status::Todo),
                "blocked": count(Status::Blocked),
                "in_progress": count(Status::InProgress),
                "awaiting_input": count(Status::AwaitingInput),
                "awaiting_approval": count(Status::AwaitingApproval),
            },
            "recent": {"hours": 24, "done": done, "failed": failed,
                       "failure_rate": (done + failed > 0).then(|| ratio(failed, done + failed))},
            "warning": warning,
        })));
        return Ok(exit::SUCCESS);
    }
    if workers.is_empty() {
        ui.note("no workers have registered yet");
    } else {
        let rows: Vec<Vec<String>> = workers
            .iter()
            .map(|w| {
                let s = |k: &str| w[k].as_str().unwrap_or("-").to_string();
                vec![
                    s("id"),
                    s("host"),
                    w["pid"]
                        .as_u64()
                        .map_or_else(|| "-".into(), |p| p.to_string()),
                    s("state"),
                    w["current"].as_array().map_or_else(String::new, |c| {
                        c.iter()
                            .filter_map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    }),
                    w["heartbeat_age_s"].as_u64().map_or_else(
                        || "-".into(),
                        |a| {
                            format!(
                                "{} ago",
                                clock::human_duration(i64::try_from(a).unwrap_or(i64::MAX))
                            )
                        },
                    ),
                    w["done"].to_string(),
                    w["failed"].to_string(),
                ]
            })
            .collect();
        ui.out(&crate::report::table(
            ui,
            &[
                "WORKER",
                "HOST",
                "PID",
                "STATE",
                "TASKS",
                "HEARTBEAT",
                "DONE",
                "FAILED",
            ],
            &rows,
        ));
        for w in &workers {
            for f in w["follow"].as_array().into_iter().flatten() {
                ui.line(&format!(
                    "{} {}: {}",
                    w["id"].as_str().unwrap_or("-"),
                    f["task"].as_str().unwrap_or("-"),
                    f["command"].as_str().unwrap_or("-")
                ));
            }
        }
    }
    let rate = if done + failed == 0 {
        "no task finished in the last 24 hours".to_string()
    } else {
        format!(
            "failure rate (last 24 hours): {failed} of {} ({:.0}%)",
            done + failed,
            ratio(failed, done + failed) * 100.0
        )
    };
    ui.out(&format!(
        "queue: {ready} ready, {} blocked, {} in progress, {} awaiting input, {} awaiting approval; {rate}\n",
        count(Status::Blocked),
        count(Status::InProgress),
        count(Status::AwaitingInput),
        count(Status::AwaitingApproval)
    ));
    if let Some(w) = warning {
        ui.warn(w);
    }
    Ok(exit::SUCCESS)
}

/// `w` as one shell word: as it is when it is plain, else single-quoted.
fn shell_word(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@,=".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

#[allow(clippy::cast_precision_loss)]
fn ratio(a: usize, b: usize) -> f64 {
    a as f64 / b as f64
}

/// Tasks workers finished DONE and FAILED (or blocked) in the last 24 hours.
fn recent_outcomes(board: &crate::queue::board::Board) -> (usize, usize) {
    let since = clock::timestamp(clock::now() - chrono::Duration::hours(24));
    let mut done = 0;
    let mut failed = 0;
    for e in &board.entries {
        for ev in e
            .stored
            .events
            .iter()
            .filter(|ev| ev.worker.is_some() && ev.at >= since)
        {
            match ev.kind {
                EventKind::Done => done += 1,
                EventKind::Failed | EventKind::Blocked => failed += 1,
                _ => {}
            }
        }
    }
    (done, failed)
}

fn rescue_now(queue: &Queue, args: &RescueArgs, ui: &Ui) -> Result<u8> {
    let board = queue.board()?;
    let rescued = rescue::rescue(
        queue,
        &board,
        "orch worker rescue",
        &Intervals::from_env(),
        args.offline,
    )?;
    let Some(rescued) = rescued else {
        return Err(
            Error::conflict("another process is rescuing right now").hint(
                "it frees what is abandoned; run `orch worker rescue` again in a moment to check",
            ),
        );
    };
    if args.json {
        ui.out(&json::to_pretty_string(&rescued));
        return Ok(exit::SUCCESS);
    }
    if rescued.is_empty() {
        ui.note("nothing to rescue: every claim belongs to a live worker making progress");
    }
    for r in &rescued {
        let run = match (&r.run_id, r.run_interrupted) {
            (Some(run), true) => {
                format!("; run {run} marked interrupted, the next worker resumes it")
            }
            (Some(run), false) => {
                format!("; run {run} is stopped by its worker, the next worker resumes it")
            }
            (None, _) => String::new(),
        };
        ui.line(&format!(
            "{}  TODO  {}{run}",
            r.task,
            sanitize_line(&r.reason)
        ));
        for d in &r.notified {
            ui.note(&d.describe());
        }
        if let Some(e) = &r.notify_error {
            ui.warn(&format!("notifications: {}", sanitize_line(e)));
        }
    }
    Ok(exit::SUCCESS)
}

fn cleanup(queue: &Queue, as_json: bool, ui: &Ui) -> Result<u8> {
    let now = clock::real_now();
    let iv = Intervals::from_env();
    let day = std::time::Duration::from_secs(86_400);
    let mut forgotten = Vec::new();
    for w in queue.backend.workers()? {
        let gone = !liveness::worker(&w, now, iv.stale_after).is_live();
        if gone && liveness::age(&w.heartbeat_at, now).is_none_or(|a| a > day) {
            queue.backend.forget_worker(&w.id)?;
            forgotten.push(w.id);
        }
    }
    let settings = crate::isolate::Settings {
        dir: crate::config::load(queue.repo)?
            .isolate
            .and_then(|i| i.worktrees),
        ..crate::isolate::Settings::default()
    };
    let worktrees = crate::isolate::sweep(queue, &settings)?;
    if as_json {
        ui.out(&json::to_pretty_string(
            &json!({"forgotten": forgotten, "worktrees": worktrees}),
        ));
        return Ok(exit::SUCCESS);
    }
    if forgotten.is_empty() {
        ui.note("no worker has been gone for more than a day");
    }
    for id in &forgotten {
        ui.line(&format!("forgot {id}"));
    }
    for w in &worktrees {
        match &w.kept_because {
            None => ui.line(&format!("removed {} (task {})", w.path, w.task)),
            Some(why) => ui.note(&format!("kept {} (task {}): {why}", w.path, w.task)),
        }
    }
    Ok(exit::SUCCESS)
}

/// `orch task run ID`: claim the task as a worker of one, drive its run in
/// the foreground as `orch run` does, and record how it ended.
pub fn run_task(queue: &Queue, args: &super::task::RunArgs, ui: &Ui) -> Result<u8> {
    let id = queue.resolve(&args.id)?;
    let mut opts = args.exec.options(None)?;
    let isolate = args.isolate.settings(queue.repo)?;
    let worker_id = args.worker.clone().unwrap_or_else(ops::default_worker_id);
    ops::check_worker_id(&worker_id)?;
    let task = queue.backend.task(&id)?;
    if let Some(wf) = &task.def.workflow
        && !super::pipeline::confirm(&args.exec, &opts, queue.repo, &wf.name)?
    {
        ui.note("nothing was run");
        return Ok(exit::SUCCESS);
    }
    // From here a first Ctrl-C stops the run and gives the task back.
    crate::interrupt::install();
    let fg = worker::Foreground::start(queue, &worker_id)?;
    let board = queue.board()?;
    let claim = queue.claim_task(&board, &id, &fg.record())?;
    fg.hold(&claim);
    opts.stop = fg.stop.clone();
    let mut view = ProgressView::new(ui, args.exec.json);
    let mut human =
        super::pipeline::TerminalHuman::new(super::pipeline::interactive(args.exec.json));
    let mut driven = worker::drive(
        queue,
        &claim,
        &opts,
        isolate.as_ref(),
        &mut view,
        &mut human,
    );
    drop(view);
    drop(fg);
    if let Some(e) = driven.error.take() {
        // A worktree no run started in is removed; one holding a run stays.
        driven.clean_up(queue.repo)?;
        return Err(e);
    }
    let (Some(run), Some(outcome)) = (&driven.run_id, &driven.outcome) else {
        driven.clean_up(queue.repo)?;
        return Err(Error::conflict(format!(
            "task `{id}` was not run: {}",
            driven.reason.unwrap_or_default()
        )));
    };
    let code = super::pipeline::finish(driven.repo(queue.repo), ui, run, outcome, args.exec.json)?;
    driven.clean_up(queue.repo)?;
    if !args.exec.json {
        match (driven.lost, driven.status) {
            (true, _) => ui.warn(&format!(
                "task {id}: its claim was taken over while it ran; nothing was recorded for it"
            )),
            (false, Some(s)) => ui.note(&format!("task {id} is {s}")),
            (false, None) => {}
        }
        for t in &driven.ready {
            ui.note(&format!("{t} is ready now"));
        }
    }
    Ok(code)
}
