//! Quality checks: project commands (tests, lint, build, typecheck, or any
//! command) a contract runs after the agent finishes, from the repository
//! root. Each says what its failure means: `block` fails the gate (and the
//! next attempt's packet carries the command's output), `warn` lets it pass
//! with a warning, `skip` records that it did not run and why. Every
//! result is kept in the attempt: exit code, duration and an excerpt of
//! the output (the whole output is in the run's logs).
//!
//! Named commands live in `orchestration/commands.json`:
//!
//! ```json
//! { "tests": ["cargo", "test"],
//!   "lint": { "command": ["cargo", "clippy", "--", "-D", "warnings"], "timeout_s": 900 } }
//! ```
//!
//! and a contract uses them by name (`"uses": "tests"`) or gives its own
//! (`"command": ["sh", "scripts/check.sh", "{artifact_path}"]`).

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contract::template::Vars;
use crate::error::{Error, Result};
use crate::exec::{self, Spec, excerpt};
use crate::record::QualityCheckResult;
use crate::repo::Repo;
use crate::storage::layout;
use crate::validate::Evaluation;
use crate::{env, json};

/// Seconds a quality check may run when nothing says (ten minutes).
const DEFAULT_TIMEOUT_S: f64 = 600.0;

/// What a failed check means for the gate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// The gate fails; the next attempt is told why.
    #[default]
    Block,
    /// The gate passes, with a warning.
    Warn,
    /// The check does not run (recorded as skipped).
    Skip,
}

impl OnFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Block => "block",
            OnFailure::Warn => "warn",
            OnFailure::Skip => "skip",
        }
    }
}

/// A contract's `quality_checks` entry.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QualityCheck {
    /// What the check is called in reports and records.
    pub name: String,
    /// The program and its arguments (`{slug}` and `{artifact_path}` are
    /// substituted); or `uses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// A command named in orchestration/commands.json (`tests`, `lint`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<String>,
    /// `block` (default), `warn` or `skip`.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// Seconds it may run (default: the named command's, else 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
}

impl QualityCheck {
    /// What is wrong with the entry itself, for the contract loader.
    pub fn problem(&self) -> Option<String> {
        if self.name.trim().is_empty() {
            return Some("a quality check needs a `name`".into());
        }
        match (&self.command, &self.uses) {
            (Some(_), Some(_)) => Some(format!(
                "quality check `{}` has both `command` and `uses`; give one",
                self.name
            )),
            (None, None) => Some(format!(
                "quality check `{}` needs `command` (a program and its arguments) or `uses` (a name in {})",
                self.name,
                layout::COMMANDS_CONFIG
            )),
            (Some(c), None) if c.first().is_none_or(|p| p.trim().is_empty()) => {
                Some(format!("quality check `{}`: `command` is empty", self.name))
            }
            _ if self
                .timeout_s
                .is_some_and(|s| !s.is_finite() || s <= 0.0 || s > env::MAX_SECONDS) =>
            {
                Some(format!(
                    "quality check `{}`: timeout_s must be a positive number of seconds",
                    self.name
                ))
            }
            _ => None,
        }
    }
}

/// A named command in orchestration/commands.json.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum NamedCommand {
    /// `["cargo", "test"]`
    Argv(Vec<String>),
    /// `{"command": [...], "timeout_s": N, "description": "…"}`
    Full {
        command: Vec<String>,
        #[serde(default)]
        timeout_s: Option<f64>,
        #[serde(default)]
        description: Option<String>,
    },
}

impl NamedCommand {
    fn argv(&self) -> &[String] {
        match self {
            NamedCommand::Argv(a) | NamedCommand::Full { command: a, .. } => a,
        }
    }

    fn timeout_s(&self) -> Option<f64> {
        match self {
            NamedCommand::Argv(_) => None,
            NamedCommand::Full { timeout_s, .. } => *timeout_s,
        }
    }
}

/// orchestration/commands.json: the project's named commands.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct Commands {
    /// Where editors find this file's JSON Schema (orch ignores it).
    #[serde(default, rename = "$schema", skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(flatten)]
    pub commands: BTreeMap<String, NamedCommand>,
}

impl Commands {
    pub fn parse(text: &str, shown: &str) -> Result<Commands> {
        let c: Commands = json::parse(text, shown)?;
        if let Some((name, _)) = c
            .commands
            .iter()
            .find(|(_, v)| v.argv().first().is_none_or(|p| p.trim().is_empty()))
        {
            return Err(Error::input(format!("{shown}: command `{name}` is empty"))
                .hint("give the program and its arguments, e.g. [\"cargo\", \"test\"]"));
        }
        Ok(c)
    }

