//! Skills that come from elsewhere: `orch skill import` copies one from a
//! local folder or a git repository into `skills/<id>/`, and pins where it
//! came from in `orchestration/skills/sources/<id>.json` — the URL, the
//! revision asked for, the commit it resolved to, the path inside the
//! repository and the content hash copied. `orch skill update` fetches the
//! same source again and says what changed. Importing never vets: a copied
//! skill has the level its import declares (`community` unless told
//! `experimental`) until a person vets its bytes.
//!
//! The pin lives outside the skill's folder so the folder holds exactly
//! the bytes the source had (its hash is the source's hash). Git sources
//! are read with git itself (`clone --bare`, `ls-tree`, `cat-file`), so
//! any URL git can fetch works, and nothing is checked out.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::Declared;
use super::content::{self, Content};
use crate::error::{Error, Result};
use crate::record::{Actor, FORMAT_VERSION};
use crate::repo::{Repo, is_safe_component};
use crate::storage::{atomic, layout, regular, write_atomic};
use crate::{clock, json};

/// Where an imported skill came from, as committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    #[serde(default)]
    pub format_version: u32,
    pub skill: String,
    pub source: Source,
    /// The content hash of the folder as imported.
    pub content_sha256: String,
    /// The level the import declared (never `vetted`: importing never vets).
    pub trust: Declared,
    pub imported_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_by: Option<Actor>,
}

/// A skill's source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A folder on this machine (its path relative to the repository root).
    Folder { path: String },
    /// A git repository: the URL (or a local path relative to the
    /// repository root), the revision asked for, the commit it was, and
    /// the skill's folder inside it (empty: the repository's root).
    Git {
        url: String,
        rev: String,
        commit: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        path: String,
    },
}

impl Pin {
    /// The pin of skill `id`, if it was imported.
    pub fn load(repo: &Repo, id: &str) -> Result<Option<Pin>> {
        let rel = layout::skill_source(id);
        match crate::storage::regular::read_to_string(&repo.join(&rel)) {
            Ok(text) => Ok(Some(json::parse(&text, &rel)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::read(&rel, e)),
        }
    }

    /// `git <url>@<commit>[:<path>]` or `folder <path>`.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Folder { path } => format!("folder {path}"),
            Source::Git {
                url, commit, path, ..
            } => {
                let at = commit.get(..12).unwrap_or(commit);
                if path.is_empty() {
                    format!("git {url}@{at}")
                } else {
                    format!("git {url}@{at}:{path}")
                }
            }
        }
    }
}

/// `orch skill import`.
pub struct ImportOptions {
    /// A folder, a git URL, or a local git repository.
    pub source: String,
    pub id: Option<String>,
    /// For git: the branch, tag or commit (default `HEAD`).
    pub rev: Option<String>,
    /// For git: the skill's folder inside the repository.
    pub path: Option<String>,
    pub trust: Declared,
}

/// What an import or update wrote.
pub struct Imported {
    pub pin: Pin,
    pub previous: Option<Pin>,
    pub content: Content,
    /// Files added, removed and changed since the previous import.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    /// Nothing was written (`--dry-run`, or nothing changed).
    pub written: bool,
}

/// A skill's files, fetched but not yet written.
struct Fetched {
    files: Vec<(String, Vec<u8>, bool)>,
    commit: Option<String>,
}

/// Copies a skill into `skills/<id>/` and pins its source.
pub fn import(repo: &Repo, opts: &ImportOptions, by: Option<Actor>) -> Result<Imported> {
    let source = resolve_source(repo, opts)?;
    let id = match &opts.id {
        Some(id) => id.clone(),
        None => default_id(&source),
    };
    if !is_safe_component(&id) {
        return Err(Error::input(format!("`{id}` cannot be a skill id"))
            .hint("give one with --id: letters, digits, `.`, `_` and `-`"));
    }
    let dir = layout::skill_dir(&id);
    if repo.join(&dir).exists() {
        return Err(
            Error::conflict(format!("{dir} already exists")).hint(format!(
                "import it under another id (--id), or update it: orch skill update {id}"
            )),
        );
    }
    let fetched = fetch(repo, &source)?;
    let pin_source = pinned(source, fetched.commit.clone());
    write(repo, &id, &fetched, pin_source, opts.trust, by, None, false)
}

