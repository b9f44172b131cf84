//! Reading and writing runs. Every change to a run goes through
//! `Store::update`: take the run's lock, re-read the record, apply the
//! change, write the touched attempt files and then `RUN.json`, each
//! atomically. Two orch processes changing the same run therefore both
//! land, one after the other, and a crash never leaves half a file.

use std::path::PathBuf;

use crate::lease;

use crate::error::{Error, Result};
use crate::record::{AttemptFile, FORMAT_VERSION, RunRecord};
use crate::repo::{Repo, is_safe_component};
use crate::storage::{FileLock, atomic, layout, write_atomic};
use crate::{env, json};

/// The runs of one repository.
pub struct Store<'r> {
    repo: &'r Repo,
}

/// A change in progress: the freshly read record, which attempt files the
/// change touched (they are rewritten from the record), and any other
/// record files it adds (written with it, before RUN.json).
pub struct Txn {
    pub run: RunRecord,
    touched: Vec<(String, u32)>,
    files: Vec<(RecordFile, Vec<u8>)>,
}

/// A file of a run's record besides RUN.json and the attempt files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordFile {
    /// A signed approval or rejection of one attempt (`approval/`).
    Approval {
        gate: String,
        attempt: u32,
        id: String,
    },
    /// The notifications sent about the run (`notify/`).
    Notifications,
}

impl RecordFile {
    /// Its repo-relative path in run `id`'s record.
    pub fn rel(&self, run_id: &str) -> String {
        match self {
            RecordFile::Approval { gate, attempt, id } => {
                layout::approval_file(run_id, gate, *attempt, id)
            }
            RecordFile::Notifications => layout::notifications_file(run_id),
        }
    }
}

impl Txn {
    /// Marks an attempt whose file must be (re)written.
    pub fn touch(&mut self, gate: &str, attempt: u32) {
        let key = (gate.to_string(), attempt);
        if !self.touched.contains(&key) {
            self.touched.push(key);
        }
    }

