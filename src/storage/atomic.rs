//! Replacing a file whole: a temporary file in the same directory, renamed
//! over the target. A reader sees the old file or the new one, never half
//! of one. `write_atomic` also flushes the file and its directory to disk
//! (a crash loses at most the write in flight); `replace` does not, for
//! files that are rebuilt when lost.

use std::io::{self, Write};
use std::path::Path;

/// Prefix of orch's temporary files; a crashed writer may leave one behind,
/// and the next writer under the run's lock removes it.
pub const TEMP_PREFIX: &str = ".orch-tmp-";

/// Atomically and durably replaces `path` with `bytes` (a user's file: a
/// report, a hook). Records go through the store's journal instead.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Like `write_atomic`, with the content written by `fill` (a report too
/// large to hold in memory).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = parent(path)?;
    create_dir_all_durable(dir)?;
    super::fault::at("temp")?;
    let mut tmp = temp_with(dir, b"")?;
    {
        let mut w = io::BufWriter::new(tmp.as_file_mut());
        fill(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    super::fault::at("rename")?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Atomically replaces `path` with `bytes`, without making it durable:
/// readers see the old file or the new one, never half of one, but a crash
/// of the machine may lose it. For derived files (caches, indexes) that are
/// rebuilt when missing or wrong.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent(path)?;
    std::fs::create_dir_all(dir)?;
    temp_with(dir, bytes)?
        .persist(path)
        .map(|_| ())
        .map_err(|e| e.error)
}

/// A temporary file in `dir` (removed when dropped) holding `bytes`, to be
/// renamed over its target with `persist`.
pub fn temp_with(dir: &Path, bytes: &[u8]) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX);
    // Like any file a program creates: 0666 less the umask (tempfile's default is 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    Ok(tmp)
}

fn parent(path: &Path) -> io::Result<&Path> {
    match path.parent() {
        Some(p) if p.as_os_str().is_empty() => Ok(Path::new(".")),
        Some(p) => Ok(p),
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path has no parent directory",
        )),
    }
}

/// Creates `dir` and any missing parents, flushing each new entry to disk
/// (a new folder is only durable once its parent is synced).
pub fn create_dir_all_durable(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_all_durable(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(e),
    }
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => sync_dir(Path::new(".")),
    }
}

/// Flushes a directory entry (the rename) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes temporary files a crashed writer left in `dir` (not recursive).
/// Only call while holding the lock that guards `dir`.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/RUN.json");
        write_atomic(&target, b"one").unwrap();
        write_atomic(&target, b"two").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["RUN.json"]);
    }

    #[test]
    fn a_bare_file_name_is_written_in_the_current_directory() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.xml");
        // A bare name has an empty parent; it means the current directory.
        assert_eq!(Path::new("out.xml").parent(), Some(Path::new("")));
        write_atomic(&target, b"x").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"x");
    }

    #[cfg(unix)]
    #[test]
    fn records_get_ordinary_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b/RUN.json");
        write_atomic(&target, b"{}").unwrap();
        let ordinary = dir.path().join("ordinary");
        std::fs::write(&ordinary, b"{}").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(&target),
            mode(&ordinary),
            "as any file created under this umask"
        );
    }

    #[test]
    fn stale_temps_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".orch-tmp-abc"), b"x").unwrap();
        std::fs::write(dir.path().join("keep.json"), b"x").unwrap();
        remove_stale_temps(dir.path());
        assert!(!dir.path().join(".orch-tmp-abc").exists());
        assert!(dir.path().join("keep.json").exists());
    }
}
