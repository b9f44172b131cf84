//! What `orch verify` found for each run, kept in the git directory
//! (`.git/orch/verify-cache`, never committed) with every path the finding
//! depended on: the record's files and folders, its journal, the contracts
//! and workflow it was judged by, every file and folder the contract
//! checks looked at, and the recorded outputs. A run whose paths all have
//! the stamps they had (inode, size, modification and change time) gets
//! the same finding without reading a byte; any change, and the run is
//! checked again. Entries are written only for paths that had settled
//! (see `Stamp::settled`), never for runs whose checks reach outside the
//! files (validator plugins, URL checks when online), and each carries a
//! checksum: a damaged entry is ignored. The file is one entry after
//! another, sorted by run id, read and written as a stream so memory stays
//! flat however many runs there are. Large outputs also keep their hash,
//! so a run whose record changed does not rehash outputs that did not.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::repo::Repo;
use crate::report::findings::Group;
use crate::storage::atomic;
use crate::storage::lines::{escape, unescape};
use crate::storage::stamp::{Dir, Stamp};

const HEADER: &str = "orch-verify-cache 1";
/// Outputs at least this large keep their hash in the entry.
pub const HINT_BYTES: u64 = 64 * 1024;

/// A recorded output's hash, and the stamp it was hashed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub path: String,
    pub stamp: Stamp,
    pub sha256: String,
}

/// One run's cached finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub run_id: String,
    /// Repo-relative paths the finding depended on, sorted.
    pub deps: Vec<String>,
    /// Over the deps' stamps when the finding was made.
    pub fingerprint: String,
    pub hints: Vec<Hint>,
    pub group: Group,
}

impl Entry {
    /// Whether every path still has the stamp it had: the finding holds.
    pub fn holds(&self, root: &Dir) -> bool {
        fingerprint(root, &self.deps).is_some_and(|f| f == self.fingerprint)
    }
}

/// The fingerprint of `deps` as they are now; None when a path cannot be
/// looked at (anything but "absent").
pub fn fingerprint(root: &Dir, deps: &[String]) -> Option<String> {
    scan(root, deps, None)
}

/// Like `fingerprint`, and None unless every path has settled by `now_ns`
/// (see `Stamp::settled`): a finding over files that changed while it was
/// made is not worth keeping.
pub fn settled_fingerprint(root: &Dir, deps: &[String], now_ns: i128) -> Option<String> {
    scan(root, deps, Some(now_ns))
}

