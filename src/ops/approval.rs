//! `orch approve`, `orch reject`, `orch approvals`, and what `orch run
//! resume` does at a gate awaiting approval: sign a decision about exactly
//! what was produced, record it in the run, and let the gate pass once
//! enough verified approvals are there (or fail it on a rejection, after
//! which the normal retry rules apply).
//!
//! A gate awaits one of three things (`approval::Scope`): approval of its
//! outputs, approval to start its agent (`human_approval`, or skills that
//! are not vetted), or a person's review of its failure
//! (`on_fail: review_required`). The same commands decide all three; the
//! attempt says which is awaited, and the signed payload says which was
//! decided.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::approval::payload::{ApprovedOutput, Approver, PAYLOAD_TYPE, Scope};
use crate::approval::policy::strictest;
use crate::approval::trust::{self, TrustedSigners};
use crate::approval::{self, ApprovalFile, Decision, Found, Payload, Tally, check, payload, sign};
use crate::error::{Error, Result};
use crate::record::store::{RecordFile, Store, Txn};
use crate::record::{
    ApprovalRequirement, Attempt, AttemptStatus, Event, EventType, GateRecord, GateStatus,
    RunRecord,
};
use crate::repo::Repo;
use crate::{clock, env, hash};

/// `orch approve` / `orch reject`.
pub struct DecideOptions {
    pub run: String,
    pub gate: String,
    pub decision: Decision,
    /// The comment (approve) or the reason (reject).
    pub comment: Option<String>,
    /// Signing key; default git's `user.signingkey`.
    pub key: Option<PathBuf>,
    /// Where `allowed_signers` is read from (default: see `approval::trust`).
    pub trusted_rev: Option<String>,
}

/// Where a gate awaiting approval stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Enough verified approvals: the gate passed.
    Passed { approvers: Vec<String> },
    /// Enough verified approvals to start: the agent may run.
    Started { approvers: Vec<String> },
    /// A verified rejection failed the attempt.
    Rejected { reason: String },
    /// Still waiting; `problems` says why approvals that exist do not count.
    Waiting {
        have: u32,
        need: u32,
        problems: Vec<String>,
    },
}

/// What `decide` did.
pub struct Decided {
    pub run_id: String,
    pub gate: String,
    pub attempt: u32,
    /// What was decided: the outputs, the start, or an override.
    pub scope: Scope,
    /// The approval file, repo-relative.
    pub path: String,
    pub settled: Settled,
    /// Said when verification will not accept this signature (signer not allowed).
    pub warnings: Vec<String>,
}

/// Refuses to run inside an agent orch started: an agent must not approve
/// its own work. Friction, not the guarantee (see README, "Approvals").
pub fn refuse_inside_agent(what: &str) -> Result<()> {
    if std::env::var_os(env::IN_AGENT).is_some() {
        return Err(Error::conflict(format!(
            "`orch {what}` refuses to run inside an agent that orch started ({} is set)",
            env::IN_AGENT
        ))
        .hint("approvals are a person's decision: run it yourself, in your own terminal"));
    }
    Ok(())
}

