//! A run's `logs/` folder (prompt packets, agent output, the lock and the
//! lease) must never reach git, in any repository, whatever its
//! `.gitignore` says: orch writes a `.gitignore` of `*` inside it when it
//! creates it, as Python's venv does. The `*` ignores that file too, so the
//! folder leaves no trace in `git status`.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::repo::Repo;

/// What the logs folder's `.gitignore` says.
pub const GITIGNORE: &str =
    "# Written by orch: a run's logs (prompt packets, agent output, locks) stay out of git.\n*\n";

/// Creates the logs folder `dir` (and its parents) with its `.gitignore`,
/// or adds the `.gitignore` to a folder an older orch created.
pub fn ensure(repo: &Repo, dir: &Path) -> Result<()> {
    let ignore = dir.join(".gitignore");
    if ignore.is_file() {
        return Ok(());
    }
    repo.create_dir_all(dir)?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&ignore)
    {
        Ok(mut f) => f
            .write_all(GITIGNORE.as_bytes())
            .map_err(|e| Error::write(repo.display(&ignore), e)),
        // Another orch wrote it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::write(repo.display(&ignore), e)),
    }
}
