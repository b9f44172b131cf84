//! Where orch's files live inside a repository (FORMATS.md, "Where things
//! live"). Every path orch builds for its own layout comes from here.

/// Committed and ignored run folders live under this directory.
pub const RUNS_DIR: &str = "orchestration/runs";
/// Workflow definitions, first place looked.
pub const WORKFLOWS_DIR: &str = "orchestration/workflows";
/// Where the Node runner kept workflows; orch looks here second.
pub const LEGACY_WORKFLOWS_DIR: &str = "orchestration/runner/workflows";
/// Gate contracts.
pub const CONTRACTS_DIR: &str = "orchestration/gates/contracts";
/// Prompt templates named by a workflow gate's `prompt_template`.
pub const PROMPTS_DIR: &str = "orchestration/prompts";
/// Executables that provide extra validation types.
pub const VALIDATORS_DIR: &str = "orchestration/validators";
/// Who may sign approvals (git's `allowed_signers` format), read from a
/// trusted revision, never from the working tree.
pub const ALLOWED_SIGNERS: &str = "orchestration/allowed_signers";
/// Where notifications go (webhook targets; URLs come from the environment).
pub const NOTIFY_CONFIG: &str = "orchestration/notify.json";

pub fn run_dir(run_id: &str) -> String {
    format!("{RUNS_DIR}/{run_id}")
}

/// The committed part of a run.
pub fn record_dir(run_id: &str) -> String {
    format!("{RUNS_DIR}/{run_id}/record")
}

pub fn run_json(run_id: &str) -> String {
    format!("{RUNS_DIR}/{run_id}/record/RUN.json")
}

/// `RUN.json`, relative to its run's folder.
pub const RUN_JSON_IN_RUN: &str = "record/RUN.json";

/// An attempt file, relative to its run's folder.
pub fn attempt_in_run(gate: &str, attempt: u32) -> String {
    format!("record/gates/{gate}/attempt-{attempt}.json")
}

/// A run's redo journal (outside the committed record; see `storage::journal`).
pub fn journal(run_id: &str) -> String {
    format!("{RUNS_DIR}/{run_id}/logs/journal")
}

pub fn attempt_file(run_id: &str, gate: &str, attempt: u32) -> String {
    format!("{RUNS_DIR}/{run_id}/record/gates/{gate}/attempt-{attempt}.json")
}

/// A signed approval (or rejection) of one attempt, relative to its run's folder.
pub fn approval_in_run(gate: &str, attempt: u32, id: &str) -> String {
    format!("record/approvals/{gate}/attempt-{attempt}-{id}.json")
}

/// The folder of a run's signed approvals.
pub fn approvals_dir(run_id: &str) -> String {
    format!("{RUNS_DIR}/{run_id}/record/approvals")
}

/// The notifications sent about a run, relative to its run's folder.
pub const NOTIFICATIONS_IN_RUN: &str = "record/notifications.json";

/// The gitignored part of a run: packets, agent output, locks.
pub fn logs_dir(run_id: &str) -> String {
    format!("{RUNS_DIR}/{run_id}/logs")
}

/// The lock that serialises writers of one run (outside the committed record).
pub fn lock_file(run_id: &str) -> String {
    format!("{RUNS_DIR}/{run_id}/logs/run.lock")
}

pub fn default_contract(gate: &str) -> String {
    format!("{CONTRACTS_DIR}/{gate}.contract.json")
}

pub fn workflow_candidates(name: &str) -> [String; 2] {
    [
        format!("{WORKFLOWS_DIR}/{name}.json"),
        format!("{LEGACY_WORKFLOWS_DIR}/{name}.json"),
    ]
}

pub fn prompt_template(name: &str) -> String {
    format!("{PROMPTS_DIR}/{name}.md")
}

pub fn validator(kind: &str) -> String {
    format!("{VALIDATORS_DIR}/{kind}")
}

/// The skills catalog: one folder per skill, each with a SKILL.md.
pub const SKILLS_DIR: &str = "skills";
/// Named project commands (`tests`, `lint`, …) that quality checks use.
pub const COMMANDS_CONFIG: &str = "orchestration/commands.json";

pub fn skill_dir(id: &str) -> String {
    format!("{SKILLS_DIR}/{id}")
}

/// Signed vettings of skill `id` (outside its folder: a vetting inside it
/// would change the content hash it vouches for).
pub fn skill_vettings_dir(id: &str) -> String {
    format!("orchestration/skills/vettings/{id}")
}

/// One vetting: the content hash it vets and a nonce, so vettings of
/// different versions, or by different people, sit side by side.
pub fn skill_vetting(id: &str, sha256: &str, nonce: &str) -> String {
    format!(
        "{}/{}-{}.json",
        skill_vettings_dir(id),
        sha256.get(..12).unwrap_or(sha256),
        nonce.get(..12).unwrap_or(nonce)
    )
}

/// Where an imported skill came from (`orch skill import`).
pub fn skill_source(id: &str) -> String {
    format!("orchestration/skills/sources/{id}.json")
}
