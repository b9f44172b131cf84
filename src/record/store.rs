//! Reading and writing runs. Every change to a run goes through
//! `Store::update`, and is one commit however many files it touches:
//!
//! 1. take the run's lock, and finish any change an interrupted orch left
//!    half written (`recover`);
//! 2. read `RUN.json`, apply the change in memory;
//! 3. append every file the change writes, whole, to the run's journal
//!    (`logs/journal`) and sync it: one fsync, and the change is durable;
//! 4. replace the files by rename, other record files (approvals,
//!    notifications) and attempt files first and `RUN.json` last (no
//!    fsync: the journal holds them).
//!
//! A failure before step 3 changes nothing. A failure in step 4 puts back
//! what was replaced and cuts the entry from the journal, so a command that
//! fails leaves the record as it was. A crash after step 3 is finished by
//! the next orch command on the run (it rolls the change forward and says
//! so). `RUN.json` is the commit point for readers: it names every attempt,
//! and readers that also read attempt files (`verify`) check the journal
//! for a change in flight first. Two orch processes changing the same run
//! both land, one after the other.
//!
//! `update_file` changes one record file that is not part of the run's
//! outcome (its notifications), even on a completed run. A change that
//! leaves `RUN.json` as it is (that one, say) has no commit point the
//! journal could go by: its files are renamed into place first and
//! journaled after (still one fsync), so a crash loses that command's
//! change whole and leaves nothing half done.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};
use crate::lease;
use crate::record::{AttemptFile, FORMAT_VERSION, RunRecord};
use crate::repo::{Repo, is_safe_component};
use crate::storage::journal::{self, Base, Entry, Journal};
use crate::storage::stamp::Stamp;
use crate::storage::{FileLock, atomic, fault, layout, regular};
use crate::{env, hash, json};

/// Past this size the journal is checkpointed: the record files are synced
/// and the journal emptied. (A 20-gate run writes about 3 MB.)
const CHECKPOINT_BYTES: u64 = 16 * 1024 * 1024;

/// The runs of one repository.
pub struct Store<'r> {
    repo: &'r Repo,
    /// The stamp and SHA-256 of the RUN.json this store last wrote, by run:
    /// while RUN.json has that stamp, it need not be hashed again.
    written: Mutex<HashMap<String, (Stamp, String)>>,
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
    /// A signed approval or rejection of one attempt (`approvals/`).
    Approval {
        gate: String,
        attempt: u32,
        id: String,
    },
    /// The notifications sent about the run.
    Notifications,
}

impl RecordFile {
    /// Its repo-relative path in run `id`'s record.
    pub fn rel(&self, run_id: &str) -> String {
        format!("{}/{}", layout::run_dir(run_id), self.in_run())
    }

