//! The prompt packet: everything the person or agent doing a gate needs, in
//! one text file. Run, gate and attempt; the original prompt; the gate's
//! instructions from its prompt template (which may name an earlier gate's
//! outputs, `{outputs.G2}`); the outputs earlier gates recorded, with their
//! hashes; the skills the contract injects and the recipe's steps; the
//! outputs required; what validation will check; and, on a retry, exactly
//! why the previous attempt failed (failed checks, quality checks' output,
//! a person's answers to the questions orch asked).

use std::fmt::Write;

use crate::contract::template::{Vars, is_identifier};
use crate::contract::{Check, Contract, FileTarget, FrontmatterCheck, Severity, Validation};
use crate::error::{Error, Result};
use crate::json;
use crate::record::{Attempt, RunRecord};
use crate::repo::Repo;
use crate::storage::{layout, regular};
use crate::workflow::WorkflowGate;

/// Variables a prompt template may use; `{{name}}` writes `{name}` literally.
pub const PROMPT_VARIABLES: [&str; 8] = [
    "slug",
    "artifact_path",
    "depth",
    "run_id",
    "gate",
    "gate_name",
    "attempt",
    "agent",
];

/// Why this attempt exists, when it is not the first.
pub enum Context<'a> {
    First,
    /// The previous attempt of this gate failed.
    Retry(&'a Attempt),
    /// A later gate failed and its `retry_from` sent the run back here.
    Rewound {
        gate: &'a str,
        reason: &'a str,
    },
}

pub struct Input<'a> {
    pub run: &'a RunRecord,
    pub gate: &'a WorkflowGate,
    pub contract: &'a Contract,
    pub attempt: u32,
    pub agent: &'a str,
    pub context: Context<'a>,
    /// True for command agents: they get the completion protocol.
    pub for_agent: bool,
    /// The task section, as the run's worker read it (`Options::task_context`).
    pub task_context: Option<&'a str>,
}

/// `{outputs.<gate>}`: the outputs an earlier gate recorded.
fn is_outputs_variable(name: &str) -> bool {
    name.strip_prefix("outputs.")
        .is_some_and(crate::repo::is_safe_component)
}

/// In `vars`, this name stands for any `{outputs.<gate>}` (for checks that
/// do not know the workflow).
pub const ANY_OUTPUTS: &str = "outputs.*";

