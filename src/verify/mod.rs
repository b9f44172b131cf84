//! `orch verify`: does each committed record still tell the truth about the
//! working tree? For every run: the record parses and agrees with itself
//! (gate statuses, attempt files); every output recorded for a passed gate
//! still has its recorded SHA-256 (else it is *modified* or *missing*);
//! each passed gate's contract still passes today (and a contract that
//! changed since is reported); a gate whose evidence was built on an
//! earlier gate's outputs that have since changed is *stale*; and the
//! approvals and skill vettings a passed gate needed hold, against the
//! signers at the trusted revision (`approval::audit`).
//!
//! Runs are checked a few at a time on all cores and reported as they are
//! done, so memory stays flat over 100,000 runs; a run none of whose files
//! changed since the last verify is answered from the cache (`cache`).

mod cache;
mod check;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use crate::approval::audit::Audit;
use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::record::store::Store;
use crate::repo::Repo;
use crate::report::findings::{Group, Report};
use crate::storage::stamp::{self, Dir, Stamp};
use crate::storage::{layout, watch};
use crate::workflow::LoadedWorkflow;
use crate::{interrupt, par};

use cache::{Cache, Entry};

/// `orch verify`.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Run ids, prefixes or suffixes; empty means every run.
    pub runs: Vec<String>,
    pub offline: bool,
    /// Use (and refresh) the cache in the git directory.
    pub cache: bool,
    /// Only runs a commit touches: these staged paths are its record files
    /// or outputs it recorded.
    pub staged: Option<BTreeSet<String>>,
    /// Where `allowed_signers` is read from (default: see `approval::trust`).
    pub trusted_rev: Option<String>,
}

/// Runs handed to a core at a time.
const BATCH: usize = 8;
/// Batches in flight per core: enough to keep every core busy, few enough
/// that the records in memory stay small.
const IN_FLIGHT_PER_CORE: usize = 2;

