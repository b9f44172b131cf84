//! A workflow gate's approval policy (`"approval": {…}`), and what it asks
//! of one attempt.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::record::ApprovalRequirement;

/// `"approval": {"required": true, "min_approvals": 1, "allow_self_approval": false, "when": "always"}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct ApprovalPolicy {
    /// Whether the gate needs signed approvals before it passes (default true).
    #[serde(default = "yes")]
    pub required: bool,
    /// How many different people must approve (default 1).
    #[serde(default = "one")]
    pub min_approvals: u32,
    /// Whether the person who ran the gate may approve it (default false).
    #[serde(default)]
    pub allow_self_approval: bool,
    /// `always` (default), or `outputs_uri`: only when the gate's agent
    /// printed a pull-request (or other outputs) URL.
    #[serde(default)]
    pub when: ApprovalWhen,
}

/// When a gate's approval policy applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalWhen {
    #[default]
    Always,
    OutputsUri,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

impl ApprovalPolicy {
    /// What an attempt needs, given whether it produced an outputs URI.
    pub fn requirement(&self, has_outputs_uri: bool) -> Option<ApprovalRequirement> {
        let applies = match self.when {
            ApprovalWhen::Always => true,
            ApprovalWhen::OutputsUri => has_outputs_uri,
        };
        (self.required && applies).then(|| ApprovalRequirement {
            min_approvals: self.min_approvals.max(1),
            allow_self_approval: self.allow_self_approval,
            ..ApprovalRequirement::default()
        })
    }
}

/// The stricter of two requirements (more approvals; self-approval only
/// when both allow it).
pub fn strictest(
    a: Option<ApprovalRequirement>,
    b: Option<ApprovalRequirement>,
) -> Option<ApprovalRequirement> {
    match (a, b) {
        (Some(a), Some(b)) => Some(ApprovalRequirement {
            min_approvals: a.min_approvals.max(b.min_approvals),
            allow_self_approval: a.allow_self_approval && b.allow_self_approval,
            reason: a.reason.or(b.reason),
            granted_at: a.granted_at.or(b.granted_at),
        }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_conditions() {
        let p: ApprovalPolicy = serde_json::from_str(r#"{"when": "outputs_uri"}"#).unwrap();
        assert!(p.required);
        assert_eq!(p.requirement(false), None);
        assert_eq!(
            p.requirement(true),
            Some(ApprovalRequirement {
                min_approvals: 1,
                allow_self_approval: false,
                ..ApprovalRequirement::default()
            })
        );
        let off: ApprovalPolicy = serde_json::from_str(r#"{"required": false}"#).unwrap();
        assert_eq!(off.requirement(true), None);
        let two = Some(ApprovalRequirement {
            min_approvals: 2,
            allow_self_approval: true,
            ..ApprovalRequirement::default()
        });
        let one_strict = Some(ApprovalRequirement {
            min_approvals: 1,
            allow_self_approval: false,
            ..ApprovalRequirement::default()
        });
        assert_eq!(
            strictest(two, one_strict),
            Some(ApprovalRequirement {
                min_approvals: 2,
                allow_self_approval: false,
                ..ApprovalRequirement::default()
            })
        );
    }
}
