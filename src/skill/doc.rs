//! `SKILL.md`, read as the seed writes it: an optional `---` frontmatter
//! block (`name`, `version`, `source`, `entrypoint`/`prompt`, `trust`, …),
//! a `# Title`, a one-paragraph description, and `## Inputs`, `## Outputs`
//! and `## Tags` sections:
//!
//! ```markdown
//! # Analyze Transcript
//!
//! Extracts key insights from user research transcripts.
//!
//! ## Inputs
//! - transcript: string (required) - Raw transcript text
//! - personas: string[] (optional) - Target personas
//!
//! ## Outputs
//! - summary: string - TL;DR summary
//!
//! ## Tags
//! research, analysis, transcript
//! ```
//!
//! A line of Inputs or Outputs orch cannot read is kept as a problem (lint
//! reports it), never dropped silently.

use serde::Serialize;

/// One input or output of a skill.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: String,
    /// `string`, `string[]`, `Problem[]`, … as written.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `(required)` or `(optional)`, when the line says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A parsed `SKILL.md`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SkillDoc {
    pub title: Option<String>,
    pub description: Option<String>,
    pub inputs: Vec<Field>,
    pub outputs: Vec<Field>,
    pub tags: Vec<String>,
    /// The frontmatter's `key: value` lines, in order.
    pub frontmatter: Vec<(String, String)>,
    /// Lines that could not be read: (1-based line, why).
    #[serde(skip)]
    pub problems: Vec<(usize, String)>,
}

impl SkillDoc {
    /// A frontmatter value.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.frontmatter
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The name to show: frontmatter `name`, else the title.
    pub fn name(&self) -> Option<&str> {
        self.meta("name").or(self.title.as_deref())
    }

    /// The file whose text is the skill's prompt (frontmatter `entrypoint`
    /// or `prompt`); `None`: SKILL.md itself.
    pub fn entrypoint(&self) -> Option<&str> {
        self.meta("entrypoint").or_else(|| self.meta("prompt"))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Body,
    Inputs,
    Outputs,
    Tags,
    Other,
}

/// Parses the text of a `SKILL.md`.
pub fn parse(text: &str) -> SkillDoc {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut doc = SkillDoc::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    if lines.first().map(|l| l.trim_end()) == Some("---") {
        match crate::validate::frontmatter::parse(text) {
            Ok(fields) => {
                doc.frontmatter = fields;
                start = lines
                    .iter()
                    .skip(1)
                    .position(|l| l.trim_end() == "---")
                    .map_or(lines.len(), |i| i + 2);
            }
            Err(why) => doc.problems.push((1, why.to_string())),
        }
    }
    let mut section = Section::Body;
    let mut paragraph: Vec<&str> = Vec::new();
    let mut in_fence = false;
    for (i, raw) in lines.iter().enumerate().skip(start) {
        let line = raw.trim();
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(title) = line.strip_prefix("# ") {
            if doc.title.is_none() {
                doc.title = Some(title.trim().to_string());
            }
            continue;
        }
        if let Some(heading) = line.strip_prefix("## ") {
            section = match heading.trim().to_ascii_lowercase().as_str() {
                "inputs" => Section::Inputs,
                "outputs" => Section::Outputs,
                "tags" => Section::Tags,
                _ => Section::Other,
            };
            continue;
        }
        match section {
            Section::Body if doc.title.is_some() && doc.description.is_none() => {
                if line.is_empty() {
                    if !paragraph.is_empty() {
                        doc.description = Some(paragraph.join(" "));
                        paragraph.clear();
                    }
                } else if !line.starts_with('#') {
                    paragraph.push(line);
                }
            }
            Section::Inputs | Section::Outputs if !line.is_empty() => match field(line) {
                Ok(f) if section == Section::Inputs => doc.inputs.push(f),
                Ok(f) => doc.outputs.push(f),
                Err(why) => doc.problems.push((i + 1, why)),
            },
            Section::Tags => {
                let line = bullet(line).unwrap_or(line);
                doc.tags.extend(
                    line.split(',')
                        .map(|t| t.trim().trim_matches('`').to_string())
                        .filter(|t| !t.is_empty()),
                );
            }
            _ => {}
        }
    }
    if doc.description.is_none() && !paragraph.is_empty() {
        doc.description = Some(paragraph.join(" "));
    }
    if let Some(d) = doc.meta("description") {
        doc.description = Some(d.to_string());
    }
    if doc.tags.is_empty()
        && let Some(t) = doc.meta("tags")
    {
        doc.tags = t
            .trim_matches(['[', ']'])
            .split(',')
            .map(|t| t.trim().trim_matches(['"', '\'']).to_string())
            .filter(|t| !t.is_empty())
            .collect();
    }
    doc
}

fn bullet(line: &str) -> Option<&str> {
    line.strip_prefix("- ")
        .or_else(|| line.strip_prefix("* "))
        .map(str::trim)
}

/// `- name: type (required) - description`; the type, the marker and the
/// description are each optional.
fn field(line: &str) -> Result<Field, String> {
    let Some(item) = bullet(line) else {
        return Err(format!(
            "`{line}` is not a list item (`- name: type (required) - description`)"
        ));
    };
    let (name, rest) = match item.split_once(':') {
        Some((n, r)) => (n, r.trim()),
        None => match split_description(item) {
            (n, _) if n.contains(' ') => {
                return Err(format!(
                    "`{line}` has no `name:` (`- name: type (required) - description`)"
                ));
            }
            (n, d) => {
                return Ok(Field {
                    name: n.trim_matches('`').to_string(),
                    description: d,
                    ..Field::default()
                });
            }
        },
    };
    let name = name.trim().trim_matches('`').trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("`{line}`: the name before `:` must be one word"));
    }
    let (head, description) = split_description(rest);
    let mut kind = head.trim().to_string();
    let mut required = None;
    for (marker, value) in [("(required)", true), ("(optional)", false)] {
        if let Some(at) = kind.to_ascii_lowercase().find(marker) {
            required = Some(value);
            kind.replace_range(at..at + marker.len(), "");
        }
    }
    let kind = kind.trim().trim_matches('`').to_string();
    Ok(Field {
        name: name.to_string(),
        kind: (!kind.is_empty()).then_some(kind),
        required,
        description,
    })
}

