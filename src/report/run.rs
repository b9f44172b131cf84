//! `run list` and `run show` for people.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::record::summary::RunSummary;
use crate::record::{AttemptStatus, GateStatus, RunRecord, RunStatus};
use crate::report::pad;
use crate::ui::{Style, Ui, sanitize, sanitize_line};
use crate::{clock, lease};

/// A RUNNING run with no recorded activity for this long is shown as idle.
pub const IDLE_AFTER_SECONDS: i64 = 3600;

/// How a run's status reads: `passed`, `running`, `running, idle 3d`,
/// `running, stale`; and the seconds idle when that is shown.
pub fn activity(
    status: &RunStatus,
    last_activity: &str,
    finished: bool,
    now: DateTime<Utc>,
    lease: &lease::State,
) -> (String, Option<i64>) {
    let text = status.as_str().to_ascii_lowercase().replace('_', " ");
    if finished {
        return (text, None);
    }
    match lease {
        lease::State::Live(_) => return (text, None),
        lease::State::Stale(..) => return (format!("{text}, stale"), None),
        lease::State::None => {}
    }
    let idle = (*status == RunStatus::Running)
        .then(|| clock::parse(last_activity).map(|t| (now - t).num_seconds()))
        .flatten()
        .filter(|s| *s >= IDLE_AFTER_SECONDS);
    match idle {
        Some(secs) => (
            format!("{text}, idle {}", clock::human_duration(secs)),
            Some(secs),
        ),
        None => (text, None),
    }
}

fn short_time(ts: &str) -> String {
    clock::parse(ts).map_or_else(
        || ts.to_string(),
        |t| t.format("%Y-%m-%d %H:%MZ").to_string(),
    )
}

