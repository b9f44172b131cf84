//! `orch artifact add`.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::error::Result;
use crate::ops::artifact::{self, AddOptions};
use crate::repo::Repo;
use crate::ui::{Ui, sanitize_line};
use crate::{exit, json};

#[derive(Debug, Args)]
pub struct ArtifactCommand {
    #[command(subcommand)]
    pub action: ArtifactAction,
}

#[derive(Debug, Subcommand)]
pub enum ArtifactAction {
    /// Register an artifact with a run: a URL, a pull request or a file.
    ///
    /// Recorded in RUN.json (`registered_artifacts`) with the gate, who
    /// added it and when (a file with its SHA-256). Contracts check for it
    /// with `artifact_exists` (`{"artifact_type": "url", "label": "Chromatic"}`).
    Add(AddArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KindArg {
    Url,
    File,
    PullRequest,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Run id, or any unique prefix or suffix of one.
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// The gate it belongs to.
    #[arg(long, value_name = "GATE")]
    pub gate: String,
    /// What it is.
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub kind: KindArg,
    /// Its name, as contracts look for it (e.g. Chromatic).
    #[arg(long)]
    pub label: String,
    /// The address (url, pull_request).
    #[arg(long)]
    pub url: Option<String>,
    /// The repo-relative file (file).
    #[arg(long)]
    pub path: Option<String>,
    /// Print what was recorded as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn execute(cmd: ArtifactCommand, repo: &Repo, ui: &Ui) -> Result<u8> {
    let ArtifactAction::Add(args) = cmd.action;
    let kind = match args.kind {
        KindArg::Url => "url",
        KindArg::File => "file",
        KindArg::PullRequest => "pull_request",
    };
    let (run_id, added) = artifact::add(
        repo,
        &AddOptions {
            run: args.run,
            gate: args.gate,
            kind: kind.to_string(),
            label: args.label,
            url: args.url,
            path: args.path,
        },
    )?;
    if args.json {
        ui.out(&json::to_pretty_string(
            &json!({ "run_id": run_id, "artifact": added }),
        ));
    } else {
        ui.line(&format!(
            "added {} `{}` to {run_id} ({}): {}",
            added.kind,
            sanitize_line(&added.label),
            added.gate,
            sanitize_line(added.url.as_deref().or(added.path.as_deref()).unwrap_or(""))
        ));
    }
    Ok(exit::SUCCESS)
}
