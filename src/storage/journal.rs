//! A run's redo journal (`logs/journal`, never committed): how a change to
//! several record files becomes one durable commit with one fsync.
//!
//! Before any record file is touched, the change is appended here whole:
//! the new bytes of every file it writes, and what `RUN.json` was before
//! it. One `fdatasync` of this file makes the change durable; the record
//! files are then replaced by renames that need no fsync of their own. If
//! orch dies (or the machine stops) before every rename has landed, the
//! next orch command on the run finds the last entry not yet applied and
//! finishes it. An entry is framed by a header and a trailer that carries
//! the checksum of its payload, so a half-appended entry is recognised and
//! dropped, and the last entry can be read from the end without scanning.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::fault;
use super::stamp::Stamp;

const MAGIC: &str = "ORCHJ1";
/// `ORCHJ1 <len:16 hex>\n`
const HEADER: usize = 24;
const HEADER_LEN: u64 = HEADER as u64;
/// `ORCHJ1 <len:16 hex> <payload sha256> <RUN.json sha256> <boot id:36>\n`
const TRAILER: usize = 191;
const TRAILER_LEN: u64 = TRAILER as u64;

/// What the record looked like before a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Base {
    /// SHA-256 of `RUN.json`, or none when the change created it.
    pub sha256: Option<String>,
    /// `RUN.json`'s stamp (the record folder's when there was no RUN.json).
    pub stamp: Stamp,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Meta {
    base: Base,
    /// Paths relative to the run's folder, and their lengths in the payload.
    files: Vec<(String, u64)>,
}

/// One change: the record before it, and every file it writes.
#[derive(Clone, Debug)]
pub struct Entry {
    pub base: Base,
    /// Paths relative to the run's folder (`record/RUN.json` last), with their new bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// SHA-256 of the new RUN.json, when the caller has it already.
    pub run_json_sha256: Option<String>,
}

/// What the end of an entry says, read without its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// Where the entry's payload starts, and its length.
    offset: u64,
    len: u64,
    payload_sha256: String,
    /// SHA-256 of the `RUN.json` the change writes.
    pub run_json_sha256: String,
    /// The boot the entry was written in (see `boot_id`).
    pub boot: String,
}

pub struct Journal {
    file: File,
    path: PathBuf,
    len: u64,
}

/// This boot of the machine: while it lasts, the page cache holds every
/// write that returned, so only the last entry can be unapplied.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| s.len() == 36)
        .unwrap_or_else(|| "0".repeat(36))
}

