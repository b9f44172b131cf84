//! Validator plugins: a validation type orch does not know is provided by
//! an executable `orchestration/validators/<type>`. It receives the
//! validation (known variables substituted) and the run's context as JSON on
//! stdin, runs in the repository root, and answers with
//! `{"pass": bool, "reason": "…", "path": "…", "details": {…}}` on stdout;
//! `reason` and `details` may be any JSON value.
//! Anything else — no answer, bad JSON, a crash, a timeout — fails the check
//! with the reason, never passes it.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::contract::template::Vars;
use crate::contract::{Depth, Validation};
use crate::env;
use crate::exec::{self, Spec};

/// Version of the stdin/stdout protocol, sent as `protocol`.
pub const PROTOCOL: u32 = 1;

/// The answer: only `pass` is required, and it must be a boolean. The
/// rest may be any JSON value (a string, a number, an object).
#[derive(Deserialize)]
struct Answer {
    pass: bool,
    #[serde(default)]
    reason: Option<Value>,
    #[serde(default)]
    path: Option<Value>,
    #[serde(default)]
    details: Option<Value>,
}

/// Fields of a recorded validation result that a plugin's details must not
/// overwrite (a record with them twice would not read back).
const RESERVED: [&str; 9] = [
    "type",
    "path",
    "pass",
    "severity",
    "skipped",
    "description",
    "reason",
    "absolute_path",
    "resolved_path",
];

impl Answer {
    /// The details as recorded: an object's fields merged into the result,
    /// any other value (or an object that would clash with the result's
    /// own fields) kept whole under `details`. A `path` that is not a
    /// string is kept as `answer_path`.
    fn details(&mut self) -> Map<String, Value> {
        let mut out = match self.details.take() {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) if !RESERVED.iter().any(|k| map.contains_key(*k)) => map,
            Some(other) => Map::from_iter([("details".to_string(), other)]),
        };
        if self
            .path
            .as_ref()
            .is_some_and(|p| !p.is_string() && !p.is_null())
        {
            out.insert("answer_path".into(), self.path.take().unwrap_or_default());
        }
        out
    }
}

/// A JSON value as one line of text: a string as it is, anything else as JSON.
pub fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The plugin's verdict.
pub struct Verdict {
    pub pass: bool,
    pub reason: String,
    pub path: Option<String>,
    pub details: Map<String, Value>,
}

/// Substitutes known variables in every string of a JSON value.
fn resolve(value: &Value, vars: &Vars) -> Value {
    match value {
        Value::String(s) => Value::String(vars.text(s)),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Runs the plugin for one validation.
pub fn run(
    program: &Path,
    validation: &Validation,
    vars: &Vars,
    depth: Depth,
    gate: &str,
    repo_root: &Path,
) -> Verdict {
    let input = json!({
        "protocol": PROTOCOL,
        "gate": gate,
        "validation": resolve(&validation.raw, vars),
        "context": {
            "slug": vars.slug(),
            "artifact_path": vars.artifact_path(),
            "client_component": vars.client_component(),
            "depth": depth,
        }
    });
    let outcome = exec::process::run(&Spec {
        program: program.to_path_buf(),
        args: Vec::new(),
        cwd: repo_root.to_path_buf(),
        env: Vec::new(),
        stdin: serde_json::to_vec(&input).unwrap_or_default(),
        timeout: env::seconds(env::SCRIPT_TIMEOUT, 60.0),
        capture_limit: 1024 * 1024,
    });
    let failed = |reason: String| Verdict {
        pass: false,
        reason,
        path: None,
        details: Map::new(),
    };
    let name = program
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    if !outcome.exit.success() {
        let tail = outcome
            .stderr_tail()
            .map(|t| format!(": {t}"))
            .unwrap_or_default();
        if outcome.exit.code().is_none() {
            return failed(format!(
                "validator `{name}` {}{tail}",
                outcome.exit.describe()
            ));
        }
    }
    let text = String::from_utf8_lossy(&outcome.stdout);
    // The answer is the last line, or the whole of stdout (pretty-printed).
    let last = text.lines().rev().map(str::trim).find(|l| !l.is_empty());
    let candidates = last.into_iter().chain(Some(text.trim()));
    let mut wrong_shape = None;
    let mut answer = None;
    for c in candidates {
        match serde_json::from_str::<Answer>(c) {
            Ok(a) => {
                answer = Some(a);
                break;
            }
            Err(e) if !(e.is_syntax() || e.is_eof()) => {
                wrong_shape.get_or_insert_with(|| crate::json::describe(&e));
            }
            Err(_) => {}
        }
    }
    let Some(mut a) = answer else {
        // A wrong-shaped answer is the news only when the plugin thought it
        // succeeded; a crash is better explained by its exit and stderr.
        if let Some(why) = wrong_shape.filter(|_| outcome.exit.success()) {
            return failed(format!(
                "validator `{name}` answered JSON that is not {{\"pass\": true|false, \"reason\": \"…\"}}: {why}"
            ));
        }
        let tail = outcome
            .stderr_tail()
            .map(|t| format!(": {t}"))
            .unwrap_or_default();
        return failed(format!(
            "validator `{name}` gave no JSON answer on stdout ({}){tail}",
            outcome.exit.describe()
        ));
    };
    let pass = a.pass && outcome.exit.success();
    let details = a.details();
    let reason = match a.reason.as_ref().filter(|r| !r.is_null()) {
        Some(r) => as_text(r),
        None if pass => "passed".to_string(),
        None => format!("failed ({})", outcome.exit.describe()),
    };
    Verdict {
        pass,
        reason,
        path: a.path.and_then(|p| p.as_str().map(str::to_string)),
        details,
    }
}
