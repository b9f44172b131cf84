//! Template variables in contract paths and text: `{slug}`, `{artifact_path}`,
//! `{client_component}`. In paths an unknown variable is an error (the Node
//! runner left it in place, so the file was silently "missing"); in text
//! patterns only the known variables are replaced, because text may hold
//! braces of its own (JSX, regexes).

use std::cell::OnceCell;

use crate::repo::{PathError, Repo, RepoPath};

/// The variables a contract may use.
pub const VARIABLES: [&str; 3] = ["slug", "artifact_path", "client_component"];

/// One piece of a template.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits a template into text and `{identifier}` pieces. Braces around
/// anything that is not an identifier (`{2}`, `{IMAGES.x}`) are text.
fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if is_identifier(name) {
            if open > 0 {
                out.push(Piece::Text(&rest[..open]));
            }
            out.push(Piece::Var(name));
            rest = &after[close + 1..];
        } else {
            out.push(Piece::Text(&rest[..=open]));
            rest = after;
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// A template variable's name: a letter or `_`, then letters, digits or `_`.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Variables in `template` that orch does not know.
pub fn unknown_variables(template: &str) -> Vec<String> {
    pieces(template)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(name) if !VARIABLES.contains(&name) => Some(format!("{{{name}}}")),
            _ => None,
        })
        .collect()
}

/// True when the template uses `{name}`.
pub fn uses(template: &str, name: &str) -> bool {
    pieces(template).contains(&Piece::Var(name))
}

/// Why a path template could not be resolved to a file inside the repository.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown template variable `{0}`")]
    Unknown(String),
    #[error("no client component (a file ending in Client.tsx or Client.jsx) in `{0}`")]
    NoClientComponent(String),
    #[error(transparent)]
    Unsafe(#[from] PathError),
}

/// The values of the variables for one run or check.
#[derive(Debug)]
pub struct Vars<'a> {
    repo: &'a Repo,
    slug: String,
    artifact_path: String,
    client_component: OnceCell<Option<String>>,
}

impl<'a> Vars<'a> {
    /// `artifact_path` must already be a normalised repo-relative path.
    pub fn new(repo: &'a Repo, slug: &str, artifact_path: &str) -> Self {
        Vars {
            repo,
            slug: slug.to_string(),
            artifact_path: artifact_path.to_string(),
            client_component: OnceCell::new(),
        }
    }

    pub fn slug(&self) -> &str {
        &self.slug
    }

    pub fn artifact_path(&self) -> &str {
        &self.artifact_path
    }

    /// The environment of a command a gate's contract runs (pre-scripts,
    /// quality checks): the gate, the slug, the artifact path, the root.
    pub fn script_env(&self, gate: &str) -> Vec<(String, String)> {
        vec![
            ("ORCH_GATE".into(), gate.to_string()),
            ("ORCH_SLUG".into(), self.slug.clone()),
            ("ORCH_ARTIFACT_PATH".into(), self.artifact_path.clone()),
            (
                "ORCH_REPO_ROOT".into(),
                self.repo.root().display().to_string(),
            ),
        ]
    }

    /// The first file in the artifact directory whose name ends in
    /// `Client.tsx` or `Client.jsx`, by name; computed once, on first use.
    pub fn client_component(&self) -> Option<&str> {
        self.client_component
            .get_or_init(|| {
                let dir = self.repo.contain(&self.artifact_path).ok()?;
                let mut names: Vec<String> = std::fs::read_dir(&dir.abs)
                    .ok()?
                    .flatten()
                    .filter(|e| e.path().is_file())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| n.ends_with("Client.tsx") || n.ends_with("Client.jsx"))
                    .collect();
                names.sort();
                let first = names.into_iter().next()?;
                Some(if dir.rel.is_empty() {
                    first
                } else {
                    format!("{}/{first}", dir.rel)
                })
            })
            .as_deref()
    }

    /// Substitutes every variable; unknown ones are errors.
    pub fn expand(&self, template: &str) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(template.len() + 32);
        for piece in pieces(template) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var("slug") => out.push_str(&self.slug),
                Piece::Var("artifact_path") => out.push_str(&self.artifact_path),
                Piece::Var("client_component") => match self.client_component() {
                    Some(c) => out.push_str(c),
                    None => {
                        return Err(TemplateError::NoClientComponent(self.artifact_path.clone()));
                    }
                },
                Piece::Var(other) => return Err(TemplateError::Unknown(format!("{{{other}}}"))),
            }
        }
        Ok(out)
    }

    /// Substitutes and proves the result stays inside the repository.
    pub fn path(&self, template: &str) -> Result<RepoPath, TemplateError> {
        Ok(self.repo.contain(&self.expand(template)?)?)
    }

    /// Substitutes the known variables in free text and leaves everything
    /// else (including an unresolvable `{client_component}`) as written.
    pub fn text(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        for piece in pieces(template) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var("slug") => out.push_str(&self.slug),
                Piece::Var("artifact_path") => out.push_str(&self.artifact_path),
                Piece::Var("client_component") if self.client_component().is_some() => {
                    out.push_str(self.client_component().unwrap_or_default());
                }
                Piece::Var(other) => {
                    out.push('{');
                    out.push_str(other);
                    out.push('}');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let repo = Repo::discover(dir.path()).unwrap();
        (dir, repo)
    }

    #[test]
    fn splits_only_identifiers() {
        assert_eq!(
            pieces("a/{slug}.md"),
            vec![Piece::Text("a/"), Piece::Var("slug"), Piece::Text(".md")]
        );
        assert_eq!(
            pieces("[a-f0-9]{2}"),
            vec![Piece::Text("[a-f0-9]{"), Piece::Text("2}")]
        );
        assert_eq!(
            unknown_variables("src={IMAGES.x} {slgu} {slug}"),
            vec!["{slgu}"]
        );
    }

    #[test]
    fn expands_paths_strictly_and_text_leniently() {
        let (dir, repo) = repo();
        let vars = Vars::new(&repo, "robot", "essays/robot");
        assert_eq!(
            vars.expand("{artifact_path}/x-{slug}.md").unwrap(),
            "essays/robot/x-robot.md"
        );
        assert_eq!(
            vars.expand("{nope}/x"),
            Err(TemplateError::Unknown("{nope}".into()))
        );
        assert_eq!(vars.text("<b>{slug}</b> {count}"), "<b>robot</b> {count}");
        assert!(matches!(
            vars.path("{artifact_path}/../../.."),
            Err(TemplateError::Unsafe(_))
        ));
        assert_eq!(
            vars.expand("{client_component}"),
            Err(TemplateError::NoClientComponent("essays/robot".into()))
        );
        std::fs::create_dir_all(dir.path().join("essays/robot")).unwrap();
        std::fs::write(dir.path().join("essays/robot/ZedClient.tsx"), "").unwrap();
        std::fs::write(dir.path().join("essays/robot/RobotClient.jsx"), "").unwrap();
        let vars = Vars::new(&repo, "robot", "essays/robot");
        assert_eq!(
            vars.client_component(),
            Some("essays/robot/RobotClient.jsx")
        );
    }
}
