//! `--format` and `--output` for `lint` and `verify`, in one place.

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use crate::error::{Error, Result};
use crate::report::findings::{Document, Format, render, step_summary};
use crate::storage::write_atomic;
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

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
            FormatArg::Junit => Format::Junit,
            FormatArg::Github => Format::Github,
        }
    }
}

/// Prints (or writes to `output`) the document, appends the GitHub step
/// summary when asked for, and returns the exit code.
pub fn emit(doc: &Document, format: FormatArg, output: Option<&PathBuf>, ui: &Ui) -> Result<u8> {
    let text = match output {
        Some(_) => render(doc, format.into(), &Ui::plain()),
        None => render(doc, format.into(), ui),
    };
    match output {
        Some(path) => {
            write_atomic(path, text.as_bytes()).map_err(|e| Error::write(path.display(), e))?;
        }
        None => ui.out(&text),
    }
    if matches!(format, FormatArg::Github)
        && let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty())
    {
        let path = PathBuf::from(summary);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(step_summary(doc).as_bytes()))
            .map_err(|e| Error::write(path.display(), e))?;
    }
    Ok(if doc.ok() {
        crate::exit::SUCCESS
    } else {
        crate::exit::FAILED
    })
}
