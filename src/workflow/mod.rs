//! Workflow definitions: the ordered gates of a pipeline, where each gate's
//! contract and prompt template live, and (optionally) how it is executed,
//! when it runs (`condition`) and who must approve it.

pub mod condition;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::approval::ApprovalPolicy;
use crate::error::{Error, Result};
use crate::json;
use crate::recipe::{Automation, OnFail, Step};
use crate::repo::{Repo, is_safe_component};
use crate::storage::layout;
pub use condition::Condition;

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
    /// Regex for the URL an agent prints that is recorded as a gate's
    /// `outputs_uri` (default: GitHub and GitLab pull-request URLs).
    pub outputs_uri_pattern: Option<String>,
    /// The model every gate's agent uses unless the gate names its own.
    pub model: Option<String>,
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

/// US dollars per million tokens, to estimate what an invocation cost when
/// the agent does not report it.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema)]
pub struct Pricing {
    /// Dollars per million input tokens (and tokens written to a cache).
    pub input_per_mtok: f64,
    /// Dollars per million output tokens.
    pub output_per_mtok: f64,
    /// Dollars per million input tokens read from a cache (default: the input price).
    #[serde(default)]
    pub cached_input_per_mtok: Option<f64>,
}

/// One gate of a workflow.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
pub struct WorkflowGate {
    /// The gate's code, e.g. "G1": unique in the workflow, and a folder name
    /// in records (letters, digits, `.`, `_`, `-`).
    pub gate: String,
    /// What the gate is, for people (e.g. "Intake Approval").
    #[serde(default)]
    pub name: Option<String>,
    /// Who does the gate, as recorded on each attempt (default: the
    /// command's name, or "person").
    #[serde(default)]
    pub agent: Option<String>,
    /// Repo-relative path of the gate's contract (default:
    /// orchestration/gates/contracts/<gate>.contract.json).
    #[serde(default)]
    pub contract: Option<String>,
    /// The prompt template's name: orchestration/prompts/<name>.md, put in
    /// the gate's prompt packet. May use {slug}, {artifact_path}, {depth},
    /// {run_id}, {gate}, {gate_name}, {attempt} and {agent}.
    #[serde(default)]
    pub prompt_template: Option<String>,
    /// What the gate is for, in a sentence.
    #[serde(default)]
    pub description: Option<String>,
    /// A label grouping gates (e.g. "Research"); orch shows it, nothing more.
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
    /// Signed approvals the gate needs before it passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalPolicy>,
    /// Run the gate only when this holds; otherwise it is SKIPPED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// Overrides the workflow's `outputs_uri_pattern` for this gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_uri_pattern: Option<String>,
    /// How much runs without a person: `fully_auto` (default with a
    /// command), `auto_notify`, `human_approval` (a signed approval before
    /// the agent starts) or `manual` (default without a command: a person
    /// does the work). Skills that are not vetted lower it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automation: Option<Automation>,
    /// Recipe steps: each one agent invocation in the attempt, running a skill.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// What happens when an attempt fails: `stay` (default), `revert`,
    /// `create_questions` or `review_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_fail: Option<OnFail>,
    /// The model for this gate's agent: `{model}` in its command, and
    /// `ORCH_MODEL` in its environment (`--model` and `ORCH_MODEL` win).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `"contract": null`: the gate has no contract, and its command's exit
    /// code decides (0 passes). Read from the file, not a field of its own.
    #[serde(skip)]
    #[schemars(skip)]
    pub no_contract: bool,
}

impl WorkflowGate {
    /// The gate's automation level as written, else its default.
    pub fn automation_or_default(&self, has_command: bool) -> Automation {
        self.automation
            .unwrap_or_else(|| Automation::default_for(has_command))
    }

    pub fn on_fail(&self) -> OnFail {
        self.on_fail.unwrap_or_default()
    }

    /// The repo-relative contract path: the one named, or the conventional one.
    pub fn contract_path(&self) -> String {
        self.contract
            .clone()
            .unwrap_or_else(|| layout::default_contract(&self.gate))
    }

    /// The contract file, or `None` for a gate with `"contract": null`.
    pub fn contract_file(&self) -> Option<String> {
        (!self.no_contract).then(|| self.contract_path())
    }

    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.gate)
    }
}

