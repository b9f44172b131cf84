//! `on_fail: create_questions`: when an attempt fails, orch turns each
//! reason into a question in `{artifact_path}/QUESTIONS.md` and pauses the
//! run for a person. They answer under each question (or fix the inputs),
//! then `orch run resume` starts a new attempt whose packet carries the
//! file, answers included. Earlier rounds stay in the file, newest last.

use std::fmt::Write;

use crate::error::{Error, Result};
use crate::record::Attempt;
use crate::repo::Repo;

/// The file's name inside the artifact path.
pub const FILE: &str = "QUESTIONS.md";

/// Appends the questions for failed attempt `a` of `gate`; returns the
/// file's repo-relative path.
pub fn write(
    repo: &Repo,
    artifact_path: &str,
    run_id: &str,
    gate: &str,
    a: &Attempt,
) -> Result<String> {
    let rel = format!("{}/{FILE}", artifact_path.trim_end_matches('/'));
    let path = repo
        .contain(&rel)
        .map_err(|e| e.into_error("questions file"))?;
    let mut text = crate::storage::regular::read_to_string(&path.abs).unwrap_or_default();
    if text.is_empty() {
        text.push_str("# Questions\n\norch writes a section here when a gate whose `on_fail` is `create_questions` fails.\nAnswer under each question, then run `orch run resume`: the next attempt's\nprompt packet includes this file.\n");
    }
    let _ = write!(text, "\n## {gate} attempt {} ({run_id})\n\n", a.attempt);
    let mut asks: Vec<String> = a
        .validations
        .iter()
        .filter(|v| v.is_blocking_failure())
        .map(|v| {
            let at = v
                .path
                .as_deref()
                .map(|p| format!(" `{p}`"))
                .unwrap_or_default();
            format!(
                "`{}`{at} failed: {}",
                v.kind,
                v.reason.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    asks.extend(a.quality_checks.iter().filter(|q| q.blocks()).map(|q| {
        format!(
            "quality check `{}` failed: {}",
            q.name,
            q.reason.as_deref().unwrap_or("failed")
        )
    }));
    if asks.is_empty() {
        asks.push(
            a.failure_reason
                .clone()
                .unwrap_or_else(|| "the attempt failed".to_string()),
        );
    }
    for (i, what) in asks.iter().enumerate() {
        let _ = write!(
            text,
            "{}. {}\n   How should the next attempt deal with this?\n   Answer: \n\n",
            i + 1,
            crate::ui::sanitize_line(what)
        );
    }
    if let Some(parent) = path.abs.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::write(&rel, e))?;
    }
    crate::storage::write_atomic(&path.abs, text.as_bytes()).map_err(|e| Error::write(&rel, e))?;
    Ok(rel)
}
