//! When a gate runs: `"when": {"changed": ["src/**"]}` runs it only when a
//! file matching one of the globs changed since the base revision (`orch
//! run --base REV`: committed since, staged, unstaged or new); `"when":
//! {"env": "NAME"}` only when that variable is set and not empty. Both
//! given: both must hold. A gate whose condition does not hold is recorded
//! as SKIPPED with the reason, and counts as passed for what follows.
//! Without `--base`, a `changed` condition cannot be judged and the gate
//! runs: a check is never skipped by accident.

use std::cell::OnceCell;
use std::process::Command;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::repo::Repo;

/// A gate's `when`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Run only when a file matching one of these globs (`**` crosses
    /// folders) changed since `--base`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<Vec<String>>,
    /// Run only when this environment variable is set and not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl Condition {
    /// Problems with the condition itself, for the workflow parser.
    pub fn problem(&self) -> Option<String> {
        if self.changed.is_none() && self.env.is_none() {
            return Some("`when` needs `changed` (globs) or `env` (a variable name)".into());
        }
        if self.env.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Some("`when.env` must name a variable".into());
        }
        match &self.changed {
            Some(globs) if globs.is_empty() => Some("`when.changed` lists no globs".into()),
            Some(globs) => globs.iter().find_map(|g| {
                glob::Pattern::new(g)
                    .err()
                    .map(|e| format!("`when.changed`: `{g}` is not a glob: {}", e.msg))
            }),
            None => None,
        }
    }
}

/// What conditions are judged against, computed once per run.
pub struct Facts<'r> {
    repo: &'r Repo,
    base: Option<String>,
    changed: OnceCell<Vec<String>>,
}

impl<'r> Facts<'r> {
    pub fn new(repo: &'r Repo, base: Option<&str>) -> Self {
        Facts {
            repo,
            base: base.map(str::to_string),
            changed: OnceCell::new(),
        }
    }

    /// Checks that `--base` names a commit, before anything runs.
    pub fn check_base(&self) -> Result<()> {
        let Some(base) = &self.base else {
            return Ok(());
        };
        let ok = Command::new("git")
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{base}^{{commit}}"),
            ])
            .current_dir(self.repo.root())
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            Ok(())
        } else {
            Err(
                Error::input(format!("--base `{base}` does not name a commit"))
                    .hint("give a branch, tag or commit, e.g. --base origin/main or --base HEAD~1"),
            )
        }
    }

    /// Why the gate is skipped, or `None` when it runs.
    pub fn skip_reason(&self, cond: &Condition) -> Result<Option<String>> {
        if let Some(name) = &cond.env
            && !std::env::var(name).is_ok_and(|v| !v.is_empty())
        {
            return Ok(Some(format!("{name} is not set")));
        }
        if let (Some(globs), Some(base)) = (&cond.changed, &self.base) {
            let changed = self.changed()?;
            let options = glob::MatchOptions {
                case_sensitive: true,
                require_literal_separator: true,
                require_literal_leading_dot: false,
            };
            let patterns: Vec<glob::Pattern> = globs
                .iter()
                .filter_map(|g| glob::Pattern::new(g).ok())
                .collect();
            let hit = changed
                .iter()
                .any(|f| patterns.iter().any(|p| p.matches_with(f, options)));
            if !hit {
                return Ok(Some(format!(
                    "no file matching {} changed since {base}",
                    globs.join(", ")
                )));
            }
        }
        Ok(None)
    }

    fn changed(&self) -> Result<&Vec<String>> {
        if let Some(c) = self.changed.get() {
            return Ok(c);
        }
        let base = self.base.as_deref().unwrap_or("HEAD");
        let mut files = self.git(&["diff", "--name-only", "--no-renames", "-z", base])?;
        files.extend(self.git(&["ls-files", "--others", "--exclude-standard", "-z"])?);
        files.sort();
        files.dedup();
        Ok(self.changed.get_or_init(|| files))
    }

    fn git(&self, args: &[&str]) -> Result<Vec<String>> {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.repo.root())
            .output()
            .map_err(|e| Error::input(format!("cannot run git: {}", crate::repo::io_reason(&e))))?;
        if !out.status.success() {
            return Err(Error::input(format!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_need_something_to_judge() {
        let c: Condition = serde_json::from_str("{}").unwrap();
        assert!(c.problem().is_some());
        let c: Condition = serde_json::from_str(r#"{"changed": ["src/[a"]}"#).unwrap();
        assert!(
            c.problem().unwrap().contains("not a glob"),
            "{:?}",
            c.problem()
        );
        assert!(serde_json::from_str::<Condition>(r#"{"chnaged": []}"#).is_err());
    }
}
