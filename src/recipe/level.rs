//! The automation level a gate really runs at: the lower of the gate's own
//! (`automation`, or its default) and what its skills' trust allows. Only
//! vetted skills may run without a person: a `fully_auto` or `auto_notify`
//! gate with a skill that is not vetted needs a signed approval to start,
//! and says which skill and why. A gate's skills are those its `steps` run
//! and the catalog skills (`skills/<id>`) its contract injects.

use std::cell::OnceCell;
use std::collections::HashMap;

use super::Automation;
use crate::approval::trust::{self, TrustedSigners};
use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::record::{ApprovalRequirement, SkillUse};
use crate::repo::Repo;
use crate::skill::{self, Trust};
use crate::workflow::WorkflowGate;

/// One skill as a recipe sees it.
#[derive(Clone, Debug)]
pub struct SkillStatus {
    pub id: String,
    pub found: bool,
    pub trust: Option<Trust>,
    /// Why it has its level (or why it cannot be read).
    pub why: String,
    pub sha256: Option<String>,
    /// `local`, or where it was imported from.
    pub source: String,
    /// Its SKILL.md has a description.
    pub described: bool,
}

/// Judges skills against the trusted signers, each once.
pub struct Judge<'r> {
    repo: &'r Repo,
    rev: Option<String>,
    trusted: OnceCell<std::result::Result<TrustedSigners, String>>,
    seen: std::cell::RefCell<HashMap<String, SkillStatus>>,
}

impl<'r> Judge<'r> {
    /// `rev`: where `allowed_signers` is read from (see `approval::trust`).
    pub fn new(repo: &'r Repo, rev: Option<&str>) -> Self {
        Judge {
            repo,
            rev: rev.map(str::to_string),
            trusted: OnceCell::new(),
            seen: std::cell::RefCell::new(HashMap::new()),
        }
    }

    /// The trusted signers (read once), or why they cannot be read.
    pub fn trusted(&self) -> std::result::Result<&TrustedSigners, String> {
        self.trusted
            .get_or_init(|| trust::load(self.repo, self.rev.as_deref()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Skill `id`: found or not, its level and why.
    pub fn skill(&self, id: &str) -> SkillStatus {
        if let Some(s) = self.seen.borrow().get(id) {
            return s.clone();
        }
        let status = match skill::load(self.repo, id) {
            Err(e) => SkillStatus {
                id: id.to_string(),
                found: false,
                trust: None,
                why: e.to_string(),
                sha256: None,
                source: String::new(),
                described: false,
            },
            Ok(s) => {
                let (trust, why) = match self.trusted() {
                    Ok(t) => {
                        let a = skill::trust::assess(
                            &s,
                            skill::vetting::find(self.repo, id),
                            &t.signers,
                        );
                        (a.level, a.why)
                    }
                    Err(e) => (
                        Trust::Experimental,
                        format!(
                            "cannot read the trusted allowed_signers, so no vetting can hold: {e}"
                        ),
                    ),
                };
                SkillStatus {
                    id: id.to_string(),
                    found: true,
                    trust: Some(trust),
                    why,
                    sha256: Some(s.content.sha256.clone()),
                    source: s.origin(),
                    described: s.doc.description.is_some(),
                }
            }
        };
        self.seen
            .borrow_mut()
            .insert(id.to_string(), status.clone());
        status
    }
}

/// The skills a gate runs: its steps' skills, then the catalog skills its
/// contract injects, each once, in that order.
pub fn gate_skills(g: &WorkflowGate, contract: Option<&Contract>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let from_contract = contract
        .into_iter()
        .flat_map(|c| &c.required_skills)
        .filter_map(|s| skill::id_of_path(&s.path));
    for id in g
        .steps
        .iter()
        .map(|s| s.skill.as_str())
        .chain(from_contract)
    {
        if !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

/// How a gate will run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The gate's own level (as written, or its default).
    pub declared: Automation,
    /// What it really gets.
    pub level: Automation,
    pub skills: Vec<SkillUse>,
    /// Why `level` is lower than `declared`: one line per skill.
    pub held_back: Vec<String>,
    /// The approval needed before the agent starts, if any.
    pub start: Option<ApprovalRequirement>,
}

/// Plans gate `g` (its contract `contract`): `has_command` says whether a
/// command would do its work.
pub fn plan(
    judge: &Judge,
    g: &WorkflowGate,
    contract: Option<&Contract>,
    has_command: bool,
) -> Result<Plan> {
    let declared = g.automation_or_default(has_command);
    let mut skills = Vec::new();
    let mut held_back = Vec::new();
    for id in gate_skills(g, contract) {
        let s = judge.skill(&id);
        if !s.found {
            return Err(Error::input(format!("gate {}: {}", g.gate, s.why))
                .hint("add the skill, import it (orch skill import), or fix the gate's steps"));
        }
        let trust = s.trust.unwrap_or(Trust::Experimental);
        if trust != Trust::Vetted {
            held_back.push(format!("skill `{id}` is {trust}: {}", s.why));
        }
        skills.push(SkillUse {
            id,
            sha256: s.sha256.unwrap_or_default(),
            trust: trust.to_string(),
        });
    }
    // Without a command a person does the work, whatever the gate says.
    let lowered = has_command && declared > Automation::HumanApproval && !held_back.is_empty();
    let level = if !has_command {
        Automation::Manual
    } else if lowered {
        Automation::HumanApproval
    } else {
        declared
    };
    let start = match (level, lowered) {
        (Automation::HumanApproval, true) => Some(ApprovalRequirement {
            min_approvals: 1,
            allow_self_approval: true,
            reason: Some(format!(
                "{} is {declared}, but only vetted skills run without a person: {}",
                g.gate,
                held_back.join("; ")
            )),
            granted_at: None,
        }),
        (Automation::HumanApproval, false) => start_policy(g),
        _ => None,
    };
    Ok(Plan {
        declared,
        level,
        skills,
        held_back,
        start,
    })
}

/// What a gate that says `human_approval` needs before its agent starts:
/// as many approvals as its `approval` asks (default one); the person who
/// started the run may give it unless its `approval` forbids self-approval
/// (a start approval says a person chose to let the agent run).
pub fn start_policy(g: &WorkflowGate) -> Option<ApprovalRequirement> {
    (g.automation == Some(Automation::HumanApproval)).then(|| ApprovalRequirement {
        min_approvals: g.approval.as_ref().map_or(1, |a| a.min_approvals.max(1)),
        allow_self_approval: g.approval.as_ref().is_none_or(|a| a.allow_self_approval),
        reason: Some(format!(
            "{} is human_approval: a person approves before its agent starts",
            g.gate
        )),
        granted_at: None,
    })
}