/// Signs and records an approval or a rejection of a gate awaiting approval.
pub fn decide(repo: &Repo, opts: &DecideOptions) -> Result<Decided> {
    let verb = match opts.decision {
        Decision::Approved => "approve",
        Decision::Rejected => "reject",
    };
    refuse_inside_agent(verb)?;
    if opts.decision == Decision::Rejected {
        super::non_empty(
            "--reason",
            opts.comment.as_deref().unwrap_or(""),
            "say why; the agent's next attempt is told",
        )?;
    }
    let store = Store::new(repo);
    let id = store.resolve(&opts.run)?;
    let run = store.load(&id)?;
    run.ensure_open()?;
    let (g, a, scope) = awaiting(&run, &opts.gate)?;
    let approver = approver(repo)?;
    let requirement = requirement_for(repo, &run, g, a, scope);
    if opts.decision == Decision::Approved
        && requirement.as_ref().is_some_and(|r| !r.allow_self_approval)
        && check::is_self(&run, a, &approver.email)
    {
        return Err(Error::conflict(format!(
            "{} ran {} attempt {}, and its workflow does not allow approving one's own work",
            approver.display(),
            opts.gate,
            a.attempt
        ))
        .hint("ask another person on allowed_signers to approve it")
        .hint("or, if self-approval is acceptable, set \"allow_self_approval\": true in the gate's approval"));
    }
    let payload = build_payload(&run, g, a, scope, opts, approver);
    let key = sign::signing_key(repo, opts.key.as_deref())?;
    let signature = sign::sign(&key, payload::NAMESPACE, &payload.signed_bytes())?;
    let bytes = ApprovalFile::render(&payload, &signature);
    let file_id = payload.nonce[..12.min(payload.nonce.len())].to_string();
    let record_file = RecordFile::Approval {
        gate: opts.gate.clone(),
        attempt: a.attempt,
        id: file_id,
    };
    let rel = record_file.rel(&id);
    let new = ApprovalFile::parse(&String::from_utf8_lossy(&bytes), &rel)?;
    let trusted = trust::load(repo, opts.trusted_rev.as_deref())?;
    let mut warnings = trusted.warnings();
    let current = |path: &str| current_hash(repo, path);
    let mine = check::check(
        new.clone(),
        &check::Context {
            run: &run,
            gate: &g.gate,
            attempt: a,
            requirement: requirement.as_ref(),
            signers: &trusted.signers,
            current: &current,
        },
    );
    for p in &mine.problems {
        match p {
            approval::Problem::BadSignature(why) => {
                return Err(
                    Error::input(format!("the new signature does not verify: {why}"))
                        .hint("ssh-keygen signed something else; check the key"),
                );
            }
            other => warnings.push(format!(
                "this {} will not count: {other}",
                opts.decision.as_str()
            )),
        }
    }
    let digest = payload.attempt_sha256.clone();
    let settled = store.update(&id, |txn| {
        txn.run.ensure_open()?;
        let (_, current, _) = awaiting(&txn.run, &opts.gate)?;
        if current.attempt != a.attempt || payload::attempt_sha256(current) != digest {
            return Err(Error::conflict(format!(
                "{} changed while it was being signed",
                opts.gate
            ))
            .hint("run the command again"));
        }
        txn.write_file(record_file.clone(), bytes.clone());
        let who = new.payload.approver.display();
        let now = clock::now_timestamp();
        let what = match scope {
            Scope::Outputs => String::new(),
            other => format!(" ({})", other.as_str()),
        };
        let (kind, text) = match opts.decision {
            Decision::Approved => (
                EventType::ApprovalRecorded,
                format!(
                    "{} attempt {}{what} approved by {who}",
                    opts.gate, a.attempt
                ),
            ),
            Decision::Rejected => (
                EventType::GateRejected,
                format!(
                    "{} attempt {}{what} rejected by {who}",
                    opts.gate, a.attempt
                ),
            ),
        };
        txn.run
            .events
            .push(Event::new(&now, kind, text).gate(&opts.gate, Some(a.attempt)));
        let mut found = approval::find(repo, &id);
        found.push(Found {
            gate: opts.gate.clone(),
            attempt: a.attempt,
            file: Ok(new.clone()),
        });
        Ok(settle_in(txn, &opts.gate, &found, &trusted, repo))
    })?;
    Ok(Decided {
        run_id: id,
        gate: opts.gate.clone(),
        attempt: a.attempt,
        scope,
        path: rel,
        settled,
        warnings,
    })
}

/// For `orch run resume`: lets gate `gate` pass (or fail) if its approvals
/// now decide it.
pub fn settle(
    repo: &Repo,
    id: &str,
    gate: &str,
    trusted_rev: Option<&str>,
) -> Result<(Settled, Vec<String>)> {
    let trusted = trust::load(repo, trusted_rev)?;
    let found = approval::find(repo, id);
    let settled =
        Store::new(repo).update(id, |txn| Ok(settle_in(txn, gate, &found, &trusted, repo)))?;
    Ok((settled, trusted.warnings()))
}

