//! The envelope every signed statement of orch is kept in — an approval of
//! a gate, a vetting of a skill — and how one is authenticated: an SSH
//! signature (SSHSIG) over the payload's canonical JSON, made in the
//! statement's own namespace (so one kind can never be replayed as
//! another), by a key and principal that `allowed_signers` allows for that
//! namespace.
//!
//! ```json
//! { "format_version": 1, "payload": { "type": "orch-approval/1", … }, "signature": "-----BEGIN SSH SIGNATURE-----\n…" }
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ssh_key::{Algorithm, HashAlg, PublicKey, SshSig};

use super::canonical;
use super::signers::AllowedSigners;
use crate::error::{Error, Result};
use crate::json;
use crate::record::FORMAT_VERSION;

/// A kind of signed statement.
pub trait Statement: Serialize + DeserializeOwned + Clone {
    /// The payload's `type`, versioned (`orch-approval/1`).
    const TYPE: &'static str;
    /// The SSHSIG namespace its signatures are made in.
    const NAMESPACE: &'static str;
    /// The `type` this payload says it is.
    fn kind(&self) -> &str;
    /// The signer's email: the principal looked up in `allowed_signers`.
    fn principal(&self) -> &str;
    /// When it was signed (RFC 3339), for `valid-after`/`valid-before`.
    fn signed_at(&self) -> &str;
}

/// A signed statement as read: the payload both as signed (raw JSON, so a
/// field this orch does not know is still covered) and as understood.
#[derive(Clone, Debug)]
pub struct SignedFile<P> {
    /// Repo-relative path.
    pub path: String,
    pub raw_payload: Value,
    pub payload: P,
    pub signature: String,
}

#[derive(Serialize)]
struct OnDisk<'a, P> {
    format_version: u32,
    payload: &'a P,
    signature: &'a str,
}

#[derive(Deserialize)]
struct Read {
    #[serde(default)]
    format_version: u32,
    payload: Value,
    signature: String,
}

/// The bytes a signature over `payload` covers.
pub fn payload_bytes<P: Serialize>(payload: &P) -> Vec<u8> {
    canonical::to_vec(&serde_json::to_value(payload).expect("a payload serialises"))
}

impl<P: Statement> SignedFile<P> {
    /// The file's bytes for a payload and its armored signature.
    pub fn render(payload: &P, signature: &str) -> Vec<u8> {
        json::to_pretty(&OnDisk {
            format_version: FORMAT_VERSION,
            payload,
            signature,
        })
    }

    pub fn parse(text: &str, path: &str) -> Result<SignedFile<P>> {
        let read: Read = json::parse(text, path)?;
        if read.format_version > FORMAT_VERSION {
            return Err(Error::input(format!(
                "{path}: written by a newer orch (format {})",
                read.format_version
            )));
        }
        let payload: P = serde_json::from_value(read.payload.clone())
            .map_err(|e| Error::input(format!("{path}: payload: {}", json::describe(&e))))?;
        if payload.kind() != P::TYPE {
            return Err(Error::input(format!(
                "{path}: payload type `{}` is not `{}`",
                payload.kind(),
                P::TYPE
            )));
        }
        Ok(SignedFile {
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

    /// Checks the signature over the payload and the signer against
    /// `signers`: the key that signed (when the signature can be read) and
    /// what is wrong, if anything.
    pub fn authenticate(&self, signers: &AllowedSigners) -> (Option<KeyInfo>, Option<Problem>) {
        match verify(&self.signature, P::NAMESPACE, &self.signed_bytes()) {
            Ok((info, key_data)) => {
                let at = crate::clock::parse(self.payload.signed_at());
                let refusal = signers
                    .check(self.payload.principal(), &key_data, P::NAMESPACE, at)
                    .err()
                    .map(|why| {
                        Problem::SignerNotAllowed(format!(
                            "{} ({}): {why}",
                            self.payload.principal(),
                            info.fingerprint
                        ))
                    });
                (Some(info), refusal)
            }
            Err((why, info)) => (info, Some(Problem::BadSignature(why))),
        }
    }
}

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

/// Something wrong with one signed statement; each is one verify finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The signature does not verify over the payload (tampered, or not an SSHSIG).
    BadSignature(String),
    /// The key or the signer is not allowed by the trusted `allowed_signers`.
    SignerNotAllowed(String),
    /// The approver did the gate, and the policy forbids approving one's own work.
    SelfApproval,
    /// It is about something else: another run, gate or attempt, an attempt
    /// record or packet that changed since, other bytes of a skill.
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

type SignatureError = (String, Option<KeyInfo>);

/// Verifies an armored SSHSIG over `bytes` in `namespace`, in-process.
fn verify(
    armored: &str,
    namespace: &str,
    bytes: &[u8],
) -> Result<(KeyInfo, ssh_key::public::KeyData), SignatureError> {
    let sig = SshSig::from_pem(armored.trim())
        .map_err(|e| (format!("not an SSH signature ({e})"), None))?;
    let key_data = sig.public_key().clone();
    let info = key_info(&key_data, sig.signature());
    let key = PublicKey::new(key_data.clone(), "");
    match key.verify(namespace, bytes, &sig) {
        Ok(()) => Ok((info, key_data)),
        Err(ssh_key::Error::Namespace) => Err((
            format!(
                "it was made for namespace `{}`, not `{namespace}`",
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
