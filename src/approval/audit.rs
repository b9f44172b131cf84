//! `orch verify`'s approval checks for a passed gate: did the people it
//! needed really approve exactly these bytes? Reported: a gate needing
//! approval that has none, a signature that does not verify, a signer not
//! allowed by the trusted `allowed_signers`, a self-approval the workflow
//! forbids, fewer approvals than required, a verified rejection, and
//! approved outputs whose bytes changed since — for approvals of its
//! outputs, of its start and of an override. And a skill the attempt
//! recorded as vetted that no vetting of those bytes backs.
//!
//! What a gate needs is the strictest of the attempt record, the workflow
//! in the working tree and the workflow at the trusted revision: an agent
//! that deletes the requirement from the files it can edit gains nothing.
//!
//! What it reads from the trusted revision is reported to
//! `storage::watch` as facts (`TRUSTED_SIGNERS`, `TRUSTED_WORKFLOW` and a
//! path) that `fact` states again, so verify's cache sees them change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::policy::strictest;
use super::trust::{self, TrustedSigners};
use super::{Found, Scope, Tally, tally};
use crate::record::{ApprovalRequirement, Attempt, GateRecord, RunRecord};
use crate::repo::Repo;
use crate::report::findings::{Finding, Level};
use crate::storage::{layout, regular, watch};
use crate::workflow::Workflow;

/// A workflow as read (`None`: missing or broken), and the SHA-256 of its
/// text (`None`: missing).
type Parsed = (Option<Arc<Workflow>>, Option<String>);

/// The fact of the signers at the trusted revision (see `Audit::fact`).
pub const TRUSTED_SIGNERS: &str = "trusted-signers";
/// The prefix of the fact of a workflow at the trusted revision (its path follows).
pub const TRUSTED_WORKFLOW: &str = "trusted-workflow:";

/// Shared by every run one `orch verify` checks; loads what it needs once.
pub struct Audit<'r> {
    repo: &'r Repo,
    rev: Option<String>,
    trusted: OnceLock<Result<TrustedSigners, String>>,
    /// Workflows by (trusted?, path), parsed once, and what reading each
    /// looked at.
    workflows: Mutex<HashMap<(bool, String), (Parsed, watch::Seen)>>,
    /// Whether a vetting of (skill, content hash) verifies, judged once,
    /// and what judging it looked at.
    vetted: Mutex<HashMap<(String, String), (bool, watch::Seen)>>,
}

impl<'r> Audit<'r> {
    pub fn new(repo: &'r Repo, trusted_rev: Option<&str>) -> Self {
        Audit {
            repo,
            rev: trusted_rev.map(str::to_string),
            trusted: OnceLock::new(),
            workflows: Mutex::new(HashMap::new()),
            vetted: Mutex::new(HashMap::new()),
        }
    }

    fn trusted(&self) -> &Result<TrustedSigners, String> {
        watch::relied_on(TRUSTED_SIGNERS);
        self.trusted
            .get_or_init(|| trust::load(self.repo, self.rev.as_deref()).map_err(|e| e.to_string()))
    }

    /// A digest of the fact named `name` as it is now (see the module
    /// description), or `None` for a name this does not know.
    pub fn fact(&self, name: &str) -> Option<String> {
        if name == TRUSTED_SIGNERS {
            let said = match self.trusted() {
                Ok(t) => format!(
                    "{}\n{}\n{}\n{}",
                    t.rev,
                    t.weak,
                    t.missing,
                    t.sha256.as_deref().unwrap_or("-")
                ),
                Err(e) => format!("error: {e}"),
            };
            return Some(crate::hash::bytes(said.as_bytes()));
        }
        let path = name.strip_prefix(TRUSTED_WORKFLOW)?;
        let (_, sha) = self.read(true, path);
        Some(sha.unwrap_or_else(|| "-".to_string()))
    }

    /// The workflow a run follows, from the working tree or the trusted revision.
    fn workflow(&self, run: &RunRecord, trusted: bool) -> Option<Arc<Workflow>> {
        let path = run
            .workflow
            .path
            .clone()
            .unwrap_or_else(|| layout::workflow_candidates(&run.workflow.name)[0].clone());
        self.read(trusted, &path).0
    }

