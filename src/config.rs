//! The repository's own settings, committed in `orchestration/config.json`:
//! which environment variable holds the team queue's URL (never the URL:
//! it may carry a password), and whether workers isolate each task in a
//! worktree by default. Read in one place, so an unknown key is an error
//! wherever the file is read.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::isolate::Finish;
use crate::json;
use crate::repo::Repo;

/// The repository's config file.
pub const FILE: &str = "orchestration/config.json";

/// `orchestration/config.json`; every section optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoConfig {
    #[serde(default)]
    pub queue: Option<QueueConfig>,
    #[serde(default)]
    pub isolate: Option<IsolateConfig>,
}

/// `"queue"`: where each machine finds the queue's URL.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// The environment variable that holds the URL on each machine.
    pub url_env: String,
}

/// `"isolate"`: how `orch worker` and `orch task run` isolate runs when
/// the command line does not say (`--isolate`, `--no-isolate`, …).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsolateConfig {
    /// Isolate every run unless `--no-isolate`.
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub finish: Option<FinishName>,
    #[serde(default)]
    pub base_branch: Option<String>,
    /// Relative to the repository's root, or absolute.
    #[serde(default)]
    pub worktrees: Option<PathBuf>,
    #[serde(default)]
    pub remote: Option<String>,
}

/// `"finish"`: what happens to a task's branch once its run is committed.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishName {
    Leave,
    Merge,
    Pr,
}

impl From<FinishName> for Finish {
    fn from(f: FinishName) -> Finish {
        match f {
            FinishName::Leave => Finish::Leave,
            FinishName::Merge => Finish::Merge,
            FinishName::Pr => Finish::Pr,
        }
    }
}

/// Reads the repository's config; none at all is the default.
pub fn load(repo: &Repo) -> Result<RepoConfig> {
    let text = match std::fs::read_to_string(repo.join(FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RepoConfig::default()),
        Err(e) => return Err(Error::read(FILE, e)),
    };
    let hint = r#"it may hold {"queue": {"url_env": "TEAM_QUEUE_URL"}} (a variable's name, never the URL) and {"isolate": {"default": true, "finish": "leave|merge|pr", "base_branch": "main", "worktrees": "DIR", "remote": "origin"}}"#;
    let config: RepoConfig = json::parse(&text, FILE).map_err(|e| e.hint(hint))?;
    let isolate = config.isolate.as_ref();
    let named = [
        (
            "queue.url_env",
            config.queue.as_ref().map(|q| q.url_env.clone()),
        ),
        (
            "isolate.base_branch",
            isolate.and_then(|i| i.base_branch.clone()),
        ),
        ("isolate.remote", isolate.and_then(|i| i.remote.clone())),
        (
            "isolate.worktrees",
            isolate.and_then(|i| i.worktrees.as_ref().map(|w| w.display().to_string())),
        ),
    ];
    if let Some((key, _)) = named
        .iter()
        .find(|(_, v)| v.as_deref().is_some_and(|v| v.trim().is_empty()))
    {
        return Err(Error::input(format!("{FILE}: {key} is empty")).hint(hint));
    }
    Ok(config)
}