    /// The project's commands (none when the file does not exist).
    pub fn load(repo: &Repo) -> Result<Commands> {
        let rel = layout::COMMANDS_CONFIG;
        match crate::storage::regular::read_to_string(&repo.join(rel)) {
            Ok(text) => Self::parse(&text, rel),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Commands::default()),
            Err(e) => Err(Error::read(rel, e)),
        }
    }

    /// Refuses checks that use a command this file does not define (for
    /// checks before a run starts).
    pub fn check_names(&self, checks: &[QualityCheck]) -> Result<()> {
        for c in checks.iter().filter(|c| c.on_failure != OnFailure::Skip) {
            self.resolve(c)?;
        }
        Ok(())
    }

    /// The command a check runs, and its time limit.
    fn resolve(&self, check: &QualityCheck) -> Result<(Vec<String>, f64)> {
        if let Some(argv) = &check.command {
            return Ok((argv.clone(), check.timeout_s.unwrap_or(DEFAULT_TIMEOUT_S)));
        }
        let name = check.uses.as_deref().unwrap_or_default();
        let named = self.commands.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.commands.keys().map(String::as_str).collect();
            let err = Error::input(format!(
                "quality check `{}` uses `{name}`, which {} does not define",
                check.name,
                layout::COMMANDS_CONFIG
            ));
            if known.is_empty() {
                err.hint(format!(
                    "add it: {{\"{name}\": [\"program\", \"arg\"]}} in {}",
                    layout::COMMANDS_CONFIG
                ))
            } else {
                err.hint(format!("it defines: {}", known.join(", ")))
            }
        })?;
        Ok((
            named.argv().to_vec(),
            check
                .timeout_s
                .or(named.timeout_s())
                .unwrap_or(DEFAULT_TIMEOUT_S),
        ))
    }
}

/// Runs a contract's quality checks for gate `gate`, writing their output
/// to `logs` (the attempt's logs folder). An unknown named command is an
/// error before anything runs.
pub fn run_all(
    repo: &Repo,
    checks: &[QualityCheck],
    vars: &Vars,
    gate: &str,
    logs: &Path,
) -> Result<Vec<QualityCheckResult>> {
    if checks.is_empty() {
        return Ok(Vec::new());
    }
    let commands = Commands::load(repo)?;
    let resolved = checks
        .iter()
        .map(|c| match c.on_failure {
            OnFailure::Skip => Ok(None),
            _ => commands.resolve(c).map(Some),
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for (check, resolved) in checks.iter().zip(resolved) {
        let Some((argv, timeout_s)) = resolved else {
            out.push(QualityCheckResult {
                name: check.name.clone(),
                command: check.command.clone().unwrap_or_default(),
                on_failure: check.on_failure.as_str().into(),
                status: "skipped".into(),
                exit_code: None,
                duration_ms: 0,
                reason: Some("skipped: its on_failure is `skip`".into()),
                output_excerpt: None,
            });
            continue;
        };
        let argv: Vec<String> = argv.iter().map(|a| vars.text(a)).collect();
        let outcome = exec::process::run(&Spec {
            program: argv[0].clone().into(),
            args: argv[1..].to_vec(),
            cwd: repo.root().to_path_buf(),
            env: vars.script_env(gate),
            stdin: Vec::new(),
            timeout: env::duration(timeout_s),
            capture_limit: 1024 * 1024,
        });
        if outcome.exit == exec::Exit::Interrupted {
            return Err(Error::Interrupted);
        }
        let safe = check
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>();
        let (stdout_log, stderr_log) = (
            logs.join(format!("check-{safe}.stdout.log")),
            logs.join(format!("check-{safe}.stderr.log")),
        );
        if std::fs::create_dir_all(logs).is_ok() {
            let _ = std::fs::write(&stdout_log, &outcome.stdout);
            let _ = std::fs::write(&stderr_log, &outcome.stderr);
        }
        let passed = outcome.exit.success();
        let status = match (passed, check.on_failure) {
            (true, _) => "passed",
            (false, OnFailure::Warn) => "warned",
            (false, _) => "failed",
        };
        let reason = (!passed).then(|| match &outcome.exit {
            exec::Exit::TimedOut => format!("timed out after {}s", trim(timeout_s)),
            other => other.describe(),
        });
        out.push(QualityCheckResult {
            name: check.name.clone(),
            command: recorded(repo, &argv),
            on_failure: check.on_failure.as_str().into(),
            status: status.into(),
            exit_code: outcome.exit.code(),
            duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
            reason,
            output_excerpt: excerpt::of_logs(&stdout_log, &stderr_log),
        });
    }
    Ok(out)
}

/// The command as the record keeps it (no path of this machine).
fn recorded(repo: &Repo, argv: &[String]) -> Vec<String> {
    argv.iter().map(|a| repo.scrub(a)).collect()
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}

/// Adds the checks' results to an evaluation: a `block` check that failed
/// fails it, with the reason.
pub fn apply(evaluation: &mut Evaluation, results: Vec<QualityCheckResult>) {
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.blocks())
        .map(|r| {
            format!(
                "quality check `{}` failed ({})",
                r.name,
                r.reason.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    if !failed.is_empty() {
        evaluation.passed = false;
        let joined = failed.join("; ");
        evaluation.failure_reason = Some(match evaluation.failure_reason.take() {
            Some(checks) => format!("{checks}; {joined}"),
            None => joined,
        });
    }
    evaluation.quality = results;
}
