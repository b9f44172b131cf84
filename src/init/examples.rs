//! The examples `orch init` can set up, built into the binary from files
//! kept in the repository (`templates/init/`, and for `visual-essay` the
//! repository's own orchestration files), so what is tested is what ships.

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
        about: "three gates (intake, research, spec) with skills, as in orch's own repository",
        workflow: "visual-essay",
        slug: "the-word-robot",
        agent_cmd: Some("orchestration/agents/scripted-essay.sh"),
        commit: "skills essays",
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
                "skills/essay-intake/SKILL.md",
                "skills/essay-intake/SKILL.md"
            ),
            file!(
                "skills/essay-research/SKILL.md",
                "skills/essay-research/SKILL.md"
            ),
            file!("skills/essay-spec/SKILL.md", "skills/essay-spec/SKILL.md"),
            file!(
                "orchestration/agents/scripted-essay.sh",
                "examples/agents/scripted-essay.sh",
                true
            ),
        ],
    },
    Example {
        name: "nightly",
        about: "command gates: the format check, the tests and the lint, each result recorded",
        workflow: "nightly",
        slug: "first-night",
        agent_cmd: None,
        commit: "reports",
        files: &[
            file!(
                "orchestration/workflows/nightly.json",
                "templates/init/nightly/orchestration/workflows/nightly.json"
            ),
            file!(
                "orchestration/gates/contracts/FORMAT.contract.json",
                "templates/init/nightly/orchestration/gates/contracts/FORMAT.contract.json"
            ),
            file!(
                "orchestration/gates/contracts/TESTS.contract.json",
                "templates/init/nightly/orchestration/gates/contracts/TESTS.contract.json"
            ),
            file!(
                "orchestration/gates/contracts/LINT.contract.json",
                "templates/init/nightly/orchestration/gates/contracts/LINT.contract.json"
            ),
            file!(
                "orchestration/nightly/check.sh",
                "templates/init/nightly/orchestration/nightly/check.sh",
                true
            ),
        ],
    },
];

/// The example named `name`.
pub fn find(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name)
}
