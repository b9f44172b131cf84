//! The examples `orch init` can set up, built into the binary from files
//! kept in the repository (`templates/init/`, and for `visual-essay` the
//! repository's own workflow, contracts, prompts, skills and example
//! scripts), so what is tested is what ships.

/// A file an example writes: repo-relative path, content, executable.
pub struct File {
    pub path: &'static str,
    pub content: &'static str,
    pub executable: bool,
}

/// An example workflow and what it takes to try it.
pub struct Example {
    pub name: &'static str,
    /// What it shows, in a line.
    pub about: &'static str,
    /// The workflow's name (`orch run <workflow>`).
    pub workflow: &'static str,
    /// A slug to try it with.
    pub slug: &'static str,
    /// `--agent-cmd` for a stand-in agent, when its gates need one.
    pub agent_cmd: Option<&'static str>,
    /// A script that tries the example end to end, when `orch run` alone
    /// cannot (the example's trust setup and a person's approval included).
    pub script: Option<&'static str>,
    /// The revision that trusts the example's signers, for `orch verify`
    /// and the pre-commit hook (`ORCH_TRUSTED_REV`).
    pub trusted_rev: Option<&'static str>,
    /// What to know after trying it.
    pub note: Option<&'static str>,
    /// What to `git add` besides `.gitignore` and `orchestration`: its
    /// other files and the top folder of its outputs.
    pub commit: &'static str,
    pub files: &'static [File],
}

macro_rules! file {
    ($path:literal, $source:literal) => {
        file!($path, $source, false)
    };
    ($path:literal, $source:literal, $executable:literal) => {
        File {
            path: $path,
            content: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $source)),
            executable: $executable,
        }
    };
}

pub const EXAMPLES: [Example; 3] = [
    Example {
        name: "minimal",
        about: "one gate: a note with a summary and its sources",
        workflow: "minimal",
        slug: "hello",
        agent_cmd: Some("orchestration/agents/minimal-agent.sh"),
        script: None,
        trusted_rev: None,
        note: None,
        commit: "notes",
        files: &[
            file!(
                "orchestration/workflows/minimal.json",
                "templates/init/minimal/orchestration/workflows/minimal.json"
            ),
            file!(
                "orchestration/gates/contracts/NOTE.contract.json",
                "templates/init/minimal/orchestration/gates/contracts/NOTE.contract.json"
            ),
            file!(
                "orchestration/prompts/NOTE.md",
                "templates/init/minimal/orchestration/prompts/NOTE.md"
            ),
            file!(
                "orchestration/agents/minimal-agent.sh",
                "templates/init/minimal/orchestration/agents/minimal-agent.sh",
                true
            ),
        ],
    },
    Example {
        name: "visual-essay",
        about: "orch's own recipe: three gates (intake, research, spec) running vetted skills, quality checks, and a person's approval before G3 starts",
        workflow: "visual-essay",
        slug: "the-word-robot",
        agent_cmd: Some("examples/agents/scripted-essay.sh"),
        script: Some("examples/visual-essay.sh"),
        trusted_rev: Some("refs/orch/example-trust"),
        note: Some(
            "The example plays your team: examples/trust-example.sh makes a reviewer's key in .git/orch-example/, trusts it through the local ref refs/orch/example-trust (your branch is untouched) and vets the skills with it, and that reviewer approves G3's start. To trust your own people instead, list their keys in orchestration/allowed_signers on your default branch, and vet each skill once you have read it: orch skill vet essay-intake --key ~/.ssh/id_ed25519 (README: \"Skills\" and \"Approvals\").",
        ),
        commit: "skills examples essays",
        files: &[
            file!(
                "orchestration/workflows/visual-essay.json",
                "orchestration/workflows/visual-essay.json"
            ),
            file!(
                "orchestration/gates/contracts/G1.contract.json",
                "orchestration/gates/contracts/G1.contract.json"
            ),
            file!(
                "orchestration/gates/contracts/G2.contract.json",
                "orchestration/gates/contracts/G2.contract.json"
            ),
            file!(
                "orchestration/gates/contracts/G3.contract.json",
                "orchestration/gates/contracts/G3.contract.json"
            ),
            file!("orchestration/prompts/G1.md", "orchestration/prompts/G1.md"),
            file!("orchestration/prompts/G2.md", "orchestration/prompts/G2.md"),
            file!("orchestration/prompts/G3.md", "orchestration/prompts/G3.md"),
            file!(
                "orchestration/commands.json",
                "templates/init/visual-essay/orchestration/commands.json"
            ),
            file!(
                "skills/essay-intake/SKILL.md",
                "skills/essay-intake/SKILL.md"
            ),
            file!(
                "skills/essay-research/SKILL.md",
                "skills/essay-research/SKILL.md"
            ),
            file!("skills/essay-spec/SKILL.md", "skills/essay-spec/SKILL.md"),
            file!(
                "examples/agents/scripted-essay.sh",
                "examples/agents/scripted-essay.sh",
                true
            ),
            file!(
                "examples/checks/essay-lint.sh",
                "examples/checks/essay-lint.sh",
                true
            ),
            file!(
                "examples/checks/sources-linked.sh",
                "examples/checks/sources-linked.sh",
                true
            ),
            file!(
                "examples/trust-example.sh",
                "examples/trust-example.sh",
                true
            ),
            file!("examples/visual-essay.sh", "examples/visual-essay.sh", true),
        ],
    },
    Example {
        name: "nightly",
        about: "an unattended plan of command gates with no contract: the format check, the tests and the lint, each finding your project's command",
        workflow: "nightly",
        slug: "first-night",
        agent_cmd: None,
        script: None,
        trusted_rev: None,
        note: Some(
            "Each gate's command looks for Cargo.toml, package.json, pyproject.toml or a Makefile and says so when it finds none: put your project's own commands in orchestration/workflows/nightly.json, then run it every night with the date as the slug (README: \"Unattended plans\").",
        ),
        commit: "",
        files: &[file!(
            "orchestration/workflows/nightly.json",
            "templates/init/nightly/orchestration/workflows/nightly.json"
        )],
    },
];

/// The example named `name`.
pub fn find(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The visual-essay example's commands.json holds the quality-check
    /// command of orch's own, not its cargo commands.
    #[test]
    fn the_visual_essay_commands_are_orchs_own() {
        let read = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
        let ours = read(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/orchestration/commands.json"
        )));
        let example = find("visual-essay").unwrap();
        let theirs = example
            .files
            .iter()
            .find(|f| f.path == "orchestration/commands.json")
            .map(|f| read(f.content))
            .unwrap();
        let names: Vec<&String> = theirs.as_object().unwrap().keys().collect();
        assert_eq!(names, ["essay-lint"]);
        assert_eq!(theirs["essay-lint"], ours["essay-lint"]);
    }
}