/// `orch skill update ID`: fetches the pinned source again (at `rev`, or
/// the revision it was imported at) and replaces the folder if it changed.
pub fn update(
    repo: &Repo,
    id: &str,
    rev: Option<&str>,
    dry_run: bool,
    by: Option<Actor>,
) -> Result<Imported> {
    let Some(previous) = Pin::load(repo, id)? else {
        super::load(repo, id)?;
        return Err(Error::input(format!(
            "skill `{id}` was not imported: there is no {}",
            layout::skill_source(id)
        ))
        .hint("only skills added with `orch skill import` have a source to update from"));
    };
    let mut source = previous.source.clone();
    if let (Some(new), Source::Git { rev, .. }) = (rev, &mut source) {
        *rev = new.to_string();
    } else if rev.is_some() {
        return Err(Error::input(format!(
            "skill `{id}` comes from a folder; --rev is for git sources"
        ))
        .hint(format!("update it from the folder: orch skill update {id}")));
    }
    let fetched = fetch(repo, &source)?;
    let pin_source = pinned(source, fetched.commit.clone());
    write(
        repo,
        id,
        &fetched,
        pin_source,
        previous.trust,
        by,
        Some(previous),
        dry_run,
    )
}

fn pinned(source: Source, commit: Option<String>) -> Source {
    match (source, commit) {
        (Source::Git { url, rev, path, .. }, Some(commit)) => Source::Git {
            url,
            rev,
            commit,
            path,
        },
        (other, _) => other,
    }
}

#[allow(clippy::too_many_arguments)]
fn write(
    repo: &Repo,
    id: &str,
    fetched: &Fetched,
    source: Source,
    trust: Declared,
    by: Option<Actor>,
    previous: Option<Pin>,
    dry_run: bool,
) -> Result<Imported> {
    let skills = repo.join(layout::SKILLS_DIR);
    atomic::create_dir_all_durable(&skills).map_err(|e| Error::write(layout::SKILLS_DIR, e))?;
    let staged = tempfile::Builder::new()
        .prefix(&format!("{}import-{id}-", atomic::TEMP_PREFIX))
        .tempdir_in(&skills)
        .map_err(|e| Error::write(layout::SKILLS_DIR, e))?;
    // Every folder made, to sync before the skill is renamed into place.
    let mut dirs = vec![staged.path().to_path_buf()];
    for (rel, bytes, exec) in &fetched.files {
        let path = staged.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::write(rel, e))?;
            for dir in parent.ancestors().take_while(|d| *d != staged.path()) {
                if !dirs.iter().any(|d| d == dir) {
                    dirs.push(dir.to_path_buf());
                }
            }
        }
        std::fs::write(&path, bytes).map_err(|e| Error::write(rel, e))?;
        #[cfg(unix)]
        if *exec {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| Error::write(rel, e))?;
        }
        #[cfg(not(unix))]
        let _ = exec;
    }
    let dir = layout::skill_dir(id);
    let content = content::of_dir(staged.path(), &dir)?;
    let old = match &previous {
        Some(_) => content::of_dir(&repo.join(&dir), &dir)
            .map(|c| c.files)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let (added, removed, changed) = content::diff(&old, &content.files);
    let pin = Pin {
        format_version: FORMAT_VERSION,
        skill: id.to_string(),
        source,
        content_sha256: content.sha256.clone(),
        trust,
        imported_at: clock::now_timestamp(),
        imported_by: by,
    };
    let unchanged = previous
        .as_ref()
        .is_some_and(|p| p.content_sha256 == content.sha256 && p.source == pin.source)
        && added.is_empty()
        && removed.is_empty()
        && changed.is_empty();
    let written = !dry_run && !unchanged;
    if written {
        // Its files and folders reach the disk before the folder is renamed
        // into place and the pin (written durably) names their content.
        for (rel, _, _) in &fetched.files {
            regular::open(&staged.path().join(rel))
                .and_then(|f| f.sync_all())
                .map_err(|e| Error::write(rel, e))?;
        }
        for d in &dirs {
            atomic::sync_dir(d).map_err(|e| Error::write(layout::SKILLS_DIR, e))?;
        }
        let target = repo.join(&dir);
        let staged = staged.keep();
        let old_dir = target.exists().then(|| {
            skills.join(format!(
                "{}old-{id}-{}",
                atomic::TEMP_PREFIX,
                clock::random_token(6)
            ))
        });
        if let Some(old_dir) = &old_dir {
            std::fs::rename(&target, old_dir).map_err(|e| Error::write(&dir, e))?;
        }
        if let Err(e) = std::fs::rename(&staged, &target) {
            if let Some(old_dir) = &old_dir {
                let _ = std::fs::rename(old_dir, &target);
            }
            let _ = std::fs::remove_dir_all(&staged);
            return Err(Error::write(&dir, e));
        }
        if let Some(old_dir) = old_dir {
            let _ = std::fs::remove_dir_all(old_dir);
        }
        let _ = atomic::sync_dir(&skills);
        let rel = layout::skill_source(id);
        write_atomic(&repo.join(&rel), &json::to_pretty(&pin))
            .map_err(|e| Error::write(&rel, e))?;
    }
    Ok(Imported {
        pin,
        previous,
        content,
        added,
        removed,
        changed,
        written,
    })
}

