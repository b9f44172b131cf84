//! `orch task …`: add, list, show, edit and close tasks of the backlog,
//! report progress, and run one task now.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::cli::DepthArg;
use crate::error::{Error, Result};
use crate::paging;
use crate::queue::task::{Priority, Status};
use crate::queue::{Queue, ops};
use crate::record::store::Store;
use crate::repo::Repo;
use crate::report::task::{CSV_HEADERS, Row};
use crate::ui::{Ui, sanitize_line};
use crate::{env, exit, json, report};

#[derive(Debug, Args)]
pub struct TaskCommand {
    #[command(subcommand)]
    pub action: TaskAction,
    #[command(flatten)]
    pub queue: super::queue::QueueArg,
}

#[derive(Debug, Subcommand)]
pub enum TaskAction {
    /// Add a task to the backlog.
    ///
    /// Prints the new task's id alone on stdout (so `T=$(orch task add …)`
    /// works). The task is committed as orchestration/tasks/<id>.json.
    /// With --workflow and --slug, a worker (or `orch task run`) does it by
    /// running that workflow; without, a person marks it done.
    Add(AddArgs),
    /// List tasks, newest first.
    ///
    /// A TODO task waiting on a dependency that is not DONE shows as
    /// BLOCKED with what it waits on; one a worker has claimed shows as
    /// IN_PROGRESS. SCORE is `orch next`'s: priority weight × deadline boost.
    List(ListArgs),
    /// Show a task: status and why, score, dependencies and dependents with
    /// their statuses, runs, and its history.
    Show(ShowArgs),
    /// Print what an agent doing this task is told about it: the task
    /// (title, description, priority, due date, tags) and each dependency
    /// with its status, runs, and the outputs they recorded (hashes, and
    /// the first lines of text outputs). Every packet of the task's run
    /// holds exactly this.
    Context(ContextArgs),
    /// Change a task's title, priority, due date, dependencies or tags.
    ///
    /// A dependency that does not exist, or one that would make a cycle,
    /// is refused.
    Edit(EditArgs),
    /// Report progress on a task (0 to 100 percent, and a message).
    Progress(ProgressArgs),
    /// Mark a task DONE; prints the tasks that became ready.
    Done(DoneArgs),
    /// Mark a task FAILED, with the reason.
    Fail(FailArgs),
    /// Cancel a task. If a worker is running it, the worker stops the run
    /// (which stays resumable).
    Cancel(CancelArgs),
    /// Put a FAILED or CANCELLED task back to TODO (its history is kept;
    /// its run, if still open, is resumed by the next worker).
    Retry(IdArgs),
    /// Claim a task and run its workflow now, in the foreground.
    ///
    /// The task must be ready (TODO, every dependency DONE), or waiting for
    /// a person or an approval, or blocked, with an open run (its run is
    /// resumed: a person's gate is validated at once, approvals are
    /// counted). Exit codes are `orch run`'s.
    Run(RunArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PriorityArg {
    Critical,
    High,
    Medium,
    Low,
}

impl From<PriorityArg> for Priority {
    fn from(p: PriorityArg) -> Self {
        match p {
            PriorityArg::Critical => Priority::Critical,
            PriorityArg::High => Priority::High,
            PriorityArg::Medium => Priority::Medium,
            PriorityArg::Low => Priority::Low,
        }
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// What the task is.
    #[arg(long)]
    pub title: String,
    /// What it is about, at length; `@FILE` reads it from a file. The
    /// agent doing it reads it in every packet of its run.
    #[arg(long, value_name = "TEXT|@FILE")]
    pub description: Option<String>,
    /// The workflow that does it (orchestration/workflows/<name>.json, or a path).
    #[arg(long, value_name = "NAME", requires = "slug")]
    pub workflow: Option<String>,
    /// The run's slug (`{slug}` in the workflow).
    #[arg(long, requires = "workflow")]
    pub slug: Option<String>,
    /// The run's output folder; defaults to the workflow's default_artifact_path.
    #[arg(long, value_name = "PATH", requires = "workflow")]
    pub artifact_path: Option<String>,
    /// How deep the run goes.
    #[arg(long, value_enum, requires = "workflow")]
    pub depth: Option<DepthArg>,
    /// The run's original prompt (a file in the repository).
    #[arg(long, value_name = "FILE", requires = "workflow")]
    pub prompt_file: Option<PathBuf>,
    /// How much it matters: weight 1000, 100, 10 or 1 in `orch next`'s score.
    #[arg(long, value_enum, default_value_t = PriorityArg::Medium)]
    pub priority: PriorityArg,
    /// When it is due: a day (2026-03-01: by its end, in TZ's zone), a
    /// time (2026-03-01T17:00, or with an offset), today, tomorrow or +3d.
    #[arg(long, value_name = "WHEN")]
    pub due: Option<String>,
    /// A task that must be DONE first (id, or a unique prefix or suffix). Repeat for more.
    #[arg(long, value_name = "ID")]
    pub depends_on: Vec<String>,
    /// A tag; a worker takes a tagged task only if it has every tag. Repeat for more.
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Print the new task as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only tasks with this status (TODO, BLOCKED, IN_PROGRESS,
    /// AWAITING_INPUT, AWAITING_APPROVAL, DONE, FAILED, CANCELLED; any
    /// case). Repeat for more.
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,
    /// Only tasks with this tag.
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Only tasks `orch next` could pick now.
    #[arg(long)]
    pub ready: bool,
    #[command(flatten)]
    pub page: super::page::PageArgs,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// Task id, or a unique prefix or suffix of one.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Print the task's state after the change as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Task id, or a unique prefix or suffix of one.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Print the task, its events and what is derived from them as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ContextArgs {
    /// Task id, or a unique prefix or suffix of one.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Print the same context as JSON: the task, and each dependency with
    /// its runs and their outputs (path, sha256, first lines).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// Task id, or a unique prefix or suffix of one.
    #[arg(value_name = "ID")]
    pub id: String,
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long, value_enum)]
    pub priority: Option<PriorityArg>,
    /// A new due date (as for `task add`).
    #[arg(long, value_name = "WHEN", conflicts_with = "no_due")]
    pub due: Option<String>,
    /// Remove the due date.
    #[arg(long)]
    pub no_due: bool,
    /// Add a dependency. Repeat for more.
    #[arg(long, value_name = "ID")]
    pub depends_on: Vec<String>,
    /// Remove a dependency. Repeat for more.
    #[arg(long, value_name = "ID")]
    pub no_depends_on: Vec<String>,
    /// Add a tag. Repeat for more.
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Remove a tag. Repeat for more.
    #[arg(long, value_name = "TAG")]
    pub untag: Vec<String>,
    /// Print the task's state after the change as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--worker`: who writes, when a worker outside orch reports on a task it claimed.
#[derive(Debug, Args)]
pub struct WorkerArg {
    /// The worker that claimed the task (`orch next --claim --worker W`):
    /// the write is refused unless W still holds it, and it counts as W's
    /// heartbeat.
    #[arg(long, value_name = "W", env = env::WORKER_ID)]
    pub worker: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProgressArgs {
    /// Task id, or a unique prefix or suffix of one.
    #[arg(value_name = "ID")]
    pub id: String,
    /// How far along it is, 0 to 100.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub percent: u8,
    /// What was done.
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    #[command(flatten)]
    pub worker: WorkerArg,
    /// Print the task's state after the change as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoneArgs {
    /// Task id, or a unique prefix or suffix of one.
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub worker: WorkerArg,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FailArgs {
    /// Task id, or a unique prefix or suffix of one.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Why it failed.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    #[command(flatten)]
    pub worker: WorkerArg,
    /// Print the task's state after the change as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// Task id, or a unique prefix or suffix of one.
    #[arg(value_name = "ID")]
    pub id: String,
    /// Why it is cancelled.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Print the task's state after the change as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Task id, or a unique prefix or suffix of one.
    #[arg(value_name = "ID")]
    pub id: String,
    /// The worker id this run claims as (default <host>-<pid>).
    #[arg(long, value_name = "W", env = env::WORKER_ID)]
    pub worker: Option<String>,
    #[command(flatten)]
    pub exec: super::pipeline::ExecArgs,
    #[command(flatten)]
    pub isolate: super::worker::IsolateArgs,
}

pub fn execute(cmd: TaskCommand, repo: &Repo, ui: &Ui) -> Result<u8> {
    let queue = Queue::connect(repo, cmd.queue.url())?;
    match cmd.action {
        TaskAction::Add(args) => add(&queue, args, ui),
        TaskAction::List(args) => list(&queue, &args, ui),
        TaskAction::Show(args) => show(&queue, &args, ui),
        TaskAction::Context(args) => {
            let id = queue.resolve(&args.id)?;
            let c = crate::queue::context::build(&queue, &id)?;
            if args.json {
                ui.out(&json::to_pretty_string(&c));
            } else {
                ui.line(crate::queue::context::render(&c).trim_end());
            }
            Ok(exit::SUCCESS)
        }
        TaskAction::Edit(args) => {
            let id = queue.edit(
                &args.id,
                &ops::EditOptions {
                    title: args.title,
                    priority: args.priority.map(Into::into),
                    due: args.due,
                    clear_due: args.no_due,
                    add_depends_on: args.depends_on,
                    remove_depends_on: args.no_depends_on,
                    add_tags: args.tag,
                    remove_tags: args.untag,
                },
            )?;
            if args.json {
                return state(&queue, &id, ui);
            }
            ui.note(&format!("edited {id}"));
            Ok(exit::SUCCESS)
        }
        TaskAction::Progress(args) => {
            let id = queue.progress(
                &args.id,
                args.percent,
                args.message.as_deref(),
                args.worker.worker.as_deref(),
            )?;
            if args.json {
                return state(&queue, &id, ui);
            }
            ui.note(&format!("{id}: {}%", args.percent));
            Ok(exit::SUCCESS)
        }
        TaskAction::Done(args) => {
            let f = queue.done(&args.id, args.worker.worker.as_deref())?;
            if args.json {
                ui.out(&json::to_pretty_string(&json!({
                    "id": f.id, "status": Status::Done, "ready": f.ready,
                })));
            } else {
                ui.line(&format!("DONE {}", f.id));
                for t in &f.ready {
                    ui.note(&format!("{t} is ready now"));
                }
            }
            Ok(exit::SUCCESS)
        }
        TaskAction::Fail(args) => {
            let id = queue.fail(&args.id, &args.reason, args.worker.worker.as_deref())?;
            if args.json {
                return state(&queue, &id, ui);
            }
            ui.line(&format!("FAILED {id}"));
            ui.note(&format!("when it can go on: orch task retry {id}"));
            Ok(exit::SUCCESS)
        }
        TaskAction::Cancel(args) => {
            let id = queue.cancel(&args.id, &args.reason)?;
            if args.json {
                return state(&queue, &id, ui);
            }
            ui.line(&format!("CANCELLED {id}"));
            Ok(exit::SUCCESS)
        }
        TaskAction::Retry(args) => {
            let id = queue.retry(&args.id)?;
            if args.json {
                return state(&queue, &id, ui);
            }
            ui.line(&format!("TODO {id}"));
            Ok(exit::SUCCESS)
        }
        TaskAction::Run(args) => super::worker::run_task(&queue, &args, ui),
    }
}

/// `--json` after a change: the task's id, status and why, and progress,
/// as `orch task list --json` shows them.
fn state(queue: &Queue, id: &str, ui: &Ui) -> Result<u8> {
    let board = queue.board()?;
    let i = board
        .get(id)
        .ok_or_else(|| Error::input(format!("there is no task `{id}`")))?;
    let (status, reason) = board.shown(i);
    let f = &board.entries[i].folded;
    ui.out(&json::to_pretty_string(&json!({
        "id": id, "status": status, "reason": reason,
        "percent": f.percent, "message": f.message, "run_id": f.run_id,
    })));
    Ok(exit::SUCCESS)
}

fn add(queue: &Queue, args: AddArgs, ui: &Ui) -> Result<u8> {
    let workflow = args.workflow.map(|name| ops::WorkflowOptions {
        name,
        slug: args.slug.unwrap_or_default(),
        artifact_path: args.artifact_path,
        depth: args.depth.unwrap_or_default().into(),
        prompt_file: args.prompt_file,
    });
    let description = match args
        .description
        .as_deref()
        .map(|d| (d, d.strip_prefix('@')))
    {
        Some((_, Some(file))) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| Error::read(file, e).hint("--description @FILE reads a text file"))?,
        ),
        Some((text, None)) => Some(text.to_string()),
        None => None,
    };
    let def = queue.add(&ops::AddOptions {
        title: args.title,
        description,
        workflow,
        priority: args.priority.into(),
        due: args.due,
        depends_on: args.depends_on,
        tags: args.tag,
    })?;
    if args.json {
        ui.out(&json::to_pretty_string(&def));
        return Ok(exit::SUCCESS);
    }
    ui.line(&def.id);
    let mut about = vec![def.priority.as_str().to_string()];
    if let Some(d) = def.due {
        about.push(format!("due {d}"));
    }
    if !def.depends_on.is_empty() {
        about.push(format!("after {}", def.depends_on.join(", ")));
    }
    ui.note(&format!(
        "added {} \"{}\" ({}) as {}/{}.json",
        def.id,
        sanitize_line(&def.title),
        about.join(", "),
        crate::queue::file::TASKS_DIR,
        def.id
    ));
    Ok(exit::SUCCESS)
}

fn list(queue: &Queue, args: &ListArgs, ui: &Ui) -> Result<u8> {
    let mut statuses = Vec::new();
    for s in &args.status {
        statuses.push(Status::parse_loose(s).ok_or_else(|| {
            Error::input(format!("unknown task status `{s}`")).hint(format!(
                "one of {}",
                Status::ALL.map(Status::as_str).join(", ")
            ))
        })?);
    }
    let cursor = args.page.cursor()?;
    let since = args.page.since()?;
    let board = queue.board()?;
    let mut order: Vec<usize> = (0..board.entries.len()).collect();
    order.sort_by(|&a, &b| {
        let (ea, eb) = (&board.entries[a], &board.entries[b]);
        (eb.stored.def.created_at.as_str(), eb.id())
            .cmp(&(ea.stored.def.created_at.as_str(), ea.id()))
    });
    let rows: Vec<Row> = order
        .into_iter()
        .filter(|&i| !args.ready || board.is_ready(i))
        .map(|i| Row::of(&board, i))
        .filter(|r| statuses.is_empty() || statuses.contains(&r.status))
        .filter(|r| args.tag.as_ref().is_none_or(|t| r.tags.contains(t)))
        .filter(|r| since.is_none_or(|s| crate::clock::parse(r.updated_at).is_some_and(|t| t >= s)))
        .collect();
    let page = paging::page(
        rows,
        |r| (r.created_at, r.id),
        cursor.as_ref(),
        args.page.limit(),
    );
    let next = page.next();
    if args.page.json || args.page.csv() {
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect();
        args.page
            .print_data(ui, &items, &next, CSV_HEADERS, "orch task list");
    } else if page.items.is_empty() {
        ui.note(if board.entries.is_empty() {
            "no tasks yet: add one with `orch task add --title \"…\"`"
        } else {
            "no tasks match"
        });
    } else {
        ui.out(&report::task::render_list(ui, &page.items));
        args.page.next_page_note(ui, &next, "orch task list");
    }
    Ok(exit::SUCCESS)
}

fn show(queue: &Queue, args: &ShowArgs, ui: &Ui) -> Result<u8> {
    let id = queue.resolve(&args.id)?;
    let board = queue.board()?;
    let i = board
        .get(&id)
        .ok_or_else(|| Error::input(format!("there is no task `{id}`")))?;
    let store = Store::new(queue.repo);
    if args.json {
        let e = &board.entries[i];
        let related = |ids: Vec<usize>| -> Vec<serde_json::Value> {
            ids.into_iter()
                .map(|j| {
                    let (status, reason) = board.shown(j);
                    json!({"id": board.entries[j].id(), "title": board.entries[j].folded.title,
                           "status": status, "reason": reason})
                })
                .collect()
        };
        let mut deps: Vec<serde_json::Value> = Vec::new();
        for d in &e.folded.depends_on {
            match board.get(d) {
                Some(j) => deps.extend(related(vec![j])),
                None => deps.push(json!({"id": d, "status": null, "reason": "no such task"})),
            }
        }
        let runs: Vec<serde_json::Value> = e
            .folded
            .runs
            .iter()
            .map(|r| match store.load(r) {
                Ok(rec) => {
                    let (p, t) = rec.gate_counts();
                    json!({"run_id": r, "status": rec.status, "gates_passed": p, "gates_total": t})
                }
                Err(_) => json!({"run_id": r, "status": null}),
            })
            .collect();
        let claim = e.claim.as_ref().map(|(c, h)| {
            json!({"worker": c.worker, "fence": c.fence, "host": c.host, "pid": c.pid,
                   "claimed_at": c.claimed_at, "live": h.is_live()})
        });
        ui.out(&json::to_pretty_string(&json!({
            "task": Row::of(&board, i),
            "definition": e.stored.def,
            "depends_on": deps,
            "dependents": related(board.dependents_of(&id)),
            "runs": runs,
            "claim": claim,
            "events": e.stored.events,
        })));
    } else {
        ui.out(&report::task::render_show(ui, &board, i, &store));
    }
    Ok(exit::SUCCESS)
}
