//! The `--- key: value ---` block at the top of an audit report, and the
//! conditions `frontmatter_status` puts on it. Deliberately not a YAML
//! parser: reports use flat `key: value` lines, and a simple reader is
//! predictable about what it accepts.

use serde_json::Value;

use crate::contract::FrontmatterCheck;

/// The block's fields in order, or why there is none.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, &'static str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return Err("the file does not start with a `---` frontmatter block");
    }
    let mut fields = Vec::new();
    for line in lines {
        if line.trim_end() == "---" {
            return Ok(fields);
        }
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim();
            if !key.is_empty() && !key.starts_with('#') {
                fields.push((key.to_string(), unquote(value.trim()).to_string()));
            }
        }
    }
    Err("the frontmatter block is not closed with `---`")
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// A value that looks like a number is one.
fn number(v: &str) -> Option<f64> {
    let v = v.trim();
    if v.is_empty()
        || !v
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
    {
        return None;
    }
    v.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Frontmatter numbers are decimal literals written by people: equal means
/// the same parsed value, so exact comparison is what we want.
#[allow(clippy::float_cmp)]
fn equals(actual: &str, expected: &Value) -> bool {
    match expected {
        Value::Number(n) => number(actual).zip(n.as_f64()).is_some_and(|(a, b)| a == b),
        Value::String(s) => match (number(actual), number(s)) {
            (Some(a), Some(b)) => a == b,
            _ => actual == s,
        },
        Value::Bool(b) => actual.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Evaluates one check; `Err` carries why it does not hold.
pub fn check(
    fields: &[(String, String)],
    key: &str,
    cond: &FrontmatterCheck,
) -> Result<String, String> {
    let actual = fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str());
    match (cond, actual) {
        (FrontmatterCheck::Equals(want), Some(a)) if equals(a, want) => Ok(format!("{key} = {a}")),
        (FrontmatterCheck::Equals(want), Some(a)) => {
            Err(format!("{key} is `{a}`, expected `{}`", shown(want)))
        }
        (FrontmatterCheck::Equals(want), None) => {
            Err(format!("{key} is missing, expected `{}`", shown(want)))
        }
        (FrontmatterCheck::Not(bad), Some(a)) if equals(a, bad) => {
            Err(format!("{key} is `{a}` (must not be `{}`)", shown(bad)))
        }
        (FrontmatterCheck::Not(bad), Some(a)) => Ok(format!("{key} = {a} (not {})", shown(bad))),
        (FrontmatterCheck::Not(bad), None) => Ok(format!("{key} absent (not {})", shown(bad))),
        (FrontmatterCheck::Min(min), Some(a)) => match number(a) {
            Some(n) if n >= *min => Ok(format!("{key} = {a} ≥ {min}")),
            Some(_) => Err(format!("{key} is {a}, needs at least {min}")),
            None => Err(format!(
                "{key} is `{a}`, not a number (needs at least {min})"
            )),
        },
        (FrontmatterCheck::Min(min), None) => {
            Err(format!("{key} is missing (needs a number ≥ {min})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REPORT: &str =
        "---\nstatus: PASS\nscore: \"8.5\"\nblocking_issues: 0\n---\n# Report\nstatus: FAIL\n";

    #[test]
    fn reads_the_block_only() {
        let f = parse(REPORT).unwrap();
        assert_eq!(f[0], ("status".into(), "PASS".into()));
        assert_eq!(f[1], ("score".into(), "8.5".into()));
        assert_eq!(f.len(), 3);
        assert!(parse("# no block\n").is_err());
        assert!(parse("---\nstatus: PASS\n").is_err());
    }

    #[test]
    fn conditions() {
        let f = parse(REPORT).unwrap();
        assert!(check(&f, "status", &FrontmatterCheck::Equals(json!("PASS"))).is_ok());
        assert!(check(&f, "status", &FrontmatterCheck::Not(json!("FAIL"))).is_ok());
        assert!(check(&f, "status", &FrontmatterCheck::Not(json!("PASS"))).is_err());
        assert!(check(&f, "score", &FrontmatterCheck::Min(8.0)).is_ok());
        assert!(check(&f, "score", &FrontmatterCheck::Min(9.0)).is_err());
        assert!(check(&f, "score", &FrontmatterCheck::Equals(json!(8.5))).is_ok());
        assert!(
            check(
                &f,
                "blocking_issues",
                &FrontmatterCheck::Equals(json!("0.0"))
            )
            .is_ok()
        );
        assert!(check(&f, "missing", &FrontmatterCheck::Not(json!("FAIL"))).is_ok());
        assert!(check(&f, "missing", &FrontmatterCheck::Min(0.0)).is_err());
        assert!(
            check(&f, "status", &FrontmatterCheck::Min(1.0))
                .unwrap_err()
                .contains("not a number")
        );
    }
}