/// Decides what SOURCE is: a git repository (a URL, a local repository, or
/// anything with --rev/--path) or a plain folder.
fn resolve_source(repo: &Repo, opts: &ImportOptions) -> Result<Source> {
    let given = opts.source.trim();
    if given.is_empty() {
        return Err(Error::input("the skill's SOURCE is empty")
            .hint("give a folder holding SKILL.md, or a git URL (with --rev and --path)"));
    }
    let url_like = given.contains("://") || is_scp_like(given);
    let local = (!url_like).then(|| PathBuf::from(given));
    let is_repo = local.as_deref().is_some_and(is_git_repository);
    if url_like || is_repo || opts.rev.is_some() || opts.path.is_some() {
        let url = match &local {
            Some(p) => {
                if !p.exists() {
                    return Err(Error::input(format!("`{given}` does not exist"))
                        .hint("give a folder holding SKILL.md, or a git URL"));
                }
                relative_to_repo(repo, p)
            }
            None => given.to_string(),
        };
        let path = opts
            .path
            .as_deref()
            .unwrap_or("")
            .trim_matches('/')
            .to_string();
        if path.split('/').any(|c| c == "..") {
            return Err(
                Error::input(format!("--path `{path}` leaves the repository"))
                    .hint("--path names the skill's folder inside the source repository"),
            );
        }
        return Ok(Source::Git {
            url,
            rev: opts.rev.clone().unwrap_or_else(|| "HEAD".to_string()),
            commit: String::new(),
            path,
        });
    }
    let Some(p) = local else {
        unreachable!("a URL is a git source")
    };
    if !p.is_dir() {
        return Err(Error::input(format!("`{given}` is not a folder"))
            .hint("give a folder holding SKILL.md, or a git URL (with --rev and --path)"));
    }
    Ok(Source::Folder {
        path: relative_to_repo(repo, &p),
    })
}

/// `user@host:path`, git's scp-like syntax.
fn is_scp_like(s: &str) -> bool {
    match s.split_once(':') {
        Some((host, _)) => host.contains('@') && !host.contains('/'),
        None => false,
    }
}

fn is_git_repository(p: &Path) -> bool {
    p.join(".git").exists() || (p.join("HEAD").is_file() && p.join("objects").is_dir())
}

