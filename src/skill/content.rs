//! A skill's content hash: one SHA-256 over every file in its folder, so a
//! vetting is a decision about exact bytes. The hash is taken over a
//! manifest — one line per file, sorted by path: its kind (`f` a file, `x`
//! an executable, `l` a symlink), the SHA-256 of its bytes (of its target
//! for a symlink, which is never followed) and its path inside the folder.
//! Renaming a file, adding one, flipping its executable bit or editing one
//! byte all change the hash.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::hash;

/// One file of a skill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileHash {
    /// Path inside the skill's folder, `/`-separated.
    pub path: String,
    pub sha256: String,
    /// `f`, `x` or `l`.
    pub kind: char,
}

/// The hash over a skill's folder, and the files it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Content {
    pub sha256: String,
    pub files: Vec<FileHash>,
}

/// Hashes every file under `dir` (shown as `shown` in messages).
pub fn of_dir(dir: &Path, shown: &str) -> Result<Content> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| Error::read(shown, e.into()))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .ok()
            .and_then(Path::to_str)
            .ok_or_else(|| {
                Error::input(format!(
                    "{shown} holds a file whose name is not UTF-8: {}",
                    crate::ui::sanitize_line(&entry.path().to_string_lossy())
                ))
                .hint("rename the file; a skill's files are named in its content hash")
            })?
            .replace('\\', "/");
        let shown_file = format!("{shown}/{rel}");
        let (kind, sha256) = if entry.path_is_symlink() {
            let target =
                std::fs::read_link(entry.path()).map_err(|e| Error::read(&shown_file, e))?;
            ('l', hash::bytes(target.to_string_lossy().as_bytes()))
        } else {
            let sha = hash::file(entry.path()).map_err(|e| Error::read(&shown_file, e))?;
            (
                if is_executable(entry.path()) {
                    'x'
                } else {
                    'f'
                },
                sha,
            )
        };
        files.push(FileHash {
            path: rel,
            sha256,
            kind,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Content {
        sha256: of_files(&files),
        files,
    })
}

/// The hash over a list of files (sorted by path).
pub fn of_files(files: &[FileHash]) -> String {
    let mut manifest = String::new();
    for f in files {
        manifest.push(f.kind);
        manifest.push(' ');
        manifest.push_str(&f.sha256);
        manifest.push(' ');
        manifest.push_str(&f.path);
        manifest.push('\n');
    }
    hash::bytes(manifest.as_bytes())
}

/// Whether a file has an executable bit (part of a skill's content).
pub fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// What changed between two versions of a skill: added, removed, changed paths.
pub fn diff(old: &[FileHash], new: &[FileHash]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let find = |list: &[FileHash], p: &str| list.iter().find(|f| f.path == p).cloned();
    let added = new
        .iter()
        .filter(|f| find(old, &f.path).is_none())
        .map(|f| f.path.clone())
        .collect();
    let removed = old
        .iter()
        .filter(|f| find(new, &f.path).is_none())
        .map(|f| f.path.clone())
        .collect();
    let changed = new
        .iter()
        .filter(|f| find(old, &f.path).is_some_and(|o| o != **f))
        .map(|f| f.path.clone())
        .collect();
    (added, removed, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_a_rename_or_a_new_file_changes_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("SKILL.md"), "# A\n").unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/t.md"), "x").unwrap();
        let a = of_dir(dir.path(), "skills/a").unwrap();
        assert_eq!(a.files.len(), 2);
        assert_eq!(a.files[1].path, "templates/t.md");
        assert_eq!(a, of_dir(dir.path(), "skills/a").unwrap());
        std::fs::write(dir.path().join("templates/t.md"), "y").unwrap();
        let b = of_dir(dir.path(), "skills/a").unwrap();
        assert_ne!(a.sha256, b.sha256);
        let (added, removed, changed) = diff(&a.files, &b.files);
        assert!(added.is_empty() && removed.is_empty());
        assert_eq!(changed, ["templates/t.md"]);
        std::fs::rename(
            dir.path().join("templates/t.md"),
            dir.path().join("templates/u.md"),
        )
        .unwrap();
        assert_ne!(b.sha256, of_dir(dir.path(), "skills/a").unwrap().sha256);
    }
}
