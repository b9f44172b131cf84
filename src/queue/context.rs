//! What an agent starting a task is told about it: the task itself and the
//! work it depends on (each dependency's status, its runs, and the outputs
//! those runs recorded, with the first lines of each text output). One
//! definition, used by the packet writer and by `orch task context`, so a
//! person reads exactly what the agent will be told. Deterministic: the same
//! backlog and records give the same text.

use std::fmt::Write;
use std::io::Read;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::queue::Queue;
use crate::queue::board::Board;
use crate::queue::task::Status;
use crate::record::store::Store;
use crate::repo::Repo;

/// Lines shown from the start of each text output.
pub const MAX_LINES: usize = 5;
/// Characters kept of each of those lines.
pub const MAX_LINE_CHARS: usize = 200;
/// Outputs shown per run; the rest are counted.
pub const MAX_OUTPUTS: usize = 20;
/// Bytes read from an output to show its first lines.
const HEAD_BYTES: usize = 8 * 1024;

#[derive(Clone, Debug, Serialize)]
pub struct TaskContext {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub priority: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    pub tags: Vec<String>,
    pub dependencies: Vec<Dependency>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Dependency {
    pub id: String,
    /// None when the task it names does not exist.
    pub title: Option<String>,
    pub status: Option<Status>,
    pub runs: Vec<RunOutputs>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunOutputs {
    pub run_id: String,
    /// None when the run's record cannot be read.
    pub status: Option<String>,
    pub outputs: Vec<Output>,
    /// Outputs recorded beyond the `MAX_OUTPUTS` shown.
    #[serde(skip_serializing_if = "is_zero")]
    pub more_outputs: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Output {
    pub path: String,
    pub sha256: String,
    pub gate: String,
    /// The first lines of a text output whose bytes are still the recorded ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head: Option<Vec<String>>,
    /// Why no lines are shown (changed since recorded, missing, binary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The context of a task whose run is starting: its dependencies are DONE
/// (it was ready), so reading the task and them alone tells it, however
/// big the backlog.
pub fn for_run(queue: &Queue, id: &str) -> Result<TaskContext> {
    let board = Board::of_task(queue.repo, queue.backend.as_ref(), id)?;
    of(queue.repo, &board, id)
}

/// The context of task `id` (a full id) as the backlog and records stand now.
pub fn build(queue: &Queue, id: &str) -> Result<TaskContext> {
    let board = queue.board()?;
    of(queue.repo, &board, id)
}

/// The same, from a board already loaded.
pub fn of(repo: &Repo, board: &Board, id: &str) -> Result<TaskContext> {
    let i = board
        .get(id)
        .ok_or_else(|| Error::input(format!("there is no task `{id}`")))?;
    let e = &board.entries[i];
    let f = &e.folded;
    let store = Store::new(repo);
    let dependencies = f
        .depends_on
        .iter()
        .map(|d| match board.get(d) {
            Some(j) => Dependency {
                id: d.clone(),
                title: Some(board.entries[j].folded.title.clone()),
                status: Some(board.shown(j).0),
                runs: board.entries[j]
                    .folded
                    .runs
                    .iter()
                    .map(|r| run_outputs(repo, &store, r))
                    .collect(),
            },
            None => Dependency {
                id: d.clone(),
                title: None,
                status: None,
                runs: Vec::new(),
            },
        })
        .collect();
    Ok(TaskContext {
        id: id.to_string(),
        title: f.title.clone(),
        description: e.stored.def.description.clone(),
        priority: f.priority.as_str().to_string(),
        due: f.due.map(|d| d.to_string()),
        tags: f.tags.clone(),
        dependencies,
    })
}

fn run_outputs(repo: &Repo, store: &Store, run_id: &str) -> RunOutputs {
    let Ok(run) = store.load(run_id) else {
        return RunOutputs {
            run_id: run_id.to_string(),
            status: None,
            outputs: Vec::new(),
            more_outputs: 0,
        };
    };
    let mut indexed: Vec<_> = run.artifacts_index.iter().collect();
    indexed.sort_by(|a, b| (&a.gate, &a.path).cmp(&(&b.gate, &b.path)));
    let more_outputs = indexed.len().saturating_sub(MAX_OUTPUTS);
    let outputs = indexed
        .into_iter()
        .take(MAX_OUTPUTS)
        .map(|a| {
            let (head, note) = match head_of(repo, &a.path, &a.sha256) {
                Ok(lines) => (Some(lines), None),
                Err(why) => (None, Some(why)),
            };
            Output {
                path: a.path.clone(),
                sha256: a.sha256.clone(),
                gate: a.gate.clone(),
                head,
                note,
            }
        })
        .collect();
    RunOutputs {
        run_id: run_id.to_string(),
        status: Some(run.status.to_string()),
        outputs,
        more_outputs,
    }
}

/// The first lines of an output, when it is text and still holds the
/// bytes its run recorded.
fn head_of(repo: &Repo, rel: &str, sha256: &str) -> std::result::Result<Vec<String>, String> {
    let path = repo
        .contain(rel)
        .map_err(|_| "outside the repository".to_string())?;
    match crate::hash::file(&path.abs) {
        Ok(h) if h == sha256 => {}
        Ok(_) => return Err("changed since it was recorded".into()),
        Err(_) => return Err("not in this working tree".into()),
    }
    let mut buf = Vec::with_capacity(HEAD_BYTES);
    crate::storage::regular::open(&path.abs)
        .and_then(|f| f.take(HEAD_BYTES as u64).read_to_end(&mut buf))
        .map_err(|e| e.to_string())?;
    if buf.contains(&0) {
        return Err("binary".into());
    }
    let text = String::from_utf8_lossy(&buf);
    Ok(text
        .lines()
        .take(MAX_LINES)
        .map(|l| {
            let l = crate::ui::sanitize_line(l);
            match l.char_indices().nth(MAX_LINE_CHARS) {
                Some((cut, _)) => format!("{}…", &l[..cut]),
                None => l.into_owned(),
            }
        })
        .collect())
}

/// The context as the packet (and `orch task context`) shows it: Markdown
/// that starts with a `## Task` heading.
pub fn render(c: &TaskContext) -> String {
    let mut p = String::new();
    let _ = writeln!(p, "## Task {}: {}\n", c.id, c.title);
    let _ = writeln!(p, "- priority: {}", c.priority);
    if let Some(d) = &c.due {
        let _ = writeln!(p, "- due: {d}");
    }
    if !c.tags.is_empty() {
        let _ = writeln!(p, "- tags: {}", c.tags.join(", "));
    }
    if let Some(d) = &c.description {
        let _ = writeln!(p, "\n{}", d.trim_end());
    }
    if c.dependencies.is_empty() {
        return p;
    }
    let _ = writeln!(p, "\n### Work this task depends on\n");
    for d in &c.dependencies {
        let (Some(title), Some(status)) = (&d.title, d.status) else {
            let _ = writeln!(p, "- {} (no such task)", d.id);
            continue;
        };
        let _ = writeln!(p, "- {} {}: {title}", d.id, status.as_str());
        if d.runs.is_empty() {
            let _ = writeln!(p, "  - no runs");
        }
        for r in &d.runs {
            let Some(status) = &r.status else {
                let _ = writeln!(p, "  - run {} (its record cannot be read)", r.run_id);
                continue;
            };
            let _ = writeln!(p, "  - run {} {status}", r.run_id);
            for o in &r.outputs {
                let _ = writeln!(p, "    - {} (gate {}, sha256 {})", o.path, o.gate, o.sha256);
                if let Some(note) = &o.note {
                    let _ = writeln!(p, "      ({note})");
                }
                for line in o.head.iter().flatten() {
                    let _ = writeln!(p, "      > {line}");
                }
            }
            if r.more_outputs > 0 {
                let _ = writeln!(p, "    - … and {} more outputs", r.more_outputs);
            }
        }
    }
    p
}
