//! `orch skill list|show|vet|import|update`: the catalog, each skill's
//! trust and why, and the two ways a skill's bytes change hands — a
//! person's signed vetting, and an import from a folder or a git
//! repository (which never vets).

use crate::approval::payload::Approver;
use crate::approval::sign;
use crate::approval::trust::{self, TrustedSigners};
use crate::error::{Error, Result};
use crate::repo::Repo;
use crate::skill::source::{ImportOptions, Imported};
use crate::skill::vetting::{self, Vetting, VettingFile};
use crate::skill::{self, Assessment, Skill, Trust};
use crate::storage::{layout, write_atomic};
use crate::{clock, workflow};

/// A skill and its trust.
pub struct Judged {
    pub skill: Skill,
    pub assessment: Assessment,
}

/// Loads and judges skill `id`.
fn judged(repo: &Repo, id: &str, trusted: &TrustedSigners) -> Result<Judged> {
    let skill = skill::load(repo, id)?;
    let assessment = skill::trust::assess(&skill, vetting::find(repo, id), &trusted.signers);
    Ok(Judged { skill, assessment })
}

/// A skill, or why it cannot be read.
pub type Listed = std::result::Result<Judged, Error>;

/// `orch skill list`: every skill (those that cannot be read, as errors),
/// filtered by tag and level; and warnings about the trusted signers.
pub fn list(
    repo: &Repo,
    tag: Option<&str>,
    level: Option<Trust>,
    trusted_rev: Option<&str>,
) -> Result<(Vec<Listed>, Vec<String>)> {
    let trusted = trust::load(repo, trusted_rev)?;
    let items = skill::ids(repo)
        .iter()
        .map(|id| judged(repo, id, &trusted))
        .filter(|j| match j {
            Ok(j) => {
                tag.is_none_or(|t| j.skill.doc.tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
                    && level.is_none_or(|l| j.assessment.level == l)
            }
            Err(_) => tag.is_none() && level.is_none(),
        })
        .collect();
    Ok((items, trusted.warnings()))
}

/// `orch skill show`: one skill, its trust and where it is used.
pub struct Shown {
    pub judged: Judged,
    pub used_by: Vec<String>,
    pub warnings: Vec<String>,
}

pub fn show(repo: &Repo, id: &str, trusted_rev: Option<&str>) -> Result<Shown> {
    let trusted = trust::load(repo, trusted_rev)?;
    let judged = judged(repo, id, &trusted)?;
    Ok(Shown {
        used_by: used_by(repo, id),
        warnings: trusted.warnings(),
        judged,
    })
}

/// Where skill `id` is used: workflow gates whose steps run it or whose
/// contract injects it.
pub fn used_by(repo: &Repo, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    for path in workflow::files(repo) {
        let Ok(wf) = workflow::LoadedWorkflow::load(repo, &path) else {
            continue;
        };
        for g in &wf.def.gates {
            for (i, step) in g.steps.iter().enumerate() {
                if step.skill == id {
                    out.push(format!("{} {} (step {})", wf.def.workflow, g.gate, i + 1));
                }
            }
            let injected = crate::contract::Contract::for_workflow_gate(repo, g)
                .ok()
                .is_some_and(|c| {
                    c.required_skills
                        .iter()
                        .any(|s| skill::id_of_path(&s.path) == Some(id))
                });
            if injected {
                out.push(format!(
                    "{} {} (its contract injects it)",
                    wf.def.workflow, g.gate
                ));
            }
        }
    }
    out
}

/// `orch skill vet`.
pub struct VetOptions {
    pub id: String,
    pub key: Option<std::path::PathBuf>,
    pub comment: Option<String>,
    pub trusted_rev: Option<String>,
}

/// What `vet` did.
pub struct Vetted {
    pub id: String,
    pub content_sha256: String,
    /// The vetting file, repo-relative.
    pub path: String,
    /// A vetting of this content by this signer already held; nothing was written.
    pub already: bool,
    pub warnings: Vec<String>,
}

/// Signs a vetting of skill `id`'s current content. Refused inside an
/// agent, and for a signer the trusted `allowed_signers` does not allow
/// to vet (a vetting that would not count is not written).
pub fn vet(repo: &Repo, opts: &VetOptions) -> Result<Vetted> {
    super::approval::refuse_inside_agent("skill vet")?;
    let trusted = trust::load(repo, opts.trusted_rev.as_deref())?;
    let skill = skill::load(repo, &opts.id)?;
    let vetter: Approver = super::approval::approver(repo)?;
    let sha = skill.content.sha256.clone();
    let held = vetting::find(repo, &opts.id)
        .into_iter()
        .filter_map(|f| f.file.ok())
        .map(|f| vetting::check(f, &opts.id, &sha, &trusted.signers))
        .find(|c| {
            c.valid()
                && c.file
                    .payload
                    .vetter
                    .email
                    .eq_ignore_ascii_case(&vetter.email)
        });
    if let Some(c) = held {
        return Ok(Vetted {
            id: opts.id.clone(),
            content_sha256: sha,
            path: c.file.path,
            already: true,
            warnings: trusted.warnings(),
        });
    }
    let payload = Vetting {
        kind: vetting::PAYLOAD_TYPE.to_string(),
        skill: opts.id.clone(),
        content_sha256: sha.clone(),
        comment: opts.comment.clone().filter(|c| !c.trim().is_empty()),
        vetter,
        signed_at: clock::now_timestamp(),
        nonce: crate::approval::payload::nonce(),
    };
    let key = sign::signing_key(repo, opts.key.as_deref())?;
    let signature = sign::sign(
        &key,
        vetting::NAMESPACE,
        &crate::approval::signed::payload_bytes(&payload),
    )?;
    let bytes = VettingFile::render(&payload, &signature);
    let rel = layout::skill_vetting(&opts.id, &sha, &payload.nonce);
    let file = VettingFile::parse(&String::from_utf8_lossy(&bytes), &rel)?;
    let checked = vetting::check(file, &opts.id, &sha, &trusted.signers);
    if let Some(p) = checked.problems.first() {
        let mut err = Error::conflict(format!(
            "{} may not vet skills: {p}",
            checked.file.payload.vetter.display()
        ))
        .hint(format!(
            "a vetting counts only when its key and email are in {} at {} (for namespace `{}`)",
            layout::ALLOWED_SIGNERS,
            trusted.rev,
            vetting::NAMESPACE
        ));
        for w in trusted.warnings() {
            err = err.hint(w);
        }
        return Err(err);
    }
    let path = repo
        .contain(&rel)
        .map_err(|e| e.into_error("vetting file"))?;
    write_atomic(&path.abs, &bytes).map_err(|e| Error::write(&rel, e))?;
    Ok(Vetted {
        id: opts.id.clone(),
        content_sha256: sha,
        path: rel,
        already: false,
        warnings: trusted.warnings(),
    })
}

/// `orch skill import`.
pub fn import(repo: &Repo, opts: &ImportOptions) -> Result<Imported> {
    skill::source::import(repo, opts, super::actor(repo))
}

/// `orch skill update`.
pub fn update(repo: &Repo, id: &str, rev: Option<&str>, dry_run: bool) -> Result<Imported> {
    skill::source::update(repo, id, rev, dry_run, super::actor(repo))
}
