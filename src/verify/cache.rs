//! What `orch verify` found for each run, kept in the git directory
//! (`.git/orch/verify-cache`, never committed) with every path the finding
//! depended on: the record's files and folders, its journal, the contracts
//! and workflow it was judged by, every file and folder the contract
//! checks looked at, the recorded outputs, the approval and vetting files;
//! and the facts outside the working tree it relied on (the signers and
//! the workflow at the trusted git revision), each kept as a digest of
//! what it was. A run whose paths all have the stamps they had (inode,
//! size, modification and change time) and whose facts are as they were
//! gets the same finding without reading a byte of its files; any change,
//! and the run is checked again. Entries are written only for paths that had settled
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

const HEADER: &str = "orch-verify-cache 3";
/// Outputs at least this large keep their hash in the entry.
pub const HINT_BYTES: u64 = 64 * 1024;

/// A recorded output's hash, and the stamp it was hashed at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub path: String,
    pub stamp: Stamp,
    pub sha256: String,
}

/// What a run's finding depended on, and the finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contents {
    /// Repo-relative paths the finding depended on, sorted.
    pub deps: Vec<String>,
    /// Facts outside the files it relied on (see `storage::watch`), sorted.
    pub facts: Vec<String>,
    pub hints: Vec<Hint>,
    pub group: Group,
}

/// One run's entry, as stored: its contents are parsed (and their checksum
/// checked) only by `open`, on whichever thread checks the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub run_id: String,
    /// Over the deps' stamps when the finding was made.
    fingerprint: String,
    /// SHA-256 of `body`.
    checksum: String,
    /// The lines after the entry's `@` line.
    body: String,
    /// Where it is in the old file (start, end), if it was read from there.
    span: Option<(u64, u64)>,
}

impl Entry {
    pub fn new(run_id: &str, fingerprint: String, contents: &Contents) -> Entry {
        let body = entry_body(contents);
        Entry {
            run_id: run_id.to_string(),
            fingerprint,
            checksum: crate::hash::bytes(body.as_bytes()),
            body,
            span: None,
        }
    }

    /// The contents, if the entry is whole.
    pub fn open(&self) -> Option<Contents> {
        if crate::hash::bytes(self.body.as_bytes()) != self.checksum {
            return None;
        }
        parse_body(&self.body)
    }

    /// Whether every path its `contents` depend on still has the stamp it
    /// had, and every fact is as it was: the finding holds.
    pub fn holds(&self, contents: &Contents, root: &Dir, facts: &Facts) -> bool {
        fingerprint(root, contents, facts).is_some_and(|f| f == self.fingerprint)
    }
}

/// States a fact by its name, as a digest of what it is now (None when it
/// cannot be told).
pub type Facts<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// The fingerprint of what `c` depends on, as it is now; None when a path
/// cannot be looked at (anything but "absent") or a fact cannot be told.
pub fn fingerprint(root: &Dir, c: &Contents, facts: &Facts) -> Option<String> {
    scan(root, c, facts, None)
}

/// Like `fingerprint`, and None unless every path has settled by `now_ns`
/// (see `Stamp::settled`): a finding over files that changed while it was
/// made is not worth keeping.
pub fn settled_fingerprint(
    root: &Dir,
    c: &Contents,
    facts: &Facts,
    now_ns: i128,
) -> Option<String> {
    scan(root, c, facts, Some(now_ns))
}

