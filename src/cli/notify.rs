//! `orch notify retry` and `orch notify test`.

use clap::builder::FalseyValueParser;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::error::Result;
use crate::notify::{self, Status};
use crate::repo::Repo;
use crate::ui::{Ui, sanitize_line};
use crate::{env, exit, json};

#[derive(Debug, Args)]
pub struct NotifyCommand {
    #[command(subcommand)]
    pub action: NotifyAction,
}

#[derive(Debug, Subcommand)]
pub enum NotifyAction {
    /// Send again the notifications still pending (not delivered after
    /// their tries, or recorded with --offline), and record how it went.
    Retry(RetryArgs),
    /// Send a sample notification to one target of orchestration/notify.json
    /// (records nothing). Exits 1 when it is not delivered.
    Test(TestArgs),
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Only this run (id, or unique prefix or suffix); default every run.
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// Record without sending.
    #[arg(long, env = env::OFFLINE, value_parser = FalseyValueParser::new())]
    pub offline: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The target's name in orchestration/notify.json.
    pub target: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn execute(cmd: NotifyCommand, repo: &Repo, ui: &Ui) -> Result<u8> {
    match cmd.action {
        NotifyAction::Retry(args) => {
            let done = notify::retry(repo, args.run.as_deref(), args.offline)?;
            let pending = done
                .iter()
                .filter(|(_, d)| d.status == Status::Pending)
                .count();
            if args.json {
                let items: Vec<_> = done
                    .iter()
                    .map(|(run, d)| json!({"run_id": run, "notification": d}))
                    .collect();
                ui.out(&json::to_pretty_string(&items));
            } else if done.is_empty() {
                ui.note("no notification is pending");
            } else {
                for (run, d) in &done {
                    let how = match d.status {
                        Status::Delivered => {
                            format!("delivered (HTTP {})", d.status_code.unwrap_or(0))
                        }
                        Status::Pending => format!(
                            "still pending: {}",
                            d.error.as_deref().unwrap_or("not sent")
                        ),
                    };
                    ui.line(&sanitize_line(&format!(
                        "{run} {} → {}: {how}",
                        d.event.as_str(),
                        d.target
                    )));
                }
            }
            Ok(if pending == 0 {
                exit::SUCCESS
            } else {
                exit::FAILED
            })
        }
        NotifyAction::Test(args) => {
            let sent = notify::test(repo, &args.target)?;
            if args.json {
                ui.out(&json::to_pretty_string(&json!({
                    "target": args.target,
                    "delivered": sent.delivered,
                    "status_code": sent.status_code,
                    "attempts": sent.attempts,
                    "error": sent.error,
                })));
            } else if sent.delivered {
                ui.line(&format!(
                    "delivered to {} (HTTP {})",
                    sanitize_line(&args.target),
                    sent.status_code.unwrap_or(0)
                ));
            } else {
                ui.line(&format!(
                    "not delivered to {} after {} request(s): {}",
                    sanitize_line(&args.target),
                    sent.attempts,
                    sanitize_line(sent.error.as_deref().unwrap_or("unknown"))
                ));
            }
            Ok(if sent.delivered {
                exit::SUCCESS
            } else {
                exit::FAILED
            })
        }
    }
}
