//! Reading and writing runs. Every change to a run goes through
//! `Store::update`: take the run's lock, re-read the record, apply the
//! change, write the touched attempt files and then `RUN.json`, each
//! atomically. Two orch processes changing the same run therefore both
//! land, one after the other, and a crash never leaves half a file.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::record::{AttemptFile, FORMAT_VERSION, RunRecord};
use crate::repo::{Repo, is_safe_component};
use crate::storage::{FileLock, atomic, layout, write_atomic};
use crate::{env, json};

/// The runs of one repository.
pub struct Store<'r> {
    repo: &'r Repo,
}

/// A change in progress: the freshly read record, and which attempt files
/// the change touched (they are rewritten from the record).
pub struct Txn {
    pub run: RunRecord,
    touched: Vec<(String, u32)>,
}

impl Txn {
    /// Marks an attempt whose file must be (re)written.
    pub fn touch(&mut self, gate: &str, attempt: u32) {
        let key = (gate.to_string(), attempt);
        if !self.touched.contains(&key) {
            self.touched.push(key);
        }
    }
}

impl<'r> Store<'r> {
    pub fn new(repo: &'r Repo) -> Self {
        Store { repo }
    }

    pub fn repo(&self) -> &Repo {
        self.repo
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.repo.join(layout::RUNS_DIR)
    }

    /// Every run directory name, sorted (which is oldest first for orch's ids).
    pub fn ids(&self) -> Result<Vec<String>> {
        let dir = self.runs_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::read(layout::RUNS_DIR, e)),
        };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| is_safe_component(name))
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Resolves a full id, or a unique prefix or suffix of one.
    pub fn resolve(&self, query: &str) -> Result<String> {
        let query = query.trim();
        if query.is_empty() {
            return Err(Error::input("empty run id").hint("`orch run list` shows the runs"));
        }
        let ids = self.ids()?;
        if ids.iter().any(|id| id == query) {
            return Ok(query.to_string());
        }
        let matches: Vec<&String> = ids
            .iter()
            .filter(|id| id.starts_with(query) || id.ends_with(query))
            .collect();
        match matches.as_slice() {
            [one] => Ok((*one).clone()),
            [] if ids.is_empty() => Err(Error::input(format!(
                "no run matches `{query}`: there are no runs yet"
            ))
            .hint("start one with `orch run start --workflow <name> --slug <slug>`")),
            [] => Err(Error::input(format!("no run matches `{query}`")).hint(
                "`orch run list` shows the runs; any unique prefix or suffix of an id works",
            )),
            many => {
                let shown: Vec<&str> = many.iter().take(10).map(|s| s.as_str()).collect();
                let more = if many.len() > 10 {
                    format!(" and {} more", many.len() - 10)
                } else {
                    String::new()
                };
                Err(
                    Error::input(format!("`{query}` matches {} runs", many.len()))
                        .hint(format!("candidates: {}{more}", shown.join(", ")))
                        .hint("give more of the id"),
                )
            }
        }
    }

    /// Reads a run's `RUN.json`.
    pub fn load(&self, id: &str) -> Result<RunRecord> {
        let rel = layout::run_json(id);
        let text = match std::fs::read_to_string(self.repo.join(&rel)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(
                    Error::input(format!("run `{id}` has no record: `{rel}` is missing"))
                        .hint("`orch run list` shows the runs that have records"),
                );
            }
            Err(e) => return Err(Error::read(&rel, e)),
        };
        json::parse(&text, &rel)
    }

    /// Writes a new run. Returns false, writing nothing, when a run with the
    /// same id already exists.
    pub fn create(&self, run: &RunRecord) -> Result<bool> {
        let runs = self.runs_dir();
        self.repo.create_dir_all(&runs)?;
        let dir = self.repo.join(&layout::run_dir(&run.run_id));
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(Error::write(layout::run_dir(&run.run_id), e)),
        }
        let logs = self.repo.join(&layout::logs_dir(&run.run_id));
        self.repo.create_dir_all(&logs)?;
        let _lock = self.lock(&run.run_id)?;
        self.write_run(run)?;
        Ok(true)
    }

    fn lock(&self, id: &str) -> Result<FileLock> {
        FileLock::acquire(
            &self.repo.join(&layout::lock_file(id)),
            &format!("run {id}"),
            env::seconds(env::LOCK_TIMEOUT, 60.0),
        )
    }

    /// Applies `change` to the current record of run `id` under its lock.
    /// Nothing is written if `change` returns an error.
    pub fn update<T>(&self, id: &str, change: impl FnOnce(&mut Txn) -> Result<T>) -> Result<T> {
        let _lock = self.lock(id)?;
        let run = self.load(id)?;
        if run.format_version > FORMAT_VERSION {
            return Err(Error::conflict(format!(
                "run `{id}` was written by a newer orch (record format {}); this orch writes format {FORMAT_VERSION} and will not modify it",
                run.format_version
            ))
            .hint("upgrade orch to change this run; reading it (`orch run show`) still works"));
        }
        let mut txn = Txn {
            run,
            touched: Vec::new(),
        };
        let out = change(&mut txn)?;
        txn.run.format_version = FORMAT_VERSION;
        for (gate, number) in &txn.touched {
            let Some(attempt) = txn
                .run
                .gate(gate)
                .and_then(|g| g.attempts.iter().find(|a| a.attempt == *number))
            else {
                continue;
            };
            let rel = layout::attempt_file(id, gate, *number);
            let path = self.repo.join(&rel);
            if let Some(dir) = path.parent() {
                atomic::remove_stale_temps(dir);
            }
            let file = AttemptFile {
                format_version: FORMAT_VERSION,
                attempt,
            };
            write_atomic(&path, &json::to_pretty(&file)).map_err(|e| Error::write(&rel, e))?;
        }
        atomic::remove_stale_temps(&self.repo.join(&layout::record_dir(id)));
        self.write_run(&txn.run)?;
        Ok(out)
    }

    fn write_run(&self, run: &RunRecord) -> Result<()> {
        let rel = layout::run_json(&run.run_id);
        write_atomic(&self.repo.join(&rel), &json::to_pretty(run))
            .map_err(|e| Error::write(&rel, e))
    }
}
