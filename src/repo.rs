//! The git work tree orch operates in, and the one gate every path passes
//! through before orch reads, hashes or writes it: a path from a contract,
//! workflow or flag must stay inside the repository, lexically and through
//! symlinks.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The repository root (canonical, so symlink checks compare like with like).
#[derive(Clone, Debug)]
pub struct Repo {
    root: PathBuf,
}

/// A path proven to be inside the repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoPath {
    /// Repo-relative, `/`-separated, normalised (no `.` or `..`). Empty for the root.
    pub rel: String,
    /// Absolute path on this machine; never written into a record.
    pub abs: PathBuf,
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path is empty")]
    Empty,
    #[error("`{0}` is an absolute path; paths must be relative to the repository root")]
    Absolute(String),
    #[error("`{0}` leaves the repository")]
    Escapes(String),
    #[error("`{path}` goes through symlink `{link}`, which points outside the repository")]
    SymlinkOutside { path: String, link: String },
    #[error("`{0}` contains a NUL byte")]
    Nul(String),
}

impl PathError {
    /// The error as orch reports it, with a hint.
    pub fn into_error(self, what: &str) -> Error {
        Error::input(format!("unsafe {what}: {self}"))
            .hint("orch only reads, hashes and writes files inside the repository; use a repo-relative path")
    }
}

impl Repo {
    /// Finds the enclosing git work tree of `start` (a `.git` directory or file).
    pub fn discover(start: &Path) -> Result<Repo> {
        let start = std::fs::canonicalize(start).map_err(|e| Error::read(start.display(), e))?;
        let mut dir = start.as_path();
        loop {
            if dir.join(".git").exists() {
                return Ok(Repo {
                    root: dir.to_path_buf(),
                });
            }
            match dir.parent() {
                Some(parent) => dir = parent,
                None => {
                    return Err(Error::input(format!(
                        "`{}` is not inside a git repository",
                        start.display()
                    ))
                    .hint("orch keeps its records in a git work tree: run `git init`, or pass `-C <dir>`"));
                }
            }
        }
    }

