//! `orch artifact add`: registers an artifact with a run — a URL (a
//! Chromatic build, a preview), a pull request, or a file in the
//! repository (hashed) — for a gate, so `artifact_exists` checks and
//! reviewers can find it.

use crate::error::{Error, Result};
use crate::record::store::Store;
use crate::record::{Event, EventType, RegisteredArtifact};
use crate::repo::Repo;
use crate::{clock, hash};

/// What to register.
pub struct AddOptions {
    pub run: String,
    pub gate: String,
    /// `url`, `pull_request` or `file`.
    pub kind: String,
    pub label: String,
    pub url: Option<String>,
    pub path: Option<String>,
}

/// Registers the artifact; returns the run id and what was recorded.
pub fn add(repo: &Repo, opts: &AddOptions) -> Result<(String, RegisteredArtifact)> {
    super::non_empty(
        "--label",
        &opts.label,
        "name it as contracts look for it, e.g. --label Chromatic",
    )?;
    let (url, path, sha256) = match (opts.kind.as_str(), &opts.url, &opts.path) {
        ("url" | "pull_request", Some(u), None) => {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(Error::input(format!("`{u}` is not an http(s) URL")).hint(
                    "give the full address, e.g. --url https://www.chromatic.com/build?appId=…",
                ));
            }
            (Some(u.clone()), None, None)
        }
        ("file", None, Some(p)) => {
            let file = repo.contain(p).map_err(|e| e.into_error("--path"))?;
            if !file.abs.is_file() {
                return Err(Error::input(format!("{} is not a file", file.rel))
                    .hint("register a file that exists in the repository"));
            }
            let sha = hash::file(&file.abs).map_err(|e| Error::read(&file.rel, e))?;
            (None, Some(file.rel), Some(sha))
        }
        ("file", _, _) => {
            return Err(
                Error::input("a file artifact takes --path (and no --url)").hint(
                    "e.g. orch artifact add --type file --label Report --path essays/x/report.pdf",
                ),
            );
        }
        (_, _, _) => {
            return Err(Error::input(format!(
                "a {} artifact takes --url (and no --path)",
                opts.kind
            ))
            .hint("e.g. orch artifact add --type url --label Chromatic --url https://…"));
        }
    };
    let store = Store::new(repo);
    let id = store.resolve(&opts.run)?;
    let by = super::actor(repo);
    store.update(&id, |txn| {
        let g = super::gate::gate_of(&txn.run, &opts.gate)?;
        let attempt = g.latest().map(|a| a.attempt);
        let now = clock::now_timestamp();
        let artifact = RegisteredArtifact {
            kind: opts.kind.clone(),
            label: opts.label.trim().to_string(),
            url: url.clone(),
            path: path.clone(),
            sha256: sha256.clone(),
            gate: opts.gate.clone(),
            attempt,
            added_at: now.clone(),
            added_by: by.clone(),
        };
        let at = artifact
            .url
            .clone()
            .or(artifact.path.clone())
            .unwrap_or_default();
        txn.run.registered_artifacts.push(artifact.clone());
        txn.run.events.push(
            Event::new(
                &now,
                EventType::ArtifactAdded,
                format!(
                    "{} `{}` added for {}: {at}",
                    opts.kind, artifact.label, opts.gate
                ),
            )
            .gate(&opts.gate, attempt),
        );
        Ok((id.clone(), artifact))
    })
}
