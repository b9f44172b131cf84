//! `orch run diff`: what a change did to run records, in a few lines, for a
//! reviewer. It compares each run's RUN.json in the working tree with the
//! same file at a git revision (default `HEAD`, or the base of a pull
//! request): gates that changed status, new attempts and why they failed,
//! outputs whose hashes changed, invocations and cost added.

use std::collections::BTreeSet;
use std::process::Command;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::record::store::Store;
use crate::record::{AttemptStatus, RunRecord};
use crate::repo::Repo;
use crate::storage::layout;

#[derive(Clone, Debug, Serialize)]
pub struct RunDiff {
    pub run_id: String,
    /// `added` (new since REV), `changed`, `removed`, `unchanged`.
    pub change: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Change>,
    pub gates: Vec<GateDiff>,
    pub artifacts: Vec<ArtifactDiff>,
    pub invocations_added: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd_added: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct GateDiff {
    pub gate: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Change>,
    pub new_attempts: Vec<NewAttempt>,
}

#[derive(Clone, Debug, Serialize)]
pub struct NewAttempt {
    pub attempt: u32,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ArtifactDiff {
    pub path: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Review {
    pub since: String,
    pub runs: Vec<RunDiff>,
}

fn git(repo: &Repo, args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .args(args)
        .current_dir(repo.root())
        .output()
        .map_err(|e| {
            Error::input(format!("cannot run git: {}", crate::repo::io_reason(&e)))
                .hint("orch run diff reads history with git")
        })
}

/// Checks that `rev` names a commit; `None` when the repository has no commits yet.
fn resolve_rev(repo: &Repo, rev: &str) -> Result<Option<String>> {
    let out = git(
        repo,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )?;
    if out.status.success() {
        return Ok(Some(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ));
    }
    let has_commits = git(repo, &["rev-parse", "--verify", "--quiet", "HEAD"])?
        .status
        .success();
    if rev == "HEAD" && !has_commits {
        return Ok(None);
    }
    Err(
        Error::input(format!("`{rev}` is not a commit in this repository"))
            .hint("give a branch, tag or commit, e.g. --since origin/main"),
    )
}

fn old_record(repo: &Repo, commit: Option<&str>, id: &str) -> Result<Option<RunRecord>> {
    let Some(commit) = commit else {
        return Ok(None);
    };
    let out = git(
        repo,
        &["show", &format!("{commit}:{}", layout::run_json(id))],
    )?;
    if !out.status.success() {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    crate::json::parse::<RunRecord>(
        &text,
        &format!("{}:{}", short(commit), layout::run_json(id)),
    )
    .map(Some)
}

fn short(s: &str) -> &str {
    s.get(..12).unwrap_or(s)
}

/// Run ids whose record differs between `commit` and the working tree.
fn changed_runs(repo: &Repo, commit: Option<&str>) -> Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut paths: Vec<String> = Vec::new();
    if let Some(c) = commit {
        let out = git(repo, &["diff", "--name-only", c, "--", layout::RUNS_DIR])?;
        paths.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string),
        );
    }
    let out = git(
        repo,
        &[
            "ls-files",
            "--others",
            "--exclude-standard",
            "--",
            layout::RUNS_DIR,
        ],
    )?;
    paths.extend(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string),
    );
    if commit.is_none() {
        let out = git(repo, &["ls-files", "--", layout::RUNS_DIR])?;
        paths.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string),
        );
    }
    for p in paths {
        let rest = p
            .strip_prefix(&format!("{}/", layout::RUNS_DIR))
            .unwrap_or("");
        if let Some((id, tail)) = rest.split_once('/')
            && tail.starts_with("record/")
        {
            ids.insert(id.to_string());
        }
    }
    Ok(ids)
}

/// Compares run records with revision `since`; `run` narrows it to one run.
pub fn diff(repo: &Repo, run: Option<&str>, since: &str) -> Result<Review> {
    let commit = resolve_rev(repo, since)?;
    let store = Store::new(repo);
    let ids: BTreeSet<String> = match run {
        Some(q) => std::iter::once(store.resolve(q)?).collect(),
        None => changed_runs(repo, commit.as_deref())?,
    };
    let mut runs = Vec::new();
    for id in ids {
        let old = old_record(repo, commit.as_deref(), &id)?;
        let new = if repo.join(&layout::run_json(&id)).exists() {
            Some(store.load(&id)?)
        } else {
            None
        };
        runs.push(compare(&id, old.as_ref(), new.as_ref()));
    }
    Ok(Review {
        since: since.to_string(),
        runs,
    })
}

