//! Approvals an agent cannot forge. A gate that needs approval waits
//! (`AWAITING_APPROVAL`) until enough people sign a statement about exactly
//! what they approve: the run, gate and attempt, the SHA-256 of every output
//! and of the attempt record. The signature is an SSH signature
//! (`ssh-keygen -Y sign -n orch-approval`, as git signs commits), checked
//! in-process against `orchestration/allowed_signers` read from a trusted
//! git revision — never the working tree an agent could edit.
//!
//! - `payload`: what an approval says (its scope: outputs, start, override).
//! - `signed`: the envelope of every signed statement (approvals, skill
//!   vettings) and how one is authenticated.
//! - `canonical`: the exact bytes signed.
//! - `sign`: signing with ssh-keygen (any key ssh-keygen can use).
//! - `signers`: git's `allowed_signers` format.
//! - `trust`: reading the signers from a trusted revision.
//! - `check`: verifying approvals and counting them.
//! - `policy`: a workflow gate's `"approval"` settings.
//! - `audit`: what `orch verify` reports about a passed gate's approvals.

pub mod audit;
pub mod canonical;
pub mod check;
pub mod payload;
pub mod policy;
pub mod sign;
pub mod signed;
pub mod signers;
pub mod trust;

pub use check::{Checked, KeyInfo, Problem, Tally};
pub use payload::{ApprovalFile, Decision, Payload, Scope};
pub use policy::ApprovalPolicy;

use crate::error::Error;
use crate::record::{Attempt, RunRecord};
use crate::repo::Repo;
use crate::storage::{layout, regular, watch};

/// A run's approval file, read: for which gate and attempt (from its path), and its content.
pub struct Found {
    pub gate: String,
    pub attempt: u32,
    pub file: Result<ApprovalFile, Error>,
}

/// Every approval file of a run, sorted by path.
pub fn find(repo: &Repo, run_id: &str) -> Vec<Found> {
    let dir = layout::approvals_dir(run_id);
    let mut out = Vec::new();
    // A file added or removed changes what verify finds (its cache).
    watch::saw(&repo.join(&dir));
    let Ok(gates) = std::fs::read_dir(repo.join(&dir)) else {
        return out;
    };
    for gate in gates.flatten().filter(|e| e.path().is_dir()) {
        let gate_name = gate.file_name().to_string_lossy().into_owned();
        watch::saw(&gate.path());
        let Ok(files) = std::fs::read_dir(gate.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let Some(attempt) = parse_name(&name) else {
                continue;
            };
            let rel = format!("{dir}/{gate_name}/{name}");
            watch::saw(&f.path());
            let file = regular::read_to_string(&f.path())
                .map_err(|e| Error::read(&rel, e))
                .and_then(|text| ApprovalFile::parse(&text, &rel));
            out.push(Found {
                gate: gate_name.clone(),
                attempt,
                file,
            });
        }
    }
    out.sort_by(|a, b| path_of(a).cmp(path_of(b)));
    out
}

fn path_of(f: &Found) -> &str {
    f.file.as_ref().map_or("", |a| a.path.as_str())
}

/// `attempt-<n>-<id>.json` → n.
pub fn parse_name(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("attempt-")?.strip_suffix(".json")?;
    let (n, id) = rest.split_once('-')?;
    (!id.is_empty()).then_some(())?;
    n.parse().ok()
}

/// Checks the approvals of one attempt in `scope` and counts them.
#[allow(clippy::too_many_arguments)]
pub fn tally(
    found: &[Found],
    run: &RunRecord,
    gate: &str,
    attempt: &Attempt,
    scope: Scope,
    requirement: Option<crate::record::ApprovalRequirement>,
    signers: &signers::AllowedSigners,
    current: &dyn Fn(&str) -> Option<String>,
) -> Tally {
    let ctx = check::Context {
        run,
        gate,
        attempt,
        requirement: requirement.as_ref(),
        signers,
        current,
    };
    let checked = found
        .iter()
        .filter(|f| f.gate == gate && f.attempt == attempt.attempt)
        .filter_map(|f| f.file.as_ref().ok())
        .filter(|file| file.payload.scope == scope)
        .map(|file| check::check(file.clone(), &ctx))
        .collect();
    Tally {
        requirement,
        checked,
    }
}
