//! `orch invocation …`: record agent invocations.

use clap::{Args, Subcommand, ValueEnum};

use crate::error::Result;
use crate::ops;
use crate::ops::invocation::Details;
use crate::record::{InvocationStatus, Usage};
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
    ///
    /// On a gate with no attempt yet, the invocation is recorded for the
    /// gate and linked to no attempt (with a warning).
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
    /// The agent's session or thread id, if it reported one.
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,
    /// Input tokens the agent reported.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub input_tokens: Option<u64>,
    /// Output tokens the agent reported.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub output_tokens: Option<u64>,
    /// Cost in US dollars the agent reported (recorded as `reported`).
    #[arg(long, value_name = "USD", allow_negative_numbers = true)]
    pub cost_usd: Option<f64>,
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
            if args.cost_usd.is_some_and(|c| !(0.0..=1e9).contains(&c)) {
                return Err(crate::error::Error::input(
                    "--cost-usd must be a number of US dollars from 0 to 1e9",
                )
                .hint("give the cost the agent reported, e.g. --cost-usd 0.42; leave it out when unknown (never 0)"));
            }
            let usage =
                (args.input_tokens.is_some() || args.output_tokens.is_some()).then(|| Usage {
                    input_tokens: args.input_tokens.unwrap_or(0),
                    output_tokens: args.output_tokens.unwrap_or(0),
                    ..Usage::default()
                });
            let details = Details {
                session_id: args.session_id.clone(),
                usage,
                cost_usd: args.cost_usd,
            };
            let (run_id, inv) = ops::invocation::record(
                repo,
                &args.run,
                &args.gate,
                &args.agent,
                status,
                &details,
            )?;
            if inv.attempt.is_none() {
                ui.warn(&format!(
                    "{} has no attempt yet: the invocation is recorded for the gate, linked to no attempt (start one first to link the next: {})",
                    inv.gate,
                    crate::ui::orch_command(&format!(
                        "gate start --run {run_id} --gate {} --agent {}",
                        inv.gate,
                        crate::ui::command_line(std::slice::from_ref(&args.agent))
                    ))
                ));
            }
            if args.json {
                ui.out(&json::to_pretty_string(&inv));
            } else {
                ui.line(&inv.id);
                if let Some(n) = inv.attempt {
                    ui.note(&format!(
                        "recorded for {} attempt {n} of {run_id}",
                        inv.gate
                    ));
                }
            }
            Ok(exit::SUCCESS)
        }
    }
}
