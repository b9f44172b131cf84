//! Recipes: what a workflow gate says about how much runs without a
//! person (`automation`), which skills its agent runs and how (`steps`),
//! and what happens when it fails (`on_fail`). The seed's stage recipes,
//! kept in the workflow file next to the gate they describe.
//!
//! - `level`: the automation level a gate really gets — the lower of the
//!   gate's and what its skills' trust allows.
//! - `check`: `orch recipe validate` (and `orch lint`): errors and warnings.
//! - `snapshot`: `on_fail: revert`, the outputs as they were before an attempt.
//! - `questions`: `on_fail: create_questions`, the file a person answers.

pub mod check;
pub mod level;
pub mod questions;
pub mod snapshot;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How much of a gate runs without a person, from least to most.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Automation {
    /// A person does the work (today's person gate).
    Manual,
    /// A person's signed approval lets the agent start.
    HumanApproval,
    /// The agent runs and the gate advances; the notify targets are told.
    AutoNotify,
    /// The agent runs and the gate advances.
    FullyAuto,
}

impl Automation {
    pub const ALL: [Automation; 4] = [
        Automation::FullyAuto,
        Automation::AutoNotify,
        Automation::HumanApproval,
        Automation::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Automation::Manual => "manual",
            Automation::HumanApproval => "human_approval",
            Automation::AutoNotify => "auto_notify",
            Automation::FullyAuto => "fully_auto",
        }
    }

    /// The level of a gate that does not say: `fully_auto` when a command
    /// does the work, `manual` when a person does.
    pub fn default_for(has_command: bool) -> Automation {
        if has_command {
            Automation::FullyAuto
        } else {
            Automation::Manual
        }
    }
}

impl std::fmt::Display for Automation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens when an attempt at the gate fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnFail {
    /// Retry within `retries`, then stop the run (FAILED, resumable).
    #[default]
    Stay,
    /// As `stay`, and the outputs the failed attempt changed are put back
    /// as they were before it (from a snapshot orch took; never `git reset`).
    Revert,
    /// Write the failure reasons as questions into
    /// `{artifact_path}/QUESTIONS.md` and pause for a person.
    CreateQuestions,
    /// Wait for a person to approve an override (the gate passes) or
    /// reject it (the gate fails).
    ReviewRequired,
}

impl OnFail {
    pub fn as_str(self) -> &'static str {
        match self {
            OnFail::Stay => "stay",
            OnFail::Revert => "revert",
            OnFail::CreateQuestions => "create_questions",
            OnFail::ReviewRequired => "review_required",
        }
    }
}

/// One recipe step: one agent invocation in the gate's attempt, its packet
/// built from the skill's prompt and the params.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The skill's id (`skills/<id>/`).
    pub skill: String,
    /// Values for the skill's inputs, shown to the agent in the packet.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// Seconds this step's agent may run (default: the executor's, else 1800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// Times a failed invocation of this step is run again (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}
