//! `orch queue`: set up the queue on PostgreSQL (`init`), look at it
//! (`status`), and copy tasks between it and the committed task files
//! (`import`, `export`); and `--queue URL`, which every command that uses
//! the queue takes.

use std::sync::Arc;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::error::{Error, Result};
use crate::queue::backend::{Backend, WorkerState};
use crate::queue::file::FileBackend;
use crate::queue::liveness::{self, Intervals};
use crate::queue::pg::PgBackend;
use crate::queue::target::{self, Target};
use crate::queue::task::Status;
use crate::queue::{Queue, transfer};
use crate::repo::Repo;
use crate::ui::Ui;
use crate::{clock, exit, json};

/// `--queue URL`: where the queue is.
#[derive(Debug, Default, Args)]
pub struct QueueArg {
    /// The queue's PostgreSQL URL (postgres://user@host:5432/db; a Unix
    /// socket folder as host works: postgres://user@%2Frun%2Fpostgresql/db).
    /// Else ORCH_QUEUE_URL, else the variable orchestration/config.json
    /// names ({"queue": {"url_env": "…"}}), else the file queue.
    #[arg(
        long = "queue",
        value_name = "URL",
        global = true,
        help_heading = "Queue"
    )]
    pub queue: Option<String>,
}

impl QueueArg {
    pub fn url(&self) -> Option<&str> {
        self.queue.as_deref()
    }
}

/// The team's queue on PostgreSQL: create it, look at it, copy tasks in and out.
///
/// Without --queue, ORCH_QUEUE_URL or a config that names one, the queue
/// is the repository's files (one machine). With PostgreSQL, many machines
/// share one queue; run records stay in each machine's clone, committed
/// through git (`orch worker --commit --push origin`).
#[derive(Debug, Args)]
pub struct QueueCommand {
    #[command(subcommand)]
    pub action: QueueAction,
    #[command(flatten)]
    pub queue: QueueArg,
}

#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// Create the queue's tables, or migrate them to this orch's version.
    /// Safe to run again, and from two machines at once.
    Init(JsonArg),
    /// The schema version, tasks by status, live workers, oldest heartbeat.
    Status(JsonArg),
    /// Copy the repository's committed tasks into PostgreSQL (what is there
    /// already is left alone: running it twice adds nothing).
    Import(JsonArg),
    /// Write PostgreSQL's tasks back as task files under
    /// orchestration/tasks/, for committing (idempotent too).
    Export(JsonArg),
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn execute(cmd: QueueCommand, repo: &Repo, ui: &Ui) -> Result<u8> {
    let url = match target::resolve(repo, cmd.queue.url())? {
        Target::Postgres(url) => url,
        Target::File => {
            return Err(Error::input(
                "`orch queue` works on a PostgreSQL queue; none is configured",
            )
            .hint("give one: --queue postgres://user@host:5432/db, or ORCH_QUEUE_URL")
            .hint("the file queue needs no setup: `orch task add` starts it"));
        }
    };
    match cmd.action {
        QueueAction::Init(a) => init(&url, a.json, ui),
        QueueAction::Status(a) => status(repo, &url, a.json, ui),
        QueueAction::Import(a) => {
            let pg = PgBackend::open(&url)?;
            let shown = pg.shown().to_string();
            let c = transfer::copy(&FileBackend::new(repo), &pg)?;
            report_copy(ui, a.json, &c, &format!("into {shown}"));
            Ok(exit::SUCCESS)
        }
        QueueAction::Export(a) => {
            let pg = PgBackend::open(&url)?;
            let c = transfer::copy(&pg, &FileBackend::new(repo))?;
            report_copy(ui, a.json, &c, "into orchestration/tasks/");
            if !a.json && c.tasks + c.events > 0 {
                ui.note("commit them: git add orchestration/tasks && git commit -m 'Export tasks'");
            }
            Ok(exit::SUCCESS)
        }
    }
}

fn init(url: &str, as_json: bool, ui: &Ui) -> Result<u8> {
    let pg = PgBackend::connect(url)?;
    let (from, to) = pg.migrate()?;
    if as_json {
        ui.out(&json::to_pretty_string(&json!({
            "url": pg.shown(), "from_version": from, "schema_version": to,
        })));
    } else if from == to {
        ui.line(&format!(
            "the queue at {} is up to date (schema version {to})",
            pg.shown()
        ));
    } else {
        ui.line(&format!(
            "the queue at {} is ready: schema version {to} (was {})",
            pg.shown(),
            if from == 0 {
                "none".to_string()
            } else {
                from.to_string()
            }
        ));
        ui.note(&format!(
            "next: orch queue import --queue {} (copies the committed tasks)",
            pg.shown()
        ));
    }
    Ok(exit::SUCCESS)
}

fn report_copy(ui: &Ui, as_json: bool, c: &transfer::Copied, into: &str) {
    if as_json {
        ui.out(&json::to_pretty_string(&json!(c)));
    } else {
        ui.line(&format!(
            "copied {} new task(s) and {} new event(s) {into} ({} task(s) seen)",
            c.tasks, c.events, c.seen
        ));
    }
}

fn status(repo: &Repo, url: &str, as_json: bool, ui: &Ui) -> Result<u8> {
    let pg = PgBackend::open(url)?;
    let version = pg.version()?;
    let shown = pg.shown().to_string();
    let backend: Arc<dyn Backend> = Arc::new(pg);
    let queue = Queue { repo, backend };
    let board = queue.board()?;
    let counts: Vec<(Status, usize)> = Status::ALL
        .into_iter()
        .map(|s| {
            let n = (0..board.entries.len())
                .filter(|&i| board.shown(i).0 == s)
                .count();
            (s, n)
        })
        .collect();
    let now = clock::real_now();
    let stale_after = Intervals::from_env().stale_after;
    let live: Vec<_> = board
        .workers
        .iter()
        .filter(|w| w.state != WorkerState::Stopped)
        .filter(|w| liveness::worker(w, now, stale_after).is_live())
        .collect();
    let oldest = board
        .workers
        .iter()
        .filter(|w| w.state != WorkerState::Stopped)
        .min_by(|a, b| a.heartbeat_at.cmp(&b.heartbeat_at));
    let age = |at: &str| liveness::age(at, now).map(|a| a.as_secs());
    if as_json {
        let tasks: serde_json::Map<String, serde_json::Value> = counts
            .iter()
            .map(|(s, n)| (s.as_str().to_string(), json!(n)))
            .collect();
        ui.out(&json::to_pretty_string(&json!({
            "url": shown,
            "schema_version": version,
            "tasks": tasks,
            "total": board.entries.len(),
            "workers": {"live": live.len(), "registered": board.workers.len()},
            "oldest_heartbeat": oldest.map(|w| json!({
                "worker": w.id, "at": w.heartbeat_at, "age_s": age(&w.heartbeat_at),
            })),
        })));
        return Ok(exit::SUCCESS);
    }
    ui.line(&format!("queue: {shown} (schema version {version})"));
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    ui.line(&format!(
        "tasks: {} ({} in all)",
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        },
        board.entries.len()
    ));
    ui.line(&format!(
        "workers: {} live ({} registered)",
        live.len(),
        board.workers.len()
    ));
    match oldest {
        Some(w) => ui.line(&format!(
            "oldest heartbeat: {} ({}s ago, {})",
            w.heartbeat_at,
            age(&w.heartbeat_at).unwrap_or_default(),
            w.id
        )),
        None => ui.line("oldest heartbeat: none (no running workers)"),
    }
    Ok(exit::SUCCESS)
}
