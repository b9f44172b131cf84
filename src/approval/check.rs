//! Checking approvals in-process, with no ssh-keygen: the SSHSIG signature
//! over the payload's canonical bytes, the signer against the trusted
//! `allowed_signers`, the payload against the attempt it names, and the
//! approved bytes against the tree. The same checks serve `orch run
//! resume` (does the gate pass?), `orch verify` and `orch run show`.

use ssh_key::{Algorithm, HashAlg, PublicKey, SshSig};

use super::payload::{ApprovalFile, Decision, NAMESPACE, attempt_sha256};
use super::signers::AllowedSigners;
use crate::record::{ApprovalRequirement, Attempt, RunRecord};

/// The key that made a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// `ssh-ed25519`, `sk-ssh-ed25519@openssh.com`, …
    pub kind: String,
    /// `SHA256:…`, as ssh-keygen prints it.
    pub fingerprint: String,
    /// A FIDO hardware key (`-sk`): signing needed the device.
    pub hardware: bool,
    /// For a hardware key: whether the device saw a person's touch (the
    /// signed "user present" flag; keys made with `no-touch-required` skip it).
    pub touched: Option<bool>,
}

/// Something wrong with one approval; each is one verify finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The signature does not verify over the payload (tampered, or not an SSHSIG).
    BadSignature(String),
    /// The key or the approver is not allowed by the trusted `allowed_signers`.
    SignerNotAllowed(String),
    /// The approver did the gate, and the policy forbids approving one's own work.
    SelfApproval,
    /// It approves another run, gate or attempt, or an attempt record that changed since.
    Mismatch(String),
    /// Outputs it approved have other bytes now.
    OutputsChanged(Vec<String>),
}

impl Problem {
    /// The finding's kind in `orch verify`.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::BadSignature(_) => "approval_bad_signature",
            Problem::SignerNotAllowed(_) => "approval_signer_not_allowed",
            Problem::SelfApproval => "approval_self",
            Problem::Mismatch(_) => "approval_mismatch",
            Problem::OutputsChanged(_) => "approval_outputs_changed",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::BadSignature(why) => write!(f, "the signature does not verify: {why}"),
            Problem::SignerNotAllowed(why) => write!(f, "the signer is not allowed: {why}"),
            Problem::SelfApproval => f.write_str("self-approval: the approver ran this gate, and the workflow does not allow approving one's own work"),
            Problem::Mismatch(why) => f.write_str(why),
            Problem::OutputsChanged(paths) => {
                write!(f, "approved bytes changed since: {}", paths.join(", "))
            }
        }
    }
}

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
    let mut problems = Vec::new();
    let key = match verify_signature(&file) {
        Ok((info, key_data)) => {
            let signed_at = crate::clock::parse(&file.payload.signed_at);
            if let Err(refusal) = ctx.signers.check(
                &file.payload.approver.email,
                &key_data,
                NAMESPACE,
                signed_at,
            ) {
                problems.push(Problem::SignerNotAllowed(format!(
                    "{} ({}): {refusal}",
                    file.payload.approver.email, info.fingerprint
                )));
            }
            Some(info)
        }
        Err((why, info)) => {
            problems.push(Problem::BadSignature(why));
            info
        }
    };
    let p = &file.payload;
    if p.run_id != ctx.run.run_id || p.gate != ctx.gate || p.attempt != ctx.attempt.attempt {
        problems.push(Problem::Mismatch(format!(
            "it approves run {} gate {} attempt {}, not this attempt",
            p.run_id, p.gate, p.attempt
        )));
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

type SignatureError = (String, Option<KeyInfo>);

fn verify_signature(
    file: &ApprovalFile,
) -> Result<(KeyInfo, ssh_key::public::KeyData), SignatureError> {
    let sig = SshSig::from_pem(file.signature.trim())
        .map_err(|e| (format!("not an SSH signature ({e})"), None))?;
    let key_data = sig.public_key().clone();
    let info = key_info(&key_data, sig.signature());
    let key = PublicKey::new(key_data.clone(), "");
    match key.verify(NAMESPACE, &file.signed_bytes(), &sig) {
        Ok(()) => Ok((info, key_data)),
        Err(ssh_key::Error::Namespace) => Err((
            format!(
                "it was made for namespace `{}`, not `{NAMESPACE}`",
                sig.namespace()
            ),
            Some(info),
        )),
        Err(_) => Err((
            "the payload is not what was signed (was the file edited?)".into(),
            Some(info),
        )),
    }
}

pub fn key_info(key: &ssh_key::public::KeyData, signature: &ssh_key::Signature) -> KeyInfo {
    let algorithm = key.algorithm();
    let hardware = matches!(
        algorithm,
        Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256
    );
    KeyInfo {
        kind: algorithm.to_string(),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        hardware,
        touched: hardware.then(|| user_present(signature)).flatten(),
    }
}

/// The "user present" bit of a FIDO signature: its trailer is one flags
/// byte and a four-byte counter, and the flags are part of what is signed.
fn user_present(signature: &ssh_key::Signature) -> Option<bool> {
    let data = signature.as_bytes();
    let flags = data.get(data.len().checked_sub(5)?)?;
    Some(flags & 0x01 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_user_presence_flag_of_hardware_signatures() {
        let mut data = vec![7u8; 64];
        data.extend([0x01, 0, 0, 0, 9]);
        let touched = ssh_key::Signature::new(Algorithm::SkEd25519, data.clone()).unwrap();
        assert_eq!(user_present(&touched), Some(true));
        data[64] = 0x00;
        let untouched = ssh_key::Signature::new(Algorithm::SkEd25519, data).unwrap();
        assert_eq!(user_present(&untouched), Some(false));
    }
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
