//! The one lock guard: an exclusive advisory lock on a file that lives
//! outside the committed record. The OS releases it when the holder exits,
//! so a crashed orch never leaves a run locked.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Holds an exclusive lock until dropped.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Takes the lock on `path`, waiting up to `timeout` for another holder.
    /// `what` names the locked thing in messages ("run run_…").
    pub fn acquire(path: &Path, what: &str, timeout: Duration) -> Result<FileLock> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::write(dir.display(), e))?;
        }
        let file =
            super::regular::open_or_create(path).map_err(|e| Error::write(path.display(), e))?;
        let start = Instant::now();
        let mut delay = Duration::from_millis(2);
        let mut announced = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock { file }),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) => return Err(Error::write(path.display(), e)),
            }
            if crate::interrupt::requested() {
                return Err(Error::Interrupted);
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(Error::conflict(format!(
                    "{what} is locked by another orch process (waited {}s)",
                    timeout.as_secs()
                ))
                .hint("wait for the other orch command to finish, or raise ORCH_LOCK_TIMEOUT"));
            }
            if !announced && waited >= Duration::from_secs(1) {
                eprintln!("waiting for the lock on {what} (another orch process is writing it)");
                announced = true;
            }
            std::thread::sleep(delay.min(timeout.saturating_sub(waited)));
            delay = (delay * 2).min(Duration::from_millis(50));
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_times_out_with_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/run.lock");
        let first = FileLock::acquire(&path, "run x", Duration::from_secs(1)).unwrap();
        let err = FileLock::acquire(&path, "run x", Duration::from_millis(30)).unwrap_err();
        assert!(err.to_string().contains("run x is locked"), "{err}");
        assert_eq!(err.exit_code(), crate::exit::CONFLICT);
        drop(first);
        FileLock::acquire(&path, "run x", Duration::from_millis(30)).unwrap();
    }
}
