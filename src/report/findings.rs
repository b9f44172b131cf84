//! One report model for `lint` and `verify`, rendered four ways: for people,
//! as JSON, as JUnit XML (one testsuite per group, one testcase per case),
//! and as GitHub Actions annotations with a Markdown step summary. Every
//! format is fed by the same `Document`, so they cannot disagree.

use std::fmt::Write;

use serde::Serialize;

use crate::ui::{Style, Ui, sanitize_line};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// One thing found.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub level: Level,
    /// What kind of finding (`modified`, `stale`, `unknown_type`, …).
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Finding {
    pub fn new(level: Level, kind: &str, message: impl Into<String>) -> Self {
        Finding {
            level,
            kind: kind.to_string(),
            file: None,
            line: None,
            column: None,
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    #[must_use]
    pub fn at(mut self, (line, column): (usize, usize)) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A finding from an orch error (a JSON or contract problem keeps its position).
    pub fn from_error(level: Level, kind: &str, err: &crate::error::Error) -> Self {
        let hint = err.hints().first().cloned();
        let f = match err {
            crate::error::Error::Json {
                path,
                line,
                column,
                message,
                ..
            } => Finding::new(level, kind, message.clone())
                .file(path.clone())
                .at((*line, *column)),
            other => Finding::new(level, kind, other.to_string()),
        };
        match hint {
            Some(h) => f.hint(h),
            None => f,
        }
    }
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    /// Nothing to check (a gate that has not passed), with why.
    Skipped,
}

/// One thing checked: a gate of a run, or a file.
#[derive(Clone, Debug, Serialize)]
pub struct Case {
    pub name: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub findings: Vec<Finding>,
}

impl Case {
    pub fn new(name: impl Into<String>) -> Self {
        Case {
            name: name.into(),
            outcome: Outcome::Passed,
            note: None,
            findings: Vec::new(),
        }
    }

    pub fn skipped(name: impl Into<String>, why: impl Into<String>) -> Self {
        Case {
            name: name.into(),
            outcome: Outcome::Skipped,
            note: Some(why.into()),
            findings: Vec::new(),
        }
    }

    /// Adds a finding; an error fails the case.
    pub fn push(&mut self, f: Finding) {
        if f.level == Level::Error {
            self.outcome = Outcome::Failed;
        }
        self.findings.push(f);
    }
}

/// A group of cases: a run, or a kind of file.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub cases: Vec<Case>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub groups: usize,
    pub cases: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
    pub warnings: usize,
}

/// Everything `lint` or `verify` found.
#[derive(Clone, Debug, Serialize)]
pub struct Document {
    pub tool: String,
    pub summary: Summary,
    pub groups: Vec<Group>,
}

impl Document {
    pub fn new(tool: &str, groups: Vec<Group>) -> Self {
        let mut summary = Summary {
            groups: groups.len(),
            ..Summary::default()
        };
        for c in groups.iter().flat_map(|g| &g.cases) {
            summary.cases += 1;
            match c.outcome {
                Outcome::Failed => summary.failed += 1,
                Outcome::Skipped => summary.skipped += 1,
                Outcome::Passed => {}
            }
            for f in &c.findings {
                match f.level {
                    Level::Error => summary.errors += 1,
                    Level::Warning => summary.warnings += 1,
                }
            }
        }
        Document {
            tool: tool.to_string(),
            summary,
            groups,
        }
    }

    pub fn ok(&self) -> bool {
        self.summary.errors == 0
    }

    fn findings(&self) -> impl Iterator<Item = (&Group, &Case, &Finding)> {
        self.groups.iter().flat_map(|g| {
            g.cases
                .iter()
                .flat_map(move |c| c.findings.iter().map(move |f| (g, c, f)))
        })
    }
}

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `quiet`: only cases with findings, and the summary line.
    Human {
        quiet: bool,
    },
    Json,
    Junit,
    Github,
}

pub fn render(doc: &Document, format: Format, ui: &Ui) -> String {
    match format {
        Format::Human { quiet } => human(doc, ui, quiet),
        Format::Json => crate::json::to_pretty_string(doc),
        Format::Junit => junit(doc),
        Format::Github => github(doc),
    }
}

