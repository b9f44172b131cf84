//! What a pipeline shows while it runs. On a terminal: a spinner per agent
//! with the gate, attempt, elapsed time and the agent's last line. Without
//! one (CI): plain lines. Gate reports are the same as `gate finish`'s.

use std::fmt::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::ops::pipeline::{Doer, Observer, Progress};
use crate::report::gate::{Heading, render};
use crate::ui::{Style, Ui, command_line, sanitize_line};

pub struct ProgressView<'u> {
    ui: &'u Ui,
    json: bool,
    tty: bool,
    bar: Option<ProgressBar>,
    label: String,
}

impl<'u> ProgressView<'u> {
    pub fn new(ui: &'u Ui, json: bool) -> Self {
        use std::io::IsTerminal;
        ProgressView {
            ui,
            json,
            tty: !json && std::io::stderr().is_terminal(),
            bar: None,
            label: String::new(),
        }
    }

    fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| self.ui.note(text)),
            None => self.ui.note(text),
        }
    }

    fn clear_bar(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for ProgressView<'_> {
    fn drop(&mut self) {
        self.clear_bar();
    }
}

impl Observer for ProgressView<'_> {
    fn on(&mut self, event: &Progress) {
        match event {
            Progress::Started {
                run_id,
                gates,
                resumed,
                took_over,
            } => {
                let verb = if *resumed { "resuming" } else { "running" };
                let noun = if *gates == 1 { "gate" } else { "gates" };
                self.note(&format!("{verb} {run_id} ({gates} {noun})"));
                if let Some(why) = took_over {
                    self.ui.warn(&format!("took the run over: {why}"));
                }
            }
            Progress::GateStarted {
                gate,
                name,
                attempt,
                agent,
                by,
                packet,
            } => {
                self.label = format!("{gate} · attempt {attempt}");
                let how = match by {
                    Doer::Person => "a person".to_string(),
                    Doer::Command(argv) => format!("`{}`", command_line(argv)),
                };
                let title = format!("▸ {gate} {name} · attempt {attempt} · {agent} ({how})");
                self.note(&self.ui.paint(Style::Bold, &title));
                self.note(&format!("  packet: {packet}"));
            }
            Progress::AgentStarted { pid, .. } => {
                if self.tty {
                    let bar = ProgressBar::new_spinner();
                    bar.set_style(
                        ProgressStyle::with_template("  {spinner} {prefix} {elapsed} {wide_msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_prefix(self.label.clone());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    self.bar = Some(bar);
                } else {
                    self.note(&format!("  agent started (pid {pid})"));
                }
            }
            Progress::AgentOutput { line } => {
                if let Some(bar) = &self.bar {
                    let line: String = sanitize_line(line).chars().take(160).collect();
                    bar.set_message(line);
                }
            }
            Progress::AgentFinished { invocation, .. } => {
                self.clear_bar();
                let ms = invocation.duration_ms.unwrap_or(0);
                let secs = format!("{}.{}", ms / 1000, (ms % 1000) / 100);
                let mut line = format!("  agent {} in {secs}s", invocation.status);
                if let Some(u) = &invocation.usage {
                    let _ = write!(
                        line,
                        ", {} in / {} out tokens",
                        u.input_tokens, u.output_tokens
                    );
                }
                if let Some(c) = invocation
                    .cost
                    .as_ref()
                    .and_then(|c| c.usd.map(|usd| (usd, &c.source)))
                {
                    let _ = write!(line, ", ${:.4} ({})", c.0, c.1);
                }
                if let Some(r) = &invocation.reported {
                    let _ = write!(line, ", reported {}", r.status);
                }
                self.note(&line);
                if let Some(e) = &invocation.error {
                    self.ui.warn(&format!("agent failed: {}", sanitize_line(e)));
                }
                if invocation.output.as_ref().is_some_and(|o| o.truncated) {
                    self.ui.warn(
                        "agent output was larger than the limit; the log keeps the beginning",
                    );
                }
            }
            Progress::Continuing { gate, reason } => {
                self.note(&format!(
                    "  {gate}: the agent asked to continue ({})",
                    sanitize_line(reason)
                ));
            }
            Progress::Evaluated {
                gate,
                name,
                attempt,
                depth,
                evaluation,
                failure,
            } => {
                let report = render(
                    self.ui,
                    &Heading {
                        gate,
                        name: Some(name),
                        attempt: Some(*attempt),
                        depth,
                    },
                    evaluation,
                    &[],
                );
                if self.json {
                    eprint!("{report}");
                } else {
                    self.ui.out(&report);
                }
                if let Some(f) = failure.filter(|_| evaluation.passed) {
                    self.ui
                        .warn(&format!("{gate} failed anyway: {}", sanitize_line(f)));
                }
            }
            Progress::ValidatedOnly { gate, passed } => {
                let verdict = if *passed { "passes" } else { "does not pass" };
                self.note(&format!(
                    "  {gate} validated without running it (--start-from): {verdict}"
                ));
            }
            Progress::Retrying { gate, reason } => {
                self.note(&format!("↻ retrying {gate}: {}", sanitize_line(reason)));
            }
            Progress::Rewinding { from, to, reason } => {
                self.note(&format!(
                    "↺ {from} failed; going back to {to} (retry_from): {}",
                    sanitize_line(reason)
                ));
            }
            Progress::Skipping { gate } => {
                self.ui
                    .warn(&format!("{gate} failed but is not blocking; going on"));
            }
            Progress::AwaitingStart { gate, reason } => {
                self.ui.warn(&format!(
                    "{gate} waits for a signed approval before its agent starts: {}",
                    sanitize_line(reason)
                ));
            }
            Progress::GateSkipped { gate, reason } => {
                self.note(&format!("▸ {gate} SKIPPED: {}", sanitize_line(reason)));
            }
            Progress::Notified { delivery } => match delivery.status {
                crate::notify::Status::Delivered => {
                    self.note(&format!("  {}", delivery.describe()));
                }
                crate::notify::Status::Pending => self.ui.warn(&delivery.describe()),
            },
            Progress::Warning { message } => self.ui.warn(&sanitize_line(message)),
        }
    }
}