/// A local path as the pin keeps it: relative to the repository root (a
/// committed record never holds an absolute path of this machine).
fn relative_to_repo(repo: &Repo, p: &Path) -> String {
    let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let root = repo.root();
    let common = root
        .components()
        .zip(abs.components())
        .take_while(|(a, b)| a == b)
        .count();
    let ups = root.components().count() - common;
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), ups).collect();
    parts.extend(
        abs.components()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// The id a source suggests: the last part of its path or URL.
fn default_id(source: &Source) -> String {
    let from = match source {
        Source::Git { url, path, .. } if path.is_empty() => url.as_str(),
        Source::Folder { path } | Source::Git { path, .. } => path.as_str(),
    };
    let last = from
        .trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or(from);
    last.strip_suffix(".git").unwrap_or(last).to_string()
}

/// A local path in a pin, resolved against the repository root.
fn local(repo: &Repo, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        repo.root().join(p)
    }
}

fn fetch(repo: &Repo, source: &Source) -> Result<Fetched> {
    let fetched = match source {
        Source::Folder { path } => read_folder(&local(repo, path), path)?,
        Source::Git { url, rev, path, .. } => {
            let fetch_url = if url.contains("://") || is_scp_like(url) {
                url.clone()
            } else {
                local(repo, url).to_string_lossy().into_owned()
            };
            read_git(&fetch_url, url, rev, path)?
        }
    };
    if !fetched.files.iter().any(|(p, _, _)| p == "SKILL.md") {
        let at = match source {
            Source::Folder { path } => path.clone(),
            Source::Git { url, rev, path, .. } if path.is_empty() => format!("{url} at {rev}"),
            Source::Git { url, rev, path, .. } => format!("{url} at {rev}, in {path}/"),
        };
        return Err(Error::input(format!("there is no SKILL.md in {at}"))
            .hint("a skill's folder holds a SKILL.md; for a repository of skills, name the folder with --path"));
    }
    Ok(fetched)
}

fn read_folder(dir: &Path, shown: &str) -> Result<Fetched> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| Error::read(shown, e.into()))?;
        if entry.file_type().is_dir() {
            if entry.depth() > 0 && entry.file_name() == ".git" {
                return Err(Error::input(format!("{shown} is a git working tree"))
                    .hint("import it as a git source (it is pinned to a commit): give --rev"));
            }
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .ok()
            .and_then(Path::to_str)
            .map(|s| s.replace('\\', "/"))
            .ok_or_else(|| Error::input(format!("{shown} holds a file whose name is not UTF-8")))?;
        if entry.path_is_symlink() {
            return Err(Error::input(format!("{shown}/{rel} is a symlink"))
                .hint("a skill is plain files: replace the link with the file it points to"));
        }
        let bytes = crate::storage::regular::read(entry.path())
            .map_err(|e| Error::read(format!("{shown}/{rel}"), e))?;
        files.push((rel, bytes, content::is_executable(entry.path())));
    }
    Ok(Fetched {
        files,
        commit: None,
    })
}

