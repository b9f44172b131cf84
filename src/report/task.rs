//! Tasks for people, machines and spreadsheets: one row type (`Row`) feeds
//! the table, the JSON and the CSV of `task list`; `show` and `explain`
//! render one task and a selection, term by term.

use std::fmt::Write;

use serde::Serialize;

use crate::queue::board::Board;
use crate::queue::select::{self, Plan, Readiness, Why};
use crate::queue::task::{EventKind, Status};
use crate::record::store::Store;
use crate::report::table;
use crate::ui::{Style, Ui, sanitize_line};

/// One task as every list shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub reason: Option<String>,
    pub priority: &'static str,
    pub due: Option<String>,
    /// Priority weight × deadline boost (`orch next`'s rule), whatever the status.
    pub score: u64,
    pub boost: &'static str,
    /// `orch next` could pick it (status TODO, dependencies DONE, unclaimed).
    pub ready: bool,
    pub progress: Option<u8>,
    pub tags: Vec<String>,
    pub depends_on: Vec<String>,
    pub workflow: Option<String>,
    pub slug: Option<String>,
    pub run_id: Option<String>,
    pub claimed_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Row {
    pub fn of(board: &Board, i: usize) -> Row {
        let e = &board.entries[i];
        let (status, reason) = board.shown(i);
        let score = select::score(e.folded.priority, e.deadline.as_ref(), &board.cal);
        Row {
            id: e.id().to_string(),
            title: e.folded.title.clone(),
            status,
            reason,
            priority: e.folded.priority.as_str(),
            due: e.folded.due.map(|d| d.to_string()),
            score: score.value,
            boost: score.boost.key(),
            ready: board.is_ready(i),
            progress: e.folded.percent,
            tags: e.folded.tags.clone(),
            depends_on: e.folded.depends_on.clone(),
            workflow: e.stored.def.workflow.as_ref().map(|w| w.name.clone()),
            slug: e.stored.def.workflow.as_ref().map(|w| w.slug.clone()),
            run_id: e.folded.run_id.clone(),
            claimed_by: e.claim.as_ref().map(|(c, _)| c.worker.clone()),
            created_at: e.stored.def.created_at.clone(),
            updated_at: e.folded.updated_at.clone(),
        }
    }
}

/// `task list --format csv` columns: fields of `Row`.
pub const CSV_HEADERS: &[&str] = &[
    "id",
    "title",
    "status",
    "reason",
    "priority",
    "due",
    "score",
    "ready",
    "progress",
    "tags",
    "depends_on",
    "workflow",
    "slug",
    "run_id",
    "claimed_by",
    "created_at",
    "updated_at",
];

fn dash(v: Option<&str>) -> String {
    v.map_or_else(|| "-".to_string(), str::to_string)
}

/// `task list` for people.
pub fn render_list(ui: &Ui, rows: &[Row]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.status.to_string(),
                r.priority.to_string(),
                dash(r.due.as_deref()),
                if r.status.is_closed() {
                    "-".to_string()
                } else {
                    r.score.to_string()
                },
                r.progress
                    .map_or_else(|| "-".to_string(), |p| format!("{p}%")),
                r.title.clone(),
                r.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(
        ui,
        &[
            "TASK", "STATUS", "PRIORITY", "DUE", "SCORE", "DONE", "TITLE", "NOTE",
        ],
        &cells,
    )
}

