//! What an approval says, and the file that keeps it: a payload binding
//! the run, gate, attempt, decision, the SHA-256 of every approved output
//! and of the attempt record, the approver, the time and a nonce; and an
//! SSH signature (SSHSIG, namespace `orch-approval`) over the payload's
//! canonical JSON.
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
use serde_json::Value;

use super::canonical;
use crate::error::{Error, Result};
use crate::record::{Attempt, FORMAT_VERSION};
use crate::{hash, json};

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
    /// The approver's comment, or the reason for a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// SHA-256 of the attempt record as approved (see `attempt_sha256`).
    pub attempt_sha256: String,
    pub outputs: Vec<ApprovedOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_uri: Option<String>,
    pub approver: Approver,
    pub signed_at: String,
    /// Random: no two approvals sign the same bytes.
    pub nonce: String,
}

impl Payload {
    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> Vec<u8> {
        canonical::to_vec(&serde_json::to_value(self).expect("a payload serialises"))
    }
}

/// An approval file as read: the payload both as signed (raw JSON, so a
/// field this orch does not know is still covered) and as understood.
#[derive(Clone, Debug)]
pub struct ApprovalFile {
    /// Repo-relative path.
    pub path: String,
    pub raw_payload: Value,
    pub payload: Payload,
    pub signature: String,
}

#[derive(Serialize)]
struct OnDisk<'a> {
    format_version: u32,
    payload: &'a Payload,
    signature: &'a str,
}

#[derive(Deserialize)]
struct Read {
    #[serde(default)]
    format_version: u32,
    payload: Value,
    signature: String,
}

impl ApprovalFile {
    /// The file's bytes for a payload and its armored signature.
    pub fn render(payload: &Payload, signature: &str) -> Vec<u8> {
        json::to_pretty(&OnDisk {
            format_version: FORMAT_VERSION,
            payload,
            signature,
        })
    }

    pub fn parse(text: &str, path: &str) -> Result<ApprovalFile> {
        let read: Read = json::parse(text, path)?;
        if read.format_version > FORMAT_VERSION {
            return Err(Error::input(format!(
                "{path}: written by a newer orch (format {})",
                read.format_version
            )));
        }
        let payload: Payload = serde_json::from_value(read.payload.clone())
            .map_err(|e| Error::input(format!("{path}: payload: {}", json::describe(&e))))?;
        if payload.kind != PAYLOAD_TYPE {
            return Err(Error::input(format!(
                "{path}: payload type `{}` is not `{PAYLOAD_TYPE}`",
                payload.kind
            )));
        }
        Ok(ApprovalFile {
            path: path.to_string(),
            raw_payload: read.payload,
            payload,
            signature: read.signature,
        })
    }

    /// The bytes the signature must cover: the payload exactly as stored.
    pub fn signed_bytes(&self) -> Vec<u8> {
        canonical::to_vec(&self.raw_payload)
    }
}

/// SHA-256 of an attempt record as an approval binds it: its canonical
/// JSON without `status` and `failure_reason`, the two fields the decision
/// itself changes (AWAITING_APPROVAL → PASS, or FAIL with the reason).
pub fn attempt_sha256(attempt: &Attempt) -> String {
    let mut value = serde_json::to_value(attempt).expect("an attempt serialises");
    if let Some(obj) = value.as_object_mut() {
        obj.remove("status");
        obj.remove("failure_reason");
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
