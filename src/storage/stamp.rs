//! What `stat` says about a file, enough to tell whether it changed since
//! it was last looked at without reading it: inode, size, modification
//! time, and the change time (which no one can set back: `touch -d` and an
//! in-place edit both move it).

use std::path::Path;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamp {
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
        #[cfg(unix)]
        let (ino, ctime_ns) = {
            use std::os::unix::fs::MetadataExt;
            (
                meta.ino(),
                i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            )
        };
        #[cfg(not(unix))]
        let (ino, ctime_ns) = (0, mtime_ns);
        Stamp {
            ino,
            size: meta.len(),
            mtime_ns,
            ctime_ns,
        }
    }

    /// The stamp of `path` (following symlinks), if it exists.
    pub fn path(path: &Path) -> Option<Stamp> {
        std::fs::metadata(path).ok().map(|m| Stamp::of(&m))
    }

    /// Whether the file last changed long enough before `now_ns` (when it
    /// was read) that any later change will show in its stamp. File times
    /// come from a coarse clock (a few milliseconds; a whole second on
    /// file systems that keep seconds only), so a change just after a
    /// reading can carry the same times as the one before it (git calls
    /// such entries racy).
    pub fn settled(&self, now_ns: i128) -> bool {
        const SECOND: i128 = 1_000_000_000;
        let whole_seconds = self.ctime_ns % SECOND == 0 && self.mtime_ns % SECOND == 0;
        let margin = if whole_seconds { SECOND } else { 50_000_000 };
        self.ctime_ns.max(self.mtime_ns) < now_ns - margin
    }
}

/// A directory held open, so that many paths inside it are looked at
/// without walking from the root for each (`fstatat` on the directory):
/// what keeps a stat per run cheap over 100,000 runs.
pub struct Dir {
    #[cfg(unix)]
    fd: std::fs::File,
    #[cfg(not(unix))]
    path: std::path::PathBuf,
}

impl Dir {
    pub fn open(path: &Path) -> std::io::Result<Dir> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            let fd = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
                .open(path)?;
            Ok(Dir { fd })
        }
        #[cfg(not(unix))]
        Ok(Dir {
            path: path.to_path_buf(),
        })
    }

    /// The stamp of `rel` (following symlinks), and whether it is a regular file.
    #[cfg(unix)]
    #[allow(clippy::useless_conversion)] // the field types differ between architectures
    pub fn stat(&self, rel: &str) -> std::io::Result<(Stamp, bool)> {
        use rustix::fs::{AtFlags, FileType, statat};
        let st = statat(&self.fd, rel, AtFlags::empty())?;
        let ns = |s: i64, n: u64| i128::from(s) * 1_000_000_000 + i128::from(n);
        let stamp = Stamp {
            ino: u64::from(st.st_ino),
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime_ns: ns(i64::from(st.st_mtime), u64::from(st.st_mtime_nsec)),
            ctime_ns: ns(i64::from(st.st_ctime), u64::from(st.st_ctime_nsec)),
        };
        Ok((
            stamp,
            FileType::from_raw_mode(st.st_mode) == FileType::RegularFile,
        ))
    }

    #[cfg(not(unix))]
    pub fn stat(&self, rel: &str) -> std::io::Result<(Stamp, bool)> {
        let m = std::fs::metadata(self.path.join(rel))?;
        Ok((Stamp::of(&m), m.is_file()))
    }
}

/// Nanoseconds since the epoch by the real clock (file times follow it,
/// whatever ORCH_NOW says).
pub fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_moves_the_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "one").unwrap();
        let before = Stamp::path(&p).unwrap();
        // Same size, and the modification time put back: the change time still moves.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&p, "two").unwrap();
        let f = std::fs::File::options().write(true).open(&p).unwrap();
        let mtime =
            UNIX_EPOCH + std::time::Duration::from_nanos(u64::try_from(before.mtime_ns).unwrap());
        f.set_modified(mtime).unwrap();
        let after = Stamp::path(&p).unwrap();
        assert_eq!((after.size, after.mtime_ns), (before.size, before.mtime_ns));
        assert_ne!(after, before);
        assert!(Stamp::path(&dir.path().join("missing")).is_none());
        let d = Dir::open(dir.path()).unwrap();
        assert_eq!(d.stat("f").unwrap(), (after, true));
        assert!(!d.stat(".").unwrap().1);
        assert_eq!(
            d.stat("missing").unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
    }
}