impl Journal {
    /// The journal at `path`, if there is one.
    pub fn open(path: &Path) -> io::Result<Option<Journal>> {
        match super::regular::open_rw(path) {
            Ok(file) => Ok(Some(Journal::from(file, path)?)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The journal at `path`, created when missing (true: it was created,
    /// and its folder must be synced for it to survive a crash).
    pub fn open_or_create(path: &Path) -> io::Result<(Journal, bool)> {
        if let Some(j) = Journal::open(path)? {
            return Ok((j, false));
        }
        let file = super::regular::open_or_create(path)?;
        Ok((Journal::from(file, path)?, true))
    }

    fn from(file: File, path: &Path) -> io::Result<Journal> {
        let len = file.metadata()?.len();
        Ok(Journal {
            file,
            path: path.to_path_buf(),
            len,
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an entry and makes it durable (one fdatasync). On failure the
    /// journal is cut back to what it was.
    pub fn append(&mut self, entry: &Entry) -> io::Result<()> {
        let meta = Meta {
            base: entry.base.clone(),
            files: entry
                .files
                .iter()
                .map(|(p, b)| (p.clone(), b.len() as u64))
                .collect(),
        };
        let mut payload = serde_json::to_vec(&meta).map_err(io::Error::other)?;
        payload.push(b'\n');
        let shas: Vec<String> = entry
            .files
            .iter()
            .map(|(p, b)| match &entry.run_json_sha256 {
                Some(sha) if p == super::layout::RUN_JSON_IN_RUN => sha.clone(),
                _ => crate::hash::bytes(b),
            })
            .collect();
        let checksum = checksum(&payload, &shas);
        let run_json_sha = entry
            .files
            .iter()
            .zip(&shas)
            .find(|((p, _), _)| p == super::layout::RUN_JSON_IN_RUN)
            .map_or_else(|| crate::hash::bytes(b""), |(_, sha)| sha.clone());
        for (_, bytes) in &entry.files {
            payload.extend_from_slice(bytes);
        }
        let mut out = Vec::with_capacity(payload.len() + 256);
        let len = payload.len() as u64;
        writeln!(out, "{MAGIC} {len:016x}")?;
        out.extend_from_slice(&payload);
        writeln!(
            out,
            "{MAGIC} {len:016x} {checksum} {run_json_sha} {}",
            boot_id()
        )?;
        debug_assert_eq!(out.len() as u64, HEADER_LEN + len + TRAILER_LEN);
        let start = self.len;
        let result = fault::at("journal")
            .and_then(|()| self.file.write_all_at(&out, start))
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.len = start + out.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(start);
                Err(e)
            }
        }
    }

    /// Cuts the journal to `len` bytes; `durable` syncs the cut (an entry
    /// that was undone must not come back after a crash).
    pub fn truncate(&mut self, len: u64, durable: bool) -> io::Result<()> {
        self.file.set_len(len)?;
        self.len = len;
        if durable {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// The trailer of the last whole entry. Safe without the run's lock: a
    /// half-appended entry (another orch writing now, or one that crashed)
    /// is skipped, not removed.
    pub fn last(&self) -> io::Result<Option<Trailer>> {
        if self.len == 0 {
            return Ok(None);
        }
        if let Some(t) = self.trailer_ending_at(self.len, false)? {
            return Ok(Some(t));
        }
        Ok(self.scan()?.pop())
    }

    /// Cuts off a half-appended (or damaged) last entry left by a crash
    /// (under the run's lock, before using or appending to the journal).
    pub fn cut_torn_tail(&mut self) -> io::Result<()> {
        if self.len == 0 || self.trailer_ending_at(self.len, true)?.is_some() {
            return Ok(());
        }
        let end = self
            .scan()?
            .last()
            .map_or(0, |t| t.offset + t.len + TRAILER_LEN);
        self.truncate(end, false)
    }

    /// Every whole entry's trailer, oldest first, checksums verified (stops
    /// at a damaged one).
    pub fn scan(&self) -> io::Result<Vec<Trailer>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + HEADER_LEN + TRAILER_LEN <= self.len {
            let mut header = [0u8; HEADER];
            self.file.read_exact_at(&mut header, at)?;
            let Some(len) = parse_header(&header) else {
                break;
            };
            let end = at + HEADER_LEN + len + TRAILER_LEN;
            match self.trailer_ending_at(end, true)? {
                Some(t) if t.offset == at + HEADER_LEN => out.push(t),
                _ => break,
            }
            at = end;
        }
        Ok(out)
    }

    /// The trailer of an entry ending at `end`. The header must agree; with
    /// `verify` the payload's checksum too. (Within one boot an entry whose
    /// trailer is there was written whole: appends are one write, and a
    /// crash leaves a prefix of it.)
    fn trailer_ending_at(&self, end: u64, verify: bool) -> io::Result<Option<Trailer>> {
        if end < HEADER_LEN + TRAILER_LEN || end > self.len {
            return Ok(None);
        }
        let mut buf = [0u8; TRAILER];
        self.file.read_exact_at(&mut buf, end - TRAILER_LEN)?;
        let Ok(text) = std::str::from_utf8(&buf) else {
            return Ok(None);
        };
        let parts: Vec<&str> = text.trim_end_matches('\n').split(' ').collect();
        let [magic, len, payload, run_json, boot] = parts.as_slice() else {
            return Ok(None);
        };
        let Ok(len) = u64::from_str_radix(len, 16) else {
            return Ok(None);
        };
        if *magic != MAGIC || len + HEADER_LEN + TRAILER_LEN > end {
            return Ok(None);
        }
        let t = Trailer {
            offset: end - TRAILER_LEN - len,
            len,
            payload_sha256: (*payload).to_string(),
            run_json_sha256: (*run_json).to_string(),
            boot: (*boot).to_string(),
        };
        let mut header = [0u8; HEADER];
        self.file
            .read_exact_at(&mut header, t.offset - HEADER_LEN)?;
        if parse_header(&header) != Some(len) || (verify && self.entry(&t).is_err()) {
            return Ok(None);
        }
        Ok(Some(t))
    }

    /// The entry a trailer ends, if it is whole (its checksum holds).
    pub fn entry(&self, t: &Trailer) -> io::Result<Entry> {
        let mut payload = vec![0u8; usize::try_from(t.len).map_err(io::Error::other)?];
        self.file.read_exact_at(&mut payload, t.offset)?;
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "damaged journal entry");
        let nl = payload.iter().position(|b| *b == b'\n').ok_or_else(bad)?;
        let meta: Meta = serde_json::from_slice(&payload[..nl]).map_err(|_| bad())?;
        let mut rest = &payload[nl + 1..];
        let mut files = Vec::with_capacity(meta.files.len());
        for (path, len) in meta.files {
            let len = usize::try_from(len).map_err(|_| bad())?;
            if rest.len() < len {
                return Err(bad());
            }
            let (bytes, tail) = rest.split_at(len);
            files.push((path, bytes.to_vec()));
            rest = tail;
        }
        let shas: Vec<String> = files.iter().map(|(_, b)| crate::hash::bytes(b)).collect();
        if !rest.is_empty() || checksum(&payload[..=nl], &shas) != t.payload_sha256 {
            return Err(bad());
        }
        Ok(Entry {
            base: meta.base,
            files,
            run_json_sha256: None,
        })
    }

    /// Reads the whole journal (for tests and diagnostics).
    #[cfg(test)]
    fn bytes(&self) -> Vec<u8> {
        let mut v = vec![0u8; usize::try_from(self.len).unwrap()];
        self.file.read_exact_at(&mut v, 0).unwrap();
        v
    }
}

/// An entry's checksum: over its description and each file's SHA-256 (so
/// no file is hashed twice when an entry is written).
fn checksum(meta: &[u8], file_shas: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(meta);
    for sha in file_shas {
        h.update(sha.as_bytes());
    }
    h.finalize()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn parse_header(h: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(h).ok()?;
    let rest = text.strip_prefix(MAGIC)?.strip_prefix(' ')?;
    let hex = rest.strip_suffix('\n')?;
    u64::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8) -> Entry {
        Entry {
            base: Base {
                sha256: Some("b".repeat(64)),
                stamp: Stamp::default(),
            },
            files: vec![
                ("record/gates/G1/attempt-1.json".into(), vec![b'a', n]),
                ("record/RUN.json".into(), vec![b'{', n, b'}']),
            ],
            run_json_sha256: None,
        }
    }

    #[test]
    fn entries_round_trip_and_a_torn_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let (mut j, created) = Journal::open_or_create(&path).unwrap();
        assert!(created);
        assert_eq!(j.last().unwrap(), None);
        j.append(&entry(1)).unwrap();
        j.append(&entry(2)).unwrap();
        let whole = j.len();
        let t = j.last().unwrap().unwrap();
        assert_eq!(t.run_json_sha256, crate::hash::bytes(&[b'{', 2, b'}']));
        assert_eq!(j.entry(&t).unwrap().files, entry(2).files);
        assert_eq!(j.scan().unwrap().len(), 2);
        // A crash while appending a third entry leaves half of it.
        let mut bytes = j.bytes();
        bytes.extend_from_slice(b"ORCHJ1 0000000000000040\n{\"base\":");
        std::fs::write(&path, &bytes).unwrap();
        let mut j = Journal::open(&path).unwrap().unwrap();
        assert_eq!(j.last().unwrap(), Some(t.clone()));
        assert!(j.len() > whole, "a reader leaves it");
        j.cut_torn_tail().unwrap();
        assert_eq!(j.last().unwrap(), Some(t));
        assert_eq!(j.len(), whole, "the torn tail is cut off");
        // A flipped byte inside the last entry: it is not whole.
        let mut bytes = j.bytes();
        let at = bytes.len() - 200;
        bytes[at] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let mut j = Journal::open(&path).unwrap().unwrap();
        assert_eq!(j.scan().unwrap().len(), 1);
        j.cut_torn_tail().unwrap();
        assert_eq!(
            j.entry(&j.last().unwrap().unwrap()).unwrap().files,
            entry(1).files
        );
    }
}
