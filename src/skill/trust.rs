//! A skill's trust level, and why it has it. `vetted` comes only from a
//! vetting that verifies and matches the skill's content now; otherwise
//! the level is the declared one — the lowest of SKILL.md's `trust:` and
//! the import's `--trust`, `experimental` when nothing declares one.
//! SKILL.md's `trust:` also caps a vetted skill: it can lower, never raise.

use serde::Serialize;

use super::Skill;
use super::vetting::{self, Checked};
use crate::approval::signers::AllowedSigners;

/// Trust levels, from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trust {
    Experimental,
    Community,
    Vetted,
}

impl Trust {
    pub const ALL: [Trust; 3] = [Trust::Vetted, Trust::Community, Trust::Experimental];

    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Experimental => "experimental",
            Trust::Community => "community",
            Trust::Vetted => "vetted",
        }
    }

    pub fn parse(s: &str) -> Option<Trust> {
        Trust::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A skill's level and the reasons.
#[derive(Clone, Debug)]
pub struct Assessment {
    pub level: Trust,
    /// What it would be without a vetting.
    pub declared: Trust,
    /// Why, in one sentence.
    pub why: String,
    pub vettings: Vec<Checked>,
    /// Vetting files that cannot be read: (path, why).
    pub unreadable: Vec<(String, String)>,
    /// SKILL.md's `trust:` is not a level orch knows.
    pub unknown_trust: Option<String>,
}

/// Judges `skill` given its vetting files and the trusted signers.
pub fn assess(skill: &Skill, found: Vec<vetting::Found>, signers: &AllowedSigners) -> Assessment {
    let written = skill.doc.meta("trust");
    let (cap, claims_vetted, unknown_trust) = match written.map(Trust::parse) {
        None => (None, false, None),
        Some(Some(Trust::Vetted)) => (None, true, None),
        Some(Some(t)) => (Some(t), false, None),
        Some(None) => (None, false, written.map(str::to_string)),
    };
    let from_import = skill.source.as_ref().map(|p| Trust::from(p.trust));
    let declared = [cap, from_import]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(Trust::Experimental);
    let mut vettings = Vec::new();
    let mut unreadable = Vec::new();
    for f in found {
        match f.file {
            Ok(file) => vettings.push(vetting::check(
                file,
                &skill.id,
                &skill.content.sha256,
                signers,
            )),
            Err(e) => unreadable.push((f.path, e.to_string())),
        }
    }
    let valid = vettings.iter().find(|c| c.valid());
    let (level, mut why) = match (valid, cap) {
        (Some(v), Some(cap)) => (
            cap,
            format!(
                "vetted by {}, but its SKILL.md says `trust: {cap}`, which lowers it",
                v.file.payload.vetter.display()
            ),
        ),
        (Some(v), None) => (
            Trust::Vetted,
            format!(
                "vetted by {} on {} for content {}",
                v.file.payload.vetter.display(),
                v.file
                    .payload
                    .signed_at
                    .get(..10)
                    .unwrap_or(&v.file.payload.signed_at),
                vetting::short(&skill.content.sha256)
            ),
        ),
        (None, _) => {
            let basis = match (cap, from_import) {
                (Some(c), _) if Some(c) == Some(declared) => {
                    format!("{declared} (its SKILL.md says so)")
                }
                (_, Some(_)) => format!("{declared} (as imported from {})", skill.origin()),
                _ => format!("{declared} (nothing declares a level)"),
            };
            match vettings.first() {
                Some(c) => (
                    declared,
                    format!(
                        "not vetted: the vetting by {} does not hold: {}; so {basis}",
                        c.file.payload.vetter.display(),
                        c.problems
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                ),
                None => (declared, format!("no vetting; {basis}")),
            }
        }
    };
    if claims_vetted && level != Trust::Vetted {
        why.push_str(" (its SKILL.md says `trust: vetted`, but only a signed vetting of its content makes a skill vetted)");
    }
    Assessment {
        level,
        declared,
        why,
        vettings,
        unreadable,
        unknown_trust,
    }
}
