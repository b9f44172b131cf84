//! `orch approve`, `orch reject` and `orch approvals`.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use serde_json::{Value, json};

use crate::approval::{Decision, Tally};
use crate::error::Result;
use crate::ops::approval::{self, AttemptApprovals, DecideOptions, Settled};
use crate::repo::Repo;
use crate::report::pad;
use crate::ui::{Style, Ui, sanitize_line};
use crate::{env, exit, json};

/// Where `allowed_signers` is read from.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// The git revision whose orchestration/allowed_signers says who may
    /// approve (default: the remote's default branch, else HEAD with a warning).
    #[arg(long, value_name = "REV", env = env::TRUSTED_REV)]
    pub trusted_rev: Option<String>,
}

/// Which gate, and how the decision is signed.
#[derive(Debug, Args)]
pub struct DecisionArgs {
    /// Run id, or any unique prefix or suffix of one.
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// The gate awaiting approval.
    #[arg(long, value_name = "GATE")]
    pub gate: String,
    /// The SSH key to sign with: a private key, or the public key of one held
    /// by ssh-agent or a hardware token (default: git's user.signingkey).
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub decision: DecisionArgs,
    /// A comment, kept (and signed) with the approval.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

#[derive(Debug, Args)]
pub struct RejectArgs {
    #[command(flatten)]
    pub decision: DecisionArgs,
    /// Why: the attempt fails with it, and the next attempt's packet says it.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct ApprovalsArgs {
    /// Only gates still awaiting approval.
    #[arg(long)]
    pub pending: bool,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Print the list as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn approve(args: ApproveArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    decide(repo, ui, args.decision, Decision::Approved, args.comment)
}

pub fn reject(args: RejectArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    decide(
        repo,
        ui,
        args.decision,
        Decision::Rejected,
        Some(args.reason),
    )
}

fn decide(
    repo: &Repo,
    ui: &Ui,
    args: DecisionArgs,
    decision: Decision,
    comment: Option<String>,
) -> Result<u8> {
    let as_json = args.json;
    let opts = DecideOptions {
        run: args.run,
        gate: args.gate,
        decision,
        comment,
        key: args.key,
        trusted_rev: args.trust.trusted_rev,
    };
    let done = approval::decide(repo, &opts)?;
    for w in &done.warnings {
        ui.warn(&sanitize_line(w));
    }
    let resume = crate::ui::resume_command(&done.run_id);
    if as_json {
        let (state, detail) = settled_json(&done.settled);
        ui.out(&json::to_pretty_string(&json!({
            "run_id": done.run_id,
            "gate": done.gate,
            "attempt": done.attempt,
            "decision": opts.decision.as_str(),
            "scope": done.scope,
            "file": done.path,
            "gate_status": state,
            "detail": detail,
            "warnings": done.warnings,
        })));
        return Ok(exit::SUCCESS);
    }
    let what = match done.scope {
        crate::approval::Scope::Outputs => String::new(),
        crate::approval::Scope::Start => " (its start)".to_string(),
        crate::approval::Scope::Override => " (an override of its failure)".to_string(),
    };
    ui.line(&format!(
        "{} {} attempt {}{what}: recorded in {}",
        opts.decision.as_str(),
        done.gate,
        done.attempt,
        done.path
    ));
    match &done.settled {
        Settled::Passed { approvers } => {
            ui.note(&format!(
                "{} passed (approved by {}); continue with: {resume}",
                done.gate,
                approvers.join(", ")
            ));
        }
        Settled::Started { approvers } => {
            ui.note(&format!(
                "{} may start (approved by {}); run its agent with: {resume}",
                done.gate,
                approvers.join(", ")
            ));
        }
        Settled::Rejected { reason } => {
            ui.note(&format!(
                "{} failed: {}; `{resume}` retries it (the agent is told why)",
                done.gate,
                sanitize_line(reason)
            ));
        }
        Settled::Waiting { have, need, .. } => {
            ui.note(&format!(
                "{} still awaits approval: {have} of {need} verified approval(s)",
                done.gate
            ));
        }
    }
    ui.note("commit the record so reviewers and CI see it");
    Ok(exit::SUCCESS)
}

fn settled_json(s: &Settled) -> (&'static str, Value) {
    match s {
        Settled::Passed { approvers } => ("PASS", json!({ "approvers": approvers })),
        Settled::Started { approvers } => ("RUNNING", json!({ "approvers": approvers })),
        Settled::Rejected { reason } => ("FAIL", json!({ "reason": reason })),
        Settled::Waiting {
            have,
            need,
            problems,
        } => (
            "AWAITING_APPROVAL",
            json!({ "have": have, "need": need, "problems": problems }),
        ),
    }
}

pub fn list(args: &ApprovalsArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let (items, warnings) = approval::list(repo, args.pending, args.trust.trusted_rev.as_deref())?;
    // Only worth saying when there is an approval to judge.
    if items.iter().any(|i| !i.tally.checked.is_empty()) {
        for w in &warnings {
            ui.warn(w);
        }
    }
    if args.json {
        let out: Vec<Value> = items.iter().map(item_json).collect();
        ui.out(&json::to_pretty_string(&out));
        return Ok(exit::SUCCESS);
    }
    if items.is_empty() {
        ui.note(if args.pending {
            "nothing awaits approval"
        } else {
            "no gate has needed approval yet"
        });
        return Ok(exit::SUCCESS);
    }
    let rows: Vec<[String; 5]> = items
        .iter()
        .map(|i| {
            [
                i.run_id.clone(),
                match i.scope {
                    crate::approval::Scope::Outputs => format!("{} #{}", i.gate, i.attempt),
                    scope => format!("{} #{} ({})", i.gate, i.attempt, scope.as_str()),
                },
                state(i),
                approvers(&i.tally),
                i.outputs_uri.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let headers = ["RUN", "GATE", "STATUS", "APPROVED BY", "OUTPUTS"];
    let widths: Vec<usize> = (0..5)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([headers[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| pad(&sanitize_line(c), *w))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let header: Vec<String> = headers.iter().map(|h| (*h).to_string()).collect();
    let _ = writeln!(out, "{}", ui.paint(Style::Bold, &line(&header)));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    ui.out(&out);
    if let Some(p) = items.iter().find(|i| i.pending) {
        ui.note(&format!(
            "approve with: {} [--comment \"…\"]",
            crate::ui::orch_command(&format!("approve --run {} --gate {}", p.run_id, p.gate))
        ));
    }
    Ok(exit::SUCCESS)
}

/// `pending`, `approved` or `rejected` (the seed's approval states), else
/// the attempt's status (an approval recorded on an attempt that failed).
fn approval_state(i: &AttemptApprovals) -> String {
    if i.pending {
        "pending".to_string()
    } else if i.tally.rejection().is_some() {
        "rejected".to_string()
    } else if i.status == crate::record::AttemptStatus::Pass
        || (i.scope != crate::approval::Scope::Outputs
            && !i.tally.approvers().is_empty()
            && i.tally.satisfied())
    {
        "approved".to_string()
    } else {
        i.status.as_str().to_ascii_lowercase()
    }
}

/// The state, with the count while pending (`pending 0/1`).
fn state(i: &AttemptApprovals) -> String {
    let s = approval_state(i);
    if i.pending {
        format!("{s} {}/{}", i.tally.approvers().len(), i.tally.needed())
    } else {
        s
    }
}

fn approvers(t: &Tally) -> String {
    let list = t.approvers();
    if list.is_empty() {
        "-".to_string()
    } else {
        list.join(", ")
    }
}

fn item_json(i: &AttemptApprovals) -> Value {
    json!({
        "run_id": i.run_id,
        "workflow": i.workflow,
        "slug": i.slug,
        "gate": i.gate,
        "attempt": i.attempt,
        "scope": i.scope,
        "approval_state": approval_state(i),
        "status": i.status,
        "outputs_uri": i.outputs_uri,
        "min_approvals": i.tally.needed(),
        "approved_by": i.tally.approvers(),
        "approvals": i.tally.checked.iter().map(checked_json).collect::<Vec<_>>(),
    })
}

/// One approval as `--json` shows it (also used by `orch run show --json`).
pub fn checked_json(c: &crate::approval::Checked) -> Value {
    let p = &c.file.payload;
    json!({
        "file": c.file.path,
        "approver": p.approver,
        "decision": p.decision,
        "comment": p.comment,
        "signed_at": p.signed_at,
        "key_type": c.key.as_ref().map(|k| k.kind.clone()),
        "key_fingerprint": c.key.as_ref().map(|k| k.fingerprint.clone()),
        "hardware_key": c.key.as_ref().is_some_and(|k| k.hardware),
        "touched": c.key.as_ref().and_then(|k| k.touched),
        "verified": c.verified(),
        "problems": c.problems.iter().map(|p| json!({"kind": p.kind(), "message": p.to_string()})).collect::<Vec<_>>(),
    })
}