    /// The workflow at `path`, from the working tree or the trusted
    /// revision, read once. Every run that asks depends on what reading
    /// it looked at (the memory would hide it from verify's cache).
    fn read(&self, trusted: bool, path: &str) -> Parsed {
        let key = (trusted, path.to_string());
        if let Some((w, seen)) = self
            .workflows
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            seen.replay();
            return w;
        }
        let (parsed, seen) = watch::recording(|| self.read_afresh(trusted, path));
        if let Ok(mut map) = self.workflows.lock() {
            map.insert(key, (parsed.clone(), seen));
        }
        parsed
    }

    fn read_afresh(&self, trusted: bool, path: &str) -> Parsed {
        if trusted {
            watch::relied_on(&format!("{TRUSTED_WORKFLOW}{path}"));
        }
        let text = if trusted {
            match self.trusted() {
                Ok(t) if !t.missing => trust::show(self.repo, &t.rev, path).ok().flatten(),
                _ => None,
            }
        } else {
            self.repo
                .contain(path)
                .ok()
                .and_then(|p| regular::read_to_string(&p.abs).ok())
        };
        let sha = text.as_deref().map(|t| crate::hash::bytes(t.as_bytes()));
        let wf = text
            .and_then(|t| crate::workflow::parse(&t, path).ok())
            .map(Arc::new);
        (wf, sha)
    }

    fn requirement(
        &self,
        run: &RunRecord,
        g: &GateRecord,
        a: &Attempt,
    ) -> Option<ApprovalRequirement> {
        let has_uri = crate::ops::approval::has_uri(run, &g.gate, a.attempt);
        let policy = |trusted: bool| {
            self.workflow(run, trusted).and_then(|wf| {
                wf.gates
                    .iter()
                    .find(|wg| wg.gate == g.gate)
                    .and_then(|wg| wg.approval.as_ref())
                    .and_then(|p| p.requirement(has_uri))
            })
        };
        strictest(strictest(a.approval.clone(), policy(false)), policy(true))
    }

    /// What a passed attempt needed in `scope`. A start: what its record
    /// says, and, when an agent did the work, `human_approval` in either
    /// copy of the workflow. A review: what its record says.
    fn needed(
        &self,
        run: &RunRecord,
        g: &GateRecord,
        a: &Attempt,
        scope: Scope,
    ) -> Option<ApprovalRequirement> {
        match scope {
            Scope::Outputs => self.requirement(run, g, a),
            Scope::Override => a.review.clone(),
            Scope::Start => {
                // A person's own work needs no approval to start; an agent's
                // does, if either copy of the workflow says human_approval.
                let by_agent = run
                    .invocations
                    .iter()
                    .any(|i| i.command.is_some() && a.invocation_ids.contains(&i.id));
                let asked = |trusted: bool| {
                    if !by_agent {
                        return None;
                    }
                    self.workflow(run, trusted).and_then(|wf| {
                        wf.gates
                            .iter()
                            .find(|wg| wg.gate == g.gate)
                            .and_then(crate::recipe::level::start_policy)
                    })
                };
                strictest(
                    strictest(a.start_approval.clone(), asked(false)),
                    asked(true),
                )
            }
        }
    }

    /// The findings about the approvals of passed attempt `a` of gate `g`:
    /// of its start, its outputs and an override of its failure, each as
    /// far as it needed or has them.
    pub fn check(
        &self,
        run: &RunRecord,
        g: &GateRecord,
        a: &Attempt,
        found: &[Found],
        current: &dyn Fn(&str) -> Option<String>,
    ) -> Vec<Finding> {
        let files: Vec<&Found> = found
            .iter()
            .filter(|f| f.gate == g.gate && f.attempt == a.attempt)
            .collect();
        let mut out = Vec::new();
        for f in &files {
            if let Err(e) = &f.file {
                out.push(Finding::from_error(Level::Error, "approval_unreadable", e));
            }
        }
        let mut trust_said = false;
        for scope in [Scope::Start, Scope::Outputs, Scope::Override] {
            let requirement = self.needed(run, g, a, scope);
            let has_files = files
                .iter()
                .any(|f| f.file.as_ref().is_ok_and(|x| x.payload.scope == scope));
            if requirement.is_none() && !has_files {
                continue;
            }
            let trusted = match self.trusted() {
                Ok(t) => t,
                Err(e) => {
                    out.push(Finding::new(
                        Level::Error,
                        "approval_unverifiable",
                        format!("cannot read the trusted allowed_signers: {e}"),
                    ));
                    return out;
                }
            };
            if !std::mem::replace(&mut trust_said, true) {
                for w in trusted.warnings() {
                    out.push(Finding::new(Level::Warning, "approval_trust", w));
                }
            }
            let t = tally(
                found,
                run,
                &g.gate,
                a,
                scope,
                requirement,
                &trusted.signers,
                current,
            );
            out.extend(scope_findings(g, scope, &t, has_files));
        }
        out.extend(self.skills(g, a));
        out
    }

    /// A skill an attempt recorded as vetted has a vetting of exactly the
    /// bytes it ran with, by a signer allowed at the trusted revision: a
    /// record that claims more than the vettings show is reported.
    fn skills(&self, g: &GateRecord, a: &Attempt) -> Vec<Finding> {
        let claimed: Vec<&crate::record::SkillUse> =
            a.skills.iter().filter(|s| s.trust == "vetted").collect();
        if claimed.is_empty() {
            return Vec::new();
        }
        let Ok(trusted) = self.trusted() else {
            return Vec::new();
        };
        claimed
            .into_iter()
            .filter(|s| {
                let key = (s.id.clone(), s.sha256.clone());
                if let Some((known, seen)) =
                    self.vetted.lock().ok().and_then(|m| m.get(&key).cloned())
                {
                    seen.replay();
                    return !known;
                }
                let (holds, seen) = watch::recording(|| {
                    crate::skill::vetting::find(self.repo, &s.id)
                        .into_iter()
                        .filter_map(|f| f.file.ok())
                        .any(|f| {
                            crate::skill::vetting::check(f, &s.id, &s.sha256, &trusted.signers)
                                .valid()
                        })
                });
                if let Ok(mut m) = self.vetted.lock() {
                    m.insert(key, (holds, seen));
                }
                !holds
            })
            .map(|s| {
                Finding::new(
                    Level::Error,
                    "skill_not_vetted",
                    format!(
                        "{} ran at {} with skill `{}` recorded as vetted, and no vetting of its content {} verifies",
                        g.gate,
                        a.automation.as_deref().unwrap_or("?"),
                        s.id,
                        crate::skill::vetting::short(&s.sha256)
                    ),
                )
                .hint("vettings live in orchestration/skills/vettings/ and count when their signer is in allowed_signers at the trusted revision")
            })
            .collect()
    }
}

