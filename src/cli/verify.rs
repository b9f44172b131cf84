//! `orch verify`.

use clap::Args;
use clap::builder::FalseyValueParser;

use super::findings::{ReportArgs, emit};
use crate::error::Result;
use crate::repo::Repo;
use crate::ui::Ui;
use crate::{env, verify};

/// Which runs to verify: named ones, all of them, or those a commit touches.
#[derive(Debug, Args)]
pub struct Which {
    /// Verify this run (id, or unique prefix or suffix); repeat for several.
    #[arg(long = "run", value_name = "ID")]
    pub runs: Vec<String>,
    /// Verify every run (the default when no --run is given).
    #[arg(long, conflicts_with = "runs")]
    pub all: bool,
    /// Only the runs the next commit touches: their staged record files,
    /// workflow, contracts or recorded outputs (what the pre-commit hook uses).
    #[arg(long, conflicts_with_all = ["runs", "all"])]
    pub staged: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub which: Which,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Skip url_reachable checks when re-running contracts.
    #[arg(long, env = env::OFFLINE, value_parser = FalseyValueParser::new())]
    pub offline: bool,
    /// Check every run afresh, ignoring (and not updating) the cache in
    /// .git/orch/ (what each run was found to be, and every file it
    /// depended on).
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub trust: super::approve::TrustArgs,
}

pub fn execute(args: &VerifyArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let staged = if args.which.staged {
        Some(verify::staged_paths(repo)?)
    } else {
        None
    };
    let opts = verify::Options {
        runs: if args.which.all {
            Vec::new()
        } else {
            args.which.runs.clone()
        },
        offline: args.offline,
        cache: !args.no_cache,
        staged: staged.clone(),
        trusted_rev: args.trust.trusted_rev.clone(),
    };
    emit(&args.report, ui, "verify", |report| {
        // The commit must not take a run's logs, a lock or a temporary file.
        if let Some(group) = staged.as_ref().and_then(crate::hooks::forbidden_staged) {
            report
                .add(&group)
                .map_err(|e| crate::error::Error::write("the report", e))?;
        }
        verify::verify(repo, &opts, report)
    })
}