    /// Writes `bytes` as a record file with this change.
    pub fn write_file(&mut self, file: RecordFile, bytes: Vec<u8>) {
        self.files.retain(|(f, _)| *f != file);
        self.files.push((file, bytes));
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

    /// A path of orch's run layout, proven inside the repository (a run
    /// folder, its `record/` or `logs/` could be a symlink pointing out).
    fn path(&self, rel: &str) -> Result<PathBuf> {
        self.repo.contain(rel).map(|p| p.abs).map_err(|e| {
            Error::input(format!("unsafe run path: {e}")).hint(
                "a run's folder, record/ and logs/ must be real folders inside the repository",
            )
        })
    }

    /// Reads a run's `RUN.json`, and checks the record can name files: its
    /// `run_id` is its folder's name, its gate codes are path components.
    pub fn load(&self, id: &str) -> Result<RunRecord> {
        let rel = layout::run_json(id);
        let text = match std::fs::read_to_string(self.path(&rel)?) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(
                    Error::input(format!("run `{id}` has no record: `{rel}` is missing"))
                        .hint("`orch run list` shows the runs that have records"),
                );
            }
            Err(e) => return Err(Error::read(&rel, e)),
        };
        let run: RunRecord = json::parse(&text, &rel)?;
        check_identity(&run, id, &rel)?;
        Ok(run)
    }

    /// Writes a new run. Returns false, writing nothing, when a run with the
    /// same id already exists.
    pub fn create(&self, run: &RunRecord) -> Result<bool> {
        let runs = self.path(layout::RUNS_DIR)?;
        atomic::create_dir_all_durable(&runs).map_err(|e| Error::write(layout::RUNS_DIR, e))?;
        let dir = self.path(&layout::run_dir(&run.run_id))?;
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(Error::write(layout::run_dir(&run.run_id), e)),
        }
        atomic::sync_dir(&runs).map_err(|e| Error::write(layout::RUNS_DIR, e))?;
        let logs = self.path(&layout::logs_dir(&run.run_id))?;
        super::logs::ensure(self.repo, &logs)?;
        let _lock = self.lock(&run.run_id)?;
        self.write_run(&run.run_id, run)?;
        Ok(true)
    }

    fn lock(&self, id: &str) -> Result<FileLock> {
        // The lock is the first file in logs/ for a run an older orch made.
        super::logs::ensure(self.repo, &self.path(&layout::logs_dir(id))?)?;
        FileLock::acquire(
            &self.path(&layout::lock_file(id))?,
            &format!("run {id}"),
            env::seconds(env::LOCK_TIMEOUT, 60.0),
        )
    }

    /// Applies `change` to the current record of run `id` under its lock.
    /// Nothing is written if `change` returns an error. Refused for a run
    /// that is completed (its record is final), written by a newer orch, or
    /// being driven by another live orch (`orch run`).
    pub fn update<T>(&self, id: &str, change: impl FnOnce(&mut Txn) -> Result<T>) -> Result<T> {
        let _lock = self.lock(id)?;
        let run = self.load(id)?;
        refuse_newer(&run, id)?;
        run.ensure_open()?;
        if let Some(owner) = lease::held_by_another(self.repo, id) {
            return Err(Error::conflict(format!(
                "run `{id}` is being driven by another orch (pid {} on {})",
                owner.pid, owner.host
            ))
            .hint(
                "wait for that `orch run` to finish or stop it (Ctrl-C leaves the run resumable)",
            ));
        }
        let mut txn = Txn {
            run,
            touched: Vec::new(),
            files: Vec::new(),
        };
        let out = change(&mut txn)?;
        txn.run.format_version = FORMAT_VERSION;
        for (file, bytes) in &txn.files {
            self.write_record_file(id, file, bytes)?;
        }
        for (gate, number) in &txn.touched {
            let Some(attempt) = txn
                .run
                .gate(gate)
                .and_then(|g| g.attempts.iter().find(|a| a.attempt == *number))
            else {
                continue;
            };
            let rel = layout::attempt_file(id, gate, *number);
            let path = self.path(&rel)?;
            if let Some(dir) = path.parent() {
                atomic::remove_stale_temps(dir);
            }
            let file = AttemptFile {
                format_version: FORMAT_VERSION,
                attempt,
            };
            write_atomic(&path, &json::to_pretty(&file)).map_err(|e| Error::write(&rel, e))?;
        }
        atomic::remove_stale_temps(&self.path(&layout::record_dir(id))?);
        self.write_run(id, &txn.run)?;
        Ok(out)
    }

    /// Changes one record file of run `id` that is not part of the run's
    /// outcome (so it may change after the run completed): under the run's
    /// lock, `change` gets the file's current text and returns the new
    /// bytes, or `None` to leave it as it is.
    pub fn update_file<T>(
        &self,
        id: &str,
        file: &RecordFile,
        change: impl FnOnce(Option<&str>) -> Result<(Option<Vec<u8>>, T)>,
    ) -> Result<T> {
        let _lock = self.lock(id)?;
        refuse_newer(&self.load(id)?, id)?;
        let current = self.read_file(id, file)?;
        let (bytes, out) = change(current.as_deref())?;
        if let Some(bytes) = bytes {
            self.write_record_file(id, file, &bytes)?;
        }
        Ok(out)
    }

    /// Reads a record file of run `id`, if it exists (no lock: files are replaced atomically).
    pub fn read_file(&self, id: &str, file: &RecordFile) -> Result<Option<String>> {
        let rel = file.rel(id);
        match std::fs::read_to_string(self.path(&rel)?) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::read(&rel, e)),
        }
    }

    fn write_record_file(&self, id: &str, file: &RecordFile, bytes: &[u8]) -> Result<()> {
        let rel = file.rel(id);
        let path = self.path(&rel)?;
        if let Some(dir) = path.parent() {
            atomic::remove_stale_temps(dir);
        }
        write_atomic(&path, bytes).map_err(|e| Error::write(&rel, e))
    }

    /// Writes RUN.json of run `id` (always the folder's, whatever the record says).
    fn write_run(&self, id: &str, run: &RunRecord) -> Result<()> {
        let rel = layout::run_json(id);
        write_atomic(&self.path(&rel)?, &json::to_pretty(run)).map_err(|e| Error::write(&rel, e))
    }
}

/// Refuses to change a record written by a newer orch.
fn refuse_newer(run: &RunRecord, id: &str) -> Result<()> {
    if run.format_version > FORMAT_VERSION {
        return Err(Error::conflict(format!(
            "run `{id}` was written by a newer orch (record format {}); this orch writes format {FORMAT_VERSION} and will not modify it",
            run.format_version
        ))
        .hint("upgrade orch to change this run; reading it (`orch run show`) still works"));
    }
    Ok(())
}

/// A record names files by its run id and gate codes: they must be its
/// folder's name and single path components.
pub fn check_identity(run: &RunRecord, id: &str, shown: &str) -> Result<()> {
    if run.run_id != id {
        return Err(Error::input(format!(
            "{shown}: the record says its run_id is `{}`, but its folder is `{id}`",
            run.run_id
        ))
        .hint(
            "a run folder's name and its run_id must match (was the folder copied or renamed?)",
        ));
    }
    if let Some(g) = run.gates.iter().find(|g| !is_safe_component(&g.gate)) {
        return Err(Error::input(format!(
            "{shown}: gate code `{}` cannot be a folder name",
            g.gate
        ))
        .hint("gate codes use letters, digits, `.`, `_` and `-`"));
    }
    Ok(())
}