/// What is wrong with the approvals of one scope, counted in `t`.
fn scope_findings(g: &GateRecord, scope: Scope, t: &Tally, has_files: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let of = match scope {
        Scope::Outputs => "",
        Scope::Start => " of its start",
        Scope::Override => " of its override",
    };
    for c in &t.checked {
        for p in &c.problems {
            out.push(
                Finding::new(
                    Level::Error,
                    p.kind(),
                    format!(
                        "the {}{of} by {}: {p}",
                        match c.decision() {
                            super::Decision::Approved => "approval",
                            super::Decision::Rejected => "rejection",
                        },
                        c.file.payload.approver.display()
                    ),
                )
                .file(c.file.path.clone()),
            );
        }
    }
    if let Some(r) = t.rejection() {
        out.push(
            Finding::new(
                Level::Error,
                "approval_rejected",
                format!(
                    "{} passed, but {} rejected it{of}: {}",
                    g.gate,
                    r.file.payload.approver.display(),
                    r.file.payload.comment.as_deref().unwrap_or("")
                ),
            )
            .file(r.file.path.clone()),
        );
    }
    let need = t.needed();
    let have = u32::try_from(t.approvers().len()).unwrap_or(u32::MAX);
    if have < need {
        let what = match scope {
            Scope::Outputs => "passed without approval",
            Scope::Start => "started without approval",
            Scope::Override => "passed by an override without approval",
        };
        let (kind, message) = if has_files {
            (
                "approval_too_few",
                format!(
                    "{} has {have} verified approval(s){of} of the {need} it needs",
                    g.gate
                ),
            )
        } else {
            (
                "approval_missing",
                format!(
                    "{} {what}: it needs {need} signed approval(s) and has none",
                    g.gate
                ),
            )
        };
        out.push(Finding::new(Level::Error, kind, message).hint(
            "a person on allowed_signers approves with `orch approve` (and CI reads allowed_signers from the trusted revision)",
        ));
    }
    out
}
