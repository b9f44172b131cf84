//! `orchestration/notify.json`: who hears about what. Committed, so it
//! holds no secrets: each target names the environment variable that holds
//! its URL (and, optionally, its signing secret).
//!
//! ```json
//! {"targets": [{"name": "team", "format": "slack", "url_env": "SLACK_WEBHOOK",
//!               "events": ["awaiting_approval", "failed"]},
//!              {"name": "ops", "format": "json", "url_env": "OPS_WEBHOOK",
//!               "secret_env": "ORCH_WEBHOOK_SECRET"}]}
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Event;
use crate::error::{Error, Result};
use crate::json;
use crate::repo::Repo;
use crate::storage::layout;

/// `orchestration/notify.json`: where notifications go.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where editors find this file's JSON Schema (orch ignores it).
    #[serde(default, rename = "$schema", skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub targets: Vec<Target>,
}

/// Where notifications go.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// A name for the target, recorded with each notification (the URL never is).
    pub name: String,
    /// `slack` (`{"text": …}`) or `json` (the full payload).
    pub format: Format,
    /// The environment variable holding the webhook URL.
    pub url_env: String,
    /// The environment variable holding a Standard Webhooks secret
    /// (`whsec_…`); requests are signed when it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// Which events; default all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
}

/// A target's message format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Slack,
    Json,
}

impl Target {
    pub fn wants(&self, event: Event) -> bool {
        self.events.as_ref().is_none_or(|e| e.contains(&event))
    }
}

impl Config {
    /// Reads the repository's notify.json; `None` when there is none.
    pub fn load(repo: &Repo) -> Result<Option<Config>> {
        // Only a missing file means "no notifications"; anything else
        // there (a FIFO, a folder) is refused by the read, saying what it is.
        let text = match crate::storage::regular::read_to_string(&repo.join(layout::NOTIFY_CONFIG))
        {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::read(layout::NOTIFY_CONFIG, e)),
        };
        Self::parse(&text, layout::NOTIFY_CONFIG).map(Some)
    }

    /// Parses and checks notify.json's text (`shown` names it in errors).
    pub fn parse(text: &str, shown: &str) -> Result<Config> {
        let config: Config = json::parse(text, shown)?;
        for (i, t) in config.targets.iter().enumerate() {
            if config.targets[..i].iter().any(|o| o.name == t.name) {
                return Err(Error::input(format!(
                    "{shown}: target `{}` appears twice",
                    t.name
                )));
            }
            if t.url_env.trim().is_empty() {
                return Err(Error::input(format!(
                    "{shown}: target `{}` has an empty url_env",
                    t.name
                ))
                .hint("name the environment variable that holds the webhook URL, e.g. \"SLACK_WEBHOOK\""));
            }
        }
        Ok(config)
    }

    pub fn target(&self, name: &str) -> Result<&Target> {
        self.targets.iter().find(|t| t.name == name).ok_or_else(|| {
            Error::input(format!("{} has no target `{name}`", layout::NOTIFY_CONFIG)).hint(format!(
                "its targets are: {}",
                self.targets
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }
}
