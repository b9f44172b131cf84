//! `orch lint`.

use std::path::PathBuf;

use clap::Args;

use super::findings::{FormatArg, emit};
use crate::error::Result;
use crate::repo::Repo;
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files or folders to lint (default: every workflow, contract, prompt
    /// template, skill and validator plugin in the repository).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn execute(args: &LintArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let doc = crate::lint::lint(repo, &args.paths)?;
    emit(&doc, args.format, args.output.as_ref(), ui)
}