fn scan(root: &Dir, deps: &[String], settled_by: Option<i128>) -> Option<String> {
    let mut h = Sha256::new();
    for rel in deps {
        h.update(rel.as_bytes());
        match root.stat(rel) {
            Ok((s, _)) => {
                if settled_by.is_some_and(|now| !s.settled(now)) {
                    return None;
                }
                h.update(format!(
                    "\0{} {} {} {}\n",
                    s.ino, s.size, s.mtime_ns, s.ctime_ns
                ));
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                h.update(b"\0absent\n");
            }
            Err(_) => return None,
        }
    }
    Some(hex(&h.finalize()[..16]))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The cache as one verify reads and rewrites it.
pub struct Cache {
    path: Option<PathBuf>,
    /// The old file, read in step with the runs (both sorted by id).
    reader: Option<std::iter::Peekable<EntryReader>>,
    /// The new file, written beside the old one and renamed over it.
    writer: Option<(tempfile::NamedTempFile, BufWriter<std::fs::File>)>,
    /// Whether entries of runs this verify does not visit are kept.
    keep_others: bool,
    changed: bool,
}

impl Cache {
    /// The repository's cache for options `key` (entries made with other
    /// options, or by another orch, do not count), or none at all
    /// (`--no-cache`, no git directory).
    pub fn open(repo: &Repo, enabled: bool, key: &str, keep_others: bool) -> Cache {
        let path = repo
            .git_dir()
            .filter(|_| enabled)
            .map(|d| d.join("orch").join("verify-cache"));
        let header = format!("{HEADER} {} {key}", env!("CARGO_PKG_VERSION"));
        let reader = path
            .as_deref()
            .and_then(|p| crate::storage::regular::open(p).ok())
            .map(BufReader::new)
            .and_then(|mut r| {
                let mut first = String::new();
                r.read_line(&mut first).ok()?;
                (first.trim_end() == header).then(|| {
                    EntryReader {
                        lines: r.lines(),
                        pending: None,
                    }
                    .peekable()
                })
            });
        let writer = path.as_deref().and_then(|p| {
            let dir = p.parent()?;
            std::fs::create_dir_all(dir).ok()?;
            let tmp = atomic::temp_with(dir, b"").ok()?;
            let mut w = BufWriter::new(tmp.as_file().try_clone().ok()?);
            writeln!(w, "{header}").ok()?;
            Some((tmp, w))
        });
        // Leftover of orch versions that cached output hashes only.
        if let Some(dir) = path.as_deref().and_then(Path::parent) {
            let _ = std::fs::remove_file(dir.join("hash-cache.json"));
        }
        Cache {
            path,
            reader,
            writer,
            keep_others,
            changed: false,
        }
    }

    /// The old entry for `run_id` (ids must come in ascending order); it
    /// must be `put` back, replaced or dropped. Old entries passed over are
    /// kept when other runs' entries are.
    pub fn take(&mut self, run_id: &str) -> Option<Entry> {
        let reader = self.reader.as_mut()?;
        while let Some(e) = reader.next_if(|e| e.run_id.as_str() < run_id) {
            if self.keep_others {
                write_entry(self.writer.as_mut().map(|(_, w)| w), &e);
            } else {
                self.changed = true;
            }
        }
        reader.next_if(|e| e.run_id == run_id)
    }

    /// Keeps an entry in the new file (`fresh`: it was just made).
    pub fn put(&mut self, entry: &Entry, fresh: bool) {
        self.changed |= fresh;
        write_entry(self.writer.as_mut().map(|(_, w)| w), entry);
    }

    /// Notes a run whose old entry is dropped.
    pub fn drop_entry(&mut self) {
        self.changed = true;
    }

    /// Replaces the old file with the new one, if anything changed (best
    /// effort: a cache that cannot be written only costs time next run).
    pub fn finish(mut self) {
        let Some((tmp, mut w)) = self.writer.take() else {
            return;
        };
        if let Some(reader) = self.reader.take() {
            for e in reader {
                if self.keep_others {
                    write_entry(Some(&mut w), &e);
                } else {
                    self.changed = true;
                }
            }
        }
        if self.changed
            && w.flush().is_ok()
            && let Some(path) = &self.path
        {
            drop(w);
            let _ = tmp.persist(path);
        }
    }
}

fn write_entry(w: Option<&mut BufWriter<std::fs::File>>, e: &Entry) {
    let Some(w) = w else { return };
    let body = entry_body(e);
    let _ = write!(
        w,
        "@\t{}\t{}\t{}\n{body}",
        escape(&e.run_id),
        e.fingerprint,
        crate::hash::bytes(body.as_bytes())
    );
}

/// An entry's lines after its `@` line (what its checksum covers).
fn entry_body(e: &Entry) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for d in &e.deps {
        out.push_str("d\t");
        out.push_str(&escape(d));
        out.push('\n');
    }
    for h in &e.hints {
        let s = h.stamp;
        let _ = writeln!(
            out,
            "h\t{}\t{}\t{}\t{}\t{}\t{}",
            h.sha256,
            s.ino,
            s.size,
            s.mtime_ns,
            s.ctime_ns,
            escape(&h.path)
        );
    }
    out.push_str("g\t");
    out.push_str(&serde_json::to_string(&e.group).expect("groups serialize"));
    out.push('\n');
    out
}

/// Entries of the old file, in order; damaged ones are skipped.
struct EntryReader {
    lines: std::io::Lines<BufReader<std::fs::File>>,
    /// The `@` line of the next entry, read while finishing the last one.
    pending: Option<String>,
}

