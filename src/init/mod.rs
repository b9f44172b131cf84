//! `orch init`: sets up a repository to use orch. It creates
//! `orchestration/` (workflows, contracts, prompts, the JSON Schemas editors
//! use), an example workflow that works as it is, and the `.gitignore`
//! lines. It never overwrites a file that differs without `force`, and it
//! reports every file it created, replaced or found already in place.

pub mod examples;

use std::path::Path;

use crate::error::{Error, Result};
use crate::repo::Repo;
use crate::storage::{layout, write_atomic};

pub use examples::{EXAMPLES, Example};

/// The lines orch needs in `.gitignore` (a run's logs also ignore
/// themselves; these keep an older orch's logs and crash leftovers out too).
pub const GITIGNORE_LINES: [&str; 2] = [
    "orchestration/runs/*/logs/",
    "orchestration/runs/**/.orch-tmp-*",
];

/// What happened to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Replaced,
    /// Already there with the same content.
    Unchanged,
    /// `.gitignore` got the lines it lacked.
    Updated,
}

/// What `init` did, file by file.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub example: &'static str,
    pub files: Vec<(String, Action)>,
}

/// Sets up `repo` with `example`. Nothing is written when a file that
/// differs is in the way and `force` is not given.
pub fn init(repo: &Repo, example: &Example, force: bool) -> Result<Report> {
    let mut planned: Vec<(String, Vec<u8>, bool)> = crate::schema::KINDS
        .iter()
        .map(|kind| {
            let text = crate::schema::render(kind).expect("every kind has a schema");
            (
                format!("orchestration/schemas/{kind}.schema.json"),
                text.into_bytes(),
                false,
            )
        })
        .collect();
    planned.extend(example.files.iter().map(|f| {
        (
            f.path.to_string(),
            f.content.as_bytes().to_vec(),
            f.executable,
        )
    }));
    let mut files = Vec::new();
    let mut in_the_way = Vec::new();
    for (rel, bytes, _) in &planned {
        let action = match crate::storage::regular::read(&repo.join(rel)) {
            Ok(existing) if existing == *bytes => Action::Unchanged,
            Ok(_) => Action::Replaced,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Action::Created,
            Err(e) => return Err(Error::read(rel, e)),
        };
        if action == Action::Replaced && !force {
            in_the_way.push(rel.clone());
        }
        files.push((rel.clone(), action));
    }
    if !in_the_way.is_empty() {
        return Err(Error::conflict(format!(
            "{} file(s) exist with other content: {}",
            in_the_way.len(),
            in_the_way.join(", ")
        ))
        .hint("nothing was written; `orch init --force` replaces them (commit your own versions first)"));
    }
    for ((rel, bytes, executable), (_, action)) in planned.iter().zip(&files) {
        if *action == Action::Unchanged {
            continue;
        }
        let path = repo.contain(rel).map_err(|e| e.into_error("file"))?.abs;
        if let Some(dir) = path.parent() {
            repo.create_dir_all(dir)?;
        }
        write_atomic(&path, bytes).map_err(|e| Error::write(rel, e))?;
        if *executable {
            make_executable(&path).map_err(|e| Error::write(rel, e))?;
        }
    }
    for dir in [
        layout::WORKFLOWS_DIR,
        layout::CONTRACTS_DIR,
        layout::PROMPTS_DIR,
    ] {
        repo.create_dir_all(&repo.join(dir))?;
    }
    files.push((".gitignore".to_string(), gitignore(repo)?));
    Ok(Report {
        example: example.name,
        files,
    })
}

/// Adds the lines orch needs to `.gitignore`, keeping what is there.
fn gitignore(repo: &Repo) -> Result<Action> {
    let path = repo.join(".gitignore");
    let existing = match crate::storage::regular::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::read(".gitignore", e)),
    };
    let text = existing.clone().unwrap_or_default();
    let missing: Vec<&str> = GITIGNORE_LINES
        .iter()
        .copied()
        .filter(|line| !text.lines().any(|l| l.trim() == *line))
        .collect();
    if missing.is_empty() {
        return Ok(Action::Unchanged);
    }
    let mut out = text.clone();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str("# orch: a run's logs and a crashed writer's temporary files stay out of git\n");
    for line in missing {
        out.push_str(line);
        out.push('\n');
    }
    write_atomic(&path, out.as_bytes()).map_err(|e| Error::write(".gitignore", e))?;
    Ok(if existing.is_some() {
        Action::Updated
    } else {
        Action::Created
    })
}

fn make_executable(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// The three commands to run next: try the example, verify, commit.
pub fn next_commands(example: &Example) -> [String; 3] {
    let trust = example
        .trusted_rev
        .map(|rev| format!("{}={rev} ", crate::env::TRUSTED_REV))
        .unwrap_or_default();
    let try_it = if let Some(script) = example.script {
        format!("sh {script}")
    } else {
        let agent = example
            .agent_cmd
            .map(|cmd| format!(" --agent-cmd {cmd}"))
            .unwrap_or_default();
        crate::ui::orch_command(&format!(
            "run {} --slug {}{agent} --yes",
            example.workflow, example.slug
        ))
    };
    let add: String = std::iter::once(".gitignore orchestration")
        .chain((!example.commit.is_empty()).then_some(example.commit))
        .collect::<Vec<_>>()
        .join(" ");
    [
        try_it,
        format!("{trust}{}", crate::ui::orch_command("verify")),
        format!(
            "git add {add} && {trust}git commit -m \"orch: the {} example and its first run\"",
            example.name
        ),
    ]
}