    /// A repository rooted at `root` (which must exist).
    pub fn at(root: &Path) -> Result<Repo> {
        let root = std::fs::canonicalize(root).map_err(|e| Error::read(root.display(), e))?;
        Ok(Repo { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` joined to the root without checks, for orch's own fixed layout.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Resolves a repo-relative path, refusing anything that leaves the repository.
    pub fn contain(&self, path: &str) -> Result<RepoPath, PathError> {
        if path.is_empty() {
            return Err(PathError::Empty);
        }
        if path.contains('\0') {
            return Err(PathError::Nul(path.to_string()));
        }
        if is_absolute(path) {
            return Err(PathError::Absolute(path.to_string()));
        }
        let mut parts: Vec<&str> = Vec::new();
        for part in path.split(['/', '\\']) {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(PathError::Escapes(path.to_string()));
                    }
                }
                p => parts.push(p),
            }
        }
        let mut abs = self.root.clone();
        let mut exists = true;
        for part in &parts {
            abs.push(part);
            if exists {
                exists = self.check_link(&abs, path)?;
            }
        }
        crate::storage::watch::saw(&abs);
        Ok(RepoPath {
            rel: parts.join("/"),
            abs,
        })
    }

    /// Checks one path prefix; returns whether it exists (so later prefixes
    /// need checking too).
    fn check_link(&self, prefix: &Path, original: &str) -> Result<bool, PathError> {
        let Ok(meta) = std::fs::symlink_metadata(prefix) else {
            return Ok(false);
        };
        if !meta.file_type().is_symlink() {
            return Ok(true);
        }
        let outside = || PathError::SymlinkOutside {
            path: original.to_string(),
            link: self.display(prefix),
        };
        match std::fs::canonicalize(prefix) {
            Ok(target) if target.starts_with(&self.root) => Ok(true),
            Ok(_) => Err(outside()),
            Err(_) => {
                // A dangling link: judge where it would point.
                let target = std::fs::read_link(prefix).map_err(|_| outside())?;
                let joined = prefix.parent().unwrap_or(&self.root).join(target);
                if lexically_inside(&joined, &self.root) {
                    Ok(false)
                } else {
                    Err(outside())
                }
            }
        }
    }

    /// Repo-relative form of an absolute path inside the repository.
    pub fn relative(&self, abs: &Path) -> Option<String> {
        let rel = abs.strip_prefix(&self.root).ok()?;
        Some(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
        )
    }

    /// How a path is shown to a user: repo-relative when inside, else as is.
    pub fn display(&self, path: &Path) -> String {
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().map_or_else(|_| path.to_path_buf(), |d| d.join(path))
        };
        self.relative(&path)
            .unwrap_or_else(|| path.display().to_string())
    }

    /// The git directory (`.git`, or where a worktree's `.git` file points).
    pub fn git_dir(&self) -> Option<PathBuf> {
        let dot_git = self.root.join(".git");
        if dot_git.is_dir() {
            return Some(dot_git);
        }
        let text = crate::storage::regular::read_to_string(&dot_git).ok()?;
        let target = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
        Some(self.root.join(target))
    }

    /// The git directory every worktree of this clone shares (`commondir`
    /// of a linked worktree; the git directory itself otherwise): where
    /// machine state that all worktrees must see lives.
    pub fn git_common_dir(&self) -> Option<PathBuf> {
        let dir = self.git_dir()?;
        match std::fs::read_to_string(dir.join("commondir")) {
            Ok(text) => Some(dir.join(text.trim())),
            Err(_) => Some(dir),
        }
    }

    /// Text fit for a committed record: the repository's absolute path
    /// becomes repo-relative and the home directory `~`, so no absolute path
    /// of this machine is written.
    pub fn scrub(&self, text: &str) -> String {
        let root = self.root.to_string_lossy();
        let mut out = text
            .replace(&format!("{root}/"), "")
            .replace(root.as_ref(), ".");
        if let Some(home) = std::env::var_os("HOME").map(|h| h.to_string_lossy().into_owned())
            && home.len() > 1
        {
            out = out.replace(&home, "~");
        }
        out
    }

    /// A path typed on the command line, relative to the current directory
    /// (as every path there is) or absolute, as a repo-relative one for
    /// `contain` to check and normalise. `flag` names it in errors.
    pub fn from_cwd(&self, given: &str, flag: &str) -> Result<String> {
        let path = Path::new(given);
        if path.is_absolute() {
            let inside = path
                .strip_prefix(&self.root)
                .ok()
                .map(Path::to_path_buf)
                .or_else(|| {
                    std::fs::canonicalize(path)
                        .ok()
                        .and_then(|p| p.strip_prefix(&self.root).ok().map(Path::to_path_buf))
                });
            return match inside {
                Some(rel) if rel.as_os_str().is_empty() => Ok(".".to_string()),
                Some(rel) => Ok(rel.to_string_lossy().replace('\\', "/")),
                None => Err(
                    Error::input(format!("{flag} `{given}` is outside the repository")).hint(
                        "give a path inside the repository, relative to the current directory",
                    ),
                ),
            };
        }
        let here = std::env::current_dir()
            .and_then(std::fs::canonicalize)
            .ok()
            .and_then(|cwd| self.relative(&cwd))
            .unwrap_or_default();
        Ok(if here.is_empty() {
            given.to_string()
        } else {
            format!("{here}/{given}")
        })
    }

    /// Creates a directory (and parents) inside the repository.
    pub fn create_dir_all(&self, path: &Path) -> Result<()> {
        std::fs::create_dir_all(path).map_err(|e| Error::write(self.display(path), e))
    }
}

fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with('/')
        || path.starts_with('\\')
        || path.starts_with('~')
        || (bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic())
}

fn lexically_inside(path: &Path, root: &Path) -> bool {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return false;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.starts_with(root)
}

/// True when `name` can be used as a single path component in orch's layout
/// (slugs, gate codes, run ids): letters, digits, `.`, `_`, `-`, not
/// starting with a dot or dash, at most 100 characters.
pub fn is_safe_component(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !name.starts_with(['.', '-'])
}

/// An I/O error message without the "(os error N)" noise.
pub fn io_reason(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => "not found".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::IsADirectory => "it is a folder, not a file".to_string(),
        io::ErrorKind::NotADirectory => "a part of the path is a file, not a folder".to_string(),
        io::ErrorKind::StorageFull => "the disk is full".to_string(),
        _ => {
            let s = err.to_string();
            s.split(" (os error").next().unwrap_or(&s).to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let repo = Repo::discover(dir.path()).unwrap();
        (dir, repo)
    }

    #[test]
    fn normalises_inside_paths() {
        let (_d, repo) = repo();
        assert_eq!(repo.contain("a/./b//c").unwrap().rel, "a/b/c");
        assert_eq!(repo.contain("a/../b").unwrap().rel, "b");
    }

    #[test]
    fn refuses_escapes_and_absolutes() {
        let (_d, repo) = repo();
        assert!(matches!(repo.contain("../x"), Err(PathError::Escapes(_))));
        assert!(matches!(
            repo.contain("a/../../x"),
            Err(PathError::Escapes(_))
        ));
        assert!(matches!(
            repo.contain("/etc/passwd"),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(repo.contain("C:/x"), Err(PathError::Absolute(_))));
        assert!(matches!(repo.contain(""), Err(PathError::Empty)));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symlinks_that_point_outside() {
        let (dir, repo) = repo();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/target", dir.path().join("dangling")).unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("alias")).unwrap();
        assert!(matches!(
            repo.contain("out/file"),
            Err(PathError::SymlinkOutside { .. })
        ));
        assert!(matches!(
            repo.contain("dangling"),
            Err(PathError::SymlinkOutside { .. })
        ));
        assert_eq!(repo.contain("alias/file").unwrap().rel, "alias/file");
    }

    #[test]
    fn scrub_removes_machine_paths() {
        let (dir, repo) = repo();
        let root = repo.root().display().to_string();
        assert_eq!(repo.scrub(&format!("{root}/a/b and {root}")), "a/b and .");
        let _ = dir;
    }

    #[test]
    fn safe_components() {
        assert!(is_safe_component("the-word-robot"));
        assert!(is_safe_component("G4.1"));
        assert!(!is_safe_component("../x"));
        assert!(!is_safe_component("a b"));
        assert!(!is_safe_component(".hidden"));
        assert!(!is_safe_component(""));
    }
}