/// `head - description` or `head — description`.
fn split_description(text: &str) -> (&str, Option<String>) {
    for sep in [" - ", " — ", " – "] {
        if let Some((head, desc)) = text.split_once(sep) {
            let d = desc.trim();
            return (head.trim(), (!d.is_empty()).then(|| d.to_string()));
        }
    }
    (text.trim(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "# Analyze Transcript\n\nExtracts key insights from user research transcripts.\n\n## Inputs\n- transcript: string (required) - Raw transcript text\n- personas: string[] (optional) - Target personas\n\n## Outputs\n- summary: string - TL;DR summary\n- problems: Problem[] - User problems with quotes\n- requests: Request[] - Feature requests\n\n## Tags\nresearch, analysis, transcript\n";

    #[test]
    fn reads_the_seed_example() {
        let d = parse(SEED);
        assert_eq!(d.title.as_deref(), Some("Analyze Transcript"));
        assert_eq!(
            d.description.as_deref(),
            Some("Extracts key insights from user research transcripts.")
        );
        assert_eq!(
            d.inputs[0],
            Field {
                name: "transcript".into(),
                kind: Some("string".into()),
                required: Some(true),
                description: Some("Raw transcript text".into()),
            }
        );
        assert_eq!(d.inputs[1].kind.as_deref(), Some("string[]"));
        assert_eq!(d.inputs[1].required, Some(false));
        assert_eq!(d.outputs.len(), 3);
        assert_eq!(d.outputs[1].kind.as_deref(), Some("Problem[]"));
        assert_eq!(d.outputs[0].required, None);
        assert_eq!(d.tags, ["research", "analysis", "transcript"]);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
    }

    #[test]
    fn frontmatter_and_unreadable_lines() {
        let d = parse(
            "---\nname: Essay intake\nversion: 2\nentrypoint: prompt.md\ntrust: community\n---\n# Intake\n\nWrites the intake.\nTwo lines.\n\n## Inputs\n- slug: string (required)\nnot a bullet\n- two words: x\n",
        );
        assert_eq!(d.name(), Some("Essay intake"));
        assert_eq!(d.meta("version"), Some("2"));
        assert_eq!(d.entrypoint(), Some("prompt.md"));
        assert_eq!(
            d.description.as_deref(),
            Some("Writes the intake. Two lines.")
        );
        assert_eq!(d.inputs.len(), 1);
        assert_eq!(d.problems.len(), 2);
        assert_eq!(d.problems[0].0, 14);
    }
}
