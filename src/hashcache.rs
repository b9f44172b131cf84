//! A stat cache for hashing: `(size, mtime, inode) → SHA-256`, so a second
//! `orch verify` over an unchanged tree reads no file contents. It lives in
//! the git directory (`.git/orch/hash-cache.json`), never in a commit. Like
//! git's index it obeys the racy rule: an entry is trusted only if the
//! file's mtime is strictly before the second the cache was written, since
//! a file changed within that second could keep the same mtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::repo::Repo;
use crate::storage::write_atomic;

const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    size: u64,
    mtime_ns: i128,
    ino: u64,
    sha256: String,
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    version: u32,
    /// Seconds since the epoch when the cache was written.
    written_at: i64,
    entries: BTreeMap<String, Entry>,
}

/// The facts about a file that decide whether a cached hash still holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub ino: u64,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let ino = 0;
        Stamp {
            size: meta.len(),
            mtime_ns,
            ino,
        }
    }
}

pub struct HashCache {
    path: Option<PathBuf>,
    file: File,
    /// Whether `put` changed anything (an unchanged cache is not rewritten).
    dirty: bool,
}

impl HashCache {
    /// The repository's cache, or an empty one (no git directory, a
    /// corrupt or older file: everything is hashed).
    pub fn load(repo: &Repo) -> HashCache {
        let path = repo
            .git_dir()
            .map(|d| d.join("orch").join("hash-cache.json"));
        let file = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice::<File>(&bytes).ok())
            .filter(|f| f.version == VERSION)
            .unwrap_or_default();
        HashCache {
            path,
            file,
            dirty: false,
        }
    }

    /// A cache that is neither read nor written (`--no-cache`).
    pub fn disabled() -> HashCache {
        HashCache {
            path: None,
            file: File::default(),
            dirty: false,
        }
    }

    /// The cached hash of `rel`, if it can be trusted for this stamp.
    pub fn get(&self, rel: &str, stamp: Stamp) -> Option<&str> {
        let e = self.file.entries.get(rel)?;
        let racy = stamp.mtime_ns.div_euclid(1_000_000_000) >= i128::from(self.file.written_at);
        (e.size == stamp.size && e.mtime_ns == stamp.mtime_ns && e.ino == stamp.ino && !racy)
            .then_some(e.sha256.as_str())
    }

    pub fn put(&mut self, rel: &str, stamp: Stamp, sha256: &str) {
        let entry = Entry {
            size: stamp.size,
            mtime_ns: stamp.mtime_ns,
            ino: stamp.ino,
            sha256: sha256.to_string(),
        };
        if self.file.entries.get(rel) != Some(&entry) {
            self.file.entries.insert(rel.to_string(), entry);
            self.dirty = true;
        } else if stamp.mtime_ns.div_euclid(1_000_000_000) >= i128::from(self.file.written_at) {
            // Re-hashed because it was racy: saving now moves written_at past
            // its mtime, so the next run can trust it.
            self.dirty = true;
        }
    }

    /// Writes the cache (best effort: a cache that cannot be written only
    /// costs time next run).
    pub fn save(&mut self) {
        let Some(path) = &self.path else { return };
        if !self.dirty {
            return;
        }
        self.file.version = VERSION;
        // File times follow the real clock, whatever ORCH_NOW says.
        self.file.written_at = crate::clock::real_now().timestamp();
        if let Ok(bytes) = serde_json::to_vec(&self.file)
            && write_atomic(path, &bytes).is_ok()
        {
            self.dirty = false;
        }
    }

    pub fn location(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn racy_entries_are_not_trusted() {
        let mut cache = HashCache::disabled();
        cache.file.written_at = 1_000;
        let old = Stamp {
            size: 3,
            mtime_ns: 999_999_999_999,
            ino: 7,
        };
        let racy = Stamp {
            size: 3,
            mtime_ns: 1_000_000_000_500,
            ino: 7,
        };
        cache.put("a", old, "aa");
        cache.put("b", racy, "bb");
        assert_eq!(cache.get("a", old), Some("aa"));
        assert_eq!(
            cache.get("b", racy),
            None,
            "changed in the second the cache was written"
        );
        assert_eq!(cache.get("a", Stamp { size: 4, ..old }), None);
        assert_eq!(cache.get("a", Stamp { ino: 8, ..old }), None);
        assert_eq!(cache.get("missing", old), None);
    }

    #[test]
    fn an_unchanged_cache_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = HashCache::disabled();
        cache.path = Some(dir.path().join("c.json"));
        let stamp = Stamp {
            size: 1,
            mtime_ns: 5,
            ino: 1,
        };
        cache.put("a", stamp, "aa");
        cache.save();
        assert!(dir.path().join("c.json").exists());
        std::fs::remove_file(dir.path().join("c.json")).unwrap();
        cache.put("a", stamp, "aa");
        cache.save();
        assert!(
            !dir.path().join("c.json").exists(),
            "nothing changed, nothing written"
        );
        cache.put("a", stamp, "bb");
        cache.save();
        assert!(dir.path().join("c.json").exists());
    }
}
