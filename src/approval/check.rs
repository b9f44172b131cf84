//! Checking approvals in-process, with no ssh-keygen: the SSHSIG signature
//! over the payload's canonical bytes, the signer against the trusted
//! `allowed_signers`, the payload against the attempt it names, and the
//! approved bytes against the tree. The same checks serve `orch run
//! resume` (does the gate pass?), `orch verify` and `orch run show`.

use super::payload::{ApprovalFile, Decision, Scope, attempt_sha256};
pub use super::signed::{KeyInfo, Problem};
use super::signers::AllowedSigners;
use crate::record::{ApprovalRequirement, Attempt, RunRecord};

/// One approval, checked.
#[derive(Clone, Debug)]
pub struct Checked {
    pub file: ApprovalFile,
    pub key: Option<KeyInfo>,
    pub problems: Vec<Problem>,
}

impl Checked {
    pub fn verified(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn decision(&self) -> Decision {
        self.file.payload.decision
    }
}

/// What checking needs besides the approval.
pub struct Context<'a> {
    pub run: &'a RunRecord,
    pub gate: &'a str,
    pub attempt: &'a Attempt,
    pub requirement: Option<&'a ApprovalRequirement>,
    pub signers: &'a AllowedSigners,
    /// The SHA-256 of a repo-relative path now (`None`: missing or unreadable).
    pub current: &'a dyn Fn(&str) -> Option<String>,
}

/// Checks one approval of `ctx.attempt`.
pub fn check(file: ApprovalFile, ctx: &Context) -> Checked {
    let (key, problem) = file.authenticate(ctx.signers);
    let mut problems: Vec<Problem> = problem.into_iter().collect();
    let p = &file.payload;
    if p.run_id != ctx.run.run_id || p.gate != ctx.gate || p.attempt != ctx.attempt.attempt {
        problems.push(Problem::Mismatch(format!(
            "it approves run {} gate {} attempt {}, not this attempt",
            p.run_id, p.gate, p.attempt
        )));
    } else if p.scope == Scope::Start {
        if p.prompt_sha256.is_none() || p.prompt_sha256 != ctx.attempt.prompt_sha256 {
            problems.push(Problem::Mismatch(format!(
                "the prompt packet changed since the start was {}",
                p.decision.as_str()
            )));
        } else if p.skills != ctx.attempt.skills {
            problems.push(Problem::Mismatch(format!(
                "the gate's skills changed since the start was {}",
                p.decision.as_str()
            )));
        }
    } else if p.attempt_sha256 != attempt_sha256(ctx.attempt) {
        problems.push(Problem::Mismatch(format!(
            "the attempt record changed since it was {}",
            p.decision.as_str()
        )));
    } else {
        let recorded: Vec<(&str, &str)> = ctx
            .attempt
            .artifacts
            .iter()
            .filter_map(|a| Some((a.path.as_str(), a.sha256.as_deref()?)))
            .collect();
        let approved: Vec<(&str, &str)> = p
            .outputs
            .iter()
            .map(|o| (o.path.as_str(), o.sha256.as_str()))
            .collect();
        if recorded != approved {
            problems.push(Problem::Mismatch(
                "the outputs it approves are not the attempt's recorded outputs".into(),
            ));
        }
    }
    if p.decision == Decision::Approved {
        let changed: Vec<String> = p
            .outputs
            .iter()
            .filter(|o| (ctx.current)(&o.path).as_deref() != Some(o.sha256.as_str()))
            .map(|o| o.path.clone())
            .collect();
        if !changed.is_empty() {
            problems.push(Problem::OutputsChanged(changed));
        }
        if ctx.requirement.is_some_and(|r| !r.allow_self_approval)
            && is_self(ctx.run, ctx.attempt, &p.approver.email)
        {
            problems.push(Problem::SelfApproval);
        }
    }
    Checked {
        file,
        key,
        problems,
    }
}

/// Whether `email` ran the attempt or created the run.
pub fn is_self(run: &RunRecord, attempt: &Attempt, email: &str) -> bool {
    [attempt.started_by.as_ref(), run.created_by.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|a| a.email.as_deref())
        .any(|e| e.eq_ignore_ascii_case(email))
}

/// A gate attempt's approvals, counted.
#[derive(Clone, Debug)]
pub struct Tally {
    pub requirement: Option<ApprovalRequirement>,
    pub checked: Vec<Checked>,
}

impl Tally {
    /// Different people whose approval verified.
    pub fn approvers(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .checked
            .iter()
            .filter(|c| c.verified() && c.decision() == Decision::Approved)
            .map(|c| c.file.payload.approver.email.to_ascii_lowercase())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The first rejection that verified.
    pub fn rejection(&self) -> Option<&Checked> {
        self.checked
            .iter()
            .find(|c| c.verified() && c.decision() == Decision::Rejected)
    }

    pub fn needed(&self) -> u32 {
        self.requirement.as_ref().map_or(0, |r| r.min_approvals)
    }

    pub fn satisfied(&self) -> bool {
        self.rejection().is_none()
            && u32::try_from(self.approvers().len()).unwrap_or(u32::MAX) >= self.needed()
    }
}