fn scan(root: &Dir, c: &Contents, facts: &Facts, settled_by: Option<i128>) -> Option<String> {
    let mut h = Sha256::new();
    for name in &c.facts {
        let digest = facts(name)?;
        for part in [name.as_bytes(), &[0], digest.as_bytes(), &[0]] {
            h.update(part);
        }
    }
    for rel in &c.deps {
        h.update(rel.as_bytes());
        match root.stat(rel) {
            Ok((s, _)) => {
                if settled_by.is_some_and(|now| !s.settled(now)) {
                    return None;
                }
                h.update([1]);
                h.update(s.ino.to_le_bytes());
                h.update(s.size.to_le_bytes());
                h.update(s.mtime_ns.to_le_bytes());
                h.update(s.ctime_ns.to_le_bytes());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                h.update([0]);
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
    header: String,
    /// The old file, read in step with the runs (both sorted by id).
    reader: Option<std::iter::Peekable<EntryReader>>,
    /// The new file, started at the first change (until then every entry
    /// is kept as it was, and the old file's first `kept` bytes say so).
    writer: Option<(tempfile::NamedTempFile, BufWriter<std::fs::File>)>,
    kept: u64,
    /// Whether entries of runs this verify does not visit are kept.
    keep_others: bool,
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
        let header = format!("{HEADER} {} {key}\n", env!("CARGO_PKG_VERSION"));
        let reader = path
            .as_deref()
            .and_then(|p| crate::storage::regular::open(p).ok())
            .map(BufReader::new)
            .and_then(|mut r| {
                let mut first = String::new();
                r.read_line(&mut first).ok()?;
                (first == header).then(|| {
                    EntryReader {
                        reader: r,
                        offset: first.len() as u64,
                    }
                    .peekable()
                })
            });
        if let Some(dir) = path.as_deref().and_then(Path::parent) {
            // Leftovers: of a verify that was stopped (a concurrent one
            // only loses its chance to write), and of orch versions that
            // cached output hashes only.
            atomic::remove_stale_temps(dir);
            let _ = std::fs::remove_file(dir.join("hash-cache.json"));
        }
        Cache {
            path,
            kept: header.len() as u64,
            header,
            reader,
            writer: None,
            keep_others,
        }
    }

    /// The old entry for `run_id` (ids must come in ascending order); it
    /// must be `put` back, replaced or dropped. Old entries passed over are
    /// kept when other runs' entries are.
    pub fn take(&mut self, run_id: &str) -> Option<Entry> {
        while let Some(e) = self
            .reader
            .as_mut()?
            .next_if(|e| e.run_id.as_str() < run_id)
        {
            if self.keep_others {
                self.put(&e, false);
            } else {
                self.drop_entry();
            }
        }
        self.reader.as_mut()?.next_if(|e| e.run_id == run_id)
    }

    /// Keeps an entry in the new file (`fresh`: it was just made).
    pub fn put(&mut self, entry: &Entry, fresh: bool) {
        if !fresh && self.writer.is_none() && entry.span.is_some_and(|(at, _)| at == self.kept) {
            self.kept = entry.span.map_or(self.kept, |(_, end)| end);
            return;
        }
        write_entry(self.writer(), entry);
    }

    /// Notes a run whose old entry is dropped.
    pub fn drop_entry(&mut self) {
        self.writer();
    }

    /// The new file, started now if it was not: the old file's first
    /// `kept` bytes (the header and the entries kept so far) first.
    fn writer(&mut self) -> Option<&mut BufWriter<std::fs::File>> {
        if self.writer.is_none() {
            let path = self.path.as_deref()?;
            let dir = path.parent()?;
            std::fs::create_dir_all(dir).ok()?;
            let tmp = atomic::temp_with(dir, b"").ok()?;
            let mut w = BufWriter::new(tmp.as_file().try_clone().ok()?);
            if self.reader.is_some() {
                use std::io::Read;
                let old = crate::storage::regular::open(path).ok()?;
                std::io::copy(&mut old.take(self.kept), &mut w).ok()?;
            } else {
                w.write_all(self.header.as_bytes()).ok()?;
            }
            self.writer = Some((tmp, w));
        }
        self.writer.as_mut().map(|(_, w)| w)
    }

    /// Replaces the old file with the new one, if anything changed (best
    /// effort: a cache that cannot be written only costs time next run).
    pub fn finish(mut self) {
        while let Some(e) = self.reader.as_mut().and_then(Iterator::next) {
            if self.keep_others {
                self.put(&e, false);
            } else {
                self.drop_entry();
            }
        }
        let Some((tmp, mut w)) = self.writer.take() else {
            return;
        };
        if w.flush().is_ok()
            && let Some(path) = &self.path
        {
            drop(w);
            let _ = tmp.persist(path);
        }
    }
}

fn write_entry(w: Option<&mut BufWriter<std::fs::File>>, e: &Entry) {
    let Some(w) = w else { return };
    let _ = write!(
        w,
        "@\t{}\t{}\t{}\t{}\n{}",
        escape(&e.run_id),
        e.fingerprint,
        e.checksum,
        e.body.len(),
        e.body
    );
}

/// An entry's lines after its `@` line (what its checksum covers).
fn entry_body(e: &Contents) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for d in &e.deps {
        out.push_str("d\t");
        out.push_str(&escape(d));
        out.push('\n');
    }
    for f in &e.facts {
        out.push_str("f\t");
        out.push_str(&escape(f));
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

/// Entries of the old file, in order. An entry is its `@` line (with the
/// length of its body) and its body; reading stops at anything else.
struct EntryReader {
    reader: BufReader<std::fs::File>,
    /// Bytes read so far.
    offset: u64,
}

impl Iterator for EntryReader {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        use std::io::Read;
        let mut head = String::new();
        let start = self.offset;
        self.reader.read_line(&mut head).ok()?;
        let mut f = head.strip_suffix('\n')?.split('\t');
        let (at, id, fingerprint, checksum, len) =
            (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
        if at != "@" || f.next().is_some() {
            return None;
        }
        let mut body = vec![0u8; len.parse().ok()?];
        self.reader.read_exact(&mut body).ok()?;
        self.offset = start + (head.len() + body.len()) as u64;
        Some(Entry {
            run_id: unescape(id)?,
            fingerprint: fingerprint.to_string(),
            checksum: checksum.to_string(),
            body: String::from_utf8(body).ok()?,
            span: Some((start, self.offset)),
        })
    }
}

fn parse_body(body: &str) -> Option<Contents> {
    let mut deps = Vec::new();
    let mut facts = Vec::new();
    let mut hints = Vec::new();
    let mut group = None;
    for line in body.lines() {
        let (kind, rest) = line.split_once('\t')?;
        match kind {
            "d" => deps.push(unescape(rest)?),
            "f" => facts.push(unescape(rest)?),
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
    Some(Contents {
        deps,
        facts,
        hints,
        group: group?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::findings::{Case, Finding, Level};

    fn entry(id: &str) -> Entry {
        Entry::new(id, "f".repeat(32), &contents(id))
    }

    fn contents(id: &str) -> Contents {
        let mut case = Case::new("G1 \t odd");
        case.push(Finding::new(Level::Warning, "stale", "x\ny"));
        Contents {
            deps: vec!["a b/c\td".into(), "z".into()],
            facts: vec!["trusted-signers".into()],
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
            assert!(c.take(id).is_none());
            c.put(&entry(id), true);
        }
        c.finish();
        let path = dir.path().join(".git/orch/verify-cache");
        let text = std::fs::read_to_string(&path).unwrap();
        // Damage r2's group.
        std::fs::write(&path, text.replace("\"r2\"", "\"R2\"")).unwrap();
        let mut c = Cache::open(&repo, true, "k", true);
        let r1 = c.take("r1").unwrap();
        assert_eq!(r1.open(), Some(contents("r1")));
        c.drop_entry();
        assert_eq!(
            c.take("r2").unwrap().open(),
            None,
            "a damaged entry is not believed"
        );
        c.drop_entry();
        c.finish();
        // keep_others kept r3 (passed over after r2); r1 was dropped.
        let mut c = Cache::open(&repo, true, "k", false);
        assert!(c.take("r1").is_none());
        let r3 = c.take("r3").unwrap();
        assert_eq!(r3.open(), Some(contents("r3")));
        c.put(&r3, false);
        c.finish();
        // Other options: nothing.
        let mut c = Cache::open(&repo, true, "other", false);
        assert!(c.take("r3").is_none());
    }

    #[test]
    fn an_unchanged_cache_is_not_rewritten() {
        let (dir, repo) = repo();
        let path = dir.path().join(".git/orch/verify-cache");
        let mut c = Cache::open(&repo, true, "k", false);
        for id in ["r1", "r2"] {
            c.take(id);
            c.put(&entry(id), true);
        }
        c.finish();
        let ino = || Stamp::path(&path).unwrap().ino;
        let before = ino();
        let mut c = Cache::open(&repo, true, "k", false);
        for id in ["r1", "r2"] {
            let e = c.take(id).unwrap();
            c.put(&e, false);
        }
        c.finish();
        assert_eq!(ino(), before, "nothing changed, nothing written");
        let mut c = Cache::open(&repo, true, "k", false);
        let e = c.take("r1").unwrap();
        c.put(&e, false);
        c.finish(); // r2 is gone
        assert_ne!(ino(), before);
        let mut c = Cache::open(&repo, true, "k", false);
        assert!(
            c.take("r1")
                .is_some_and(|e| e.open() == Some(contents("r1")))
        );
        assert!(c.take("r2").is_none());
    }
}