/// `runs` pairs each summary with how its status reads (see `activity`).
pub fn render_list(ui: &Ui, runs: &[(RunSummary, String)]) -> String {
    let rows: Vec<[String; 5]> = runs
        .iter()
        .map(|(r, activity)| {
            let (passed, total) = r.gate_counts();
            [
                r.run_id.clone(),
                format!("{}/{}", r.workflow.name, r.workflow.slug),
                activity.clone(),
                short_time(&r.started_at),
                format!("{passed}/{total}"),
            ]
        })
        .collect();
    let headers = ["RUN", "WORKFLOW/SLUG", "STATUS", "STARTED", "GATES"];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let header: Vec<String> = headers
        .iter()
        .zip(&widths)
        .map(|(h, w)| pad(h, *w))
        .collect();
    let _ = writeln!(
        out,
        "{}",
        ui.paint(Style::Bold, header.join("  ").trim_end())
    );
    for row in &rows {
        let status_style = status_style(&row[2]);
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                let cell = pad(&sanitize_line(c), *w);
                if i == 2 {
                    ui.paint(status_style, &cell).into_owned()
                } else {
                    cell
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

fn status_style(status: &str) -> Style {
    if status.starts_with("passed") {
        Style::Pass
    } else if status.starts_with("failed") || status.contains("idle") || status.contains("stale") {
        Style::Fail
    } else if status.starts_with("running") {
        Style::Warn
    } else {
        Style::Dim
    }
}

pub fn render_show(ui: &Ui, run: &RunRecord, now: DateTime<Utc>, lease: &lease::State) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", ui.paint(Style::Bold, &run.run_id));
    let wf = &run.workflow;
    let version = wf
        .version
        .as_deref()
        .map(|v| format!(" ({v})"))
        .unwrap_or_default();
    let _ = writeln!(out, "  workflow   {}{version}", sanitize_line(&wf.name));
    let _ = writeln!(out, "  slug       {}", sanitize_line(&wf.slug));
    let _ = writeln!(out, "  artifacts  {}", sanitize_line(&wf.artifact_path));
    let _ = writeln!(out, "  depth      {}", run.depth);
    let (status, _) = activity(
        &run.status,
        run.last_activity(),
        run.is_completed(),
        now,
        lease,
    );
    let _ = writeln!(
        out,
        "  status     {}",
        ui.paint(status_style(&status), &status)
    );
    match lease {
        lease::State::Live(l) => {
            let host = sanitize_line(&l.host);
            let _ = writeln!(
                out,
                "  executing  pid {} on {host} (heartbeat {})",
                l.pid, l.heartbeat_at
            );
        }
        lease::State::Stale(_, why) => {
            let _ = writeln!(
                out,
                "  stale      {} (`{}` takes it over)",
                sanitize_line(why),
                crate::ui::resume_command(&run.run_id)
            );
        }
        lease::State::None => {}
    }
    if let Some(t) = &run.totals {
        let tokens = t.usage.map_or_else(
            || "tokens not reported".to_string(),
            |u| format!("{} in / {} out tokens", u.input_tokens, u.output_tokens),
        );
        let cost = t.cost_usd.map_or_else(
            || "cost unknown".to_string(),
            |c| format!("${c:.4} ({})", t.cost_source),
        );
        let _ = writeln!(
            out,
            "  agents     {} invocation(s), {tokens}, {cost}",
            t.invocations
        );
    }
    let _ = writeln!(out, "  started    {}", run.started_at);
    let _ = writeln!(
        out,
        "  finished   {}",
        run.finished_at.as_deref().unwrap_or("-")
    );
    if let Some(by) = &run.created_by {
        let _ = writeln!(out, "  by         {}", sanitize_line(&by.display()));
    }
    if let Some(task) = &run.task {
        let _ = writeln!(
            out,
            "  task       {} (orch task show {0})",
            sanitize_line(task)
        );
    }
    if let Some(p) = &run.prompt {
        let _ = writeln!(
            out,
            "  prompt     {} (sha256 {})",
            sanitize_line(&p.file),
            short_hash(&p.sha256)
        );
    }
    let (passed, total) = run.gate_counts();
    let _ = writeln!(out, "\ngates ({passed}/{total} passed)");
    for g in &run.gates {
        let name = g.name.as_deref().unwrap_or("");
        let blocking = if g.blocking == Some(false) {
            " (non-blocking)"
        } else {
            ""
        };
        let attempts = match g.attempts.len() {
            0 => String::new(),
            1 => ", 1 attempt".to_string(),
            n => format!(", {n} attempts"),
        };
        let _ = writeln!(
            out,
            "  {} {} {}{blocking}{attempts}",
            ui.paint(gate_style(&g.status), &pad(g.status.as_str(), 11)),
            g.gate,
            sanitize_line(name)
        );
        if let Some(why) = &g.skip_reason {
            let _ = writeln!(out, "      skipped: {}", sanitize_line(why));
        }
        if let Some(uri) = &g.outputs_uri {
            let _ = writeln!(out, "      outputs {}", sanitize_line(uri));
        }
        for a in &g.attempts {
            let finished = a.finished_at.as_deref().unwrap_or("…");
            let agent = a.agent.as_deref().unwrap_or("-");
            let by = a
                .started_by
                .as_ref()
                .filter(|b| Some(*b) != run.created_by.as_ref())
                .map(|b| format!(" by {}", b.display()))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      #{} {} {} → {}  agent {}{}",
                a.attempt,
                ui.paint(attempt_style(&a.status), a.status.as_str()),
                a.started_at,
                finished,
                sanitize_line(agent),
                sanitize_line(&by)
            );
            for v in &a.validations {
                let mark = if v.skipped {
                    "-"
                } else if v.pass {
                    "✓"
                } else if v.is_blocking_failure() {
                    "✗"
                } else {
                    "!"
                };
                let detail = v
                    .reason
                    .clone()
                    .or_else(|| v.description.clone())
                    .unwrap_or_default();
                let path = v
                    .path
                    .as_deref()
                    .filter(|p| !detail.contains(*p))
                    .map(|p| format!("{p}: "))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "         {mark} {} {}",
                    v.kind,
                    sanitize_line(&format!("{path}{detail}"))
                );
            }
            for q in &a.quality_checks {
                let mark = match q.status.as_str() {
                    "passed" => "✓",
                    "failed" => "✗",
                    "skipped" => "-",
                    _ => "!",
                };
                let why = q.reason.as_deref().unwrap_or("passed");
                let _ = writeln!(
                    out,
                    "         {mark} quality_check {}: {}",
                    sanitize_line(&q.name),
                    sanitize_line(why)
                );
            }
            if let Some(level) = &a.automation {
                let skills: Vec<String> = a
                    .skills
                    .iter()
                    .map(|s| format!("{} ({}, {})", s.id, s.trust, short_hash(&s.sha256)))
                    .collect();
                let with = if skills.is_empty() {
                    String::new()
                } else {
                    format!(" with {}", skills.join(", "))
                };
                let _ = writeln!(out, "         recipe: {level}{}", sanitize_line(&with));
            }
            for (what, req) in [("start", &a.start_approval), ("review", &a.review)] {
                if let Some(r) = req {
                    let state = r
                        .granted_at
                        .as_deref()
                        .map_or_else(|| "awaited".to_string(), |t| format!("granted {t}"));
                    let _ = writeln!(
                        out,
                        "         {what} approval {state}: {}",
                        sanitize_line(r.reason.as_deref().unwrap_or(""))
                    );
                }
            }
            for r in &a.reverted {
                let _ = writeln!(
                    out,
                    "         reverted {} ({})",
                    sanitize_line(&r.path),
                    r.action
                );
            }
            if let Some(q) = &a.questions {
                let _ = writeln!(out, "         questions for a person: {}", sanitize_line(q));
            }
            if !a.invocation_ids.is_empty() {
                let _ = writeln!(out, "         invocations: {}", a.invocation_ids.join(", "));
            }
            if let Some(reason) = &a.failure_reason {
                let manual = if a.manual_failure { " (manual)" } else { "" };
                let _ = writeln!(out, "         failure{manual}: {}", sanitize_line(reason));
            }
        }
    }
    if !run.invocations.is_empty() {
        let _ = writeln!(out, "\ninvocations");
        for i in &run.invocations {
            let mut extra = String::new();
            if let (Some(k), Some(skill)) = (i.step, &i.skill) {
                let _ = write!(extra, "  step {k} ({skill})");
            }
            match (&i.model, &i.reported_model) {
                (Some(m), Some(r)) if m != r => {
                    let _ = write!(extra, "  model {m} (reported {r})");
                }
                (Some(m), _) | (None, Some(m)) => {
                    let _ = write!(extra, "  model {m}");
                }
                (None, None) => {}
            }
            let _ = writeln!(
                out,
                "  {}  {} {}  {}  {}{}",
                i.id,
                i.gate,
                i.attempt.map(|n| format!("#{n}")).unwrap_or_default(),
                sanitize_line(i.agent.as_deref().unwrap_or("-")),
                i.status,
                sanitize_line(&extra)
            );
        }
    }
    if !run.registered_artifacts.is_empty() {
        let _ = writeln!(out, "\nregistered artifacts");
        for a in &run.registered_artifacts {
            let _ = writeln!(
                out,
                "  {} `{}`  {}  {}",
                a.kind,
                sanitize_line(&a.label),
                sanitize_line(a.url.as_deref().or(a.path.as_deref()).unwrap_or("")),
                a.gate
            );
        }
    }
    if !run.artifacts_index.is_empty() {
        let _ = writeln!(out, "\nartifacts");
        let width = run
            .artifacts_index
            .iter()
            .map(|a| a.path.chars().count())
            .max()
            .unwrap_or(0);
        for a in &run.artifacts_index {
            let _ = writeln!(
                out,
                "  {}  {}  {}",
                pad(&sanitize_line(&a.path), width),
                short_hash(&a.sha256),
                a.gate
            );
        }
    }
    if !run.events.is_empty() {
        let _ = writeln!(out, "\nevents");
        for e in &run.events {
            let msg = e.message.as_deref().unwrap_or("");
            let _ = writeln!(
                out,
                "  {}  {}  {}",
                e.timestamp,
                pad(e.kind.as_str(), 22),
                sanitize(msg).replace('\n', " ")
            );
        }
    }
    out
}

fn short_hash(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

fn gate_style(s: &GateStatus) -> Style {
    match s {
        GateStatus::Pass => Style::Pass,
        GateStatus::Fail | GateStatus::Blocked => Style::Fail,
        GateStatus::Running | GateStatus::AwaitingApproval => Style::Warn,
        _ => Style::Dim,
    }
}

fn attempt_style(s: &AttemptStatus) -> Style {
    match s {
        AttemptStatus::Pass => Style::Pass,
        AttemptStatus::Fail | AttemptStatus::Blocked => Style::Fail,
        _ => Style::Warn,
    }
}
