//! Which model an agent is asked to use: `--model`, else `ORCH_MODEL`,
//! else the gate's `model`, else the workflow's. It is put in place of
//! `{model}` in the agent's command and exported as `ORCH_MODEL`, so
//! `["claude", "-p", "--model", "{model}"]` and agents that read the
//! variable both follow it.

use crate::env;

/// The model for a gate, by precedence (blank values do not count).
pub fn resolve(flag: Option<&str>, gate: Option<&str>, workflow: Option<&str>) -> Option<String> {
    let from_env = std::env::var(env::MODEL).ok();
    [flag, from_env.as_deref(), gate, workflow]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|m| !m.is_empty())
        .map(str::to_string)
}

/// The command with `{model}` replaced; `Err` when it uses `{model}` and
/// there is no model.
pub fn substitute(argv: &[String], model: Option<&str>) -> Result<Vec<String>, String> {
    argv.iter()
        .map(|a| match (a.contains("{model}"), model) {
            (false, _) => Ok(a.clone()),
            (true, Some(m)) => Ok(a.replace("{model}", m)),
            (true, None) => Err(a.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_or_refuses() {
        let argv: Vec<String> = ["claude", "--model", "{model}"].map(String::from).to_vec();
        assert_eq!(
            substitute(&argv, Some("opus")).unwrap(),
            ["claude", "--model", "opus"]
        );
        assert_eq!(substitute(&argv, None).unwrap_err(), "{model}");
        assert_eq!(substitute(&argv[..1], None).unwrap(), ["claude"]);
    }
}