impl Iterator for EntryReader {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        loop {
            let head = match self.pending.take() {
                Some(h) => h,
                None => self.lines.next()?.ok()?,
            };
            let mut body = String::new();
            loop {
                match self.lines.next() {
                    Some(Ok(line)) if line.starts_with("@\t") => {
                        self.pending = Some(line);
                        break;
                    }
                    Some(Ok(line)) => {
                        body.push_str(&line);
                        body.push('\n');
                    }
                    _ => break,
                }
            }
            if let Some(e) = parse_entry(&head, &body) {
                return Some(e);
            }
        }
    }
}

fn parse_entry(head: &str, body: &str) -> Option<Entry> {
    let mut f = head.split('\t');
    let (at, id, fingerprint, sum) = (f.next()?, f.next()?, f.next()?, f.next()?);
    if at != "@" || f.next().is_some() || crate::hash::bytes(body.as_bytes()) != sum {
        return None;
    }
    let mut deps = Vec::new();
    let mut hints = Vec::new();
    let mut group = None;
    for line in body.lines() {
        let (kind, rest) = line.split_once('\t')?;
        match kind {
            "d" => deps.push(unescape(rest)?),
            "h" => {
                let p: Vec<&str> = rest.splitn(6, '\t').collect();
                let [sha, ino, size, mtime, ctime, path] = p.as_slice() else {
                    return None;
                };
                hints.push(Hint {
                    path: unescape(path)?,
                    stamp: Stamp {
                        ino: ino.parse().ok()?,
                        size: size.parse().ok()?,
                        mtime_ns: mtime.parse().ok()?,
                        ctime_ns: ctime.parse().ok()?,
                    },
                    sha256: (*sha).to_string(),
                });
            }
            "g" => group = Some(serde_json::from_str(rest).ok()?),
            _ => return None,
        }
    }
    Some(Entry {
        run_id: unescape(id)?,
        deps,
        fingerprint: fingerprint.to_string(),
        hints,
        group: group?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::findings::{Case, Finding, Level};

    fn entry(id: &str) -> Entry {
        let mut case = Case::new("G1 \t odd");
        case.push(Finding::new(Level::Warning, "stale", "x\ny"));
        Entry {
            run_id: id.into(),
            deps: vec!["a b/c\td".into(), "z".into()],
            fingerprint: "f".repeat(32),
            hints: vec![Hint {
                path: "out/big.bin".into(),
                stamp: Stamp {
                    ino: 1,
                    size: 2,
                    mtime_ns: 3,
                    ctime_ns: -4,
                },
                sha256: "e".repeat(64),
            }],
            group: Group {
                name: id.into(),
                description: None,
                cases: vec![case],
            },
        }
    }

    fn repo() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let repo = Repo::at(dir.path()).unwrap();
        (dir, repo)
    }

    #[test]
    fn entries_stream_through_and_damage_drops_only_the_damaged_one() {
        let (dir, repo) = repo();
        let mut c = Cache::open(&repo, true, "k", false);
        for id in ["r1", "r2", "r3"] {
            assert_eq!(c.take(id), None);
            c.put(&entry(id), true);
        }
        c.finish();
        let path = dir.path().join(".git/orch/verify-cache");
        let text = std::fs::read_to_string(&path).unwrap();
        // Damage r2's group.
        std::fs::write(&path, text.replace("\"r2\"", "\"R2\"")).unwrap();
        let mut c = Cache::open(&repo, true, "k", true);
        assert_eq!(c.take("r1"), Some(entry("r1")));
        c.drop_entry();
        assert_eq!(c.take("r2"), None, "a damaged entry is not believed");
        c.finish();
        // keep_others kept r3 (passed over after r2); r1 was dropped.
        let mut c = Cache::open(&repo, true, "k", false);
        assert_eq!(c.take("r1"), None);
        assert_eq!(c.take("r3"), Some(entry("r3")));
        c.finish();
        // Other options: nothing.
        let mut c = Cache::open(&repo, true, "other", false);
        assert_eq!(c.take("r3"), None);
    }
}
