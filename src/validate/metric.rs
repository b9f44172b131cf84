//! `metric_threshold`: a number a gate's outputs report — a jury score in
//! a JSON file, a `score:` in a report's frontmatter — compared with a
//! threshold. A missing file, a value that is not there or not a number
//! fails the check and says which.

use serde_json::{Value, json};

use crate::contract::{MetricAt, Operator};
use crate::record::ValidationResult;
use crate::repo::RepoPath;

/// Fills `r` for the number at `at` in `text` (the file `path`).
pub fn check(
    r: &mut ValidationResult,
    path: &RepoPath,
    text: &str,
    at: &MetricAt,
    operator: Operator,
    threshold: f64,
) {
    r.details.insert("at".into(), json!(at.to_string()));
    r.details
        .insert("operator".into(), json!(operator.as_str()));
    r.details.insert("threshold".into(), json!(threshold));
    let value = match read(path, text, at) {
        Ok(v) => v,
        Err(why) => {
            r.reason = Some(why);
            return;
        }
    };
    r.details.insert("value".into(), json!(value));
    r.pass = operator.holds(value, threshold);
    let (v, t, op) = (number(value), number(threshold), operator.as_str());
    r.reason = Some(if r.pass {
        format!("{at} = {v} {op} {t}")
    } else {
        format!("{at} is {v}, needs {op} {t}")
    });
}

/// The number at `at`, or why there is none.
fn read(path: &RepoPath, text: &str, at: &MetricAt) -> Result<f64, String> {
    let is_json = path
        .rel
        .rsplit('.')
        .next()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let found: Value = if is_json {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| format!("not JSON ({}:{}: {})", path.rel, e.line(), e.column()))?;
        let v = match at {
            MetricAt::Pointer(p) => doc.pointer(p),
            MetricAt::Key(k) => doc.get(k),
        };
        v.cloned()
            .ok_or_else(|| format!("{at} is not in {}", path.rel))?
    } else {
        let MetricAt::Key(key) = at else {
            return Err(format!(
                "a pointer ({at}) needs a JSON file; {} is not one (use `key` for frontmatter)",
                path.rel
            ));
        };
        let fields = super::frontmatter::parse(text).map_err(str::to_string)?;
        let v = fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("{key} is not in the frontmatter of {}", path.rel))?;
        Value::String(v)
    };
    let n = match &found {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|n| n.is_finite())
        .ok_or_else(|| format!("{at} is `{}`, not a number", shown(&found)))
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `70`, not `70.0`; `8.5` as it is.
fn number(v: f64) -> String {
    let s = format!("{v}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}
