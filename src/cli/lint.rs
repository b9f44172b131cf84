//! `orch lint`.

use std::path::PathBuf;

use clap::Args;

use super::findings::{ReportArgs, emit};
use crate::error::Result;
use crate::repo::Repo;
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Files or folders to lint (default: every workflow, contract, prompt
    /// template, skill and validator plugin in the repository).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
}

pub fn execute(args: &LintArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let doc = crate::lint::lint(repo, &args.paths)?;
    emit(&args.report, ui, &doc.tool, |report| {
        for g in &doc.groups {
            report
                .add(g)
                .map_err(|e| crate::error::Error::write("the report", e))?;
        }
        Ok(())
    })
}
