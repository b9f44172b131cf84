//! `--format` and `--output` for `lint` and `verify`, in one place.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::error::{Error, Result};
use crate::report::findings::{Format, Report};
use crate::storage::atomic::write_atomic_with;
use crate::ui::Ui;

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum FormatArg {
    /// For people.
    #[default]
    Human,
    /// One JSON document.
    Json,
    /// JUnit XML: one testsuite per group, one testcase per case.
    Junit,
    /// GitHub Actions annotations, and a Markdown table in $GITHUB_STEP_SUMMARY.
    Github,
}

/// How `lint` and `verify` report.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
    /// The same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Write the report to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Human format: show only what has an error or warning, and the
    /// summary line (what the pre-commit hook uses).
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl ReportArgs {
    fn format(&self) -> Format {
        if self.json {
            return Format::Json;
        }
        match self.format {
            FormatArg::Human => Format::Human { quiet: self.quiet },
            FormatArg::Json => Format::Json,
            FormatArg::Junit => Format::Junit,
            FormatArg::Github => Format::Github,
        }
    }
}

/// Prints (or writes to `--output`) the report of `tool` whose groups
/// `fill` adds one by one, appends the GitHub step summary when asked for,
/// and returns the exit code.
pub fn emit(
    args: &ReportArgs,
    ui: &Ui,
    tool: &str,
    fill: impl FnOnce(&mut Report) -> Result<()>,
) -> Result<u8> {
    let format = args.format();
    let output = args.output.as_ref();
    let mut report = match output {
        Some(_) => Report::new(tool, format, &Ui::plain()),
        None => Report::new(tool, format, ui),
    };
    fill(&mut report)?;
    match output {
        Some(path) => {
            write_atomic_with(path, |w| report.write_to(w))
                .map_err(|e| Error::write(path.display(), e))?;
        }
        None => ui.out_with(|w| report.write_to(w)),
    }
    if matches!(format, Format::Github)
        && let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty())
    {
        let path = PathBuf::from(summary);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(report.step_summary().as_bytes()))
            .map_err(|e| Error::write(path.display(), e))?;
    }
    Ok(if report.ok() {
        crate::exit::SUCCESS
    } else {
        crate::exit::FAILED
    })
}
