//! Workflow definitions: the ordered gates of a pipeline, where each gate's
//! contract and prompt template live, and (optionally) how it is executed.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::json;
use crate::repo::{Repo, is_safe_component};
use crate::storage::layout;

/// A workflow file (FORMATS.md, "Workflow").
#[derive(Clone, Debug, Serialize)]
pub struct Workflow {
    pub workflow: String,
    pub version: Option<String>,
    pub description: Option<String>,
    /// Used by `run start` when `--artifact-path` is not given; may use `{slug}`.
    pub default_artifact_path: Option<String>,
    /// Bound on attempts in one `orch run`/`resume` (retries and rewinds
    /// included); default three per gate.
    pub max_attempts: Option<u32>,
    pub gates: Vec<WorkflowGate>,
}

impl Workflow {
    pub fn attempt_budget(&self) -> u32 {
        let gates = u32::try_from(self.gates.len()).unwrap_or(u32::MAX);
        self.max_attempts
            .unwrap_or(gates.saturating_mul(3))
            .max(gates)
    }

    pub fn index_of(&self, gate: &str) -> Option<usize> {
        self.gates.iter().position(|g| g.gate == gate)
    }
}

/// How a gate's work is done when it names a command (else a person does it).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct ExecutorSpec {
    /// The program and its arguments; no shell unless you write `sh -c`.
    pub command: Vec<String>,
    /// Seconds the agent may run in all (default 1800).
    #[serde(default)]
    pub timeout_s: Option<f64>,
    /// Seconds the agent may go without printing anything (default: no limit).
    #[serde(default)]
    pub idle_timeout_s: Option<f64>,
    /// Bytes of stdout and of stderr kept in the logs (default 10 MiB each).
    #[serde(default)]
    pub max_output_bytes: Option<u64>,
    /// Times an agent that reports `{"status": "continue"}` is run again (default 3).
    #[serde(default)]
    pub max_continues: Option<u32>,
    /// Prices to estimate cost when the agent does not report it.
    #[serde(default)]
    pub pricing: Option<Pricing>,
}

/// US dollars per million tokens.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Pricing {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    #[serde(default)]
    pub cached_input_per_mtok: Option<f64>,
}

/// One gate of a workflow.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct WorkflowGate {
    pub gate: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub contract: Option<String>,
    #[serde(default)]
    pub prompt_template: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub phase: Option<String>,
    /// Runs a command-line agent; without it a person does the gate.
    #[serde(default)]
    pub executor: Option<ExecutorSpec>,
    /// Extra attempts after a failure (default 0 for people, 1 for agents).
    #[serde(default)]
    pub retries: Option<u32>,
    /// On failure, go back to this (earlier) gate instead of retrying this one.
    #[serde(default)]
    pub retry_from: Option<String>,
}

impl WorkflowGate {
    /// The repo-relative contract path: the one named, or the conventional one.
    pub fn contract_path(&self) -> String {
        self.contract
            .clone()
            .unwrap_or_else(|| layout::default_contract(&self.gate))
    }

    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.gate)
    }
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct RawWorkflow<'a> {
    workflow: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    default_artifact_path: Option<String>,
    #[serde(default)]
    max_attempts: Option<u32>,
    /// Where editors find this file's JSON Schema (orch ignores it).
    #[serde(default, rename = "$schema")]
    #[allow(dead_code)]
    schema: Option<String>,
    #[serde(borrow)]
    #[schemars(with = "Vec<WorkflowGate>")]
    gates: Vec<&'a RawValue>,
}

/// A workflow and where it was read from.
#[derive(Clone, Debug)]
pub struct LoadedWorkflow {
    pub def: Workflow,
    /// The file as shown to users.
    pub shown: String,
    /// Repo-relative path when the file is inside the repository.
    pub rel: Option<String>,
}

