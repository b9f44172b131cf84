//! `orch recipe validate` (and the recipe checks of `orch lint`): what
//! would stop or surprise a workflow's recipes before it runs.
//!
//! Errors: a skill a gate uses does not exist; a `fully_auto` gate uses
//! skills that are not vetted (it would wait for a person's approval to
//! start); an automation level or on-fail value orch does not know.
//! Warnings: no gate blocks the run; a skill has no description; a step has
//! no timeout; an `auto_notify` gate uses skills that are not vetted.
//!
//! The JSON (`--json`), as the seed's recipe validation has it:
//!
//! ```json
//! { "valid": false, "errors": ["G1: fully_auto, but skill `essay-intake` is experimental: …"],
//!   "warnings": ["G2: step 1 (essay-research) has no timeout_s"],
//!   "skills": [{"id": "essay-intake", "found": true, "trust": "experimental", "source": "local"}] }
//! ```

use serde::Serialize;
use serde_json::Value;

use super::level::{Judge, gate_skills};
use super::{Automation, OnFail};
use crate::contract::Contract;
use crate::repo::Repo;
use crate::workflow::{self, Workflow};

/// One skill a workflow uses.
#[derive(Clone, Debug, Serialize)]
pub struct SkillEntry {
    pub id: String,
    pub found: bool,
    pub trust: Option<String>,
    pub source: String,
}

/// The outcome of validating one workflow's recipes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub valid: bool,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub skills: Vec<SkillEntry>,
}

/// Values of `automation` and `on_fail` orch does not know, found in the
/// raw JSON (so they are reported by name, gate by gate).
fn unknown_values(text: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for g in v
        .get("gates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let gate = g.get("gate").and_then(Value::as_str).unwrap_or("?");
        if let Some(a) = g.get("automation") {
            let known = serde_json::from_value::<Automation>(a.clone()).is_ok();
            if !known {
                out.push(format!(
                    "{gate}: unknown automation level {a} (known: {})",
                    Automation::ALL.map(Automation::as_str).join(", ")
                ));
            }
        }
        if let Some(f) = g.get("on_fail")
            && serde_json::from_value::<OnFail>(f.clone()).is_err()
        {
            out.push(format!(
                "{gate}: unknown on_fail value {f} (known: stay, revert, create_questions, review_required)"
            ));
        }
    }
    out
}

/// Validates the recipes of the workflow in `text` (shown as `shown`).
pub fn validate_text(repo: &Repo, judge: &Judge, text: &str, shown: &str) -> Report {
    let unknown = unknown_values(text);
    if !unknown.is_empty() {
        return Report {
            valid: false,
            errors: unknown,
            ..Report::default()
        };
    }
    match workflow::parse(text, shown) {
        Ok(wf) => validate(repo, judge, &wf),
        Err(e) => Report {
            valid: false,
            errors: vec![e.to_string()],
            ..Report::default()
        },
    }
}

/// Validates a parsed workflow's recipes.
pub fn validate(repo: &Repo, judge: &Judge, wf: &Workflow) -> Report {
    let mut r = Report::default();
    let mut any_blocking = false;
    for g in &wf.gates {
        let contract = Contract::for_workflow_gate(repo, g).ok();
        any_blocking |= contract.as_ref().is_none_or(|c| c.blocking);
        let level = g.automation_or_default(g.executor.is_some());
        let mut not_vetted = Vec::new();
        for id in gate_skills(g, contract.as_ref()) {
            let s = judge.skill(&id);
            if !r.skills.iter().any(|k| k.id == id) {
                r.skills.push(SkillEntry {
                    id: id.clone(),
                    found: s.found,
                    trust: s.trust.map(|t| t.to_string()),
                    source: s.source.clone(),
                });
                if s.found && !s.described {
                    r.warnings
                        .push(format!("skill `{id}` has no description in its SKILL.md"));
                }
            }
            if !s.found {
                r.errors.push(format!("{}: {}", g.gate, s.why));
            } else if s.trust != Some(crate::skill::Trust::Vetted) {
                not_vetted.push(format!(
                    "skill `{id}` is {}: {}",
                    s.trust.map_or("experimental", crate::skill::Trust::as_str),
                    s.why
                ));
            }
        }
        if !not_vetted.is_empty() {
            match level {
                Automation::FullyAuto => r.errors.push(format!(
                    "{}: fully_auto, but only vetted skills run without a person ({}); vet them (orch skill vet) or make the gate human_approval",
                    g.gate,
                    not_vetted.join("; ")
                )),
                Automation::AutoNotify => r.warnings.push(format!(
                    "{}: auto_notify, but it will wait for a person's approval to start: {}",
                    g.gate,
                    not_vetted.join("; ")
                )),
                _ => {}
            }
        }
        for (i, step) in g.steps.iter().enumerate() {
            if step.timeout_s.is_none() {
                r.warnings.push(format!(
                    "{}: step {} ({}) has no timeout_s (the executor's limit, or 1800 s, applies)",
                    g.gate,
                    i + 1,
                    step.skill
                ));
            }
        }
    }
    if !any_blocking {
        r.warnings
            .push("no gate is blocking: a failure would never stop the run".to_string());
    }
    r.valid = r.errors.is_empty();
    r
}

/// Every workflow in the repository, by name, with its report (a file
/// that does not parse is reported as such).
pub fn validate_all(repo: &Repo, judge: &Judge) -> Vec<(String, Report)> {
    workflow::files(repo)
        .into_iter()
        .map(|path| {
            let shown = repo.display(&path);
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let report = match crate::storage::regular::read_to_string(&path) {
                Ok(text) => validate_text(repo, judge, &text, &shown),
                Err(e) => Report {
                    valid: false,
                    errors: vec![crate::error::Error::read(&shown, e).to_string()],
                    ..Report::default()
                },
            };
            (name, report)
        })
        .collect()
}