/// `task show` for people: the task, its dependencies and dependents with
/// their statuses, its runs, and its history.
pub fn render_show(ui: &Ui, board: &Board, i: usize, store: &Store) -> String {
    let e = &board.entries[i];
    let row = Row::of(board, i);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}",
        ui.paint(Style::Bold, &row.id),
        sanitize_line(&row.title)
    );
    let status = match &row.reason {
        Some(why) => format!("{}: {}", row.status, sanitize_line(why)),
        None => row.status.to_string(),
    };
    let _ = writeln!(out, "  status      {status}");
    let breakdown = select::score(e.folded.priority, e.deadline.as_ref(), &board.cal)
        .breakdown(e.folded.priority);
    let _ = writeln!(
        out,
        "  score       {}{}",
        breakdown,
        if row.ready { " (ready)" } else { "" }
    );
    if let Some(due) = &row.due {
        let _ = writeln!(out, "  due         {due}");
    }
    if !row.tags.is_empty() {
        let _ = writeln!(out, "  tags        {}", sanitize_line(&row.tags.join(", ")));
    }
    if let Some(w) = &e.stored.def.workflow {
        let path = w
            .artifact_path
            .as_deref()
            .map(|p| format!(" --artifact-path {p}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  workflow    {} --slug {}{path} (depth {})",
            sanitize_line(&w.name),
            sanitize_line(&w.slug),
            w.depth
        );
    } else {
        let _ = writeln!(
            out,
            "  workflow    none (done by hand: orch task done {})",
            row.id
        );
    }
    if let Some(p) = row.progress {
        let msg = e
            .folded
            .message
            .as_deref()
            .map(|m| format!(" {}", sanitize_line(m)))
            .unwrap_or_default();
        let _ = writeln!(out, "  progress    {p}%{msg}");
    }
    let by = e
        .stored
        .def
        .created_by
        .as_ref()
        .map(|a| format!(" by {}", sanitize_line(&a.display())))
        .unwrap_or_default();
    let _ = writeln!(out, "  created     {}{by}", e.stored.def.created_at);
    let related = |title: &str, ids: Vec<usize>, out: &mut String| {
        if ids.is_empty() {
            return;
        }
        let _ = writeln!(out, "{title}");
        for j in ids {
            let (st, _) = board.shown(j);
            let _ = writeln!(
                out,
                "  {}  {:<14} {}",
                board.entries[j].id(),
                st.as_str(),
                sanitize_line(&board.entries[j].folded.title)
            );
        }
    };
    let mut missing = Vec::new();
    let deps: Vec<usize> = e
        .folded
        .depends_on
        .iter()
        .filter_map(|d| {
            let j = board.get(d);
            if j.is_none() {
                missing.push(d.clone());
            }
            j
        })
        .collect();
    related("depends on", deps, &mut out);
    for m in missing {
        let _ = writeln!(out, "  {m}  (no such task)");
    }
    related("dependents", board.dependents_of(e.id()), &mut out);
    if !e.folded.runs.is_empty() {
        let _ = writeln!(out, "runs");
        for run in &e.folded.runs {
            let line = match store.load(run) {
                Ok(rec) => {
                    let (p, t) = rec.gate_counts();
                    format!("{run}  {} ({p}/{t} gates)", rec.status)
                }
                Err(_) => format!("{run}  (no record here)"),
            };
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(out, "history");
    let _ = writeln!(out, "  {}  created", short_time(&e.stored.def.created_at));
    for ev in &e.stored.events {
        let mut line = format!("{}  {}", short_time(&ev.at), ev.kind.as_str());
        if let Some(p) = ev.percent {
            let _ = write!(line, " {p}%");
        }
        for text in [&ev.message, &ev.reason].into_iter().flatten() {
            let _ = write!(line, " {}", sanitize_line(text));
        }
        if ev.kind == EventKind::Started
            && let Some(run) = &ev.run_id
        {
            let _ = write!(line, " {run}");
        }
        if let Some(w) = &ev.worker {
            let _ = write!(line, " (worker {}", sanitize_line(w));
            if let Some(f) = ev.fence {
                let _ = write!(line, ", fence {f}");
            }
            line.push(')');
        } else if let Some(by) = &ev.by {
            let _ = write!(line, " (by {})", sanitize_line(&by.display()));
        }
        if let Some(edit) = &ev.edit {
            let _ = write!(
                line,
                " {}",
                sanitize_line(&serde_json::to_string(edit).unwrap_or_default())
            );
        }
        let _ = writeln!(out, "  {line}");
    }
    out
}

fn short_time(ts: &str) -> String {
    crate::clock::parse(ts).map_or_else(
        || ts.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string(),
    )
}

/// The reason a task is left out of a selection, in words.
pub fn why(board: &Board, i: usize, why: &Why) -> String {
    match why {
        Why::Not(
            Readiness::NotTodo | Readiness::Claimed | Readiness::Cycle(_) | Readiness::Waiting(_),
        ) => {
            let (status, reason) = board.shown(i);
            match reason {
                Some(r) => format!("{status}: {r}"),
                None => status.to_string(),
            }
        }
        Why::Not(Readiness::Ready) => "ready".to_string(),
        Why::Tags(tags) => format!(
            "ready, but tagged {} (give --tag {} to take it)",
            tags.join(", "),
            tags.join(" --tag ")
        ),
        Why::NoWorkflow => {
            "ready, but has no workflow for a worker to run (orch task done when it is done)"
                .to_string()
        }
    }
}

/// `orch next --explain`: every candidate with its score, term by term,
/// and every task left out with the reason.
pub fn render_explain(ui: &Ui, board: &Board, plan: &Plan) -> String {
    let items = board.items();
    let mut out = String::new();
    if plan.ranked.is_empty() {
        let _ = writeln!(out, "no candidates");
    } else {
        let _ = writeln!(out, "{}", ui.paint(Style::Bold, "candidates, best first"));
        let rows: Vec<Vec<String>> = plan
            .ranked
            .iter()
            .enumerate()
            .map(|(pos, (i, score))| {
                let e = &board.entries[*i];
                vec![
                    (pos + 1).to_string(),
                    e.id().to_string(),
                    score.value.to_string(),
                    score.breakdown(e.folded.priority),
                    dash(e.folded.due.map(|d| d.to_string()).as_deref()),
                    plan.dependents[*i].to_string(),
                    e.folded.title.clone(),
                    select::tie_break(&items, plan, pos)
                        .unwrap_or_default()
                        .to_string(),
                ]
            })
            .collect();
        out.push_str(&table(
            ui,
            &[
                "#",
                "TASK",
                "SCORE",
                "BREAKDOWN",
                "DUE",
                "DEPENDENTS",
                "TITLE",
                "ORDER",
            ],
            &rows,
        ));
    }
    if !plan.excluded.is_empty() {
        let _ = writeln!(out, "\n{}", ui.paint(Style::Bold, "left out"));
        let rows: Vec<Vec<String>> = plan
            .excluded
            .iter()
            .map(|(i, w)| {
                let e = &board.entries[*i];
                vec![
                    e.id().to_string(),
                    why(board, *i, w),
                    e.folded.title.clone(),
                ]
            })
            .collect();
        out.push_str(&table(ui, &["TASK", "WHY", "TITLE"], &rows));
    }
    out
}
