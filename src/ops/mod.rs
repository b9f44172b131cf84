//! What orch does, as plain functions over plain options: the command line
//! is one caller, tests and the pipeline are others. Nothing here knows
//! about clap or about how results are printed.

pub mod approval;
pub mod artifact;
pub mod gate;
pub mod invocation;
pub mod logs;
pub mod pipeline;
pub mod recipe_run;
pub mod run;
pub mod skill;
pub mod steps;

use std::process::Command;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::record::Actor;
use crate::record::RunRecord;
use crate::record::store::Store;
use crate::repo::{Repo, is_safe_component};
use crate::workflow::LoadedWorkflow;

/// Who is running orch, as git would name the author of a commit:
/// `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL`, else `user.name`/`user.email`.
pub fn actor(repo: &Repo) -> Option<Actor> {
    static ACTOR: OnceLock<Option<Actor>> = OnceLock::new();
    ACTOR
        .get_or_init(|| {
            let mut actor = Actor {
                name: std::env::var("GIT_AUTHOR_NAME")
                    .ok()
                    .filter(|s| !s.is_empty()),
                email: std::env::var("GIT_AUTHOR_EMAIL")
                    .ok()
                    .filter(|s| !s.is_empty()),
            };
            if actor.name.is_none() || actor.email.is_none() {
                let out = Command::new("git")
                    .args(["config", "--get-regexp", r"^user\.(name|email)$"])
                    .current_dir(repo.root())
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                // Listed from the widest scope to the narrowest: the last value wins, as in git.
                let (mut name, mut email) = (None, None);
                for line in out.lines() {
                    match line.split_once(' ') {
                        Some(("user.name", v)) => name = Some(v.to_string()),
                        Some(("user.email", v)) => email = Some(v.to_string()),
                        _ => {}
                    }
                }
                actor.name = actor.name.or(name);
                actor.email = actor.email.or(email);
            }
            (!actor.is_empty()).then_some(actor)
        })
        .clone()
}

/// Refuses an empty (or blank) value for a flag whose value is recorded.
pub fn non_empty(flag: &str, value: &str, hint: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::input(format!("{flag} must not be empty")).hint(hint));
    }
    Ok(())
}

/// Refuses a slug that cannot be a single path component.
pub fn check_slug(slug: &str) -> Result<()> {
    if is_safe_component(slug) {
        Ok(())
    } else {
        Err(Error::input(format!("slug `{slug}` is not a safe path component"))
            .hint("use letters, digits, `.`, `_` and `-`, not starting with `.` or `-` (e.g. `the-word-robot`)"))
    }
}

/// The workflow a run follows: the file it recorded, else by name.
pub fn run_workflow(repo: &Repo, run: &RunRecord) -> Result<LoadedWorkflow> {
    match &run.workflow.path {
        Some(rel) => {
            let path = repo
                .contain(rel)
                .map_err(|e| e.into_error("workflow path"))?;
            LoadedWorkflow::load(repo, &path.abs)
        }
        None => LoadedWorkflow::find(repo, &run.workflow.name),
    }
}

/// The template variables of a run (its artifact path proven safe).
pub fn run_vars<'r>(
    repo: &'r Repo,
    run: &RunRecord,
) -> Result<crate::contract::template::Vars<'r>> {
    let artifact = repo
        .contain(&run.workflow.artifact_path)
        .map_err(|e| e.into_error("artifact path in RUN.json"))?;
    Ok(crate::contract::template::Vars::new(
        repo,
        &run.workflow.slug,
        &artifact.rel,
    ))
}

/// Checks a run's artifact path (repo-relative): a folder of its own below
/// the repository root, outside orch's and git's folders. Returns it normalised.
pub fn artifact_dir(repo: &Repo, raw: &str) -> Result<String> {
    let path = repo
        .contain(raw)
        .map_err(|e| e.into_error("artifact path"))?;
    let own = |dir: &str| path.rel == dir || path.rel.starts_with(&format!("{dir}/"));
    if own(".git") || own("orchestration") {
        return Err(Error::input(format!(
            "the artifact path `{}` is inside orch's or git's own folders",
            path.rel
        ))
        .hint("put a run's outputs in a folder of their own, e.g. essays/<slug>"));
    }
    if path.rel.is_empty() {
        return Err(Error::input(format!(
            "the artifact path `{raw}` is the repository root itself, and a run's outputs need a folder of their own"
        ))
        .hint("name a folder below the root, e.g. --artifact-path essays/<slug> (relative to the current directory)"));
    }
    Ok(path.rel)
}

/// Loads a run by id, prefix or suffix.
pub fn load_run(store: &Store, query: &str) -> Result<RunRecord> {
    let id = store.resolve(query)?;
    store.load(&id)
}

/// Refuses changes to a completed run.
pub fn ensure_open(run: &RunRecord) -> Result<()> {
    run.ensure_open()
}
