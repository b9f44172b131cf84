//! What an approval says, and the file that keeps it: a payload binding
//! the run, gate, attempt, decision, the SHA-256 of every approved output
//! and of the attempt record, the approver, the time and a nonce; and an
//! SSH signature (SSHSIG, namespace `orch-approval`) over the payload's
//! canonical JSON (see `signed`).
//!
//! An approval has a `scope`: the gate's outputs (the default, and the
//! only kind before scopes existed), its start (`human_approval`: the
//! payload binds the prompt packet and the skills instead of outputs), or
//! an override of a failed gate (`on_fail: review_required`). A start
//! approval can never count as an approval of outputs, nor the reverse.
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "payload": { "type": "orch-approval/1", "run_id": "…", "gate": "G2", "attempt": 1,
//!                "decision": "approved", "comment": "…", "attempt_sha256": "…",
//!                "outputs": [{"path": "essays/x/SPEC.md", "sha256": "…"}],
//!                "approver": {"name": "Ada", "email": "ada@example.com"},
//!                "signed_at": "2026-01-19T14:30:12.000Z", "nonce": "…" },
//!   "signature": "-----BEGIN SSH SIGNATURE-----\n…"
//! }
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::canonical;
use super::signed::{SignedFile, Statement};
use crate::hash;
use crate::record::{Attempt, SkillUse};

/// The SSHSIG namespace of approvals: a signature made for git commits
/// (namespace `git`) or files cannot be replayed as an approval.
pub const NAMESPACE: &str = "orch-approval";
/// The payload's `type`, versioned.
pub const PAYLOAD_TYPE: &str = "orch-approval/1";

/// What the approver decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approved,
    Rejected,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Rejected => "rejected",
        }
    }
}

/// What an approval is about.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// What the gate produced (the gate's `approval`).
    #[default]
    Outputs,
    /// Letting the agent start (`human_approval`, or skills that are not vetted).
    Start,
    /// Passing a gate whose checks failed (`on_fail: review_required`).
    Override,
}

impl Scope {
    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
    pub fn is_outputs(&self) -> bool {
        *self == Scope::Outputs
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Outputs => "outputs",
            Scope::Start => "start",
            Scope::Override => "override",
        }
    }

    /// What a gate awaiting this scope waits for, in words.
    pub fn awaited(self) -> &'static str {
        match self {
            Scope::Outputs => "approval of its outputs",
            Scope::Start => "approval to start its agent",
            Scope::Override => "a review of its failure (an approved override, or a rejection)",
        }
    }
}

/// An output as it was approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApprovedOutput {
    pub path: String,
    pub sha256: String,
}

/// Who approved: git's identity; the email is the principal looked up in
/// `allowed_signers`, as git does for SSH-signed commits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Approver {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub email: String,
}

impl Approver {
    pub fn display(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} <{}>", self.email),
            None => format!("<{}>", self.email),
        }
    }
}

/// The signed statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Payload {
    #[serde(rename = "type")]
    pub kind: String,
    pub run_id: String,
    pub workflow: String,
    pub slug: String,
    pub gate: String,
    pub attempt: u32,
    pub decision: Decision,
    /// What is approved: the outputs (absent: every approval before
    /// scopes existed was one), the start of the gate, or an override of
    /// a failed gate.
    #[serde(default, skip_serializing_if = "Scope::is_outputs")]
    pub scope: Scope,
    /// The approver's comment, or the reason for a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// SHA-256 of the attempt record as approved (see `attempt_sha256`).
    pub attempt_sha256: String,
    pub outputs: Vec<ApprovedOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_uri: Option<String>,
    /// A start approval: the SHA-256 of the prompt packet the agent will
    /// be given (which lists the earlier gates' outputs it builds on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_sha256: Option<String>,
    /// A start approval: the skills the gate runs, by content hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<SkillUse>,
    pub approver: Approver,
    pub signed_at: String,
    /// Random: no two approvals sign the same bytes.
    pub nonce: String,
}

impl Payload {
    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        super::signed::payload_bytes(self)
    }
}

impl Statement for Payload {
    const TYPE: &'static str = PAYLOAD_TYPE;
    const NAMESPACE: &'static str = NAMESPACE;

    fn kind(&self) -> &str {
        &self.kind
    }

    fn principal(&self) -> &str {
        &self.approver.email
    }

    fn signed_at(&self) -> &str {
        &self.signed_at
    }
}

/// An approval file as read.
pub type ApprovalFile = SignedFile<Payload>;

/// SHA-256 of an attempt record as an approval binds it: its canonical
/// JSON without the fields the decision itself changes — `status`,
/// `failure_reason` (AWAITING_APPROVAL → PASS, or FAIL with the reason)
/// and, for an override, `review.granted_at`.
pub fn attempt_sha256(attempt: &Attempt) -> String {
    let mut value = serde_json::to_value(attempt).expect("an attempt serialises");
    if let Some(obj) = value.as_object_mut() {
        obj.remove("status");
        obj.remove("failure_reason");
        // An override's decision also stamps when it was granted.
        if let Some(review) = obj.get_mut("review").and_then(|r| r.as_object_mut()) {
            review.remove("granted_at");
        }
    }
    hash::bytes(&canonical::to_vec(&value))
}

/// 16 random bytes, hex: from the OS, else from orch's id generator.
pub fn nonce() -> String {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if read.is_ok() {
        hash::hex(&bytes)
    } else {
        crate::clock::random_token(32)
    }
}