/// Counts the approvals of `gate`'s attempt awaiting approval and, when
/// they decide it, passes, starts or fails it in `txn`.
fn settle_in(
    txn: &mut Txn,
    gate: &str,
    found: &[Found],
    trusted: &TrustedSigners,
    repo: &Repo,
) -> Settled {
    let Ok((g, a, scope)) = awaiting(&txn.run, gate) else {
        return Settled::Waiting {
            have: 0,
            need: 0,
            problems: vec![format!("{gate} is not awaiting approval")],
        };
    };
    let requirement = requirement_for(repo, &txn.run, g, a, scope);
    let current = |path: &str| current_hash(repo, path);
    let tally = approval::tally(
        found,
        &txn.run,
        gate,
        a,
        scope,
        requirement,
        &trusted.signers,
        &current,
    );
    let n = a.attempt;
    let now = clock::now_timestamp();
    if let Some(r) = tally.rejection() {
        let who = r.file.payload.approver.display();
        let why = r
            .file
            .payload
            .comment
            .as_deref()
            .unwrap_or("no reason given");
        let reason = match (scope, &a.failure_reason) {
            (Scope::Start, _) => format!("start rejected by {who}: {why}"),
            (Scope::Override, Some(failure)) => {
                format!("{failure}; the override was rejected by {who}: {why}")
            }
            _ => format!("rejected by {who}: {why}"),
        };
        if let Some(g) = txn.run.gate_mut(gate) {
            g.end_attempt(n, AttemptStatus::Fail, Some(reason.clone()), &now);
        }
        txn.touch(gate, n);
        txn.run.refresh_status();
        return Settled::Rejected { reason };
    }
    let approvers = tally.approvers();
    if tally.satisfied() {
        let by = approvers.join(", ");
        let (status, message) = match scope {
            Scope::Start => (
                AttemptStatus::Running,
                format!("Gate {gate} may start (attempt {n}), approved by {by}"),
            ),
            Scope::Override => (
                AttemptStatus::Pass,
                format!("Gate {gate} passed on attempt {n} by an override approved by {by}"),
            ),
            Scope::Outputs => (
                AttemptStatus::Pass,
                format!("Gate {gate} passed on attempt {n}, approved by {by}"),
            ),
        };
        if let Some(g) = txn.run.gate_mut(gate) {
            g.status = GateStatus::from(status.as_str().to_string());
            if let Some(a) = g.attempts.iter_mut().find(|a| a.attempt == n) {
                a.status = status.clone();
                let granted = match scope {
                    Scope::Start => a.start_approval.as_mut(),
                    Scope::Override => a.review.as_mut(),
                    Scope::Outputs => None,
                };
                if let Some(r) = granted {
                    r.granted_at = Some(now.clone());
                }
            }
        }
        let mut event = Event::new(&now, EventType::GateApproved, message).gate(gate, Some(n));
        event.status = Some(status.to_string());
        txn.run.events.push(event);
        txn.touch(gate, n);
        txn.run.refresh_status();
        return match scope {
            Scope::Start => Settled::Started { approvers },
            _ => Settled::Passed { approvers },
        };
    }
    txn.run.refresh_status();
    Settled::Waiting {
        have: u32::try_from(approvers.len()).unwrap_or(u32::MAX),
        need: tally.needed(),
        problems: tally
            .checked
            .iter()
            .flat_map(|c| {
                let who = c.file.payload.approver.email.clone();
                c.problems.iter().map(move |p| format!("{who}: {p}"))
            })
            .collect(),
    }
}

/// The gate, its attempt awaiting approval and what the approval is of,
/// or why there is none.
fn awaiting<'r>(run: &'r RunRecord, gate: &str) -> Result<(&'r GateRecord, &'r Attempt, Scope)> {
    let g = super::gate::gate_of(run, gate)?;
    match g.latest() {
        Some(a)
            if g.status == GateStatus::AwaitingApproval
                && a.status == AttemptStatus::AwaitingApproval =>
        {
            Ok((g, a, awaited_scope(a)))
        }
        _ => Err(Error::conflict(format!(
            "{gate} is not awaiting approval (it is {})",
            g.status
        ))
        .hint("`orch approvals --pending` lists the gates that wait for one")),
    }
}

/// What gate `gate` of `run` awaits approval of (its latest attempt's scope).
pub fn awaited(run: &RunRecord, gate: &str) -> Scope {
    run.gate(gate)
        .and_then(GateRecord::latest)
        .map_or(Scope::Outputs, awaited_scope)
}

/// What an attempt awaiting approval waits for.
pub fn awaited_scope(a: &Attempt) -> Scope {
    if a.awaits_start() {
        Scope::Start
    } else if a.awaits_review() {
        Scope::Override
    } else {
        Scope::Outputs
    }
}

/// Who is deciding: git's identity; the email is the signer's principal.
pub fn approver(repo: &Repo) -> Result<Approver> {
    let actor = super::actor(repo).unwrap_or_default();
    match actor.email {
        Some(email) if !email.trim().is_empty() => Ok(Approver {
            name: actor.name,
            email,
        }),
        _ => Err(Error::input("git has no user.email: an approval is signed in your name")
            .hint("git config user.email you@example.com (the address allowed_signers lists for your key)")),
    }
}

fn build_payload(
    run: &RunRecord,
    g: &GateRecord,
    a: &Attempt,
    scope: Scope,
    opts: &DecideOptions,
    approver: Approver,
) -> Payload {
    let start = scope == Scope::Start;
    Payload {
        kind: PAYLOAD_TYPE.to_string(),
        run_id: run.run_id.clone(),
        workflow: run.workflow.name.clone(),
        slug: run.workflow.slug.clone(),
        gate: g.gate.clone(),
        attempt: a.attempt,
        decision: opts.decision,
        scope,
        comment: opts.comment.clone().filter(|c| !c.trim().is_empty()),
        attempt_sha256: payload::attempt_sha256(a),
        outputs: if start {
            Vec::new()
        } else {
            a.artifacts
                .iter()
                .filter_map(|x| {
                    Some(ApprovedOutput {
                        path: x.path.clone(),
                        sha256: x.sha256.clone()?,
                    })
                })
                .collect()
        },
        outputs_uri: g.outputs_uri.clone().filter(|_| !start),
        prompt_sha256: a.prompt_sha256.clone().filter(|_| start),
        skills: if start { a.skills.clone() } else { Vec::new() },
        approver,
        signed_at: clock::now_timestamp(),
        nonce: payload::nonce(),
    }
}

