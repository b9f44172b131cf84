//! What a notification says. The `json` format carries the facts a
//! receiver acts on; the `slack` format is one line of text.
//!
//! ```json
//! {"type": "orch.awaiting_approval", "event": "awaiting_approval",
//!  "run_id": "run_…", "workflow": "nightly", "slug": "2026-01-19", "task": null,
//!  "gate": "deps", "status": "AWAITING_APPROVAL",
//!  "outputs_uri": "https://github.com/o/r/pull/7", "log_excerpt": "…",
//!  "command": "orch approve --run run_… --gate deps", "timestamp": "…"}
//! ```

use std::fmt::Write;

use serde_json::{Value, json};

use super::Event;
use super::config::Format;
use crate::clock;
use crate::record::RunRecord;

/// A notification's content, before it is put in a format.
#[derive(Clone, Debug)]
pub struct Message {
    pub payload: Value,
    pub text: String,
}

impl Message {
    /// The request body for a target's format.
    pub fn body(&self, format: Format) -> Vec<u8> {
        let value = match format {
            Format::Json => self.payload.clone(),
            Format::Slack => json!({ "text": self.text }),
        };
        serde_json::to_vec(&value).expect("JSON serialises")
    }
}

/// The message for `event` on `run` (at `gate`, when there is one).
pub fn build(run: &RunRecord, event: Event, gate: Option<&str>) -> Message {
    let id = &run.run_id;
    let g = gate.and_then(|g| run.gate(g));
    let command = match (event, gate) {
        (Event::AwaitingApproval, Some(gate)) => format!("orch approve --run {id} --gate {gate}"),
        (Event::Passed | Event::GatePassed, _) => format!("orch run show --run {id}"),
        _ => format!("orch run resume --run {id}"),
    };
    let outputs_uri = g.and_then(|g| g.outputs_uri.clone());
    let excerpt = log_excerpt(run, gate);
    let what = format!("{}/{}", run.workflow.name, run.workflow.slug);
    let at = gate.map(|g| format!(" at {g}")).unwrap_or_default();
    let mut text = match event {
        Event::AwaitingApproval => format!("orch: {what}{at} is awaiting approval"),
        Event::AwaitingInput => format!("orch: {what}{at} is waiting for a person"),
        Event::Failed => format!("orch: {what} failed{at}"),
        Event::Blocked => format!("orch: {what} is blocked{at}"),
        Event::Passed => format!("orch: {what} passed"),
        Event::Rescued => format!("orch: {what} was taken over from a stale owner"),
        Event::GatePassed => format!("orch: {what}{at} passed; the run goes on"),
    };
    if let Some(reason) = g
        .and_then(|g| g.latest())
        .and_then(|a| a.failure_reason.as_deref())
        .filter(|_| matches!(event, Event::Failed | Event::Blocked))
    {
        let _ = write!(text, ": {reason}");
    }
    if let Some(uri) = &outputs_uri {
        let _ = write!(text, " ({uri})");
    }
    let _ = write!(text, ". Run {id}: `{command}`");
    let payload = json!({
        "type": format!("orch.{}", event.as_str()),
        "event": event.as_str(),
        "run_id": id,
        "workflow": run.workflow.name,
        "slug": run.workflow.slug,
        "task": run.task,
        "gate": gate,
        "status": run.status,
        "outputs_uri": outputs_uri,
        "log_excerpt": excerpt,
        "command": command,
        "timestamp": clock::now_timestamp(),
    });
    Message { payload, text }
}

/// The excerpt of the gate's last invocation (else the run's last).
fn log_excerpt(run: &RunRecord, gate: Option<&str>) -> Option<String> {
    let inv = run
        .invocations
        .iter()
        .rev()
        .find(|i| gate.is_none_or(|g| i.gate == g))?;
    let e = inv.log_excerpt.as_ref()?;
    let mut parts = Vec::new();
    if !e.stdout.is_empty() {
        parts.push(e.stdout.clone());
    }
    if !e.stderr.is_empty() {
        parts.push(format!("stderr:\n{}", e.stderr));
    }
    Some(parts.join("\n"))
}

/// `orch notify test`: a sample that says what it is.
pub fn sample(target: &str) -> Message {
    let command = "orch notify test".to_string();
    Message {
        payload: json!({
            "type": "orch.test",
            "event": "test",
            "run_id": null,
            "workflow": null,
            "slug": null,
            "task": null,
            "gate": null,
            "status": null,
            "outputs_uri": null,
            "log_excerpt": null,
            "command": command,
            "timestamp": clock::now_timestamp(),
            "target": target,
        }),
        text: format!("orch: a test notification for target `{target}` (`{command}`)"),
    }
}
