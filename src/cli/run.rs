//! `orch run …`: create, list, inspect and complete runs.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::cli::DepthArg;
use crate::error::{Error, Result};
use crate::ops;
use crate::record::RunStatus;
use crate::record::store::Store;
use crate::record::summary;
use crate::repo::Repo;
use crate::storage::layout;
use crate::ui::{Ui, sanitize_line};
use crate::{clock, exit, json, lease, report};

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    override_usage = "orch run <WORKFLOW> --slug <SLUG> [OPTIONS]\n       orch run <COMMAND>"
)]
pub struct RunCommand {
    #[command(subcommand)]
    pub action: Option<RunAction>,
    #[command(flatten)]
    pub pipeline: super::pipeline::PipelineArgs,
}

#[derive(Debug, Subcommand)]
pub enum RunAction {
    /// Create a run: RUN.json with every gate NOT_STARTED, and its logs folder.
    ///
    /// Prints the new run id on stdout (so `RUN=$(orch run start …)` works)
    /// and what to do next on stderr.
    Start(StartArgs),
    /// List runs, newest first.
    ///
    /// A RUNNING run with no recorded activity for an hour or more is shown
    /// as "running, idle 3d" rather than as live.
    List(ListArgs),
    /// Show a run's whole record: gates and attempts, validations with their
    /// reasons, invocations, artifacts and events.
    Show(ShowArgs),
    /// Continue a paused, interrupted or failed run from its first gate that
    /// has not passed.
    ///
    /// A gate a person was doing is validated first. A run whose previous
    /// owner is gone (its lease is stale) is taken over.
    Resume(super::pipeline::ResumeArgs),
    /// Show what changed in run records since a git revision, for review.
    ///
    /// Compares RUN.json in the working tree with the same file at --since
    /// (default HEAD; in a pull request, its base): gates that changed
    /// status, new attempts and why they failed, outputs whose hashes
    /// changed, invocations added. Without --run, every run the change
    /// touches.
    Diff(DiffArgs),
    /// Complete a run: set its final status and finished_at.
    ///
    /// Without --status the run PASSED if every blocking gate passed, else
    /// FAILED. Attempts still in progress are closed as failed.
    Complete(CompleteArgs),
    /// Print what an agent of a run printed, as it prints it.
    ///
    /// Without --invocation, the run's latest invocation (of --gate, when
    /// given). With --follow, keeps printing as the log grows, like
    /// `tail -f`, until the invocation ends (its record is written, or the
    /// run's owner stopped); works from another terminal while `orch run`
    /// or a worker drives the run. Logs stay on the machine that ran the
    /// agent (they are not committed).
    Logs(LogsArgs),
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Run id, or any unique prefix or suffix of one.
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// The latest invocation of this gate.
    #[arg(long, value_name = "GATE", conflicts_with = "invocation")]
    pub gate: Option<String>,
    /// This invocation (an id, or a unique prefix or suffix of one).
    #[arg(long, value_name = "INV")]
    pub invocation: Option<String>,
    /// Keep printing as the log grows, until the invocation ends.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Print the agent's stderr instead of its stdout.
    #[arg(long)]
    pub stderr: bool,
    /// Print the invocation (run, id, gate, whether it ended) and the log's
    /// text as JSON.
    #[arg(long, conflicts_with = "follow")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Workflow name (orchestration/workflows/<name>.json) or path to a workflow file.
    #[arg(long, value_name = "NAME")]
    pub workflow: String,
    /// What this run is about; used in the run id and in `{slug}` (e.g. the-word-robot).
    #[arg(long)]
    pub slug: String,
    /// The folder for the run's outputs (`{artifact_path}` in contracts),
    /// e.g. essays/the-word-robot. Relative to the current directory, like
    /// --prompt-file and every path on the command line; recorded
    /// repo-relative. Defaults to the workflow's default_artifact_path.
    #[arg(long, value_name = "PATH")]
    pub artifact_path: Option<String>,
    /// How deep the work goes; contracts scale thresholds by it.
    #[arg(long, value_enum, default_value_t = DepthArg::Standard)]
    pub depth: DepthArg,
    /// The run's original prompt: a file in the repository, relative to the
    /// current directory (like --artifact-path). Its SHA-256 is recorded.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only runs with this status: QUEUED, RUNNING, AWAITING_INPUT,
    /// AWAITING_APPROVAL, INTERRUPTED, PASSED, FAILED or CANCELED (any case).
    #[arg(long)]
    pub status: Option<String>,
    /// Paging (newest first by start time and id), --since, --json and --format csv.
    #[command(flatten)]
    pub page: super::page::PageArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Run id, or any unique prefix or suffix of one.
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// Print RUN.json as orch reads it.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Only this run (id, or unique prefix or suffix).
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// The revision to compare with: a commit, branch or tag.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub since: String,
    /// Print the changes as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum FinalStatus {
    Passed,
    Failed,
    Canceled,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// Run id, or any unique prefix or suffix of one.
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// Final status; computed from the gates when omitted.
    #[arg(long, value_enum, ignore_case = true)]
    pub status: Option<FinalStatus>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn execute(cmd: RunCommand, repo: &Repo, ui: &Ui) -> Result<u8> {
    match cmd.action {
        None => super::pipeline::run(cmd.pipeline, repo, ui),
        Some(RunAction::Start(args)) => start(args, repo, ui),
        Some(RunAction::List(args)) => list(&args, repo, ui),
        Some(RunAction::Show(args)) => show(&args, repo, ui),
        Some(RunAction::Resume(args)) => super::pipeline::resume(&args, repo, ui),
        Some(RunAction::Complete(args)) => complete(&args, repo, ui),
        Some(RunAction::Logs(args)) => logs(&args, repo, ui),
        Some(RunAction::Diff(args)) => {
            let review = crate::review::diff(repo, args.run.as_deref(), &args.since)?;
            if args.json {
                ui.out(&json::to_pretty_string(&review));
            } else {
                ui.out(&crate::ui::sanitize(&crate::review::render(&review)));
            }
            Ok(exit::SUCCESS)
        }
    }
}

fn start(args: StartArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let opts = ops::run::StartOptions {
        workflow: args.workflow,
        slug: args.slug,
        artifact_path: args
            .artifact_path
            .map(|p| repo.from_cwd(&p, "--artifact-path"))
            .transpose()?,
        depth: args.depth.into(),
        prompt_file: args.prompt_file,
        task: None,
    };
    warn_shared_outputs(repo, ui, &opts);
    let run = ops::run::start(repo, &opts)?;
    if args.json {
        ui.out(&json::to_pretty_string(&json!({
            "run_id": run.run_id,
            "record": layout::run_json(&run.run_id),
            "workflow": run.workflow.name,
            "slug": run.workflow.slug,
            "artifact_path": run.workflow.artifact_path,
            "depth": run.depth,
            "gates": run.gates.iter().map(|g| &g.gate).collect::<Vec<_>>(),
        })));
    } else {
        ui.line(&run.run_id);
        let first = run.gates.first().map_or("G1", |g| g.gate.as_str());
        ui.note(&format!(
            "created {} ({} gates: {})",
            layout::run_json(&run.run_id),
            run.gates.len(),
            run.gates
                .iter()
                .map(|g| g.gate.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        ui.note(&format!(
            "next: {}",
            crate::ui::orch_command(&format!(
                "gate start --run {} --gate {first} --agent <name>",
                run.run_id
            ))
        ));
    }
    Ok(exit::SUCCESS)
}

/// Warns when other runs already recorded outputs where this one will put
/// its own (a problem in starting the run is reported by the start itself).
pub(super) fn warn_shared_outputs(repo: &Repo, ui: &Ui, opts: &ops::run::StartOptions) {
    let Ok(others) = ops::run::outputs_shared_with(repo, opts) else {
        return;
    };
    let Some(first) = others.first() else {
        return;
    };
    let more = match others.len() {
        1 => String::new(),
        n => format!(" and {} other run(s)", n - 1),
    };
    ui.warn(&format!(
        "run {} ({}/{}, {}){more} already recorded outputs under {}; this run will check and hash the same files",
        sanitize_line(&first.run_id),
        sanitize_line(&first.workflow.name),
        sanitize_line(&first.workflow.slug),
        first.status,
        sanitize_line(&first.workflow.artifact_path),
    ));
    ui.note(
        "to keep the runs apart, give this one its own folder: another --slug, or --artifact-path",
    );
}

fn list(args: &ListArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let filter = match &args.status {
        Some(s) => {
            let Some(status) = RunStatus::parse_loose(s) else {
                return Err(Error::input(format!("unknown run status `{s}`"))
                    .hint(format!("one of {}", RunStatus::KNOWN.join(", "))));
            };
            Some(status)
        }
        None => None,
    };
    let (cursor, since) = (args.page.cursor()?, args.page.since()?);
    let store = Store::new(repo);
    let mut runs = Vec::new();
    for entry in summary::list(&store)? {
        match entry {
            Ok(s) => runs.push(s),
            Err((id, e)) => ui.warn(&format!("skipping run {id}: {e}")),
        }
    }
    if let Some(status) = &filter {
        runs.retain(|r| &r.status == status);
    }
    if let Some(since) = since {
        runs.retain(|r| clock::parse(&r.started_at).is_some_and(|t| t >= since));
    }
    let page = crate::paging::page(
        runs,
        |r| (r.started_at.as_str(), r.run_id.as_str()),
        cursor.as_ref(),
        args.page.limit(),
    );
    let next = page.next();
    let now = clock::now();
    let rows: Vec<(summary::RunSummary, String, Option<i64>, lease::State)> = page
        .items
        .into_iter()
        .map(|r| {
            let state = if r.finished_at.is_none() {
                lease::state(repo, &r.run_id)
            } else {
                lease::State::None
            };
            let (mut activity, idle) = report::run::activity(
                &r.status,
                r.last_activity(),
                r.finished_at.is_some(),
                now,
                &state,
            );
            match r.warnings() {
                0 => {}
                1 => activity.push_str(", 1 warning"),
                n => {
                    let _ =
                        std::fmt::Write::write_fmt(&mut activity, format_args!(", {n} warnings"));
                }
            }
            (r, activity, idle, state)
        })
        .collect();
    if args.page.json || args.page.csv() {
        let items: Vec<_> = rows
            .iter()
            .map(|(r, activity, idle, state)| {
                let (passed, total) = r.gate_counts();
                let (executing, stale) = match state {
                    lease::State::Live(l) => (Some(l), None),
                    lease::State::Stale(_, why) => (None, Some(why)),
                    lease::State::None => (None, None),
                };
                json!({
                    "run_id": r.run_id,
                    "workflow": r.workflow.name,
                    "slug": r.workflow.slug,
                    "status": r.status,
                    "activity": activity,
                    "idle_seconds": idle,
                    "stale": stale,
                    "executing": executing,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "last_activity_at": r.last_activity(),
                    "gates_passed": passed,
                    "gates_total": total,
                    "warnings": r.warnings(),
                })
            })
            .collect();
        args.page
            .print_data(ui, &items, &next, RUN_CSV, "orch run list");
    } else if rows.is_empty() {
        ui.note(&match &filter {
            Some(s) => format!("no {s} runs"),
            None => format!("no runs yet in {}", layout::RUNS_DIR),
        });
    } else {
        let list: Vec<(summary::RunSummary, String)> =
            rows.into_iter().map(|(r, a, _, _)| (r, a)).collect();
        ui.out(&report::run::render_list(ui, &list));
        args.page.next_page_note(ui, &next, "orch run list");
    }
    Ok(exit::SUCCESS)
}

/// `run list --format csv` columns: fields of the JSON items.
const RUN_CSV: &[&str] = &[
    "run_id",
    "workflow",
    "slug",
    "status",
    "activity",
    "started_at",
    "finished_at",
    "last_activity_at",
    "gates_passed",
    "gates_total",
];

fn show(args: &ShowArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let store = Store::new(repo);
    let run = ops::load_run(&store, &args.run)?;
    if args.json {
        ui.out(&json::to_pretty_string(&run));
    } else {
        let now = clock::now();
        let state = if run.is_completed() {
            lease::State::None
        } else {
            lease::state(repo, &run.run_id)
        };
        let mut text = report::run::render_show(ui, &run, now, &state);
        let needs_approval = run
            .gates
            .iter()
            .any(|g| g.attempts.iter().any(|a| a.approval.is_some()))
            || !crate::approval::find(repo, &run.run_id).is_empty();
        if needs_approval {
            let trusted = crate::approval::trust::load(repo, None)?;
            let items = ops::approval::of_run(repo, &run, &trusted);
            text.push_str(&report::approval::render(ui, &items, &trusted.warnings()));
        }
        match crate::notify::recorded(&store, &run.run_id) {
            Ok(notified) => {
                text.push_str(&report::approval::render_notifications(ui, &notified));
            }
            Err(e) => ui.warn(&format!("notifications: {e}")),
        }
        ui.out(&text);
    }
    Ok(exit::SUCCESS)
}

fn complete(args: &CompleteArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let status = args.status.map(|s| match s {
        FinalStatus::Passed => RunStatus::Passed,
        FinalStatus::Failed => RunStatus::Failed,
        FinalStatus::Canceled => RunStatus::Canceled,
    });
    let run = ops::run::complete(repo, &args.run, status)?;
    if args.json {
        ui.out(&json::to_pretty_string(&json!({
            "run_id": run.run_id,
            "status": run.status,
            "finished_at": run.finished_at,
        })));
    } else {
        let (passed, total) = run.gate_counts();
        ui.line(&format!(
            "{} {} ({passed}/{total} gates passed)",
            sanitize_line(&run.run_id),
            run.status
        ));
    }
    Ok(exit::SUCCESS)
}

fn logs(args: &LogsArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    use crate::ops::logs;
    let l = logs::select(
        repo,
        &args.run,
        args.gate.as_deref(),
        args.invocation.as_deref(),
    )?;
    let stream = if args.stderr {
        logs::Stream::Stderr
    } else {
        logs::Stream::Stdout
    };
    if args.json {
        let ended = logs::ended(repo, &l);
        let mut text = Vec::new();
        logs::print(repo, &l, stream, false, &mut text)?;
        ui.out(&json::to_pretty_string(&serde_json::json!({
            "run_id": l.run_id, "invocation": l.id, "gate": l.gate,
            "stream": if args.stderr { "stderr" } else { "stdout" },
            "ended": ended, "text": String::from_utf8_lossy(&text),
        })));
        return Ok(exit::SUCCESS);
    }
    ui.note(&format!(
        "{} of run {}{}",
        l.id,
        l.run_id,
        l.gate
            .as_deref()
            .map_or_else(String::new, |g| format!(", gate {g}"))
    ));
    logs::print(repo, &l, stream, args.follow, &mut std::io::stdout().lock())?;
    Ok(exit::SUCCESS)
}
