//! Telling people when something waits for them, failed or passed: webhook
//! targets from the committed `orchestration/notify.json` (Slack's
//! `{"text": …}` or a JSON payload, signed per Standard Webhooks when a
//! secret is configured). Delivery never blocks or fails a run beyond its
//! bounded tries; every notification is recorded in the run's
//! `record/notifications.json` (event, target, status code, attempts,
//! `notified_at`; never the URL), and those still pending are resent by
//! `orch notify retry`. With `--offline` or `ORCH_OFFLINE` they are
//! recorded as pending and not sent.
//!
//! - `config`: the targets.
//! - `message`: what is said.
//! - `sign`: Standard Webhooks signatures.
//! - `deliver`: one POST, with tries and backoff.

pub mod config;
pub mod deliver;
pub mod message;
pub mod sign;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::record::FORMAT_VERSION;
use crate::record::store::{RecordFile, Store};
use crate::repo::Repo;
use crate::{clock, json};

pub use config::Config;

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    AwaitingApproval,
    AwaitingInput,
    Failed,
    Blocked,
    Passed,
    /// A run taken over from an owner that died.
    Rescued,
    /// An `auto_notify` gate passed and the run goes on.
    GatePassed,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::AwaitingApproval => "awaiting_approval",
            Event::AwaitingInput => "awaiting_input",
            Event::Failed => "failed",
            Event::Blocked => "blocked",
            Event::Passed => "passed",
            Event::Rescued => "rescued",
            Event::GatePassed => "gate_passed",
        }
    }
}

/// Whether a notification reached its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Delivered,
    /// Not delivered (yet): `orch notify retry` sends it again.
    Pending,
}

/// One notification, as the run's record keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Delivery {
    /// The `webhook-id` (the same on every try, so receivers can drop repeats).
    pub id: String,
    pub event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// The target's name in notify.json.
    pub target: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Requests made, over every send.
    pub attempts: u32,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<String>,
    /// Why it is still pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Delivery {
    /// One line for people: where it went, or why it is still pending.
    pub fn describe(&self) -> String {
        let target = crate::ui::sanitize_line(&self.target);
        match self.status {
            Status::Delivered => format!(
                "notified {target} ({}): HTTP {}",
                self.event.as_str(),
                self.status_code.unwrap_or(0)
            ),
            Status::Pending => format!(
                "notification to {target} ({}) is pending: {} (`orch notify retry` sends it again)",
                self.event.as_str(),
                crate::ui::sanitize_line(self.error.as_deref().unwrap_or("not sent"))
            ),
        }
    }
}

/// `record/notifications.json`.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Notifications {
    #[serde(default)]
    pub format_version: u32,
    #[serde(default)]
    pub notifications: Vec<Delivery>,
}

/// Sends `event` about run `id` to every target that wants it, and records
/// each notification in the run. No notify.json: nothing to do.
pub fn dispatch(
    repo: &Repo,
    id: &str,
    event: Event,
    gate: Option<&str>,
    offline: bool,
) -> Result<Vec<Delivery>> {
    let Some(config) = Config::load(repo)? else {
        return Ok(Vec::new());
    };
    let targets: Vec<&config::Target> = config.targets.iter().filter(|t| t.wants(event)).collect();
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let store = Store::new(repo);
    let run = store.load(id)?;
    let message = message::build(&run, event, gate);
    let deliveries: Vec<Delivery> = targets
        .into_iter()
        .map(|target| {
            let mut d = Delivery {
                id: format!("msg_{}", crate::approval::payload::nonce()),
                event,
                gate: gate.map(str::to_string),
                target: target.name.clone(),
                status: Status::Pending,
                status_code: None,
                attempts: 0,
                created_at: clock::now_timestamp(),
                notified_at: None,
                error: None,
            };
            send(&mut d, target, &message, offline);
            d
        })
        .collect();
    save(&store, id, &deliveries)?;
    Ok(deliveries)
}

fn send(d: &mut Delivery, target: &config::Target, message: &message::Message, offline: bool) {
    if offline {
        d.error = Some("offline (--offline or ORCH_OFFLINE): not sent".into());
        return;
    }
    let sent = deliver::send(target, &d.id, &message.body(target.format));
    d.attempts += sent.attempts;
    d.status_code = sent.status_code.or(d.status_code);
    d.error = sent.error;
    if sent.delivered {
        d.status = Status::Delivered;
        d.notified_at = Some(clock::now_timestamp());
    }
}

/// Records deliveries in run `id` (new ones appended, known ones replaced).
fn save(store: &Store, id: &str, deliveries: &[Delivery]) -> Result<()> {
    store.update_file(id, &RecordFile::Notifications, |current| {
        let rel = RecordFile::Notifications.rel(id);
        let mut file: Notifications = match current {
            Some(text) => json::parse(text, &rel)?,
            None => Notifications::default(),
        };
        for d in deliveries {
            match file.notifications.iter_mut().find(|n| n.id == d.id) {
                Some(n) => *n = d.clone(),
                None => file.notifications.push(d.clone()),
            }
        }
        file.format_version = FORMAT_VERSION;
        Ok((Some(json::to_pretty(&file)), ()))
    })
}

/// The notifications recorded in run `id`.
pub fn recorded(store: &Store, id: &str) -> Result<Vec<Delivery>> {
    let rel = RecordFile::Notifications.rel(id);
    Ok(match store.read_file(id, &RecordFile::Notifications)? {
        Some(text) => json::parse::<Notifications>(&text, &rel)?.notifications,
        None => Vec::new(),
    })
}

/// `orch notify retry`: resends the pending notifications of one run (or
/// of every run); returns them with the run they belong to.
pub fn retry(repo: &Repo, run: Option<&str>, offline: bool) -> Result<Vec<(String, Delivery)>> {
    let config = required_config(repo)?;
    let store = Store::new(repo);
    let ids = match run {
        Some(q) => vec![store.resolve(q)?],
        None => store.ids()?,
    };
    let mut out = Vec::new();
    for id in ids {
        let pending: Vec<Delivery> = recorded(&store, &id)?
            .into_iter()
            .filter(|d| d.status == Status::Pending)
            .collect();
        if pending.is_empty() {
            continue;
        }
        let record = store.load(&id)?;
        let mut done = Vec::new();
        for mut d in pending {
            match config.target(&d.target) {
                Ok(target) => {
                    let message = message::build(&record, d.event, d.gate.as_deref());
                    send(&mut d, target, &message, offline);
                }
                Err(e) => d.error = Some(e.to_string()),
            }
            done.push(d);
        }
        save(&store, &id, &done)?;
        out.extend(done.into_iter().map(|d| (id.clone(), d)));
    }
    Ok(out)
}

fn required_config(repo: &Repo) -> Result<Config> {
    Config::load(repo)?.ok_or_else(|| {
        Error::input(format!(
            "there is no {}",
            crate::storage::layout::NOTIFY_CONFIG
        ))
        .hint("see README, \"Notifications\", for its format")
    })
}

/// `orch notify test TARGET`: sends a sample; records nothing.
pub fn test(repo: &Repo, target: &str) -> Result<deliver::Sent> {
    let config = required_config(repo)?;
    let target = config.target(target)?;
    let message = message::sample(&target.name);
    Ok(deliver::send(
        target,
        &format!("msg_{}", crate::approval::payload::nonce()),
        &message.body(target.format),
    ))
}
