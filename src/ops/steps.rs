//! A gate's recipe steps, as the pipeline runs them: each step is one agent
//! invocation within the gate's attempt, given the gate's packet followed
//! by the step's skill (its entrypoint, or SKILL.md) and its params; its
//! own time limit and retries. A gate without steps is one invocation of
//! the packet alone. The contract decides once every step has run.

use std::fmt::Write;

use crate::error::Result;
use crate::repo::Repo;
use crate::workflow::WorkflowGate;

/// One invocation to make.
#[derive(Clone, Debug)]
pub struct StepInput {
    /// 1-based; `None` for a gate without steps.
    pub number: Option<u32>,
    pub skill: Option<String>,
    /// What the agent reads on stdin.
    pub input: String,
    pub timeout_s: Option<f64>,
    /// Extra invocations after a failed one.
    pub retries: u32,
}

/// The invocations gate `g` makes with `packet`.
pub fn inputs(repo: &Repo, g: &WorkflowGate, packet: &str) -> Result<Vec<StepInput>> {
    if g.steps.is_empty() {
        return Ok(vec![StepInput {
            number: None,
            skill: None,
            input: packet.to_string(),
            timeout_s: None,
            retries: 0,
        }]);
    }
    let total = g.steps.len();
    g.steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let skill = crate::skill::load(repo, &step.skill)?;
            let (rel, prompt) = skill.prompt(repo)?;
            let mut input = packet.to_string();
            let _ = writeln!(
                input,
                "\n## Step {} of {total}: skill `{}` ({rel})\n",
                i + 1,
                step.skill
            );
            let _ = writeln!(input, "{}", prompt.trim_end());
            if !step.params.is_empty() {
                let params = serde_json::to_string_pretty(&step.params).unwrap_or_default();
                let _ = writeln!(input, "\n### Params\n\n```json\n{params}\n```");
            }
            let _ = writeln!(
                input,
                "\nDo this step only; the steps after it run separately."
            );
            Ok(StepInput {
                number: u32::try_from(i + 1).ok(),
                skill: Some(step.skill.clone()),
                input,
                timeout_s: step.timeout_s,
                retries: step.retries.unwrap_or(0),
            })
        })
        .collect()
}
