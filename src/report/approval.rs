//! How approvals and notifications read in `orch run show`: who decided
//! what, with which key, and which guarantee held (a signature that
//! verifies against the trusted allowed_signers; a hardware key is the
//! strongest, since it needs the device and, by default, a touch).

use std::fmt::Write;

use crate::approval::{Checked, Decision};
use crate::notify::{Delivery, Status};
use crate::ops::approval::AttemptApprovals;
use crate::ui::{Style, Ui, sanitize_line};

/// The `approvals` section.
pub fn render(ui: &Ui, items: &[AttemptApprovals], trust_warnings: &[String]) -> String {
    let mut out = String::new();
    if items.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\napprovals");
    for w in trust_warnings {
        let _ = writeln!(out, "  {}", ui.paint(Style::Warn, &sanitize_line(w)));
    }
    for i in items {
        let have = i.tally.approvers().len();
        let state = if i.pending {
            format!("pending, {have} of {} verified", i.tally.needed())
        } else {
            format!("{}, {have} of {} verified", i.status, i.tally.needed())
        };
        let scope = match i.scope {
            crate::approval::Scope::Outputs => String::new(),
            other => format!(" ({})", other.as_str()),
        };
        let _ = writeln!(out, "  {} #{}{scope}  {state}", i.gate, i.attempt);
        if let Some(uri) = &i.outputs_uri {
            let _ = writeln!(out, "      outputs {}", sanitize_line(uri));
        }
        for c in &i.tally.checked {
            out.push_str(&line(ui, c));
        }
    }
    out
}

fn line(ui: &Ui, c: &Checked) -> String {
    let p = &c.file.payload;
    let decision = match p.decision {
        Decision::Approved => ui.paint(Style::Pass, "approved"),
        Decision::Rejected => ui.paint(Style::Fail, "rejected"),
    };
    let key = c.key.as_ref().map_or_else(
        || "unknown key".to_string(),
        |k| {
            let kind = match (k.hardware, k.touched) {
                (true, Some(true)) => format!("{}, hardware key, touched", k.kind),
                (true, _) => format!("{}, hardware key, no touch", k.kind),
                (false, _) => format!("{}, key file or agent", k.kind),
            };
            format!("{kind} {}", k.fingerprint)
        },
    );
    let verdict = if c.verified() {
        ui.paint(Style::Pass, "verified").into_owned()
    } else {
        ui.paint(Style::Fail, "NOT verified").into_owned()
    };
    let mut out = format!(
        "      {decision} by {} at {}\n        {verdict}: {}\n",
        sanitize_line(&p.approver.display()),
        p.signed_at,
        sanitize_line(&key)
    );
    if let Some(comment) = &p.comment {
        let _ = writeln!(out, "        \"{}\"", sanitize_line(comment));
    }
    for problem in &c.problems {
        let _ = writeln!(out, "        ✗ {}", sanitize_line(&problem.to_string()));
    }
    out
}

/// The `notifications` section.
pub fn render_notifications(ui: &Ui, deliveries: &[Delivery]) -> String {
    let mut out = String::new();
    if deliveries.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nnotifications");
    for d in deliveries {
        let gate = d
            .gate
            .as_deref()
            .map(|g| format!(" {g}"))
            .unwrap_or_default();
        let how = match d.status {
            Status::Delivered => ui
                .paint(
                    Style::Pass,
                    &format!(
                        "delivered (HTTP {}) at {}",
                        d.status_code.unwrap_or(0),
                        d.notified_at.as_deref().unwrap_or("?")
                    ),
                )
                .into_owned(),
            Status::Pending => ui
                .paint(
                    Style::Warn,
                    &format!(
                        "pending after {} request(s): {}",
                        d.attempts,
                        d.error.as_deref().unwrap_or("not sent")
                    ),
                )
                .into_owned(),
        };
        let _ = writeln!(
            out,
            "  {}{gate} → {}  {}",
            d.event.as_str(),
            sanitize_line(&d.target),
            sanitize_line(&how)
        );
    }
    out
}
