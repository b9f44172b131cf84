//! `orch recipe validate`: checks workflows' recipes (automation levels,
//! skills and their trust, on-fail values, steps) before a run trips over them.

use std::fmt::Write;

use clap::{Args, Subcommand};

use crate::error::Result;
use crate::recipe::check::{self, Report};
use crate::recipe::level::Judge;
use crate::repo::Repo;
use crate::ui::{Style, Ui, sanitize_line};
use crate::workflow::LoadedWorkflow;
use crate::{exit, json};

#[derive(Debug, Args)]
pub struct RecipeCommand {
    #[command(subcommand)]
    pub action: RecipeAction,
}

#[derive(Debug, Subcommand)]
pub enum RecipeAction {
    /// Validate a workflow's recipes (every workflow without WORKFLOW).
    ///
    /// Errors: a skill a gate uses does not exist; a fully_auto gate uses
    /// skills that are not vetted; an unknown automation level or on_fail
    /// value. Warnings: no blocking gate; a skill with no description; a
    /// step without timeout_s; an auto_notify gate whose skills are not
    /// vetted. Exits 1 when there is an error. Skills' trust is judged
    /// against orchestration/allowed_signers at the trusted revision.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A workflow name (orchestration/workflows/<name>.json) or path.
    #[arg(value_name = "WORKFLOW")]
    pub workflow: Option<String>,
    #[command(flatten)]
    pub trusted: super::approve::TrustArgs,
    /// Print {"valid", "errors", "warnings", "skills"} as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn execute(cmd: RecipeCommand, repo: &Repo, ui: &Ui) -> Result<u8> {
    let RecipeAction::Validate(args) = cmd.action;
    let judge = Judge::new(repo, args.trusted.trusted_rev.as_deref());
    let reports: Vec<(String, Report)> = match &args.workflow {
        Some(spec) => {
            // Read the file without parsing it first, so an unknown
            // automation level is reported by name rather than stopping here.
            let path = if crate::workflow::is_path_spec(spec) {
                std::path::PathBuf::from(spec)
            } else {
                let found = crate::storage::layout::workflow_candidates(spec)
                    .into_iter()
                    .map(|rel| repo.join(&rel))
                    .find(|p| p.is_file());
                match found {
                    Some(p) => p,
                    None => {
                        return Err(LoadedWorkflow::find(repo, spec).err().unwrap_or_else(|| {
                            crate::error::Error::input(format!("no workflow named `{spec}`"))
                        }));
                    }
                }
            };
            let shown = repo.display(&path);
            let text = json::read_text(&path, &shown)?;
            let name = path
                .file_stem()
                .map_or_else(|| spec.clone(), |s| s.to_string_lossy().into_owned());
            vec![(name, check::validate_text(repo, &judge, &text, &shown))]
        }
        None => check::validate_all(repo, &judge),
    };
    let valid = reports.iter().all(|(_, r)| r.valid);
    if args.json {
        let doc = match reports.as_slice() {
            [(_, one)] if args.workflow.is_some() => serde_json::to_value(one).unwrap_or_default(),
            many => merged(many),
        };
        ui.out(&json::to_pretty_string(&doc));
    } else {
        let mut out = String::new();
        for (name, r) in &reports {
            let verdict = if r.valid {
                ui.paint(Style::Pass, "valid")
            } else {
                ui.paint(Style::Fail, "invalid")
            };
            let _ = writeln!(
                out,
                "{} {verdict} ({} error(s), {} warning(s))",
                ui.paint(Style::Bold, &sanitize_line(name)),
                r.errors.len(),
                r.warnings.len()
            );
            for e in &r.errors {
                let _ = writeln!(
                    out,
                    "  {} {}",
                    ui.paint(Style::Fail, "error:"),
                    sanitize_line(e)
                );
            }
            for w in &r.warnings {
                let _ = writeln!(
                    out,
                    "  {} {}",
                    ui.paint(Style::Warn, "warning:"),
                    sanitize_line(w)
                );
            }
            for s in &r.skills {
                let trust = match (&s.trust, s.found) {
                    (_, false) => "missing".to_string(),
                    (Some(t), true) => t.clone(),
                    (None, true) => "unknown".to_string(),
                };
                let _ = writeln!(
                    out,
                    "  skill {} {} ({})",
                    sanitize_line(&s.id),
                    trust,
                    sanitize_line(&s.source)
                );
            }
        }
        if reports.is_empty() {
            ui.note("no workflows in orchestration/workflows/");
        }
        ui.out(&out);
    }
    Ok(if valid { exit::SUCCESS } else { exit::FAILED })
}

/// Several workflows' reports as one document of the same shape, each
/// message prefixed with its workflow.
fn merged(reports: &[(String, Report)]) -> serde_json::Value {
    let mut all = Report {
        valid: reports.iter().all(|(_, r)| r.valid),
        ..Report::default()
    };
    for (name, r) in reports {
        all.errors
            .extend(r.errors.iter().map(|e| format!("{name}: {e}")));
        all.warnings
            .extend(r.warnings.iter().map(|w| format!("{name}: {w}")));
        for s in &r.skills {
            if !all.skills.iter().any(|k| k.id == s.id) {
                all.skills.push(s.clone());
            }
        }
    }
    let mut v = serde_json::to_value(&all).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "workflows".into(),
            reports.iter().map(|(n, _)| n.clone()).collect(),
        );
    }
    v
}
