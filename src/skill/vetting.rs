//! A vetting: a person's signed statement that one skill, at one content
//! hash, may run fully automatically. It is signed as approvals are (the
//! same envelope, key handling and `allowed_signers` from a trusted
//! revision), in its own SSHSIG namespace `orch-skill-vetting`, so an
//! approval of a gate can never be replayed as a vetting, nor the reverse.
//!
//! Vettings are committed under `orchestration/skills/vettings/<id>/` —
//! outside the skill's folder on purpose: a vetting kept inside the folder
//! would change the very content hash it vouches for.
//!
//! ```json
//! { "format_version": 1,
//!   "payload": { "type": "orch-skill-vetting/1", "skill": "essay-intake",
//!                "content_sha256": "…", "comment": "read every line",
//!                "vetter": {"name": "Ada", "email": "ada@example.com"},
//!                "signed_at": "2026-01-19T14:30:12.000Z", "nonce": "…" },
//!   "signature": "-----BEGIN SSH SIGNATURE-----\n…" }
//! ```

use serde::{Deserialize, Serialize};

use crate::approval::payload::Approver;
use crate::approval::signed::{KeyInfo, Problem, SignedFile, Statement};
use crate::approval::signers::AllowedSigners;
use crate::error::{Error, Result};
use crate::repo::Repo;
use crate::storage::{layout, regular, watch};

/// The SSHSIG namespace of vettings.
pub const NAMESPACE: &str = "orch-skill-vetting";
/// The payload's `type`, versioned.
pub const PAYLOAD_TYPE: &str = "orch-skill-vetting/1";

/// The signed statement: this skill, these bytes, vetted by this person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vetting {
    #[serde(rename = "type")]
    pub kind: String,
    pub skill: String,
    pub content_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub vetter: Approver,
    pub signed_at: String,
    /// Random: no two vettings sign the same bytes.
    pub nonce: String,
}

impl Statement for Vetting {
    const TYPE: &'static str = PAYLOAD_TYPE;
    const NAMESPACE: &'static str = NAMESPACE;

    fn kind(&self) -> &str {
        &self.kind
    }

    fn principal(&self) -> &str {
        &self.vetter.email
    }

    fn signed_at(&self) -> &str {
        &self.signed_at
    }
}

pub type VettingFile = SignedFile<Vetting>;

/// A vetting file as found: its path, and its content or why it cannot be read.
pub struct Found {
    pub path: String,
    pub file: Result<VettingFile>,
}

/// Every vetting file of skill `id`, sorted by path.
pub fn find(repo: &Repo, id: &str) -> Vec<Found> {
    let dir = layout::skill_vettings_dir(id);
    // A vetting added or removed changes what verify finds (its cache).
    watch::saw(&repo.join(&dir));
    let Ok(entries) = std::fs::read_dir(repo.join(&dir)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        // Anything but a folder is read (and a FIFO or a device refused,
        // saying so), never silently passed over.
        .filter(|e| !e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            std::path::Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
                && !n.starts_with('.')
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let path = format!("{dir}/{name}");
            watch::saw(&repo.join(&path));
            let file = regular::read_to_string(&repo.join(&path))
                .map_err(|e| Error::read(&path, e))
                .and_then(|text| VettingFile::parse(&text, &path));
            Found { path, file }
        })
        .collect()
}

/// One vetting, checked against a skill's current content.
#[derive(Clone, Debug)]
pub struct Checked {
    pub file: VettingFile,
    pub key: Option<KeyInfo>,
    pub problems: Vec<Problem>,
}

impl Checked {
    pub fn valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a vetting of skill `id` against its content hash now.
pub fn check(
    file: VettingFile,
    id: &str,
    content_sha256: &str,
    signers: &AllowedSigners,
) -> Checked {
    let (key, problem) = file.authenticate(signers);
    let mut problems: Vec<Problem> = problem.into_iter().collect();
    let p = &file.payload;
    if p.skill != id {
        problems.push(Problem::Mismatch(format!(
            "it vets skill `{}`, not `{id}`",
            p.skill
        )));
    } else if p.content_sha256 != content_sha256 {
        problems.push(Problem::Mismatch(format!(
            "it vets content {}, and the skill is now {} (a file changed since)",
            short(&p.content_sha256),
            short(content_sha256)
        )));
    }
    Checked {
        file,
        key,
        problems,
    }
}

pub fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