    /// Its path relative to the run's folder.
    fn in_run(&self) -> String {
        match self {
            RecordFile::Approval { gate, attempt, id } => {
                layout::approval_in_run(gate, *attempt, id)
            }
            RecordFile::Notifications => layout::NOTIFICATIONS_IN_RUN.to_string(),
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

/// `RUN.json` as it is on disk.
struct OnDisk {
    bytes: Option<Vec<u8>>,
    /// `RUN.json`'s stamp, or the record folder's when there is no RUN.json.
    stamp: Stamp,
    /// SHA-256 of `bytes`, computed once when first needed.
    sha: std::cell::OnceCell<Option<String>>,
}

impl OnDisk {
    fn sha(&self) -> Option<&str> {
        self.sha
            .get_or_init(|| self.bytes.as_deref().map(hash::bytes))
            .as_deref()
    }

    fn base(&self) -> Base {
        Base {
            sha256: self.sha().map(str::to_string),
            stamp: self.stamp,
        }
    }

    /// Whether this is the record a journal entry was computed from.
    fn is(&self, base: &Base) -> bool {
        match (self.sha(), &base.sha256) {
            (Some(sha), Some(base_sha)) => self.stamp == base.stamp && sha == base_sha,
            // A change that created RUN.json: its folder is still the one it made.
            (None, None) => self.stamp.ino == base.stamp.ino && self.stamp.ino != 0,
            _ => false,
        }
    }
}

impl<'r> Store<'r> {
    pub fn new(repo: &'r Repo) -> Self {
        Store {
            repo,
            written: Mutex::new(HashMap::new()),
        }
    }

    pub fn repo(&self) -> &Repo {
        self.repo
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.repo.join(layout::RUNS_DIR)
    }

    /// Every run directory name, sorted (which is oldest first for orch's
    /// ids). Reads directory names only, never a record.
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

    /// Resolves a full id (its folder is opened directly, whatever the
    /// number of runs), or a unique prefix or suffix of one (directory
    /// names only).
    pub fn resolve(&self, query: &str) -> Result<String> {
        let query = query.trim();
        if query.is_empty() {
            return Err(Error::input("empty run id").hint("`orch run list` shows the runs"));
        }
        if is_safe_component(query)
            && std::fs::symlink_metadata(self.repo.join(&layout::run_dir(query)))
                .is_ok_and(|m| m.is_dir())
        {
            return Ok(query.to_string());
        }
        let ids = self.ids()?;
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
    /// A change an interrupted orch left half written is finished first.
    pub fn load(&self, id: &str) -> Result<RunRecord> {
        let mut disk = self.read_disk(id)?;
        if self.unapplied(id, &disk)? {
            let _lock = self.lock(id)?;
            disk = self.recover(id, self.read_disk(id)?)?;
        }
        parse(id, &disk)
    }

    /// Whether the journal holds a change the record on disk does not show
    /// yet: one being written now, or one an interrupted orch left. Cheap
    /// when there is nothing to do (no journal, or its last entry is the
    /// `RUN.json` on disk).
    pub fn in_flight(&self, id: &str) -> Result<bool> {
        if !self.path(&layout::journal(id))?.exists() {
            return Ok(false);
        }
        let disk = self.read_disk(id)?;
        self.unapplied(id, &disk)
    }

    /// Finishes whatever change an interrupted orch left on run `id`.
    pub fn repair(&self, id: &str) -> Result<()> {
        let _lock = self.lock(id)?;
        self.recover(id, self.read_disk(id)?).map(|_| ())
    }

    fn unapplied(&self, id: &str, disk: &OnDisk) -> Result<bool> {
        let rel = layout::journal(id);
        let Some(journal) = Journal::open(&self.path(&rel)?).map_err(|e| Error::read(&rel, e))?
        else {
            return Ok(false);
        };
        let last = journal.last().map_err(|e| Error::read(&rel, e))?;
        Ok(last.is_some_and(|t| {
            t.boot != journal::boot_id() || disk.sha() != Some(t.run_json_sha256.as_str())
        }))
    }

    fn read_disk(&self, id: &str) -> Result<OnDisk> {
        let rel = layout::run_json(id);
        let path = self.path(&rel)?;
        match regular::open(&path) {
            Ok(mut f) => {
                use std::io::Read;
                let meta = f.metadata().map_err(|e| Error::read(&rel, e))?;
                let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
                f.read_to_end(&mut bytes)
                    .map_err(|e| Error::read(&rel, e))?;
                let stamp = Stamp::of(&meta);
                let sha = std::cell::OnceCell::new();
                if let Some((_, known)) = self
                    .written
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(id)
                    .filter(|(s, _)| *s == stamp)
                {
                    let _ = sha.set(Some(known.clone()));
                }
                Ok(OnDisk {
                    bytes: Some(bytes),
                    stamp,
                    sha,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(OnDisk {
                bytes: None,
                stamp: Stamp::path(&self.path(&layout::record_dir(id))?).unwrap_or_default(),
                sha: std::cell::OnceCell::from(None),
            }),
            Err(e) => Err(Error::read(&rel, e)),
        }
    }

    /// Under the run's lock: finishes the journal's last change if the
    /// record does not show it yet (it was journaled, so it happened), and
    /// says so. After a restart of the machine every change since the
    /// journal began is checked, since writes that were not synced may have
    /// been lost. A record changed outside orch since (a checkout, an edit)
    /// is left alone. Returns the record on disk afterwards.
    fn recover(&self, id: &str, disk: OnDisk) -> Result<OnDisk> {
        let rel = layout::journal(id);
        let read_err = |e| Error::read(&rel, e);
        let Some(mut journal) = Journal::open(&self.path(&rel)?).map_err(read_err)? else {
            return Ok(disk);
        };
        journal.cut_torn_tail().map_err(read_err)?;
        let Some(last) = journal.last().map_err(read_err)? else {
            return Ok(disk);
        };
        let sha = disk.sha();
        if last.boot == journal::boot_id() {
            if sha == Some(last.run_json_sha256.as_str()) {
                return Ok(disk);
            }
            let entry = journal.entry(&last).map_err(read_err)?;
            if !disk.is(&entry.base) {
                return Ok(disk);
            }
            self.roll_forward(id, &entry.files)?;
        } else {
            let entries: Vec<Entry> = journal
                .scan()
                .and_then(|ts| ts.iter().map(|t| journal.entry(t)).collect())
                .map_err(read_err)?;
            let garbled = disk
                .bytes
                .as_deref()
                .is_some_and(|b| serde_json::from_slice::<serde::de::IgnoredAny>(b).is_err());
            let ours = sha == Some(last.run_json_sha256.as_str())
                || garbled
                || entries.iter().any(|e| disk.is(&e.base));
            if ours {
                let files = merged(&entries);
                self.roll_forward(id, &files)?;
                self.make_durable(id, &files)?;
            }
            journal.truncate(0, true).map_err(read_err)?;
        }
        self.read_disk(id)
    }

    /// Writes the files of a journaled change that are not on disk as the
    /// journal has them (RUN.json last), and says what it did.
    fn roll_forward(&self, id: &str, files: &[(String, Vec<u8>)]) -> Result<()> {
        let run_dir = self.path(&layout::run_dir(id))?;
        let mut rewritten = Vec::new();
        for (rel, bytes) in files {
            if !is_record_file(rel) {
                continue;
            }
            let target = run_dir.join(rel);
            if regular::read(&target).is_ok_and(|b| b == *bytes) {
                continue;
            }
            let shown = format!("{}/{rel}", layout::run_dir(id));
            atomic::replace(&target, bytes).map_err(|e| Error::write(&shown, e))?;
            if let Some(dir) = target.parent() {
                atomic::remove_stale_temps(dir);
            }
            rewritten.push(rel.clone());
        }
        if !rewritten.is_empty() {
            let what = files
                .iter()
                .find(|(rel, _)| rel == layout::RUN_JSON_IN_RUN)
                .and_then(|(_, b)| serde_json::from_slice::<serde_json::Value>(b).ok())
                .and_then(|v| {
                    v["events"].as_array()?.last()?["message"]
                        .as_str()
                        .map(String::from)
                })
                .unwrap_or_else(|| "a change".into());
            eprintln!(
                "warning: run {id}: an interrupted orch command had journaled \"{}\" but not finished writing it; finished it now (rolled forward: {})",
                crate::ui::sanitize_line(&what),
                rewritten.join(", ")
            );
        }
        Ok(())
    }

    /// Syncs record files and their folders to disk (a checkpoint: after
    /// it, the journal is no longer needed to recover them).
    fn make_durable(&self, id: &str, files: &[(String, Vec<u8>)]) -> Result<()> {
        let run_dir = self.path(&layout::run_dir(id))?;
        let mut dirs: Vec<PathBuf> = Vec::new();
        for (rel, _) in files.iter().filter(|(rel, _)| is_record_file(rel)) {
            let path = run_dir.join(rel);
            let shown = format!("{}/{rel}", layout::run_dir(id));
            match regular::open(&path) {
                Ok(f) => f.sync_all().map_err(|e| Error::write(&shown, e))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::write(&shown, e)),
            }
            let mut dir = path.parent();
            while let Some(d) = dir.filter(|d| d.starts_with(&run_dir)) {
                if !dirs.iter().any(|x| x == d) {
                    dirs.push(d.to_path_buf());
                }
                dir = d.parent();
            }
        }
        for d in dirs {
            atomic::sync_dir(&d).map_err(|e| Error::write(d.display(), e))?;
        }
        Ok(())
    }

    /// Writes a new run. Returns false, writing nothing, when a run with the
    /// same id already exists.
    pub fn create(&self, run: &RunRecord) -> Result<bool> {
        let id = &run.run_id;
        let runs = self.path(layout::RUNS_DIR)?;
        atomic::create_dir_all_durable(&runs).map_err(|e| Error::write(layout::RUNS_DIR, e))?;
        let dir = self.path(&layout::run_dir(id))?;
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(e) => return Err(Error::write(layout::run_dir(id), e)),
        }
        atomic::sync_dir(&runs).map_err(|e| Error::write(layout::RUNS_DIR, e))?;
        // (The commit syncs the run's folder when it creates the journal.)
        let record = layout::record_dir(id);
        std::fs::create_dir(self.path(&record)?).map_err(|e| Error::write(&record, e))?;
        super::logs::ensure(self.repo, &self.path(&layout::logs_dir(id))?)?;
        let _lock = self.lock(id)?;
        let disk = self.read_disk(id)?;
        self.commit(id, &disk, Some(run), &[], &[])?;
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

    /// Applies `change` to the current record of run `id` under its lock,
    /// and commits it (see the module's description). Nothing is written if
    /// `change` returns an error. Refused for a run that is completed (its
    /// record is final), written by a newer orch, or being driven by
    /// another live orch (`orch run`).
    pub fn update<T>(&self, id: &str, change: impl FnOnce(&mut Txn) -> Result<T>) -> Result<T> {
        let _lock = self.lock(id)?;
        let disk = self.recover(id, self.read_disk(id)?)?;
        let run = parse(id, &disk)?;
        refuse_newer(&run, id)?;
        run.ensure_open()?;
        if let Some(owner) = lease::held_by_another(self.repo, id)? {
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
        self.commit(id, &disk, Some(&txn.run), &txn.touched, &txn.files)?;
        Ok(out)
    }

    /// Changes one record file of run `id` that is not part of the run's
    /// outcome (so it may change after the run completed): under the run's
    /// lock, `change` gets the file's current text and returns the new
    /// bytes, or `None` to leave it as it is. Committed like any change,
    /// RUN.json left as it is (see the module's description).
    pub fn update_file<T>(
        &self,
        id: &str,
        file: &RecordFile,
        change: impl FnOnce(Option<&str>) -> Result<(Option<Vec<u8>>, T)>,
    ) -> Result<T> {
        let _lock = self.lock(id)?;
        let disk = self.recover(id, self.read_disk(id)?)?;
        refuse_newer(&parse(id, &disk)?, id)?;
        let current = self.read_file(id, file)?;
        let (bytes, out) = change(current.as_deref())?;
        if let Some(bytes) = bytes {
            self.commit(id, &disk, None, &[], &[(file.clone(), bytes)])?;
        }
        Ok(out)
    }

    /// Reads a record file of run `id`, if it exists (no lock: files are
    /// replaced atomically).
    pub fn read_file(&self, id: &str, file: &RecordFile) -> Result<Option<String>> {
        let rel = file.rel(id);
        match regular::read_to_string(&self.path(&rel)?) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::read(&rel, e)),
        }
    }

    /// Journals and applies one change: the record files `extra`, the
    /// touched attempt files and RUN.json of `run` (`None`: RUN.json stays
    /// as it is), replacing the record `disk`.
    fn commit(
        &self,
        id: &str,
        disk: &OnDisk,
        run: Option<&RunRecord>,
        touched: &[(String, u32)],
        extra: &[(RecordFile, Vec<u8>)],
    ) -> Result<()> {
        let mut files: Vec<(String, Vec<u8>)> = extra
            .iter()
            .map(|(f, bytes)| (f.in_run(), bytes.clone()))
            .collect();
        for (gate, number) in touched {
            let Some(attempt) = run
                .and_then(|r| r.gate(gate))
                .and_then(|g| g.attempts.iter().find(|a| a.attempt == *number))
            else {
                continue;
            };
            let file = AttemptFile {
                format_version: FORMAT_VERSION,
                attempt,
            };
            files.push((
                layout::attempt_in_run(gate, *number),
                json::to_pretty(&file),
            ));
        }
        // RUN.json is written last, whatever the record says its id is. A
        // change that leaves it as it is journals its bytes on disk: every
        // entry's commit point is the RUN.json it leaves.
        let (run_json, run_sha) = match (run, &disk.bytes, disk.sha()) {
            (Some(run), _, _) => {
                let bytes = json::to_pretty(run);
                let sha = hash::bytes(&bytes);
                (bytes, sha)
            }
            (None, Some(bytes), Some(sha)) => (bytes.clone(), sha.to_string()),
            // No RUN.json: the error that says so.
            (None, ..) => return parse(id, disk).map(drop),
        };
        let run_dir = self.path(&layout::run_dir(id))?;
        // A change RUN.json does not show (notifications.json alone, say) is
        // quiet: RUN.json, the commit point readers and recovery go by,
        // cannot tell whether it landed. So its files are put in place
        // first, each atomically, and journaled after: until the journal
        // holds them (and makes them durable) a crash loses only this
        // command's change, and nothing is left to finish.
        let quiet = disk.sha() == Some(run_sha.as_str());
        if quiet && files.is_empty() {
            return Ok(());
        }
        files.push((layout::RUN_JSON_IN_RUN.to_string(), run_json));

        let jrel = layout::journal(id);
        let jpath = self.path(&jrel)?;
        let jerr = |e| Error::write(&jrel, e);
        let (mut journal, created) = Journal::open_or_create(&jpath).map_err(jerr)?;
        if created {
            // The journal's name, and its folder's, must survive a crash
            // for it to be found afterwards.
            for dir in [jpath.parent(), jpath.parent().and_then(Path::parent)]
                .into_iter()
                .flatten()
            {
                atomic::sync_dir(dir).map_err(jerr)?;
            }
        }
        journal.cut_torn_tail().map_err(jerr)?;
        let base = disk.base();
        match journal.last().map_err(jerr)? {
            // The record changed outside orch since the journal's last
            // entry: that history is not this record's.
            Some(last) if base.sha256.as_deref() != Some(last.run_json_sha256.as_str()) => {
                journal.truncate(0, false).map_err(jerr)?;
            }
            Some(_) if journal.len() > CHECKPOINT_BYTES => {
                let applied = journal
                    .scan()
                    .and_then(|ts| {
                        ts.iter()
                            .map(|t| journal.entry(t))
                            .collect::<std::io::Result<Vec<_>>>()
                    })
                    .map_err(jerr)?;
                self.make_durable(id, &merged(&applied))?;
                journal.truncate(0, false).map_err(jerr)?;
            }
            _ => {}
        }
        // What the change replaces, to put back if it cannot be completed.
        let old: Vec<Option<Vec<u8>>> = files
            .iter()
            .map(|(rel, _)| {
                if rel == layout::RUN_JSON_IN_RUN {
                    disk.bytes.clone()
                } else {
                    regular::read(&run_dir.join(rel)).ok()
                }
            })
            .collect();
        let before = journal.len();
        let entry = Entry {
            base,
            files: files.clone(),
            run_json_sha256: Some(run_sha.clone()),
        };
        if !quiet {
            journal
                .append(&entry)
                .map_err(|e| unchanged(Error::write(&jrel, e)))?;
        }
        // A quiet change leaves RUN.json (its bytes, and so its stamp) alone.
        let to_apply = &files[..files.len() - usize::from(quiet)];
        let mut made = Vec::new();
        let result = apply(&run_dir, to_apply, &mut made).and_then(|()| {
            if !quiet {
                return Ok(());
            }
            journal.append(&entry).map_err(|e| {
                let rel = jrel.strip_prefix(&format!("{}/", layout::run_dir(id)));
                (to_apply.len(), rel.unwrap_or(&jrel).to_string(), e)
            })
        });
        let Err((done, rel, e)) = result else {
            if let Some(stamp) = Stamp::path(&run_dir.join(layout::RUN_JSON_IN_RUN)) {
                self.written
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id.to_string(), (stamp, run_sha));
            }
            return Ok(());
        };
        let err = Error::write(format!("{}/{rel}", layout::run_dir(id)), e);
        // Put back what was replaced, remove what was made, cut the entry.
        let mut undone = true;
        for ((rel, _), old) in files[..done].iter().zip(&old) {
            let target = run_dir.join(rel);
            undone &= match old {
                Some(bytes) => atomic::replace(&target, bytes).is_ok(),
                None => std::fs::remove_file(&target).is_ok(),
            };
        }
        for dir in made.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        if undone && journal.truncate(before, true).is_ok() {
            Err(unchanged(err))
        } else {
            Err(err.hint(format!(
                "the change is in the run's journal: the next orch command on run {id} finishes it"
            )))
        }
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

/// The hint of a write that failed and was undone.
fn unchanged(e: Error) -> Error {
    e.hint("nothing was recorded: the run's record is as it was before this command")
}

/// Replaces the record files of a change: temporary copies of all of them
/// first (creating missing folders, listed in `made`), then renames in
/// order. On failure: how many were renamed, which file failed, and why.
fn apply(
    run_dir: &Path,
    files: &[(String, Vec<u8>)],
    made: &mut Vec<PathBuf>,
) -> std::result::Result<(), (usize, String, std::io::Error)> {
    let mut temps = Vec::with_capacity(files.len());
    // Folders cleaned of a crashed writer's temporary files: each once,
    // before this change makes its own there (several files share one).
    let mut cleaned: Vec<PathBuf> = Vec::new();
    for (rel, bytes) in files {
        let target = run_dir.join(rel);
        let dir = target.parent().unwrap_or(run_dir);
        let fail = |e| (0, rel.clone(), e);
        create_dirs(dir, made).map_err(fail)?;
        if !cleaned.iter().any(|d| d == dir) {
            atomic::remove_stale_temps(dir);
            cleaned.push(dir.to_path_buf());
        }
        fault::at("temp").map_err(fail)?;
        temps.push((atomic::temp_with(dir, bytes).map_err(fail)?, target));
    }
    for (i, (tmp, target)) in temps.into_iter().enumerate() {
        let fail = |e| (i, files[i].0.clone(), e);
        fault::at("rename").map_err(fail)?;
        tmp.persist(&target).map_err(|e| fail(e.error))?;
    }
    Ok(())
}

/// Creates `dir` and its missing parents, noting each one made.
fn create_dirs(dir: &Path, made: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent, made)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {
            made.push(dir.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The files of several journaled changes, each as the last one wrote it
/// (RUN.json last).
fn merged(entries: &[Entry]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (rel, bytes) in entries.iter().flat_map(|e| &e.files) {
        out.retain(|(r, _)| r != rel);
        out.push((rel.clone(), bytes.clone()));
    }
    out.sort_by_key(|(rel, _)| rel == layout::RUN_JSON_IN_RUN);
    out
}

/// Whether a path from a journal names a record file (a journal is only a
/// file in logs/: it must never make orch write elsewhere).
fn is_record_file(rel: &str) -> bool {
    if rel == layout::RUN_JSON_IN_RUN || rel == layout::NOTIFICATIONS_IN_RUN {
        return true;
    }
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["record", "gates", gate, name] => {
            is_safe_component(gate)
                && name
                    .strip_prefix("attempt-")
                    .and_then(|n| n.strip_suffix(".json"))
                    .is_some_and(|n| n.parse::<u32>().is_ok())
        }
        ["record", "approvals", gate, name] => {
            is_safe_component(gate)
                && is_safe_component(name)
                && crate::approval::parse_name(name).is_some()
        }
        _ => false,
    }
}

fn parse(id: &str, disk: &OnDisk) -> Result<RunRecord> {
    let rel = layout::run_json(id);
    let Some(bytes) = &disk.bytes else {
        return Err(
            Error::input(format!("run `{id}` has no record: `{rel}` is missing"))
                .hint("`orch run list` shows the runs that have records"),
        );
    };
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Error::read(
            &rel,
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
        )
    })?;
    let run: RunRecord = json::parse(text, &rel)?;
    check_identity(&run, id, &rel)?;
    Ok(run)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_paths_are_confined_to_the_record() {
        assert!(is_record_file("record/RUN.json"));
        assert!(is_record_file("record/gates/G4.1/attempt-12.json"));
        assert!(is_record_file("record/notifications.json"));
        assert!(is_record_file(
            "record/approvals/G3/attempt-2-0123456789ab.json"
        ));
        for bad in [
            "record/approvals/../attempt-2-x.json",
            "record/approvals/G3/attempt-2.json",
            "record/approvals/G3/sub/attempt-2-x.json",
            "record/notifications.json/x",
            "record/gates/../../x/attempt-1.json",
            "logs/journal",
            "record/gates/G1/attempt-x.json",
            "record/gates/G1/sub/attempt-1.json",
            "/etc/passwd",
            "record/RUN.json/..",
        ] {
            assert!(!is_record_file(bad), "{bad}");
        }
    }

    #[test]
    fn merged_keeps_the_last_bytes_and_run_json_last() {
        let e = |files: &[(&str, &str)]| Entry {
            base: Base {
                sha256: None,
                stamp: Stamp::default(),
            },
            files: files
                .iter()
                .map(|(p, b)| ((*p).to_string(), b.as_bytes().to_vec()))
                .collect(),
            run_json_sha256: None,
        };
        let out = merged(&[
            e(&[
                ("record/gates/G1/attempt-1.json", "a1"),
                ("record/RUN.json", "r1"),
            ]),
            e(&[
                ("record/gates/G1/attempt-1.json", "a2"),
                ("record/RUN.json", "r2"),
            ]),
            e(&[
                ("record/gates/G2/attempt-1.json", "b1"),
                ("record/RUN.json", "r3"),
            ]),
        ]);
        let shown: Vec<(&str, &[u8])> = out
            .iter()
            .map(|(p, b)| (p.as_str(), b.as_slice()))
            .collect();
        assert_eq!(
            shown,
            vec![
                ("record/gates/G1/attempt-1.json", &b"a2"[..]),
                ("record/gates/G2/attempt-1.json", &b"b1"[..]),
                ("record/RUN.json", &b"r3"[..]),
            ]
        );
    }
}
