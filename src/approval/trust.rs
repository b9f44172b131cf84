//! Where the list of who may approve comes from: `orchestration/allowed_signers`
//! as committed at a trusted git revision, never the working tree. An agent
//! working on a branch can edit (and even commit) the file on its branch;
//! it cannot move the remote's default branch. So, as gittuf reads policy
//! from a trusted revision, orch reads the signers from (in order) the
//! revision given (`--trusted-rev`, `ORCH_TRUSTED_REV`), else the remote's
//! default branch (`refs/remotes/origin/HEAD`), else `HEAD` — which the
//! branch under review controls, and so is weaker, and said so.

use std::process::Command;

use super::signers::AllowedSigners;
use crate::env;
use crate::error::{Error, Result};
use crate::repo::Repo;
use crate::storage::layout;

/// The signers orch trusts, and where they were read from.
#[derive(Clone, Debug)]
pub struct TrustedSigners {
    pub signers: AllowedSigners,
    /// The revision as named (`origin/HEAD`, `HEAD`, or as given).
    pub rev: String,
    /// Read from `HEAD` because there is no remote default branch: the
    /// branch being checked could have changed the file.
    pub weak: bool,
    /// The file does not exist at that revision (nobody may approve).
    pub missing: bool,
    /// SHA-256 of the file at that revision (`None` when missing).
    pub sha256: Option<String>,
}

impl TrustedSigners {
    /// Warnings for people: the source is weaker than it should be, or
    /// lines of the file could not be read (they allow nobody).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.missing {
            out.push(format!(
                "{} does not exist at {}: no approval can verify",
                layout::ALLOWED_SIGNERS,
                self.rev
            ));
        } else if self.weak {
            out.push(format!(
                "{} was read from HEAD (there is no refs/remotes/origin/HEAD); a branch can change its own HEAD, so this is weaker than a protected default branch (set --trusted-rev or {})",
                layout::ALLOWED_SIGNERS,
                env::TRUSTED_REV
            ));
        }
        out.extend(self.signers.problems.iter().map(|(line, why)| {
            format!(
                "{} at {}, line {line}: {why}",
                layout::ALLOWED_SIGNERS,
                self.rev
            )
        }));
        out
    }
}

/// Loads the signers from `rev`, or from the default trusted revision.
pub fn load(repo: &Repo, rev: Option<&str>) -> Result<TrustedSigners> {
    let from_env = std::env::var(env::TRUSTED_REV)
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (rev, weak) = match rev.map(str::to_string).or(from_env) {
        Some(r) => {
            if !resolves(repo, &r) {
                return Err(Error::input(format!(
                    "the trusted revision `{r}` does not name a commit"
                ))
                .hint("give a branch, tag or commit that holds orchestration/allowed_signers, e.g. --trusted-rev origin/main"));
            }
            (r, false)
        }
        None if resolves(repo, "refs/remotes/origin/HEAD") => ("origin/HEAD".to_string(), false),
        None => ("HEAD".to_string(), true),
    };
    let text = if resolves(repo, &rev) {
        git_show(repo, &rev, layout::ALLOWED_SIGNERS)?
    } else {
        None
    };
    Ok(TrustedSigners {
        missing: text.is_none(),
        sha256: text.as_deref().map(|t| crate::hash::bytes(t.as_bytes())),
        signers: text
            .as_deref()
            .map(AllowedSigners::parse)
            .unwrap_or_default(),
        rev,
        weak,
    })
}

fn resolves(repo: &Repo, rev: &str) -> bool {
    Command::new("git")
        .args([
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ])
        .current_dir(repo.root())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A file at a revision, or `None` when it does not exist there.
pub fn show(repo: &Repo, rev: &str, path: &str) -> Result<Option<String>> {
    git_show(repo, rev, path)
}

/// The file at `rev`, or `None` when it does not exist there.
fn git_show(repo: &Repo, rev: &str, path: &str) -> Result<Option<String>> {
    let out = Command::new("git")
        .args(["show", &format!("{rev}:{path}")])
        .current_dir(repo.root())
        .output()
        .map_err(|e| Error::input(format!("cannot run git: {}", crate::repo::io_reason(&e))))?;
    Ok(out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
}
