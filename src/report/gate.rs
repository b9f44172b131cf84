//! The per-check report of `gate finish` and `gate check`: one line per
//! check with ✓/✗/!/-, the reason (counts against thresholds, missing
//! strings, failing URLs), and a verdict line.

use std::fmt::Write;
use std::time::Duration;

use crate::record::{Artifact, PreScriptResult, ValidationResult};
use crate::report::pad;
use crate::ui::{Style, Ui, sanitize_line};
use crate::validate::Evaluation;

/// What the report is about.
pub struct Heading<'a> {
    pub gate: &'a str,
    pub name: Option<&'a str>,
    pub attempt: Option<u32>,
    pub depth: &'a str,
}

pub fn render(
    ui: &Ui,
    heading: &Heading,
    eval: &Evaluation,
    pre_scripts: &[PreScriptResult],
) -> String {
    let mut out = String::new();
    let mut title = heading.gate.to_string();
    if let Some(name) = heading.name.filter(|n| *n != heading.gate) {
        let _ = write!(title, " {}", sanitize_line(name));
    }
    if let Some(n) = heading.attempt {
        let _ = write!(title, " · attempt {n}");
    }
    let _ = write!(title, " · depth {}", heading.depth);
    let _ = writeln!(out, "{}", ui.paint(Style::Bold, &title));
    for p in pre_scripts {
        let mark = if p.status == "ok" {
            ui.paint(Style::Pass, "✓")
        } else {
            ui.paint(Style::Warn, "!")
        };
        let code = p
            .exit_code
            .map(|c| format!(", exit {c}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {mark} {} {} ({}{code})",
            pad("pre_script", 20),
            sanitize_line(&p.path),
            p.status
        );
    }
    let width = eval
        .results
        .iter()
        .map(|r| r.kind.chars().count())
        .chain((!eval.quality.is_empty()).then_some("quality_check".len()))
        .max()
        .unwrap_or(0)
        .clamp(10, 24);
    for r in &eval.results {
        let _ = writeln!(out, "{}", check_line(ui, r, width));
        if let Some(details) = plugin_details(r) {
            let text = format!("{} details: {details}", " ".repeat(width));
            let _ = writeln!(out, "    {}", ui.paint(Style::Dim, &text));
        }
        if r.is_blocking_failure()
            && let Some(d) = &r.description
        {
            let text = format!("{} {}", " ".repeat(width), sanitize_line(d));
            let _ = writeln!(out, "    {}", ui.paint(Style::Dim, &text));
        }
    }
    for q in &eval.quality {
        let (mark, style) = match q.status.as_str() {
            "passed" => ("✓", Style::Pass),
            "failed" => ("✗", Style::Fail),
            _ => (if q.status == "skipped" { "-" } else { "!" }, Style::Warn),
        };
        let secs = format!("{:.1}s", Duration::from_millis(q.duration_ms).as_secs_f64());
        let text = match (&q.reason, q.status.as_str()) {
            (Some(r), "warned") => format!("{}: {r} (warning)", q.name),
            (Some(r), _) => format!("{}: {r}", q.name),
            (None, _) => format!("{}: passed in {secs}", q.name),
        };
        let _ = writeln!(
            out,
            "  {} {} {}",
            ui.paint(style, mark),
            pad("quality_check", width),
            sanitize_line(&text)
        );
    }
    let _ = writeln!(
        out,
        "  {}",
        ui.paint(Style::Dim, &artifact_line(&eval.artifacts))
    );
    let warnings = eval.warnings();
    let checks = eval.results.len() + eval.quality.len();
    let summary = format!(
        "{checks} check{}{}",
        if checks == 1 { "" } else { "s" },
        match warnings {
            0 => String::new(),
            1 => ", 1 warning".to_string(),
            n => format!(", {n} warnings"),
        }
    );
    if eval.passed {
        let _ = writeln!(
            out,
            "{} {} ({summary})",
            ui.paint(Style::Pass, "PASS"),
            heading.gate
        );
    } else {
        let failed = eval
            .results
            .iter()
            .filter(|r| r.is_blocking_failure())
            .count()
            + eval.quality.iter().filter(|q| q.blocks()).count();
        let _ = writeln!(
            out,
            "{} {} ({failed} of {summary} failed)",
            ui.paint(Style::Fail, "FAIL"),
            heading.gate
        );
    }
    out
}

fn check_line(ui: &Ui, r: &ValidationResult, width: usize) -> String {
    let (mark, style) = if r.skipped {
        ("-", Style::Warn)
    } else if r.pass {
        ("✓", Style::Pass)
    } else if r.is_blocking_failure() {
        ("✗", Style::Fail)
    } else {
        ("!", Style::Warn)
    };
    let reason = r
        .reason
        .as_deref()
        .unwrap_or(if r.pass { "passed" } else { "failed" });
    let text = match &r.path {
        Some(p) if !reason.contains(p.as_str()) => format!("{p}: {reason}"),
        _ => reason.to_string(),
    };
    let mut line = format!(
        "  {} {} {}",
        ui.paint(style, mark),
        pad(&r.kind, width),
        sanitize_line(&text)
    );
    if !r.pass && !r.skipped && !r.is_blocking_failure() {
        line.push_str(" (warning)");
    }
    if let Some(from) = r.details.get("fallback_from").and_then(|v| v.as_str()) {
        let _ = write!(
            line,
            " {}",
            ui.paint(
                Style::Dim,
                &format!("[{from} missing; checked the any_of output]")
            )
        );
    }
    line
}

/// What a validator plugin added to its answer, on one line (built-in
/// checks' facts are in the JSON report; a plugin's are its own news).
fn plugin_details(r: &ValidationResult) -> Option<String> {
    if crate::contract::BUILTIN_TYPES.contains(&r.kind.as_str()) || r.details.is_empty() {
        return None;
    }
    let text = match (r.details.get("details"), r.details.len()) {
        (Some(only), 1) => crate::validate::plugin::as_text(only),
        _ => serde_json::Value::Object(r.details.clone()).to_string(),
    };
    let line = sanitize_line(&text);
    let mut line: String = line.chars().take(200).collect();
    if text.chars().count() > 200 {
        line.push('…');
    }
    Some(line)
}

fn artifact_line(artifacts: &[Artifact]) -> String {
    let bytes: u64 = artifacts.iter().filter_map(|a| a.size).sum();
    match artifacts.len() {
        0 => "no outputs to hash".to_string(),
        1 => format!("hashed 1 output ({})", human_bytes(bytes)),
        n => format!("hashed {n} outputs ({})", human_bytes(bytes)),
    }
}

/// `512 B`, `1.5 KiB`, `3.2 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}
