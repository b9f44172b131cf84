//! `orch hooks install`: a git pre-commit hook that lints the orchestration
//! sources and verifies the runs a commit touches, so a broken contract or
//! a record that no longer matches its outputs never reaches a pull request.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::repo::Repo;
use crate::report::findings::{Case, Finding, Group, Level};
use crate::storage::layout;

/// Marks hooks orch wrote, so it can update its own and leave others alone.
pub const MARKER: &str = "# installed by `orch hooks install`";

/// Where git looks for hooks (honours core.hooksPath and worktrees).
fn hooks_dir(repo: &Repo) -> Result<PathBuf> {
    let out = Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .current_dir(repo.root())
        .output()
        .map_err(|e| Error::input(format!("cannot run git: {}", crate::repo::io_reason(&e))))?;
    if !out.status.success() {
        return Err(Error::input("cannot find the git hooks folder")
            .hint("run this inside a git work tree"));
    }
    let rel = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(repo.root().join(rel))
}

/// The hook: lint everything (fast), then verify only the runs the commit
/// touches. It runs the orch that installed it (an older `orch` earlier on
/// PATH may lack what the hook asks for), else `orch` on PATH; `$ORCH`
/// overrides both.
fn script(orch: &str) -> String {
    format!(
        r#"#!/bin/sh
{MARKER}
# Lints orch's sources and verifies the runs this commit touches: staged
# records and contracts, and staged outputs a run recorded.
# Skip once with `git commit --no-verify`; remove by deleting this file.
if [ -z "$ORCH" ]; then
    ORCH='{orch}'
    [ -x "$ORCH" ] || ORCH=orch
fi
"$ORCH" lint --quiet || exit 1
exec "$ORCH" verify --staged --quiet
"#
    )
}

/// What `install` did.
pub enum Installed {
    Created(PathBuf),
    Updated(PathBuf),
}

/// Installs the pre-commit hook. An existing hook orch did not write is
/// left alone unless `force`.
pub fn install(repo: &Repo, force: bool) -> Result<Installed> {
    let dir = hooks_dir(repo)?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(dir.display(), e))?;
    let path = dir.join("pre-commit");
    let existing = crate::storage::regular::read_to_string(&path).ok();
    if let Some(text) = &existing
        && !text.contains(MARKER)
        && !force
    {
        return Err(Error::conflict(format!("{} already exists and was not written by orch", repo.display(&path)))
            .hint("add `orch lint && orch verify` to it yourself, or replace it with `orch hooks install --force`"));
    }
    let orch = std::env::current_exe().ok().map_or_else(
        || "orch".to_string(),
        |p| p.display().to_string().replace('\'', "'\\''"),
    );
    crate::storage::write_atomic(&path, script(&orch).as_bytes())
        .map_err(|e| Error::write(path.display(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::write(path.display(), e))?;
    }
    Ok(if existing.is_some() {
        Installed::Updated(path)
    } else {
        Installed::Created(path)
    })
}

/// Why a staged path must never be committed, if it must not: anything in
/// a run's `logs/` folder (packets, agent output, the lock and the lease),
/// and the lock and temporary files orch writes next to records.
fn never_committed(path: &str) -> Option<&'static str> {
    let in_run = path.strip_prefix(layout::RUNS_DIR)?.strip_prefix('/')?;
    let name = path.rsplit('/').next().unwrap_or(path);
    if in_run.split('/').nth(1) == Some("logs") {
        Some("is in a run's logs/ folder, which stays out of git")
    } else if name.starts_with(".orch-tmp-") {
        Some("is a temporary file a crashed orch left behind")
    } else if Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("lock"))
    {
        Some("is a lock file")
    } else {
        None
    }
}

/// The staged files a commit must not take (see `never_committed`), as a
/// report group; `None` when there are none.
pub fn forbidden_staged(staged: &BTreeSet<String>) -> Option<Group> {
    let cases: Vec<Case> = staged
        .iter()
        .filter_map(|p| never_committed(p).map(|why| (p, why)))
        .map(|(path, why)| {
            let mut case = Case::new(path.clone());
            case.push(
                Finding::new(
                    Level::Error,
                    "not_for_commit",
                    format!("staged, but it {why}"),
                )
                .hint(format!(
                    "take it out of the commit: git rm --cached -- {path}"
                )),
            );
            case
        })
        .collect();
    (!cases.is_empty()).then(|| Group {
        name: "staged files".to_string(),
        description: Some("files that never belong in a commit".to_string()),
        cases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_locks_and_temporary_files_are_never_committed() {
        for path in [
            "orchestration/runs/run_x/logs/run.lock",
            "orchestration/runs/run_x/logs/gates/G1/attempt-1/prompt.txt",
            "orchestration/runs/run_x/record/.orch-tmp-RUN.json.1",
            "orchestration/runs/run_x/record/RUN.json.lock",
        ] {
            assert!(never_committed(path).is_some(), "{path}");
        }
        for path in [
            "orchestration/runs/run_x/record/RUN.json",
            "orchestration/runs/run_x/record/gates/G1/attempt-1.json",
            "essays/logs/notes.md",
            "orchestration/workflows/logs.json",
        ] {
            assert!(never_committed(path).is_none(), "{path}");
        }
    }
}
