//! The skills catalog: `skills/<id>/` folders, each a `SKILL.md` and the
//! files it needs, whose trust is a signed decision about exact bytes.
//!
//! A skill is `vetted` only while a vetting that verifies (signed by a
//! signer `allowed_signers` allows, at the trusted revision) matches its
//! current content hash; otherwise it has its declared level (`community`
//! or `experimental`; `experimental` when nothing says). `trust:` in
//! SKILL.md can lower a skill's level, never raise it — an agent can edit
//! SKILL.md, it cannot sign.
//!
//! - `doc`: SKILL.md, parsed.
//! - `content`: the content hash over every file of the folder.
//! - `vetting`: signed vettings, and checking them.
//! - `trust`: a skill's level, and why.
//! - `source`: skills imported from a folder or a git repository, pinned.

pub mod content;
pub mod doc;
pub mod source;
pub mod trust;
pub mod vetting;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::repo::{Repo, is_safe_component};
use crate::storage::layout;

pub use trust::{Assessment, Trust};

/// A skill as it is in the working tree.
#[derive(Clone, Debug)]
pub struct Skill {
    pub id: String,
    /// `skills/<id>`.
    pub dir: String,
    pub doc: doc::SkillDoc,
    pub content: content::Content,
    /// Where it was imported from, if it was.
    pub source: Option<source::Pin>,
}

impl Skill {
    /// Where the skill came from, in a word or two: `local`, or the import.
    pub fn origin(&self) -> String {
        self.source
            .as_ref()
            .map_or_else(|| "local".to_string(), source::Pin::describe)
    }

    /// The text an agent is given for this skill: the entrypoint file when
    /// SKILL.md names one, else SKILL.md without its frontmatter.
    pub fn prompt(&self, repo: &Repo) -> Result<(String, String)> {
        let file = self.doc.entrypoint().unwrap_or("SKILL.md");
        let rel = format!("{}/{file}", self.dir);
        let path = repo
            .contain(&rel)
            .map_err(|e| e.into_error(&format!("skill `{}` entrypoint", self.id)))?;
        let text = crate::storage::regular::read_to_string(&path.abs).map_err(|e| {
            Error::read(&rel, e).hint(format!(
                "SKILL.md of `{}` names `{file}` as its entrypoint; add the file or fix the frontmatter",
                self.id
            ))
        })?;
        let text = if file == "SKILL.md" {
            strip_frontmatter(&text).to_string()
        } else {
            text
        };
        Ok((rel, text))
    }
}

fn strip_frontmatter(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("---\n") else {
        return text;
    };
    rest.find("\n---\n")
        .map_or(text, |i| rest[i + 5..].trim_start_matches('\n'))
}

/// Skill ids in the catalog (folders of `skills/`), sorted.
pub fn ids(repo: &Repo) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(repo.join(layout::SKILLS_DIR)) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_safe_component(n))
        .collect();
    out.sort();
    out
}

/// Whether skill `id` is in the catalog.
pub fn exists(repo: &Repo, id: &str) -> bool {
    is_safe_component(id) && repo.join(&layout::skill_dir(id)).join("SKILL.md").is_file()
}

/// Loads skill `id`: its SKILL.md, its content hash and its import pin.
pub fn load(repo: &Repo, id: &str) -> Result<Skill> {
    if !is_safe_component(id) {
        return Err(Error::input(format!("`{id}` is not a skill id"))
            .hint("a skill id is a folder name under skills/: letters, digits, `.`, `_` and `-`"));
    }
    let dir = layout::skill_dir(id);
    let path = repo
        .contain(&dir)
        .map_err(|e| e.into_error("skill folder"))?;
    let skill_md = format!("{dir}/SKILL.md");
    // Missing is "no such skill"; anything else there (a folder, a FIFO)
    // is refused by the read below, saying what it is.
    let missing = std::fs::symlink_metadata(path.abs.join("SKILL.md")).is_err_and(|e| {
        matches!(
            e.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
        )
    });
    if missing {
        let known = ids(repo);
        let mut err = Error::input(format!("no skill `{id}`: {skill_md} does not exist"));
        err = if known.is_empty() {
            err.hint("add skills/<id>/SKILL.md, or import one: orch skill import SOURCE")
        } else {
            err.hint(format!("skills in the catalog: {}", known.join(", ")))
        };
        return Err(err);
    }
    let text = crate::storage::regular::read_to_string(&path.abs.join("SKILL.md"))
        .map_err(|e| Error::read(&skill_md, e))?;
    Ok(Skill {
        id: id.to_string(),
        doc: doc::parse(&text),
        content: content::of_dir(&path.abs, &dir)?,
        source: source::Pin::load(repo, id)?,
        dir,
    })
}

/// The skill a contract's `required_skills` path names, when it is a
/// catalog skill (`skills/<id>`).
pub fn id_of_path(path: &str) -> Option<&str> {
    let rest = path
        .trim_end_matches('/')
        .strip_prefix(layout::SKILLS_DIR)?
        .strip_prefix('/')?;
    (is_safe_component(rest)).then_some(rest)
}

/// A trust level as written by people (`--trust`, SKILL.md, pins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Declared {
    Community,
    Experimental,
}

impl From<Declared> for Trust {
    fn from(d: Declared) -> Trust {
        match d {
            Declared::Community => Trust::Community,
            Declared::Experimental => Trust::Experimental,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_paths_name_catalog_skills() {
        assert_eq!(id_of_path("skills/essay-intake"), Some("essay-intake"));
        assert_eq!(id_of_path("skills/essay-intake/"), Some("essay-intake"));
        assert_eq!(id_of_path("orchestration/skills/x"), None);
        assert_eq!(id_of_path("skills/a/b"), None);
        assert_eq!(strip_frontmatter("---\nid: x\n---\n# T\n"), "# T\n");
        assert_eq!(strip_frontmatter("# T\n"), "# T\n");
    }
}
