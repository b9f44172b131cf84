//! One report model for `lint` and `verify`, rendered four ways: for people,
//! as JSON, as JUnit XML (one testsuite per group, one testcase per case),
//! and as GitHub Actions annotations with a Markdown step summary. Every
//! format is fed by the same `Document`, so they cannot disagree.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::ui::{Style, Ui, sanitize_line};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

/// One thing found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    /// Nothing to check (a gate that has not passed), with why.
    Skipped,
}

/// One thing checked: a gate of a run, or a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

impl Summary {
    /// Counts one more group.
    pub fn count(&mut self, g: &Group) {
        self.groups += 1;
        for c in &g.cases {
            self.cases += 1;
            match c.outcome {
                Outcome::Failed => self.failed += 1,
                Outcome::Skipped => self.skipped += 1,
                Outcome::Passed => {}
            }
            for f in &c.findings {
                match f.level {
                    Level::Error => self.errors += 1,
                    Level::Warning => self.warnings += 1,
                }
            }
        }
    }
}

impl Document {
    pub fn new(tool: &str, groups: Vec<Group>) -> Self {
        let mut summary = Summary::default();
        for g in &groups {
            summary.count(g);
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

/// A report written group by group, so `verify` over 100,000 runs never
/// holds every group in memory: the summary is counted as groups arrive,
/// and the rendered groups wait in a spooled temporary file (memory first,
/// disk past a few MB) for the formats that put the summary first.
pub struct Report {
    tool: String,
    format: Format,
    ui: Ui,
    summary: Summary,
    body: tempfile::SpooledTempFile,
    /// Rows of the GitHub step summary's table (the first `STEP_ROWS`).
    rows: Vec<String>,
}

/// The step summary lists this many findings at most (GitHub shows 1 MiB).
const STEP_ROWS: usize = 1000;

impl Report {
    pub fn new(tool: &str, format: Format, ui: &Ui) -> Report {
        Report {
            tool: tool.to_string(),
            format,
            ui: ui.clone(),
            summary: Summary::default(),
            body: tempfile::spooled_tempfile(8 << 20),
            rows: Vec::new(),
        }
    }

    /// Counts and renders one group.
    pub fn add(&mut self, g: &Group) -> std::io::Result<()> {
        let first = self.summary.groups == 0;
        self.summary.count(g);
        for c in &g.cases {
            for f in &c.findings {
                if self.rows.len() <= STEP_ROWS {
                    self.rows.push(step_row(g, c, f));
                }
            }
        }
        let text = match self.format {
            Format::Human { quiet } => human_group(g, &self.ui, quiet),
            Format::Json => {
                let mut text = String::from(if first { "\n" } else { ",\n" });
                let pretty = crate::json::to_pretty_string(g);
                for line in pretty.trim_end().lines() {
                    let _ = writeln!(text, "    {line}");
                }
                text.pop();
                text
            }
            Format::Junit => junit_group(g),
            Format::Github => github_group(&self.tool, g),
        };
        std::io::Write::write_all(&mut self.body, text.as_bytes())
    }

    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// No errors found.
    pub fn ok(&self) -> bool {
        self.summary.errors == 0
    }

    /// Writes the whole report.
    pub fn write_to(&mut self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        use std::io::Seek;
        let s = &self.summary;
        let (head, tail) = match self.format {
            Format::Human { .. } => {
                let verdict = if self.ok() {
                    self.ui.paint(Style::Pass, "ok")
                } else {
                    self.ui.paint(Style::Fail, "FAILED")
                };
                let tail = format!(
                    "{}: {verdict}: {} checked, {} failed, {} skipped; {}, {}\n",
                    self.tool,
                    s.cases,
                    s.failed,
                    s.skipped,
                    count(s.errors, "error"),
                    count(s.warnings, "warning")
                );
                (String::new(), tail)
            }
            Format::Json => {
                let summary = crate::json::to_pretty_string(s);
                let head = format!(
                    "{{\n  \"tool\": {},\n  \"summary\": {},\n  \"groups\": [",
                    serde_json::Value::from(self.tool.as_str()),
                    summary.trim_end().replace('\n', "\n  ")
                );
                let tail = if s.groups == 0 {
                    "]\n}\n"
                } else {
                    "\n  ]\n}\n"
                };
                (head, tail.to_string())
            }
            Format::Junit => (
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"orch {}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n",
                    xml(&self.tool),
                    s.cases,
                    s.failed,
                    s.skipped
                ),
                "</testsuites>\n".to_string(),
            ),
            Format::Github => (
                String::new(),
                format!(
                    "orch {}: {} checked, {} failed; {}, {}\n",
                    self.tool,
                    s.cases,
                    s.failed,
                    count(s.errors, "error"),
                    count(s.warnings, "warning")
                ),
            ),
        };
        out.write_all(head.as_bytes())?;
        self.body.rewind()?;
        std::io::copy(&mut self.body, out)?;
        out.write_all(tail.as_bytes())
    }

    /// The Markdown appended to `$GITHUB_STEP_SUMMARY`.
    pub fn step_summary(&self) -> String {
        let s = &self.summary;
        let mut out = format!("### orch {}\n\n", self.tool);
        if self.ok() {
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
        if !self.rows.is_empty() {
            out.push_str("| | Where | Check | Finding |\n|---|---|---|---|\n");
            for row in self.rows.iter().take(STEP_ROWS) {
                out.push_str(row);
            }
            let all = s.errors + s.warnings;
            if all > STEP_ROWS {
                let _ = writeln!(out, "| | | | … and {} more |", all - STEP_ROWS);
            }
            out.push('\n');
        }
        out
    }
}

fn step_row(g: &Group, c: &Case, f: &Finding) -> String {
    let icon = if f.level == Level::Error {
        "❌"
    } else {
        "⚠️"
    };
    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
    format!(
        "| {icon} | {} | {} | {}: {} |\n",
        cell(&g.name),
        cell(&c.name),
        cell(&f.kind),
        cell(&f.message)
    )
}

fn location(f: &Finding) -> String {
    match (&f.file, f.line, f.column) {
        (Some(file), Some(l), Some(c)) => format!("{file}:{l}:{c}: "),
        (Some(file), Some(l), None) => format!("{file}:{l}: "),
        (Some(file), None, _) => format!("{file}: "),
        (None, ..) => String::new(),
    }
}

fn human_group(g: &Group, ui: &Ui, quiet: bool) -> String {
    let mut out = String::new();
    let shown = |c: &&Case| !quiet || !c.findings.is_empty();
    if !g.cases.iter().any(|c| shown(&c)) {
        return out;
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

fn junit_group(g: &Group) -> String {
    let mut out = String::new();
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

fn github_group(tool: &str, g: &Group) -> String {
    let mut out = String::new();
    for c in &g.cases {
        for f in &c.findings {
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
                gh_property(&format!("orch {tool}: {} {} ({})", g.name, c.name, f.kind))
            ));
            let _ = writeln!(
                out,
                "::{command} {}::{}",
                props.join(","),
                gh_data(&f.message)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(doc: &Document, format: Format, ui: &Ui) -> String {
        let mut report = Report::new(&doc.tool, format, ui);
        for g in &doc.groups {
            report.add(g).unwrap();
        }
        let mut out = Vec::new();
        report.write_to(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

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
        let text = render(&doc(), Format::Github, &Ui::plain());
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
        let text = render(&doc(), Format::Junit, &Ui::plain());
        assert!(
            text.contains("message=\"a &lt;b&gt; &amp; &quot;c&quot;\nnext\" type=\"modified\""),
            "{text}"
        );
        assert!(text.contains("<skipped message=\"not passed\"/>"), "{text}");
    }
}
