//! Tasks for people, machines and spreadsheets: one row type (`Row`) feeds
//! the table, the JSON and the CSV of `task list`; `show` and `explain`
//! render one task and a selection, term by term.

use std::fmt::Write;

use serde::Serialize;

use crate::queue::board::Board;
use crate::queue::due::Due;
use crate::queue::select::{self, Plan, Readiness, Why};
use crate::queue::task::{EventKind, Status};
use crate::record::store::Store;
use crate::report::table;
use crate::ui::{Style, Ui, sanitize_line};

/// One task as every list shows it (borrowed from the board: a list of
/// 10,000 copies nothing it need not).
#[derive(Clone, Debug, Serialize)]
pub struct Row<'b> {
    pub id: &'b str,
    pub title: &'b str,
    pub status: Status,
    pub reason: Option<String>,
    pub priority: &'static str,
    pub due: Option<Due>,
    /// Priority weight × deadline boost (`orch next`'s rule), whatever the status.
    pub score: u64,
    pub boost: &'static str,
    /// `orch next` could pick it (status TODO, dependencies DONE, unclaimed).
    pub ready: bool,
    pub progress: Option<u8>,
    pub tags: &'b [String],
    pub depends_on: &'b [String],
    pub workflow: Option<&'b str>,
    pub slug: Option<&'b str>,
    pub run_id: Option<&'b str>,
    pub claimed_by: Option<&'b str>,
    pub created_at: &'b str,
    pub updated_at: &'b str,
}

impl<'b> Row<'b> {
    pub fn of(board: &'b Board, i: usize) -> Row<'b> {
        let e = &board.entries[i];
        let (status, reason) = board.shown(i);
        let score = select::score(e.folded.priority, e.deadline.as_ref(), &board.cal);
        let wf = e.stored.def.workflow.as_deref();
        Row {
            id: e.id(),
            title: &e.folded.title,
            status,
            reason,
            priority: e.folded.priority.as_str(),
            due: e.folded.due,
            score: score.value,
            boost: score.boost.key(),
            ready: board.is_ready(i),
            progress: e.folded.percent,
            tags: &e.folded.tags,
            depends_on: &e.folded.depends_on,
            workflow: wf.map(|w| w.name.as_str()),
            slug: wf.map(|w| w.slug.as_str()),
            run_id: e.folded.run_id.as_deref(),
            claimed_by: e.claim.as_ref().map(|(c, _)| c.worker.as_str()),
            created_at: &e.stored.def.created_at,
            updated_at: &e.folded.updated_at,
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
    use std::borrow::Cow;
    let cells: Vec<Vec<Cow<str>>> = rows
        .iter()
        .map(|r| {
            vec![
                Cow::Borrowed(r.id),
                Cow::Borrowed(r.status.as_str()),
                Cow::Borrowed(r.priority),
                r.due
                    .map_or(Cow::Borrowed("-"), |d| Cow::Owned(d.to_string())),
                if r.status.is_closed() {
                    Cow::Borrowed("-")
                } else {
                    Cow::Owned(r.score.to_string())
                },
                r.progress
                    .map_or(Cow::Borrowed("-"), |p| Cow::Owned(format!("{p}%"))),
                Cow::Borrowed(r.title),
                r.reason.as_deref().map_or(Cow::Borrowed(""), Cow::Borrowed),
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
        ui.paint(Style::Bold, row.id),
        sanitize_line(row.title)
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
