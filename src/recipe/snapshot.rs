//! `on_fail: revert`: before an attempt's work starts, orch copies the
//! gate's outputs as they are (the files its contract's required outputs
//! stand for: files, directories, globs) into the attempt's logs folder;
//! when the attempt fails, every output file the attempt changed is put
//! back and every one it created is removed. Nothing else in the working
//! tree is touched — this is never a `git reset` — and what was put back
//! is recorded in the attempt (`reverted`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::hash;
use crate::record::Reverted;
use crate::repo::Repo;
use crate::validate::{self, Context};

/// The outputs as they were: each file's path and SHA-256, its copy in
/// `dir/files/`, and the output folders that existed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(skip)]
    dir: PathBuf,
    files: BTreeMap<String, String>,
    dirs: Vec<String>,
}

const MANIFEST: &str = "manifest.json";

/// The output files and folders a contract stands for now.
fn outputs(contract: &Contract, ctx: &Context) -> Result<(BTreeMap<String, PathBuf>, Vec<String>)> {
    let mut files = BTreeMap::new();
    let mut dirs = Vec::new();
    for o in validate::resolve_outputs(contract, ctx)? {
        for f in &o.files {
            files.insert(f.rel.clone(), f.abs.clone());
        }
        if ctx.repo.join(&o.path).is_dir() {
            dirs.push(o.path.clone());
        }
    }
    Ok((files, dirs))
}

/// Copies the outputs into `dir` (the attempt's logs folder).
pub fn take(contract: &Contract, ctx: &Context, dir: &Path) -> Result<Snapshot> {
    let (files, dirs) = outputs(contract, ctx)?;
    let copies = dir.join("files");
    let mut hashes = BTreeMap::new();
    for (rel, abs) in &files {
        let copy = copies.join(rel);
        if let Some(parent) = copy.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::write(parent.display(), e))?;
        }
        std::fs::copy(abs, &copy).map_err(|e| Error::read(rel, e))?;
        hashes.insert(
            rel.clone(),
            hash::file(&copy).map_err(|e| Error::read(rel, e))?,
        );
    }
    let snap = Snapshot {
        dir: dir.to_path_buf(),
        files: hashes,
        dirs,
    };
    std::fs::write(dir.join(MANIFEST), crate::json::to_pretty(&snap))
        .map_err(|e| Error::write(dir.join(MANIFEST).display(), e))?;
    Ok(snap)
}

/// The snapshot kept in `dir`, if one was taken.
pub fn load(dir: &Path) -> Option<Snapshot> {
    let text = crate::storage::regular::read_to_string(&dir.join(MANIFEST)).ok()?;
    let mut snap: Snapshot = serde_json::from_str(&text).ok()?;
    snap.dir = dir.to_path_buf();
    Some(snap)
}

impl Snapshot {
    /// Puts the outputs back as they were; returns what it changed.
    pub fn restore(
        &self,
        repo: &Repo,
        contract: &Contract,
        ctx: &Context,
    ) -> Result<Vec<Reverted>> {
        let (now, _) = outputs(contract, ctx)?;
        let mut out = Vec::new();
        for (rel, abs) in &now {
            if !self.files.contains_key(rel) {
                std::fs::remove_file(abs).map_err(|e| Error::write(rel, e))?;
                out.push(Reverted {
                    path: rel.clone(),
                    action: "removed".into(),
                });
                remove_empty_parents(repo, abs, &self.dirs);
            }
        }
        for (rel, sha) in &self.files {
            let target = repo.contain(rel).map_err(|e| e.into_error("output"))?;
            if hash::file(&target.abs).ok().as_deref() == Some(sha.as_str()) {
                continue;
            }
            if let Some(parent) = target.abs.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::write(rel, e))?;
            }
            crate::storage::write_atomic(
                &target.abs,
                &crate::storage::regular::read(&self.dir.join("files").join(rel))
                    .map_err(|e| Error::read(rel, e))?,
            )
            .map_err(|e| Error::write(rel, e))?;
            out.push(Reverted {
                path: rel.clone(),
                action: "restored".into(),
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

/// Removes folders a removed file leaves empty, up to (not including) the
/// first that existed before the attempt, and never the repository root.
fn remove_empty_parents(repo: &Repo, file: &Path, existed: &[String]) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        let Some(rel) = repo.relative(d) else { break };
        if rel.is_empty() || existed.contains(&rel) {
            break;
        }
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}