/// A workflow: the ordered gates of a pipeline (orchestration/workflows/<name>.json).
#[derive(Deserialize, JsonSchema)]
pub(crate) struct RawWorkflow<'a> {
    /// The workflow's name, as `orch run <name>` takes it and records name it.
    workflow: String,
    /// A version label, recorded with each run.
    #[serde(default)]
    version: Option<String>,
    /// What the workflow does, for people.
    #[serde(default)]
    description: Option<String>,
    /// The folder for a run's outputs when `--artifact-path` is not given;
    /// may use {slug}, e.g. "essays/{slug}".
    #[serde(default)]
    default_artifact_path: Option<String>,
    /// The most attempts one `orch run` or `resume` makes, retries and
    /// rewinds included (default: three per gate).
    #[serde(default)]
    max_attempts: Option<u32>,
    /// Regex for the URL an agent prints that is recorded as a gate's
    /// `outputs_uri` (default: GitHub and GitLab pull-request URLs).
    #[serde(default)]
    outputs_uri_pattern: Option<String>,
    /// The model every gate's agent uses unless the gate names its own.
    #[serde(default)]
    model: Option<String>,
    /// Where editors find this file's JSON Schema (orch ignores it).
    #[serde(default, rename = "$schema")]
    #[allow(dead_code)]
    schema: Option<String>,
    /// The gates, in the order they run.
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
        if let Some(near) = crate::suggest::closest(spec, available.iter().map(String::as_str)) {
            err = err.hint(format!("did you mean `{near}`?"));
        }
        err = if available.is_empty() {
            err.hint("`orch init` creates orchestration/ with an example workflow")
        } else {
            err.hint(format!("available workflows: {}", available.join(", ")))
        };
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
        return Err(json::error_at(shown, (1, 1), "workflow has no gates").hint(
            "list the gates in order, e.g. \"gates\": [{\"gate\": \"G1\", \"name\": \"Intake\"}]",
        ));
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
        let mut gate: WorkflowGate =
            serde_json::from_str(fragment.get()).map_err(|e| json::from_serde(&e, shown, pos))?;
        gate.no_contract = has_null_contract(fragment.get());
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
            return Err(
                json::error_at(shown, pos, format!("gate `{}` appears twice", gate.gate))
                    .hint("each gate code names one gate: rename or remove one of them"),
            );
        }
        check_execution(shown, pos, &gate, &gates)?;
        check_conditions(shown, pos, &gate)?;
        gates.push(gate);
    }
    if let Some(e) = raw
        .outputs_uri_pattern
        .as_deref()
        .and_then(|p| regex::Regex::new(p).err())
    {
        return Err(json::error_at(
            shown,
            (1, 1),
            format!("outputs_uri_pattern does not compile: {e}"),
        ));
    }
    Ok(Workflow {
        workflow: raw.workflow,
        version: raw.version,
        description: raw.description,
        default_artifact_path: raw.default_artifact_path,
        max_attempts: raw.max_attempts,
        outputs_uri_pattern: raw.outputs_uri_pattern,
        model: raw.model,
        gates,
    })
}

/// Whether a gate's JSON says `"contract": null`.
fn has_null_contract(fragment: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(fragment)
        .is_ok_and(|v| v.get("contract").is_some_and(serde_json::Value::is_null))
}

/// Checks a gate's `when`, `approval` and `outputs_uri_pattern`.
fn check_conditions(shown: &str, pos: (usize, usize), gate: &WorkflowGate) -> Result<()> {
    let problem = gate
        .when
        .as_ref()
        .and_then(Condition::problem)
        .or_else(|| {
            gate.approval
                .as_ref()
                .filter(|a| a.min_approvals == 0)
                .map(|_| "approval.min_approvals must be at least 1".to_string())
        })
        .or_else(|| {
            gate.outputs_uri_pattern
                .as_deref()
                .and_then(|p| regex::Regex::new(p).err())
                .map(|e| format!("outputs_uri_pattern does not compile: {e}"))
        });
    match problem {
        Some(p) => Err(json::error_at(
            shown,
            pos,
            format!("gate `{}`: {p}", gate.gate),
        )),
        None => Ok(()),
    }
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
    for (i, step) in gate.steps.iter().enumerate() {
        let problem = if !is_safe_component(&step.skill) {
            Some(format!("`{}` is not a skill id", step.skill))
        } else if step
            .timeout_s
            .is_some_and(|s| !s.is_finite() || s <= 0.0 || s > crate::env::MAX_SECONDS)
        {
            Some("timeout_s must be a positive number of seconds, at most 1e9".to_string())
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(json::error_at(
                shown,
                pos,
                format!("gate `{}`: step {}: {p}", gate.gate, i + 1),
            )
            .hint("a step is {\"skill\": \"<id of skills/<id>/>\", \"params\": {…}, \"timeout_s\": N, \"retries\": N}"));
        }
    }
    if gate.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
        return Err(json::error_at(
            shown,
            pos,
            format!("gate `{}`: model is empty", gate.gate),
        ));
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
                )
                .hint(format!("e.g. \"{name}\": 1800; leave it out for the default")));
            }
        }
    }
    Ok(())
}

/// Every workflow file of the repository (`orchestration/workflows/`,
/// then the Node runner's folder), sorted within each.
pub fn files(repo: &Repo) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in [layout::WORKFLOWS_DIR, layout::LEGACY_WORKFLOWS_DIR] {
        let Ok(entries) = std::fs::read_dir(repo.join(dir)) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
            .collect();
        found.sort();
        out.extend(found);
    }
    out
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