/// What an attempt needs in `scope`: a start or a review, what its record
/// says; its outputs, see `requirement`.
pub fn requirement_for(
    repo: &Repo,
    run: &RunRecord,
    g: &GateRecord,
    a: &Attempt,
    scope: Scope,
) -> Option<ApprovalRequirement> {
    match scope {
        Scope::Outputs => requirement(repo, run, g, a),
        Scope::Start => a.start_approval.clone(),
        Scope::Override => a.review.clone(),
    }
}

/// What an attempt needs: the stricter of what was recorded when it
/// finished and what its workflow (as it is now) asks.
pub fn requirement(
    repo: &Repo,
    run: &RunRecord,
    g: &GateRecord,
    a: &Attempt,
) -> Option<ApprovalRequirement> {
    let from_workflow = super::run_workflow(repo, run)
        .ok()
        .and_then(|wf| wf.gate(&g.gate).ok().and_then(|wg| wg.approval.clone()))
        .and_then(|p| p.requirement(has_uri(run, &g.gate, a.attempt)));
    strictest(a.approval.clone(), from_workflow)
}

/// Whether an attempt's agent printed an outputs URI.
pub fn has_uri(run: &RunRecord, gate: &str, attempt: u32) -> bool {
    run.invocations
        .iter()
        .any(|i| i.gate == gate && i.attempt == Some(attempt) && i.outputs_uri.is_some())
}

/// The SHA-256 of a repo-relative file now.
pub fn current_hash(repo: &Repo, path: &str) -> Option<String> {
    let p = repo.contain(path).ok()?;
    hash::file(&p.abs).ok()
}

/// One gate attempt's approvals, for `orch approvals` and `orch run show`.
#[derive(Clone, Debug)]
pub struct AttemptApprovals {
    pub run_id: String,
    pub workflow: String,
    pub slug: String,
    pub gate: String,
    pub attempt: u32,
    /// What the approvals are of.
    pub scope: Scope,
    /// The attempt is AWAITING_APPROVAL, in this scope.
    pub pending: bool,
    pub status: AttemptStatus,
    pub outputs_uri: Option<String>,
    pub tally: Tally,
}

/// Every gate attempt of `run` that needs approval or has approvals, checked.
pub fn of_run(repo: &Repo, run: &RunRecord, trusted: &TrustedSigners) -> Vec<AttemptApprovals> {
    let found = approval::find(repo, &run.run_id);
    let with_files: BTreeSet<(String, u32, Scope)> = found
        .iter()
        .filter_map(|f| {
            Some((
                f.gate.clone(),
                f.attempt,
                f.file.as_ref().ok()?.payload.scope,
            ))
        })
        .collect();
    let current = |path: &str| current_hash(repo, path);
    let mut out = Vec::new();
    for g in &run.gates {
        for a in &g.attempts {
            for scope in [Scope::Start, Scope::Outputs, Scope::Override] {
                let asked = match scope {
                    Scope::Start => a.start_approval.is_some(),
                    Scope::Outputs => a.approval.is_some(),
                    Scope::Override => a.review.is_some(),
                };
                if !asked && !with_files.contains(&(g.gate.clone(), a.attempt, scope)) {
                    continue;
                }
                let requirement = requirement_for(repo, run, g, a, scope);
                out.push(AttemptApprovals {
                    run_id: run.run_id.clone(),
                    workflow: run.workflow.name.clone(),
                    slug: run.workflow.slug.clone(),
                    gate: g.gate.clone(),
                    attempt: a.attempt,
                    scope,
                    pending: a.status == AttemptStatus::AwaitingApproval
                        && awaited_scope(a) == scope,
                    status: a.status.clone(),
                    outputs_uri: g.outputs_uri.clone(),
                    tally: approval::tally(
                        &found,
                        run,
                        &g.gate,
                        a,
                        scope,
                        requirement,
                        &trusted.signers,
                        &current,
                    ),
                });
            }
        }
    }
    out
}

/// `orch approvals`: across every run, newest first.
pub fn list(
    repo: &Repo,
    pending_only: bool,
    trusted_rev: Option<&str>,
) -> Result<(Vec<AttemptApprovals>, Vec<String>)> {
    let trusted = trust::load(repo, trusted_rev)?;
    let store = Store::new(repo);
    let mut out = Vec::new();
    for id in store.ids()?.into_iter().rev() {
        let Ok(run) = store.load(&id) else { continue };
        out.extend(
            of_run(repo, &run, &trusted)
                .into_iter()
                .filter(|a| !pending_only || a.pending),
        );
    }
    Ok((out, trusted.warnings()))
}
