//! `orch gate …`: start, finish, fail and check gates.

use std::path::PathBuf;

use clap::builder::FalseyValueParser;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::cli::DepthArg;
use crate::error::Result;
use crate::ops;
use crate::ops::gate::{CheckOptions, ContractSource};
use crate::repo::Repo;
use crate::report::gate::{Heading, render};
use crate::ui::{Ui, sanitize_line};
use crate::{env, exit, json};

#[derive(Debug, Args)]
pub struct GateCommand {
    #[command(subcommand)]
    pub action: GateAction,
}

#[derive(Debug, Subcommand)]
pub enum GateAction {
    /// Start a new attempt at a gate (attempt 1, 2, …); the gate and run become RUNNING.
    Start(StartArgs),
    /// Finish the attempt in progress: run pre-scripts, check the contract,
    /// hash the outputs, record the attempt.
    ///
    /// Prints one line per check (✓ pass, ✗ fail, ! warning, - skipped) with
    /// the reason. Exits 0 when the gate passes and 1 when it fails.
    Finish(FinishArgs),
    /// Record that a gate failed, with a reason (a person's judgement).
    ///
    /// Fails the attempt in progress, or adds a failed attempt when none is
    /// in progress (e.g. a reviewer rejecting a passed gate).
    Fail(FailArgs),
    /// Check a contract against the working tree, without any run; writes nothing.
    ///
    /// The same report and exit codes as `gate finish`; pre-scripts are not
    /// run. This is what CI and contract authors use.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Run id, or any unique prefix or suffix of one.
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// Gate code (e.g. G2).
    #[arg(long)]
    pub gate: String,
    /// Who does the work (an agent name or a person).
    #[arg(long)]
    pub agent: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FinishArgs {
    /// Run id, or any unique prefix or suffix of one.
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// Gate code (e.g. G2).
    #[arg(long)]
    pub gate: String,
    /// Skip url_reachable checks (recorded as skipped, shown as warnings).
    #[arg(long, env = env::OFFLINE, value_parser = FalseyValueParser::new())]
    pub offline: bool,
    /// Print the recorded attempt as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FailArgs {
    /// Run id, or any unique prefix or suffix of one.
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// Gate code (e.g. G2).
    #[arg(long)]
    pub gate: String,
    /// Why the gate failed; recorded as the attempt's failure_reason.
    #[arg(long)]
    pub reason: String,
    /// Who judged it, when a new attempt is recorded (default: none).
    #[arg(long)]
    pub agent: Option<String>,
    /// Print the recorded attempt as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Gate code (e.g. G2).
    #[arg(long)]
    pub gate: String,
    /// Take the gate's contract from this workflow (name or path).
    #[arg(long, value_name = "NAME", conflicts_with = "contract")]
    pub workflow: Option<String>,
    /// Check this contract file (default: orchestration/gates/contracts/<gate>.contract.json).
    #[arg(long, value_name = "PATH")]
    pub contract: Option<PathBuf>,
    /// Value of `{slug}`.
    #[arg(long)]
    pub slug: String,
    /// The folder the outputs are in (`{artifact_path}`), relative to the
    /// current directory like every path on the command line.
    #[arg(long, value_name = "PATH")]
    pub artifact_path: String,
    /// Depth whose thresholds apply.
    #[arg(long, value_enum, default_value_t = DepthArg::Standard)]
    pub depth: DepthArg,
    /// Skip url_reachable checks (reported as skipped).
    #[arg(long, env = env::OFFLINE, value_parser = FalseyValueParser::new())]
    pub offline: bool,
    /// Print the evaluation as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn execute(cmd: GateCommand, repo: &Repo, ui: &Ui) -> Result<u8> {
    match cmd.action {
        GateAction::Start(args) => start(&args, repo, ui),
        GateAction::Finish(args) => finish(&args, repo, ui),
        GateAction::Fail(args) => fail(&args, repo, ui),
        GateAction::Check(args) => check(args, repo, ui),
    }
}

fn start(args: &StartArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let started = ops::gate::start(repo, &args.run, &args.gate, &args.agent)?;
    if !started.earlier_not_passed.is_empty() {
        ui.warn(&format!(
            "earlier gates have not passed yet: {}",
            started.earlier_not_passed.join(", ")
        ));
    }
    if args.json {
        ui.out(&json::to_pretty_string(&json!({
            "run_id": started.run_id,
            "gate": args.gate,
            "attempt": started.attempt,
            "agent": args.agent,
        })));
    } else {
        ui.line(&format!(
            "{} attempt {} started",
            args.gate, started.attempt
        ));
        ui.note(&format!(
            "when the work is done: {}",
            crate::ui::orch_command(&format!(
                "gate finish --run {} --gate {}",
                started.run_id, args.gate
            ))
        ));
    }
    Ok(exit::SUCCESS)
}

fn finish(args: &FinishArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let done = ops::gate::finish(repo, &args.run, &args.gate, args.offline)?;
    for p in done.attempt.pre_scripts.iter().filter(|p| p.status != "ok") {
        ui.warn(&format!(
            "pre-script {} {}",
            sanitize_line(&p.path),
            p.status
        ));
    }
    for d in &done.notified {
        match d.status {
            crate::notify::Status::Delivered => ui.note(&d.describe()),
            crate::notify::Status::Pending => ui.warn(&d.describe()),
        }
    }
    if let Some(e) = &done.notify_error {
        ui.warn(&format!("notifications: {}", sanitize_line(e)));
    }
    if args.json {
        ui.out(&json::to_pretty_string(&json!({
            "run_id": done.run_id,
            "gate": args.gate,
            "run_status": done.run_status,
            "attempt": done.attempt,
            "notified": done.notified,
        })));
    } else {
        let depth = done
            .attempt
            .depth
            .map(|d| d.to_string())
            .unwrap_or_default();
        ui.out(&render(
            ui,
            &Heading {
                gate: &args.gate,
                name: Some(&done.gate_name),
                attempt: Some(done.attempt.attempt),
                depth: &depth,
            },
            &done.evaluation,
            &done.attempt.pre_scripts,
        ));
        if let Some(req) = &done.attempt.review {
            ui.line(&format!(
                "AWAITING_APPROVAL {}: it failed, and its recipe asks for a person's review ({} signed approval(s) override it)",
                args.gate, req.min_approvals
            ));
            let on = format!("--run {} --gate {}", done.run_id, args.gate);
            ui.note(&format!(
                "override with: {}; or fail it: {} --reason \"…\"",
                crate::ui::orch_command(&format!("approve {on}")),
                crate::ui::orch_command(&format!("reject {on}"))
            ));
        } else if !done.evaluation.passed && done.blocking {
            ui.note(&format!(
                "{} is blocking: the run is {} until it passes (fix the outputs, then `orch gate start` a new attempt)",
                args.gate, done.run_status
            ));
        }
        if let Some(req) = &done.attempt.approval {
            ui.line(&format!(
                "AWAITING_APPROVAL {}: {} signed approval(s) needed",
                args.gate, req.min_approvals
            ));
            ui.note(&format!(
                "a reviewer approves with: {} [--comment \"…\"]",
                crate::ui::orch_command(&format!(
                    "approve --run {} --gate {}",
                    done.run_id, args.gate
                ))
            ));
        }
    }
    Ok(match done.attempt.status {
        crate::record::AttemptStatus::Pass => exit::SUCCESS,
        crate::record::AttemptStatus::AwaitingApproval => exit::AWAITING_INPUT,
        _ => exit::FAILED,
    })
}

fn fail(args: &FailArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let (run_id, attempt) = ops::gate::fail(
        repo,
        &args.run,
        &args.gate,
        &args.reason,
        args.agent.as_deref(),
    )?;
    if args.json {
        ui.out(&json::to_pretty_string(
            &json!({"run_id": run_id, "gate": args.gate, "attempt": attempt}),
        ));
    } else {
        ui.line(&format!(
            "{} attempt {} recorded as FAIL: {}",
            args.gate,
            attempt.attempt,
            sanitize_line(&args.reason)
        ));
    }
    Ok(exit::SUCCESS)
}

fn check(args: CheckArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let source = match (args.contract, args.workflow) {
        (Some(path), _) => ContractSource::File(path),
        (None, Some(wf)) => ContractSource::Workflow(wf),
        (None, None) => ContractSource::Default,
    };
    let opts = CheckOptions {
        gate: args.gate,
        source,
        slug: args.slug,
        artifact_path: repo.from_cwd(&args.artifact_path, "--artifact-path")?,
        depth: args.depth.into(),
        offline: args.offline,
    };
    let (contract, eval) = ops::gate::check(repo, &opts)?;
    if args.json {
        ui.out(&json::to_pretty_string(&json!({
            "gate": opts.gate,
            "contract": contract.shown,
            "contract_sha256": contract.sha256,
            "depth": opts.depth,
            "status": if eval.passed { "PASS" } else { "FAIL" },
            "validations": eval.results,
            "artifacts": eval.artifacts,
            "failure_reason": eval.failure_reason,
        })));
    } else {
        let depth = opts.depth.to_string();
        ui.out(&render(
            ui,
            &Heading {
                gate: &opts.gate,
                name: contract.name.as_deref(),
                attempt: None,
                depth: &depth,
            },
            &eval,
            &[],
        ));
    }
    Ok(if eval.passed {
        exit::SUCCESS
    } else {
        exit::FAILED
    })
}
