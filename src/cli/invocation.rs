//! `orch invocation …`: record agent invocations.

use clap::{Args, Subcommand, ValueEnum};

use crate::error::Result;
use crate::ops;
use crate::record::InvocationStatus;
use crate::repo::Repo;
use crate::ui::Ui;
use crate::{exit, json};

#[derive(Debug, Args)]
pub struct InvocationCommand {
    #[command(subcommand)]
    pub action: InvocationAction,
}

#[derive(Debug, Subcommand)]
pub enum InvocationAction {
    /// Record that an agent was invoked for a gate, linked to the gate's
    /// current attempt.
    Record(RecordArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum StatusArg {
    Success,
    Fail,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Run id, or any unique prefix or suffix of one.
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// Gate code (e.g. G2).
    #[arg(long)]
    pub gate: String,
    /// The agent that was invoked.
    #[arg(long)]
    pub agent: String,
    /// How the invocation ended.
    #[arg(long, value_enum, ignore_case = true, default_value_t = StatusArg::Success)]
    pub status: StatusArg,
    /// Print the recorded invocation as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn execute(cmd: InvocationCommand, repo: &Repo, ui: &Ui) -> Result<u8> {
    match cmd.action {
        InvocationAction::Record(args) => {
            let status = match args.status {
                StatusArg::Success => InvocationStatus::Success,
                StatusArg::Fail => InvocationStatus::Fail,
            };
            let (run_id, inv) =
                ops::invocation::record(repo, &args.run, &args.gate, &args.agent, status)?;
            if args.json {
                ui.out(&json::to_pretty_string(&inv));
            } else {
                ui.line(&inv.id);
                ui.note(&format!(
                    "recorded for {} attempt {} of {run_id}",
                    inv.gate,
                    inv.attempt.unwrap_or_default()
                ));
            }
            Ok(exit::SUCCESS)
        }
    }
}