fn compare(id: &str, old: Option<&RunRecord>, new: Option<&RunRecord>) -> RunDiff {
    let change = match (old, new) {
        (None, Some(_)) => "added",
        (Some(_), None) => "removed",
        (Some(o), Some(n)) if serde_json::to_value(o).ok() == serde_json::to_value(n).ok() => {
            "unchanged"
        }
        _ => "changed",
    };
    let any = new.or(old);
    let mut d = RunDiff {
        run_id: id.to_string(),
        change: change.to_string(),
        workflow: any.map(|r| format!("{}/{}", r.workflow.name, r.workflow.slug)),
        status: None,
        gates: Vec::new(),
        artifacts: Vec::new(),
        invocations_added: 0,
        cost_usd_added: None,
    };
    let Some(new) = new else { return d };
    let old_status = old.map(|o| o.status.to_string());
    if old_status.as_deref() != Some(new.status.as_str()) {
        d.status = Some(Change {
            from: old_status,
            to: Some(new.status.to_string()),
        });
    }
    for g in &new.gates {
        let before = old.and_then(|o| o.gate(&g.gate));
        let known: BTreeSet<u32> = before
            .map(|b| b.attempts.iter().map(|a| a.attempt).collect())
            .unwrap_or_default();
        let new_attempts: Vec<NewAttempt> = g
            .attempts
            .iter()
            .filter(|a| {
                !known.contains(&a.attempt)
                    || before
                        .and_then(|b| b.attempts.iter().find(|x| x.attempt == a.attempt))
                        .is_some_and(|x| {
                            x.status == AttemptStatus::Running && a.status != AttemptStatus::Running
                        })
            })
            .map(|a| NewAttempt {
                attempt: a.attempt,
                status: a.status.to_string(),
                agent: a.agent.clone(),
                failure_reason: a.failure_reason.clone(),
            })
            .collect();
        let from = before.map(|b| b.status.to_string());
        let untouched = from.is_none() && g.attempts.is_empty();
        let status = (from.as_deref() != Some(g.status.as_str()) && !untouched).then(|| Change {
            from,
            to: Some(g.status.to_string()),
        });
        if status.is_some() || !new_attempts.is_empty() {
            d.gates.push(GateDiff {
                gate: g.gate.clone(),
                name: g.name.clone(),
                status,
                new_attempts,
            });
        }
    }
    let old_index = old.map(|o| o.artifacts_index.clone()).unwrap_or_default();
    for a in &new.artifacts_index {
        let before = old_index
            .iter()
            .find(|o| o.path == a.path)
            .map(|o| o.sha256.clone());
        if before.as_deref() != Some(a.sha256.as_str()) {
            d.artifacts.push(ArtifactDiff {
                path: a.path.clone(),
                from: before,
                to: Some(a.sha256.clone()),
            });
        }
    }
    for o in old_index
        .iter()
        .filter(|o| !new.artifacts_index.iter().any(|a| a.path == o.path))
    {
        d.artifacts.push(ArtifactDiff {
            path: o.path.clone(),
            from: Some(o.sha256.clone()),
            to: None,
        });
    }
    let old_ids: BTreeSet<&str> = old
        .map(|o| o.invocations.iter().map(|i| i.id.as_str()).collect())
        .unwrap_or_default();
    let added: Vec<_> = new
        .invocations
        .iter()
        .filter(|i| !old_ids.contains(i.id.as_str()))
        .collect();
    d.invocations_added = added.len();
    let cost: f64 = added
        .iter()
        .filter_map(|i| i.cost.as_ref().and_then(|c| c.usd))
        .sum();
    d.cost_usd_added = (cost > 0.0).then_some((cost * 1e6).round() / 1e6);
    d
}

/// The review for people: a few lines per run.
pub fn render(review: &Review) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if review.runs.is_empty() {
        let _ = writeln!(out, "no run records changed since {}", review.since);
        return out;
    }
    for r in &review.runs {
        let wf = r
            .workflow
            .as_deref()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        let status = r
            .status
            .as_ref()
            .map(|c| match &c.from {
                Some(f) => format!(": {f} → {}", c.to.as_deref().unwrap_or("-")),
                None => format!(": {}", c.to.as_deref().unwrap_or("-")),
            })
            .unwrap_or_default();
        let _ = writeln!(out, "{}{wf} [{}]{status}", r.run_id, r.change);
        for g in &r.gates {
            let name = g
                .name
                .as_deref()
                .map(|n| format!(" {n}"))
                .unwrap_or_default();
            let change = g
                .status
                .as_ref()
                .map(|c| {
                    format!(
                        ": {} → {}",
                        c.from.as_deref().unwrap_or("-"),
                        c.to.as_deref().unwrap_or("-")
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(out, "  {}{name}{change}", g.gate);
            for a in &g.new_attempts {
                let agent = a
                    .agent
                    .as_deref()
                    .map(|x| format!(" by {x}"))
                    .unwrap_or_default();
                let why = a
                    .failure_reason
                    .as_deref()
                    .map(|f| format!(": {f}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "    + attempt {} {}{agent}{why}", a.attempt, a.status);
            }
        }
        for a in &r.artifacts {
            let line = match (&a.from, &a.to) {
                (None, Some(t)) => format!("+ {} {}", a.path, short(t)),
                (Some(f), Some(t)) => format!("~ {} {} → {}", a.path, short(f), short(t)),
                (Some(f), None) => format!("- {} {}", a.path, short(f)),
                (None, None) => continue,
            };
            let _ = writeln!(out, "  {line}");
        }
        if r.invocations_added > 0 {
            let cost = r
                .cost_usd_added
                .map(|c| format!(", ${c:.4} reported or estimated"))
                .unwrap_or_default();
            let _ = writeln!(out, "  + {} invocation(s){cost}", r.invocations_added);
        }
    }
    out
}
