//! Which paths a computation looked at, so a cache of its result knows
//! what to check before trusting it (verify's cache). Every repository path
//! orch resolves passes `Repo::contain`, which reports it here; code that
//! walks a folder reports the folders it walked. Nothing is recorded unless
//! a caller asked, on its own thread, with `recording`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

thread_local! {
    static SEEN: RefCell<Option<BTreeSet<PathBuf>>> = const { RefCell::new(None) };
}

/// Runs `f`, returning what it returned and every path it looked at (on
/// this thread). Recordings nest: an inner one's paths count for the outer.
pub fn recording<T>(f: impl FnOnce() -> T) -> (T, BTreeSet<PathBuf>) {
    let outer = SEEN.with(|s| s.borrow_mut().replace(BTreeSet::new()));
    let out = f();
    let seen = SEEN.with(|s| {
        let mut slot = s.borrow_mut();
        let seen = slot.take().unwrap_or_default();
        *slot = outer.map(|mut o| {
            o.extend(seen.iter().cloned());
            o
        });
        seen
    });
    (out, seen)
}

/// Notes that `path` was looked at (when something is recording).
pub fn saw(path: &Path) {
    SEEN.with(|s| {
        if let Some(seen) = s.borrow_mut().as_mut() {
            seen.insert(path.to_path_buf());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_only_when_asked_and_nests() {
        saw(Path::new("/ignored"));
        let ((), outer) = recording(|| {
            saw(Path::new("/a"));
            let ((), inner) = recording(|| saw(Path::new("/b")));
            assert_eq!(inner.into_iter().collect::<Vec<_>>(), [PathBuf::from("/b")]);
        });
        assert_eq!(
            outer.into_iter().collect::<Vec<_>>(),
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
        saw(Path::new("/ignored"));
        let ((), none) = recording(|| ());
        assert!(none.is_empty());
    }
}