/// Runs git; its stdout, or an error naming what was being done.
fn git(args: &[&str], cwd: Option<&Path>, doing: &str) -> Result<Vec<u8>> {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd.output().map_err(|e| {
        Error::input(format!("cannot run git: {}", crate::repo::io_reason(&e)))
            .hint("install git: skills are imported from git repositories with it")
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("git failed")
            .trim()
            .trim_start_matches("fatal: ")
            .to_string();
        return Err(Error::input(format!("{doing}: {why}")));
    }
    Ok(out.stdout)
}

fn read_git(fetch_url: &str, shown: &str, rev: &str, path: &str) -> Result<Fetched> {
    let tmp = tempfile::tempdir().map_err(|e| Error::write("a temporary folder", e))?;
    let clone = tmp.path().join("source.git");
    let clone_str = clone.to_string_lossy().into_owned();
    git(
        &["clone", "--quiet", "--bare", "--", fetch_url, &clone_str],
        None,
        &format!("cannot fetch `{shown}`"),
    )
    .map_err(|e| e.hint("check the URL, and that git can reach it (credentials, network)"))?;
    let commit = git(
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
        Some(&clone),
        &format!("`{rev}` is not a commit in `{shown}`"),
    )
    .map_err(|e| e.hint("give a branch, tag or commit of the source repository with --rev"))?;
    let commit = String::from_utf8_lossy(&commit).trim().to_string();
    let mut args = vec!["ls-tree", "-r", "-z", "--full-tree", commit.as_str()];
    if !path.is_empty() {
        args.extend(["--", path]);
    }
    let listing = git(&args, Some(&clone), &format!("cannot list `{shown}`"))?;
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let mut entries = Vec::new();
    for item in listing.split(|b| *b == 0).filter(|i| !i.is_empty()) {
        let item = String::from_utf8_lossy(item);
        let Some((meta, name)) = item.split_once('\t') else {
            continue;
        };
        let mut meta = meta.split(' ');
        let (mode, kind, object) = (
            meta.next().unwrap_or(""),
            meta.next().unwrap_or(""),
            meta.next().unwrap_or(""),
        );
        let Some(rel) = name.strip_prefix(&prefix) else {
            continue;
        };
        match (kind, mode) {
            ("blob", "120000") => {
                return Err(Error::input(format!("{shown}: {name} is a symlink"))
                    .hint("a skill is plain files: replace the link with the file it points to"));
            }
            ("blob", _) => entries.push((rel.to_string(), object.to_string(), mode == "100755")),
            (other, _) => {
                return Err(Error::input(format!(
                    "{shown}: {name} is a {other}, which a skill cannot hold"
                )));
            }
        }
    }
    let objects: Vec<&str> = entries.iter().map(|(_, o, _)| o.as_str()).collect();
    let blobs = cat_blobs(&clone, &objects)?;
    Ok(Fetched {
        files: entries
            .into_iter()
            .zip(blobs)
            .map(|((rel, _, exec), bytes)| (rel, bytes, exec))
            .collect(),
        commit: Some(commit),
    })
}

/// The bytes of each blob, in order, from one `git cat-file --batch`.
fn cat_blobs(repo: &Path, objects: &[&str]) -> Result<Vec<Vec<u8>>> {
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(repo)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::input(format!("cannot run git: {}", crate::repo::io_reason(&e))))?;
    let input: String = objects.iter().flat_map(|o| [*o, "\n"]).collect();
    let mut stdin = child.stdin.take().expect("piped");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut out = BufReader::new(child.stdout.take().expect("piped"));
    let mut blobs = Vec::with_capacity(objects.len());
    for object in objects {
        let mut header = String::new();
        out.read_line(&mut header)
            .map_err(|e| Error::read("git cat-file", e))?;
        let size: usize = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                Error::input(format!(
                    "git cannot read object {object}: {}",
                    header.trim()
                ))
            })?;
        let mut bytes = vec![0; size + 1];
        out.read_exact(&mut bytes)
            .map_err(|e| Error::read("git cat-file", e))?;
        bytes.pop();
        blobs.push(bytes);
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(blobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_url_kinds() {
        assert_eq!(
            default_id(&Source::Git {
                url: "https://example.com/acme/skills.git".into(),
                rev: "main".into(),
                commit: String::new(),
                path: "skills/analyze-transcript".into()
            }),
            "analyze-transcript"
        );
        assert_eq!(
            default_id(&Source::Git {
                url: "git@example.com:acme/prd-skill.git".into(),
                rev: "HEAD".into(),
                commit: String::new(),
                path: String::new()
            }),
            "prd-skill"
        );
        assert!(is_scp_like("git@github.com:acme/x.git"));
        assert!(!is_scp_like("../skills/x"));
        assert!(!is_scp_like("C:/x"));
    }
}
