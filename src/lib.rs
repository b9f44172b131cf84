//! orch runs multi-step, agent-driven workflows inside a git repository and
//! keeps a durable, reviewable record of every run.
//!
//! The layers: `cli` (clap types, rendering) calls `ops` (plain functions
//! over plain options), which use the concepts — `workflow`, `contract`,
//! `validate`, `record`, `storage`, `hash`, `exec`. Nothing below `cli`
//! knows about the command line.

pub mod approval;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod contract;
pub mod env;
pub mod error;
pub mod exec;
pub mod exit;
pub mod hash;
pub mod hooks;
pub mod init;
pub mod interrupt;
pub mod isolate;
pub mod json;
pub mod lease;
pub mod lint;
pub mod notify;
pub mod ops;
pub mod packet;
pub mod paging;
pub mod par;
pub mod publish;
pub mod quality;
pub mod queue;
pub mod recipe;
pub mod record;
pub mod repo;
pub mod report;
pub mod review;
pub mod schema;
pub mod skill;
pub mod stats;
pub mod storage;
pub mod suggest;
pub mod ui;
pub mod validate;
pub mod verify;
pub mod workflow;

use clap::Parser;

/// The whole program: parse arguments, run, report, exit.
pub fn main() -> std::process::ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let ui = ui::Ui::new(ui::ColorChoice::Auto);
            return std::process::ExitCode::from(cli::usage::report(&e, &ui));
        }
    };
    let ui = ui::Ui::new(cli.color.into());
    for problem in env::ignored() {
        ui.warn(&problem);
    }
    match cli::execute(cli, &ui) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            ui.error(&e.to_string(), &e.hints());
            std::process::ExitCode::from(e.exit_code())
        }
    }
}