impl LoadedWorkflow {
    /// Finds a workflow by name (`orchestration/workflows/<name>.json`, then the
    /// Node runner's `orchestration/runner/workflows/<name>.json`) or by path
    /// (anything ending in `.json` or containing `/`).
    pub fn find(repo: &Repo, spec: &str) -> Result<LoadedWorkflow> {
        let is_path = is_path_spec(spec);
        if is_path {
            let path = PathBuf::from(spec);
            return Self::load(repo, &path);
        }
        if !is_safe_component(spec) {
            return Err(Error::input(format!("`{spec}` is not a valid workflow name"))
                .hint("a workflow name is a file name under orchestration/workflows/, without `.json`"));
        }
        let candidates = layout::workflow_candidates(spec);
        for rel in &candidates {
            let path = repo.join(rel);
            if path.is_file() {
                return Self::load(repo, &path);
            }
        }
        let available = available(repo);
        let mut err = Error::input(format!("no workflow named `{spec}`")).hint(format!(
            "looked for {} and {}",
            candidates[0], candidates[1]
        ));
        if !available.is_empty() {
            err = err.hint(format!("available workflows: {}", available.join(", ")));
        }
        Err(err)
    }

    /// Loads a workflow file.
    pub fn load(repo: &Repo, path: &Path) -> Result<LoadedWorkflow> {
        let shown = repo.display(path);
        let text = json::read_text(path, &shown)?;
        let def = parse(&text, &shown)?;
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().map_or_else(|_| path.to_path_buf(), |d| d.join(path))
        };
        let rel = std::fs::canonicalize(&abs)
            .ok()
            .and_then(|p| repo.relative(&p));
        Ok(LoadedWorkflow { def, shown, rel })
    }

    pub fn gate(&self, code: &str) -> Result<&WorkflowGate> {
        self.def
            .gates
            .iter()
            .find(|g| g.gate == code)
            .ok_or_else(|| {
                Error::input(format!(
                    "workflow `{}` has no gate `{code}`",
                    self.def.workflow
                ))
                .hint(format!(
                    "its gates are: {}",
                    self.def
                        .gates
                        .iter()
                        .map(|g| g.gate.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}

/// Whether `--workflow` names a file (ends in `.json` or has a `/`) rather
/// than a workflow by name.
pub fn is_path_spec(spec: &str) -> bool {
    Path::new(spec)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || spec.contains('/')
}

/// Parses and checks a workflow's text.
pub fn parse(text: &str, shown: &str) -> Result<Workflow> {
    let raw: RawWorkflow = json::parse(text, shown)?;
    if raw.gates.is_empty() {
        return Err(json::error_at(shown, (1, 1), "workflow has no gates"));
    }
    if raw.max_attempts == Some(0) {
        let at = text.find("\"max_attempts\"").unwrap_or(0);
        return Err(json::error_at(
            shown,
            json::line_col(text, at),
            "max_attempts is 0: no gate could ever be attempted",
        )
        .hint("give the number of attempts one `orch run` may make in all (at least 1), or leave it out for three per gate"));
    }
    let mut gates: Vec<WorkflowGate> = Vec::with_capacity(raw.gates.len());
    for fragment in &raw.gates {
        let pos = json::line_col(text, json::fragment_offset(text, fragment.get()));
        let gate: WorkflowGate =
            serde_json::from_str(fragment.get()).map_err(|e| json::from_serde(&e, shown, pos))?;
        if !is_safe_component(&gate.gate) {
            return Err(json::error_at(
                shown,
                pos,
                format!(
                    "gate code `{}` cannot be used as a directory name",
                    gate.gate
                ),
            )
            .hint("use letters, digits, `.`, `_` and `-` (e.g. `G4.1`)"));
        }
        if gates.iter().any(|g| g.gate == gate.gate) {
            return Err(json::error_at(
                shown,
                pos,
                format!("gate `{}` appears twice", gate.gate),
            ));
        }
        check_execution(shown, pos, &gate, &gates)?;
        gates.push(gate);
    }
    Ok(Workflow {
        workflow: raw.workflow,
        version: raw.version,
        description: raw.description,
        default_artifact_path: raw.default_artifact_path,
        max_attempts: raw.max_attempts,
        gates,
    })
}

/// Checks a gate's execution settings against the gates before it.
fn check_execution(
    shown: &str,
    pos: (usize, usize),
    gate: &WorkflowGate,
    earlier: &[WorkflowGate],
) -> Result<()> {
    if let Some(t) = gate
        .prompt_template
        .as_deref()
        .filter(|t| !is_safe_component(t))
    {
        return Err(json::error_at(
            shown,
            pos,
            format!(
                "gate `{}`: prompt_template `{t}` is not a template name",
                gate.gate
            ),
        )
        .hint("name a file in orchestration/prompts/ without `.md`, e.g. \"G1\""));
    }
    if gate.retry_from.as_deref() == Some(gate.gate.as_str()) {
        return Err(json::error_at(
            shown,
            pos,
            format!(
                "gate `{}`: retry_from names the gate itself",
                gate.gate
            ),
        )
        .hint("retry_from names an earlier gate to go back to; to try this gate again, give it `retries`"));
    }
    if let Some(target) = &gate.retry_from
        && !earlier.iter().any(|g| g.gate == *target)
    {
        return Err(json::error_at(
            shown,
            pos,
            format!(
                "gate `{}`: retry_from `{target}` is not an earlier gate",
                gate.gate
            ),
        )
        .hint("retry_from names a gate that comes before this one in `gates`"));
    }
    if let Some(exec) = &gate.executor {
        if exec.command.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(
                json::error_at(shown, pos, format!("gate `{}`: executor.command is empty", gate.gate))
                    .hint("give the program and its arguments, e.g. [\"claude\", \"-p\", \"--output-format\", \"json\"]"),
            );
        }
        for (name, v) in [
            ("timeout_s", exec.timeout_s),
            ("idle_timeout_s", exec.idle_timeout_s),
        ] {
            if v.is_some_and(|s| !s.is_finite() || s <= 0.0 || s > crate::env::MAX_SECONDS) {
                return Err(json::error_at(
                    shown,
                    pos,
                    format!(
                        "gate `{}`: executor.{name} must be a positive number of seconds, at most 1e9",
                        gate.gate
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn available(repo: &Repo) -> Vec<String> {
    let mut names: Vec<String> = [layout::WORKFLOWS_DIR, layout::LEGACY_WORKFLOWS_DIR]
        .iter()
        .filter_map(|dir| std::fs::read_dir(repo.join(dir)).ok())
        .flat_map(Iterator::flatten)
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".json")
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gates_in_order() {
        let wf = parse(
            r#"{"workflow": "w", "gates": [{"gate": "G1", "name": "One"}, {"gate": "G2"}]}"#,
            "w.json",
        )
        .unwrap();
        assert_eq!(wf.gates.len(), 2);
        assert_eq!(
            wf.gates[1].contract_path(),
            "orchestration/gates/contracts/G2.contract.json"
        );
    }

    #[test]
    fn retry_from_must_name_an_earlier_gate() {
        let err = parse(
            r#"{"workflow": "w", "gates": [{"gate": "G1", "retry_from": "G2"}, {"gate": "G2"}]}"#,
            "w.json",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("retry_from `G2` is not an earlier gate"),
            "{err}"
        );
        let wf = parse(
            r#"{"workflow": "w", "gates": [{"gate": "G1"}, {"gate": "G2", "retry_from": "G1", "executor": {"command": ["true"]}}]}"#,
            "w.json",
        )
        .unwrap();
        assert_eq!(wf.attempt_budget(), 6);
        let err = parse(
            r#"{"workflow": "w", "gates": [{"gate": "G1", "executor": {"command": []}}]}"#,
            "w.json",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("executor.command is empty"),
            "{err}"
        );
    }

    #[test]
    fn bad_gate_codes_are_positioned() {
        let err = parse(
            "{\"workflow\": \"w\", \"gates\": [\n  {\"gate\": \"../G1\"}]}",
            "w.json",
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("w.json:2:3: gate code `../G1`"),
            "{err}"
        );
        let err = parse(
            "{\"workflow\": \"w\", \"gates\": [{\"gate\": 1}]}",
            "w.json",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid type: integer `1`, expected a string"),
            "{err}"
        );
    }
}