fn location(f: &Finding) -> String {
    match (&f.file, f.line, f.column) {
        (Some(file), Some(l), Some(c)) => format!("{file}:{l}:{c}: "),
        (Some(file), Some(l), None) => format!("{file}:{l}: "),
        (Some(file), None, _) => format!("{file}: "),
        (None, ..) => String::new(),
    }
}

fn human(doc: &Document, ui: &Ui, quiet: bool) -> String {
    let mut out = String::new();
    let shown = |c: &&Case| !quiet || !c.findings.is_empty();
    for g in &doc.groups {
        if !g.cases.iter().any(|c| shown(&c)) {
            continue;
        }
        let desc = g
            .description
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}{}",
            ui.paint(Style::Bold, &sanitize_line(&g.name)),
            sanitize_line(&desc)
        );
        for c in g.cases.iter().filter(shown) {
            let (mark, style) = match c.outcome {
                Outcome::Passed if c.findings.is_empty() => ("✓", Style::Pass),
                Outcome::Passed => ("!", Style::Warn),
                Outcome::Failed => ("✗", Style::Fail),
                Outcome::Skipped => ("-", Style::Dim),
            };
            let note = c
                .note
                .as_deref()
                .map(|n| format!(" — {n}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {}{}",
                ui.paint(style, mark),
                sanitize_line(&c.name),
                ui.paint(Style::Dim, &sanitize_line(&note))
            );
            for f in &c.findings {
                let level = match f.level {
                    Level::Error => ui.paint(Style::Fail, "error"),
                    Level::Warning => ui.paint(Style::Warn, "warning"),
                };
                // "path: path changed since…" says the path once.
                let said =
                    f.line.is_none() && f.file.as_deref().is_some_and(|p| f.message.starts_with(p));
                let location = if said { String::new() } else { location(f) };
                let _ = writeln!(
                    out,
                    "      {level}: {}{}",
                    sanitize_line(&location),
                    sanitize_line(&f.message)
                );
                if let Some(h) = &f.hint {
                    let _ = writeln!(
                        out,
                        "        {}",
                        ui.paint(Style::Dim, &format!("hint: {}", sanitize_line(h)))
                    );
                }
            }
        }
    }
    let s = &doc.summary;
    let verdict = if doc.ok() {
        ui.paint(Style::Pass, "ok")
    } else {
        ui.paint(Style::Fail, "FAILED")
    };
    let _ = writeln!(
        out,
        "{}: {verdict}: {} checked, {} failed, {} skipped; {}, {}",
        doc.tool,
        s.cases,
        s.failed,
        s.skipped,
        count(s.errors, "error"),
        count(s.warnings, "warning")
    );
    out
}

