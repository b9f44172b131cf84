//! What a computation looked at, so a cache of its result knows what to
//! check before trusting it (verify's cache). Every repository path orch
//! resolves passes `Repo::contain`, which reports it here; code that walks
//! a folder reports the folders it walked. What is not a file of the
//! working tree (the signers at a trusted git revision, say) is reported
//! as a named fact, which the cache asks the code that knows it to state
//! again. Nothing is recorded unless a caller asked, on its own thread,
//! with `recording`.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The paths and facts a computation looked at.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub paths: BTreeSet<PathBuf>,
    pub facts: BTreeSet<String>,
}

impl Seen {
    /// Notes, for whatever is recording now, that all of this was looked at.
    pub fn replay(&self) {
        SEEN.with(|s| {
            if let Some(seen) = s.borrow_mut().as_mut() {
                seen.paths.extend(self.paths.iter().cloned());
                seen.facts.extend(self.facts.iter().cloned());
            }
        });
    }
}

thread_local! {
    static SEEN: RefCell<Option<Seen>> = const { RefCell::new(None) };
}

/// Runs `f`, returning what it returned and every path and fact it looked
/// at (on this thread). Recordings nest: an inner one's count for the outer.
pub fn recording<T>(f: impl FnOnce() -> T) -> (T, Seen) {
    let outer = SEEN.with(|s| s.borrow_mut().replace(Seen::default()));
    let out = f();
    let seen = SEEN.with(|s| {
        let mut slot = s.borrow_mut();
        let seen = slot.take().unwrap_or_default();
        *slot = outer.map(|mut o| {
            o.paths.extend(seen.paths.iter().cloned());
            o.facts.extend(seen.facts.iter().cloned());
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
            seen.paths.insert(path.to_path_buf());
        }
    });
}

/// Notes that the result depends on the fact named `name` (when something
/// is recording).
pub fn relied_on(name: &str) {
    SEEN.with(|s| {
        if let Some(seen) = s.borrow_mut().as_mut() {
            seen.facts.insert(name.to_string());
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
            let ((), inner) = recording(|| {
                saw(Path::new("/b"));
                relied_on("f");
            });
            assert_eq!(
                inner.paths.into_iter().collect::<Vec<_>>(),
                [PathBuf::from("/b")]
            );
            assert_eq!(inner.facts.into_iter().collect::<Vec<_>>(), ["f"]);
        });
        assert_eq!(
            outer.paths.into_iter().collect::<Vec<_>>(),
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(outer.facts.into_iter().collect::<Vec<_>>(), ["f"]);
        saw(Path::new("/ignored"));
        relied_on("ignored");
        let ((), none) = recording(|| ());
        assert_eq!(none, Seen::default());
    }
}