/// Renders a prompt template, refusing unknown variables.
pub fn render_template(text: &str, shown: &str, vars: &[(&str, String)]) -> Result<String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if let Some(inner) = after.strip_prefix('{')
            && let Some(close) = inner.find("}}")
            && is_identifier(&inner[..close])
        {
            let _ = write!(out, "{{{}}}", &inner[..close]);
            let used = open + 2 + close + 2;
            offset += used;
            rest = &rest[used..];
            continue;
        }
        match after.find('}') {
            Some(close)
                if is_identifier(&after[..close]) || is_outputs_variable(&after[..close]) =>
            {
                let name = &after[..close];
                let found = vars
                    .iter()
                    .find(|(k, _)| *k == name || (*k == ANY_OUTPUTS && is_outputs_variable(name)));
                let Some((_, value)) = found else {
                    let pos = json::line_col(text, offset + open);
                    let outputs = if is_outputs_variable(name) {
                        "; `{outputs.<gate>}` names a gate before this one"
                    } else {
                        ""
                    };
                    return Err(json::error_at(
                        shown,
                        pos,
                        format!("unknown template variable `{{{name}}}`"),
                    )
                    .hint(format!(
                        "prompt templates know {} and {{outputs.<earlier gate>}}{outputs}; write {{{{{name}}}}} for a literal {{{name}}}",
                        PROMPT_VARIABLES.map(|v| format!("{{{v}}}")).join(", ")
                    )));
                };
                out.push_str(value);
                offset += open + close + 2;
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                offset += open + 1;
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Checks that a gate's prompt template exists and renders (for fail-fast
/// checks before a run starts); `earlier` are the gates before it.
pub fn check_template(repo: &Repo, gate: &WorkflowGate, earlier: &[&str]) -> Result<()> {
    let Some(name) = &gate.prompt_template else {
        return Ok(());
    };
    let rel = layout::prompt_template(name);
    let path = repo
        .contain(&rel)
        .map_err(|e| e.into_error(&format!("prompt template for gate {}", gate.gate)))?;
    let text = regular::read_to_string(&path.abs).map_err(|e| {
        Error::read(&rel, e).hint(format!("gate {} names prompt_template `{name}`", gate.gate))
    })?;
    let names: Vec<String> = earlier.iter().map(|g| format!("outputs.{g}")).collect();
    let dummy: Vec<(&str, String)> = PROMPT_VARIABLES
        .iter()
        .copied()
        .chain(names.iter().map(String::as_str))
        .map(|v| (v, String::new()))
        .collect();
    render_template(&text, &rel, &dummy).map(|_| ())
}

/// What an earlier gate recorded: its outputs (path, SHA-256), or why none.
type Recorded<'r> = Result<Vec<(&'r str, &'r str)>, String>;

/// The gates before `gate` in the run, with what each recorded: the
/// latest passed attempt's outputs, or why there are none.
fn earlier_outputs<'r>(run: &'r RunRecord, gate: &str) -> Vec<(&'r str, Recorded<'r>)> {
    run.gates
        .iter()
        .take_while(|g| g.gate != gate)
        .map(|g| {
            let passed = g
                .attempts
                .iter()
                .filter(|a| a.status == crate::record::AttemptStatus::Pass)
                .max_by_key(|a| a.attempt);
            let outputs = match passed {
                Some(a) => Ok(a
                    .artifacts
                    .iter()
                    .filter_map(|x| Some((x.path.as_str(), x.sha256.as_deref()?)))
                    .collect()),
                None => Err(format!("{} has not passed ({})", g.gate, g.status)),
            };
            (g.gate.as_str(), outputs)
        })
        .collect()
}

/// `{outputs.G}`'s text: one line per output, `path (sha256 …)`.
fn outputs_text(outputs: &Recorded) -> String {
    match outputs {
        Ok(list) if list.is_empty() => "(no outputs recorded)".to_string(),
        Ok(list) => list
            .iter()
            .map(|(p, h)| format!("- {p} (sha256 {h})"))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(why) => format!("(none: {why})"),
    }
}

/// Renders the packet.
pub fn render(repo: &Repo, vars: &Vars, input: &Input) -> Result<String> {
    let run = input.run;
    let gate = input.gate;
    let name = gate.display_name();
    let mut p = String::new();
    let _ = writeln!(p, "# {} {name} — attempt {}\n", gate.gate, input.attempt);
    let _ = writeln!(p, "- run: {}", run.run_id);
    let _ = writeln!(p, "- workflow: {}", run.workflow.name);
    let _ = writeln!(p, "- slug: {}", run.workflow.slug);
    let _ = writeln!(p, "- artifact path: {}", run.workflow.artifact_path);
    let _ = writeln!(p, "- depth: {}", run.depth);
    let _ = writeln!(p, "- agent: {}", input.agent);
    if let Some(d) = &gate.description {
        let _ = writeln!(p, "- gate: {d}");
    }

    if let Some(text) = input.task_context {
        let _ = write!(p, "\n{text}");
    } else if let Some(task) = &run.task {
        let built = crate::queue::Queue::connect(repo, None)
            .and_then(|queue| crate::queue::context::build(&queue, task));
        match built {
            Ok(c) => {
                let _ = write!(p, "\n{}", crate::queue::context::render(&c));
            }
            Err(e) => {
                let _ = writeln!(p, "\n## Task {task}\n\n(its context cannot be read: {e})");
            }
        }
    }

    match &input.context {
        Context::First => {}
        Context::Retry(previous) => {
            let _ = writeln!(p, "\n## Why attempt {} failed\n", previous.attempt);
            let _ = writeln!(
                p,
                "{}\n",
                previous
                    .failure_reason
                    .as_deref()
                    .unwrap_or("(no reason recorded)")
            );
            for v in previous
                .validations
                .iter()
                .filter(|v| v.is_blocking_failure())
            {
                let path = v
                    .path
                    .as_deref()
                    .map(|p| format!(" `{p}`"))
                    .unwrap_or_default();
                let _ = writeln!(
                    p,
                    "- {}{path}: {}",
                    v.kind,
                    v.reason.as_deref().unwrap_or("failed")
                );
            }
            for q in previous.quality_checks.iter().filter(|q| q.blocks()) {
                let _ = writeln!(
                    p,
                    "- quality check `{}` ({}): {}",
                    q.name,
                    crate::ui::command_line(&q.command),
                    q.reason.as_deref().unwrap_or("failed")
                );
                if let Some(e) = &q.output_excerpt {
                    for (stream, text) in [("stdout", &e.stdout), ("stderr", &e.stderr)] {
                        if !text.is_empty() {
                            let _ = writeln!(p, "\n  {stream}:\n```\n{text}\n```");
                        }
                    }
                }
            }
            if let Some(q) = &previous.questions {
                let text = repo
                    .contain(q)
                    .ok()
                    .and_then(|f| regular::read_to_string(&f.abs).ok())
                    .unwrap_or_else(|| format!("({q} could not be read)"));
                let _ = writeln!(p, "\n### Questions and a person's answers ({q})\n");
                let _ = writeln!(p, "{}", text.trim_end());
            }
            let _ = writeln!(
                p,
                "\nFix these first; everything else the contract checks still applies."
            );
        }
        Context::Rewound {
            gate: later,
            reason,
        } => {
            let _ = writeln!(p, "\n## Why this gate is being redone\n");
            let _ = writeln!(
                p,
                "Gate {later} failed and sends the run back here: {reason}"
            );
        }
    }

    let _ = writeln!(p, "\n## Original prompt\n");
    match &run.prompt {
        Some(prompt) => {
            let text = repo
                .contain(&prompt.file)
                .ok()
                .and_then(|f| regular::read_to_string(&f.abs).ok())
                .unwrap_or_else(|| format!("({} could not be read)", prompt.file));
            let _ = writeln!(p, "{}", text.trim_end());
        }
        None => {
            let _ = writeln!(p, "(none given)");
        }
    }

    let earlier = earlier_outputs(run, &gate.gate);
    if let Some(template) = &gate.prompt_template {
        let rel = layout::prompt_template(template);
        let path = repo
            .contain(&rel)
            .map_err(|e| e.into_error("prompt template"))?;
        let text = regular::read_to_string(&path.abs).map_err(|e| Error::read(&rel, e))?;
        let names: Vec<String> = earlier
            .iter()
            .map(|(g, _)| format!("outputs.{g}"))
            .collect();
        let mut values: Vec<(&str, String)> = vec![
            ("slug", run.workflow.slug.clone()),
            ("artifact_path", run.workflow.artifact_path.clone()),
            ("depth", run.depth.to_string()),
            ("run_id", run.run_id.clone()),
            ("gate", gate.gate.clone()),
            ("gate_name", name.to_string()),
            ("attempt", input.attempt.to_string()),
            ("agent", input.agent.to_string()),
        ];
        values.extend(
            names
                .iter()
                .zip(&earlier)
                .map(|(n, (_, outputs))| (n.as_str(), outputs_text(outputs))),
        );
        let _ = writeln!(p, "\n## Instructions ({rel})\n");
        let _ = writeln!(p, "{}", render_template(&text, &rel, &values)?.trim_end());
    }

    if !earlier.is_empty() {
        let _ = writeln!(p, "\n## Outputs of earlier gates\n");
        for (g, outputs) in &earlier {
            let _ = writeln!(p, "{g}:\n{}", outputs_text(outputs));
        }
    }

    if !gate.steps.is_empty() {
        let _ = writeln!(p, "\n## Recipe steps\n");
        let _ = writeln!(
            p,
            "This gate runs {} step(s), each a separate invocation given this packet and the step's skill:",
            gate.steps.len()
        );
        for (i, step) in gate.steps.iter().enumerate() {
            let params = if step.params.is_empty() {
                String::new()
            } else {
                format!(
                    " with {}",
                    serde_json::to_string(&step.params).unwrap_or_default()
                )
            };
            let _ = writeln!(p, "{}. skill `{}`{params}", i + 1, step.skill);
        }
    }

    for skill in &input.contract.required_skills {
        for file in &skill.inject {
            let rel = format!("{}/{file}", skill.path.trim_end_matches('/'));
            let shown = skill.name.as_deref().unwrap_or(&skill.path);
            let _ = writeln!(p, "\n## Skill: {shown} ({rel})\n");
            if let Some(reason) = &skill.reason {
                let _ = writeln!(p, "_Why: {reason}_\n");
            }
            let text = read_skill(vars, &gate.gate, &rel)?;
            let _ = writeln!(p, "{}", text.trim_end());
        }
    }

    let outputs = &input.contract.required_outputs;
    if !outputs.all_of.is_empty() || !outputs.any_of.is_empty() {
        let _ = writeln!(p, "\n## Required outputs\n");
        for o in &outputs.all_of {
            let need = if o.required_at(run.depth) {
                "required"
            } else {
                "optional at this depth"
            };
            let desc = o
                .description
                .as_deref()
                .map(|d| format!(" — {d}"))
                .unwrap_or_default();
            let _ = writeln!(p, "- `{}` ({need}){desc}", shown_path(vars, &o.path));
        }
        if !outputs.any_of.is_empty() {
            let _ = writeln!(p, "- at least one of:");
            for o in &outputs.any_of {
                let desc = o
                    .description
                    .as_deref()
                    .map(|d| format!(" — {d}"))
                    .unwrap_or_default();
                let _ = writeln!(p, "  - `{}`{desc}", shown_path(vars, &o.path));
            }
        }
    }

    if !input.contract.validations.is_empty() || !input.contract.quality_checks.is_empty() {
        let _ = writeln!(p, "\n## What validation will check\n");
        for v in &input.contract.validations {
            let _ = writeln!(p, "- {}", describe(v, vars, run.depth));
        }
        for q in &input.contract.quality_checks {
            let how = match (&q.command, &q.uses) {
                (Some(argv), _) => format!(
                    "`{}`",
                    crate::ui::command_line(&argv.iter().map(|a| vars.text(a)).collect::<Vec<_>>())
                ),
                (None, Some(name)) => format!("the project's `{name}` command"),
                (None, None) => String::new(),
            };
            let effect = match q.on_failure {
                crate::quality::OnFailure::Block => "must pass",
                crate::quality::OnFailure::Warn => "a failure is a warning",
                crate::quality::OnFailure::Skip => "skipped",
            };
            let _ = writeln!(p, "- quality check `{}`: {how} ({effect})", q.name);
        }
    }

    if input.for_agent {
        let _ = writeln!(
            p,
            "\n## When you stop\n\nEnd your final message with one line of JSON saying how it went:\n\
             {{\"status\": \"complete\", \"reason\": \"…\"}} when the outputs are written,\n\
             {{\"status\": \"blocked\", \"reason\": \"…\"}} when you cannot go on without help,\n\
             {{\"status\": \"continue\", \"reason\": \"…\"}} when you need another turn."
        );
    } else {
        let _ = writeln!(
            p,
            "\n## When you are done\n\nValidate the gate: `orch run resume --run {}` (or choose \"Validate now\").",
            run.run_id
        );
    }
    Ok(p)
}

/// A skill file a contract injects: inside the repository, and there.
pub fn read_skill(vars: &Vars, gate: &str, rel: &str) -> Result<String> {
    let path = vars.path(rel).map_err(|e| {
        Error::input(format!("gate {gate}: skill file `{rel}`: {e}"))
            .hint("skills are read from inside the repository")
    })?;
    regular::read_to_string(&path.abs).map_err(|e| {
        Error::input(format!(
            "gate {gate}: skill file `{rel}` cannot be read: {}",
            crate::repo::io_reason(&e)
        ))
        .hint("add the file, or fix the contract's required_skills")
    })
}

fn shown_path(vars: &Vars, template: &str) -> String {
    vars.expand(template)
        .unwrap_or_else(|_| template.to_string())
}

/// One line saying what a validation checks, in words.
pub fn describe(v: &Validation, vars: &Vars, depth: crate::contract::Depth) -> String {
    let path = |t: &str| format!("`{}`", shown_path(vars, t));
    let threshold = |t: &crate::contract::Thresholds| {
        t.get(depth)
            .map_or_else(|| format!("(no threshold for {depth})"), |n| n.to_string())
    };
    let text = match &v.check {
        Check::FileExists(FileTarget::AnyOf) => {
            "at least one of the any_of outputs exists".to_string()
        }
        Check::FileExists(FileTarget::AllRequired) => "every required output exists".to_string(),
        Check::FileExists(FileTarget::Path(t)) => format!("{} exists", path(t)),
        Check::DirExists { target } => format!("{} is a directory", path(target)),
        Check::MinFileCount {
            target,
            pattern,
            thresholds,
        } => format!(
            "{} holds at least {} files matching `{}`",
            path(target),
            threshold(thresholds),
            pattern.as_str()
        ),
        Check::MinSources { target, thresholds } => format!(
            "{} lists at least {} sources (`###` headings, distinct URLs, `- **Source**:` lines or substantial bullets)",
            path(target),
            threshold(thresholds)
        ),
        Check::MinSourcesAnyOf {
            targets,
            thresholds,
        } => format!(
            "the best of {} lists at least {} sources",
            targets
                .iter()
                .map(|t| path(t))
                .collect::<Vec<_>>()
                .join(", "),
            threshold(thresholds)
        ),
        Check::ContainsHeadings {
            target, headings, ..
        } => format!(
            "{} contains {}",
            path(target),
            headings
                .iter()
                .map(|h| format!("`{h}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Check::ContainsText { target, patterns } => format!(
            "{} contains {}",
            path(target),
            patterns
                .iter()
                .map(|h| format!("`{}`", vars.text(h)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Check::NotContains {
            target,
            pattern,
            missing_ok,
        } => format!(
            "{} does not contain `{}`{}",
            path(target),
            vars.text(pattern),
            if *missing_ok { " (if it exists)" } else { "" }
        ),
        Check::RegexMatch {
            target,
            regex,
            must_not_match: false,
        } => {
            format!("{} matches /{}/", path(target), regex.as_str())
        }
        Check::RegexMatch {
            target,
            regex,
            must_not_match: true,
        } => {
            format!("{} does not match /{}/", path(target), regex.as_str())
        }
        Check::MinRegexCount {
            target,
            regex,
            min_count,
        } => {
            format!(
                "{} has at least {min_count} matches of /{}/",
                path(target),
                regex.as_str()
            )
        }
        Check::FrontmatterStatus { target, checks } => format!(
            "{} starts with `---` frontmatter where {}",
            path(target),
            checks
                .iter()
                .map(|(k, c)| match c {
                    FrontmatterCheck::Equals(v) => format!("{k} = {}", scalar(v)),
                    FrontmatterCheck::Not(v) => format!("{k} ≠ {}", scalar(v)),
                    FrontmatterCheck::Min(n) => format!("{k} ≥ {n}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Check::UrlReachable {
            target,
            url_pattern,
            max_failures,
            ..
        } => format!(
            "the URLs in {}{} answer HTTP 2xx (at most {max_failures} may fail)",
            path(target),
            url_pattern
                .as_ref()
                .map(|r| format!(" matching /{}/", r.as_str()))
                .unwrap_or_default()
        ),
        Check::MetricThreshold {
            source,
            at,
            operator,
            threshold,
        } => format!(
            "`{at}` in {} is {} {threshold}",
            path(source),
            operator.as_str()
        ),
        Check::ArtifactExists {
            artifact_type,
            label,
        } => format!(
            "the run has a `{}` artifact{} (`orch artifact add`, or a URL the agent printed)",
            artifact_type.as_str(),
            label
                .as_deref()
                .map(|l| format!(" labelled `{l}`"))
                .unwrap_or_default()
        ),
        Check::Plugin { kind, .. } => format!("`{kind}` (checked by {})", layout::validator(kind)),
    };
    let mut line = format!("{}: {text}", v.check.type_name());
    if let Some(d) = &v.description {
        let _ = write!(line, " — {d}");
    }
    if v.severity == Severity::Warning {
        line.push_str(" (warning only)");
    }
    line
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_substitute_escape_and_refuse_unknowns() {
        let vars = [("slug", "robot".to_string()), ("depth", "deep".to_string())];
        let out = render_template(
            "Essay {slug} at {depth}; literal {{slug}}; json {\"a\": {\"b\": 1}}",
            "t.md",
            &vars,
        )
        .unwrap();
        assert_eq!(
            out,
            "Essay robot at deep; literal {slug}; json {\"a\": {\"b\": 1}}"
        );
        let err = render_template("line one\n  see {slgu}\n", "G1.md", &vars).unwrap_err();
        assert_eq!(
            err.to_string(),
            "G1.md:2:7: unknown template variable `{slgu}`"
        );
    }
}