/// "1 error", "2 errors".
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// XML text with the five special characters escaped and characters XML
/// cannot hold dropped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn junit(doc: &Document) -> String {
    let s = &doc.summary;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"orch {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
        xml(&doc.tool),
        s.cases,
        s.failed,
        s.skipped
    );
    for g in &doc.groups {
        let failed = g
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .count();
        let skipped = g
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Skipped)
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"{skipped}\">",
            xml(&g.name),
            g.cases.len()
        );
        for c in &g.cases {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\"",
                xml(&c.name),
                xml(&g.name)
            );
            let errors: Vec<&Finding> = c
                .findings
                .iter()
                .filter(|f| f.level == Level::Error)
                .collect();
            let warnings: Vec<&Finding> = c
                .findings
                .iter()
                .filter(|f| f.level == Level::Warning)
                .collect();
            if c.outcome == Outcome::Passed && warnings.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            match c.outcome {
                Outcome::Failed => {
                    let message = errors
                        .iter()
                        .map(|f| f.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ");
                    let kind = errors.first().map_or("failed", |f| f.kind.as_str());
                    let body = errors.iter().fold(String::new(), |mut b, f| {
                        let _ = writeln!(b, "{}{}", location(f), f.message);
                        b
                    });
                    let _ = writeln!(
                        out,
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                        xml(&message),
                        xml(kind),
                        xml(&body)
                    );
                }
                Outcome::Skipped => {
                    let _ = writeln!(
                        out,
                        "      <skipped message=\"{}\"/>",
                        xml(c.note.as_deref().unwrap_or(""))
                    );
                }
                Outcome::Passed => {}
            }
            if !warnings.is_empty() {
                let body = warnings.iter().fold(String::new(), |mut b, f| {
                    let _ = writeln!(b, "warning: {}{}", location(f), f.message);
                    b
                });
                let _ = writeln!(out, "      <system-out>{}</system-out>", xml(&body));
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes for a GitHub workflow command's message.
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes for a GitHub workflow command's property.
fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn github(doc: &Document) -> String {
    let mut out = String::new();
    for (g, c, f) in doc.findings() {
        let command = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
        };
        let mut props = Vec::new();
        if let Some(file) = &f.file {
            props.push(format!("file={}", gh_property(file)));
        }
        if let Some(l) = f.line {
            props.push(format!("line={l}"));
        }
        if let Some(col) = f.column {
            props.push(format!("col={col}"));
        }
        props.push(format!(
            "title={}",
            gh_property(&format!(
                "orch {}: {} {} ({})",
                doc.tool, g.name, c.name, f.kind
            ))
        ));
        let _ = writeln!(
            out,
            "::{command} {}::{}",
            props.join(","),
            gh_data(&f.message)
        );
    }
    let s = &doc.summary;
    let _ = writeln!(
        out,
        "orch {}: {} checked, {} failed; {}, {}",
        doc.tool,
        s.cases,
        s.failed,
        count(s.errors, "error"),
        count(s.warnings, "warning")
    );
    out
}

/// The Markdown table appended to `$GITHUB_STEP_SUMMARY`.
pub fn step_summary(doc: &Document) -> String {
    let s = &doc.summary;
    let mut out = format!("### orch {}\n\n", doc.tool);
    if doc.ok() {
        let _ = writeln!(
            out,
            "✅ {} checked, no errors ({}).\n",
            s.cases,
            count(s.warnings, "warning")
        );
    } else {
        let _ = writeln!(
            out,
            "❌ {} of {} failed: {}, {}.\n",
            s.failed,
            s.cases,
            count(s.errors, "error"),
            count(s.warnings, "warning")
        );
    }
    let rows: Vec<_> = doc.findings().collect();
    if !rows.is_empty() {
        out.push_str("| | Where | Check | Finding |\n|---|---|---|---|\n");
        for (g, c, f) in rows {
            let icon = if f.level == Level::Error {
                "❌"
            } else {
                "⚠️"
            };
            let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
            let _ = writeln!(
                out,
                "| {icon} | {} | {} | {}: {} |",
                cell(&g.name),
                cell(&c.name),
                cell(&f.kind),
                cell(&f.message)
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Document {
        let mut failing = Case::new("G2 Research");
        failing.push(
            Finding::new(Level::Error, "modified", "a <b> & \"c\"\nnext")
                .file("essays/x, y:z.md")
                .at((3, 4)),
        );
        let mut warned = Case::new("G3");
        warned.push(Finding::new(
            Level::Warning,
            "contract_changed",
            "50% changed",
        ));
        Document::new(
            "verify",
            vec![Group {
                name: "run_1".into(),
                description: None,
                cases: vec![
                    Case::new("G1"),
                    failing,
                    warned,
                    Case::skipped("G4", "not passed"),
                ],
            }],
        )
    }

    #[test]
    fn summary_counts() {
        let d = doc();
        assert_eq!(
            (d.summary.cases, d.summary.failed, d.summary.skipped),
            (4, 1, 1)
        );
        assert_eq!((d.summary.errors, d.summary.warnings), (1, 1));
        assert!(!d.ok());
    }

    #[test]
    fn github_escapes_properties_and_data() {
        let text = github(&doc());
        assert!(text.contains("::error file=essays/x%2C y%3Az.md,line=3,col=4,title=orch verify%3A run_1 G2 Research (modified)::a <b> & \"c\"%0Anext"), "{text}");
        assert!(
            text.contains(
                "::warning title=orch verify%3A run_1 G3 (contract_changed)::50%25 changed"
            ),
            "{text}"
        );
    }

    #[test]
    fn junit_escapes() {
        let text = junit(&doc());
        assert!(
            text.contains("message=\"a &lt;b&gt; &amp; &quot;c&quot;\nnext\" type=\"modified\""),
            "{text}"
        );
        assert!(text.contains("<skipped message=\"not passed\"/>"), "{text}");
    }
}