/// The paths staged in git's index (what the next commit changes). A rename
/// counts as its old and its new path, so moving an output away is seen.
pub fn staged_paths(repo: &Repo) -> Result<BTreeSet<String>> {
    let out = std::process::Command::new("git")
        .args(["diff", "--cached", "--name-only", "--no-renames", "-z"])
        .current_dir(repo.root())
        .output()
        .map_err(|e| Error::input(format!("cannot run git: {}", crate::repo::io_reason(&e))))?;
    if !out.status.success() {
        return Err(
            Error::input("cannot list the staged files").hint("--staged needs a git repository")
        );
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// Verifies the chosen runs, adding each run's findings to `report` as it
/// is done (named runs in the order named, else by id).
pub fn verify(repo: &Repo, opts: &Options, report: &mut Report) -> Result<()> {
    let store = Store::new(repo);
    let named: Option<Vec<String>> = if opts.runs.is_empty() {
        None
    } else {
        let mut ids: Vec<String> = opts
            .runs
            .iter()
            .map(|q| store.resolve(q))
            .collect::<Result<_>>()?;
        ids.dedup();
        Some(ids)
    };
    let ids = match &named {
        Some(ids) => {
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            sorted.dedup();
            sorted
        }
        None => store.ids()?,
    };
    let key = if opts.offline { "offline" } else { "online" };
    let cache = Cache::open(repo, opts.cache, key, named.is_some());
    let shared = Shared {
        repo,
        root: Dir::open(repo.root()).map_err(|e| Error::read(repo.root().display(), e))?,
        offline: opts.offline,
        caching: opts.cache,
        named: named.is_some(),
        started: stamp::now_ns(),
        contracts: Mutex::new(HashMap::new()),
        workflows: Mutex::new(HashMap::new()),
        hashes: Mutex::new(HashMap::new()),
        audit: Audit::new(repo, opts.trusted_rev.as_deref()),
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let cache = std::cell::RefCell::new(cache);
    let mut by_name: HashMap<String, Group> = HashMap::new();
    let mut failed: Option<Error> = None;
    // Runs go to the cores in batches (a cached run costs microseconds), with
    // their old entries read in step (both are sorted by id).
    let batches = ids
        .chunks(BATCH)
        .take_while(|_| !interrupt::requested())
        .map(|batch| {
            let mut cache = cache.borrow_mut();
            batch
                .iter()
                .map(|id| (id, cache.take(id)))
                .collect::<Vec<_>>()
        });
    par::map_ordered(
        batches,
        cores * IN_FLIGHT_PER_CORE,
        |batch| {
            batch
                .into_iter()
                .map(|(id, old)| {
                    let checked = shared.check(id, old.as_ref());
                    (id, old, checked)
                })
                .collect::<Vec<_>>()
        },
        |done| {
            let mut cache = cache.borrow_mut();
            for (id, old, checked) in done {
                let (group, deps) = match checked {
                    Checked::NotARun => {
                        if old.is_some() {
                            cache.drop_entry();
                        }
                        continue;
                    }
                    Checked::Cached(contents) => {
                        cache.put(&old.expect("a cached finding has its entry"), false);
                        (contents.group, contents.deps)
                    }
                    Checked::Fresh { group, deps, entry } => {
                        match entry {
                            Some(e) => cache.put(&e, true),
                            None if old.is_some() => cache.drop_entry(),
                            None => {}
                        }
                        (group, deps)
                    }
                };
                if opts.staged.as_ref().is_some_and(|s| !touches(id, &deps, s)) {
                    continue;
                }
                if named.is_some() {
                    by_name.insert(id.clone(), group);
                } else if let Err(e) = report.add(&group) {
                    failed.get_or_insert(Error::write("the report", e));
                }
            }
        },
    );
    if let Some(e) = failed {
        return Err(e);
    }
    if interrupt::requested() {
        // The runs not reached keep their old entries.
        return Err(Error::Interrupted);
    }
    cache.into_inner().finish();
    for id in named.iter().flatten() {
        if let Some(group) = by_name.remove(id) {
            report
                .add(&group)
                .map_err(|e| Error::write("the report", e))?;
        }
    }
    Ok(())
}

/// Whether a staged change touches what a run's finding depends on: its
/// record (a new file in it too), the contracts and outputs its passed
/// gates were judged by, or a validator plugin (any contract may use one).
fn touches(id: &str, deps: &[String], staged: &BTreeSet<String>) -> bool {
    let record = format!("{}/", layout::record_dir(id));
    let validators = format!("{}/", layout::VALIDATORS_DIR);
    staged.iter().any(|p| {
        p.starts_with(&record)
            || p.starts_with(&validators)
            || deps.binary_search_by(|d| d.as_str().cmp(p)).is_ok()
    })
}

/// What checking one run came to.
enum Checked {
    /// A folder with no record (leftover logs, as after switching branches).
    NotARun,
    /// Nothing it depends on changed: the cached finding holds.
    Cached(cache::Contents),
    /// Checked now; `entry` when the finding can be cached.
    Fresh {
        group: Group,
        deps: Vec<String>,
        entry: Option<Box<Entry>>,
    },
}

/// A file loaded once per verify, and what loading it looked at.
struct Loaded<T> {
    value: std::result::Result<T, String>,
    seen: watch::Seen,
}

/// What every run's check shares.
struct Shared<'r> {
    repo: &'r Repo,
    root: Dir,
    offline: bool,
    caching: bool,
    named: bool,
    /// When this verify started (nanoseconds, real clock).
    started: i128,
    contracts: Mutex<HashMap<String, Arc<Loaded<Contract>>>>,
    workflows: Mutex<HashMap<String, Arc<Loaded<LoadedWorkflow>>>>,
    /// Outputs hashed by this verify (several runs often record the same
    /// file), by path: the stamp it was hashed at, and its hash.
    hashes: Mutex<HashMap<String, (Stamp, String)>>,
    /// Approvals and vettings, against the signers at the trusted revision.
    audit: Audit<'r>,
}

/// At most this many hashes are remembered (then the memory starts over).
const REMEMBERED_HASHES: usize = 65_536;

impl Shared<'_> {
    fn check(&self, id: &str, old: Option<&Entry>) -> Checked {
        let contents = old.and_then(Entry::open);
        let facts = |name: &str| self.audit.fact(name);
        if let (Some(old), Some(c)) = (old, &contents)
            && old.holds(c, &self.root, &facts)
        {
            return Checked::Cached(contents.expect("checked above"));
        }
        if !self.named && !self.repo.join(&layout::record_dir(id)).is_dir() {
            return Checked::NotARun;
        }
        // A change being written now, or left half written by a crash, is
        // finished first (the repair says so); if it cannot be, the checks
        // report what they find.
        let store = Store::new(self.repo);
        if store.in_flight(id).unwrap_or(false) {
            let _ = store.repair(id);
        }
        let hints = contents.as_ref().map_or(&[][..], |c| c.hints.as_slice());
        let ((group, volatile, hints), seen) = watch::recording(|| {
            watch::saw(&self.repo.join(&layout::journal(id)));
            check::run(self, id, hints)
        });
        let root = self.repo.root();
        let mut unnamed = false;
        let mut deps: Vec<String> = seen
            .paths
            .iter()
            .filter_map(|p| p.strip_prefix(root).ok())
            .filter_map(|rel| {
                let text = rel.to_str().map(|s| s.replace('\\', "/"));
                unnamed |= text.is_none();
                text
            })
            .filter(|rel| !rel.is_empty())
            .collect();
        deps.sort_unstable();
        deps.dedup();
        let contents = cache::Contents {
            deps,
            facts: seen.facts.into_iter().collect(),
            hints,
            group,
        };
        let entry = (self.caching && !volatile && !unnamed)
            .then(|| cache::settled_fingerprint(&self.root, &contents, &facts, self.started))
            .flatten()
            .map(|fingerprint| Box::new(Entry::new(id, fingerprint, &contents)));
        let cache::Contents { deps, group, .. } = contents;
        Checked::Fresh { group, deps, entry }
    }

    /// The hash of output `rel` if this verify hashed it at this stamp.
    fn hashed(&self, rel: &str, stamp: Stamp) -> Option<String> {
        let hashes = self.hashes.lock().unwrap_or_else(PoisonError::into_inner);
        hashes
            .get(rel)
            .filter(|(s, _)| *s == stamp)
            .map(|(_, sha)| sha.clone())
    }

    fn remember_hash(&self, rel: &str, stamp: Stamp, sha: &str) {
        let mut hashes = self.hashes.lock().unwrap_or_else(PoisonError::into_inner);
        if hashes.len() >= REMEMBERED_HASHES {
            hashes.clear();
        }
        hashes.insert(rel.to_string(), (stamp, sha.to_string()));
    }

    /// The contract at `rel`, loaded once per verify.
    fn contract(&self, rel: &str) -> Arc<Loaded<Contract>> {
        load_once(&self.contracts, rel, || {
            let path = self.repo.contain(rel).map_err(|e| e.to_string())?;
            Contract::load(self.repo, &path.abs).map_err(|e| e.to_string())
        })
    }

    /// A run's workflow (by its recorded path, else its name), loaded once per verify.
    fn workflow(&self, run: &crate::record::RunRecord) -> Arc<Loaded<LoadedWorkflow>> {
        let key = run
            .workflow
            .path
            .clone()
            .unwrap_or_else(|| run.workflow.name.clone());
        load_once(&self.workflows, &key, || {
            crate::ops::run_workflow(self.repo, run).map_err(|e| e.to_string())
        })
    }
}

fn load_once<T>(
    map: &Mutex<HashMap<String, Arc<Loaded<T>>>>,
    key: &str,
    load: impl FnOnce() -> std::result::Result<T, String>,
) -> Arc<Loaded<T>> {
    let mut map = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let loaded = map.entry(key.to_string()).or_insert_with(|| {
        let (value, seen) = watch::recording(load);
        Arc::new(Loaded { value, seen })
    });
    // The run that uses it depends on what loading it looked at.
    loaded.seen.replay();
    Arc::clone(loaded)
}
