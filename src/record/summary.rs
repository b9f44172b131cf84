//! The few fields `run list` shows, read without materialising whole
//! records (attempts and validations are skipped by the parser), and many
//! records parsed on all cores: listing thousands of runs stays fast.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

use crate::error::Result;
use crate::record::store::Store;
use crate::record::{GateStatus, RunStatus};
use crate::storage::layout;
use crate::{json, par};

#[derive(Clone, Debug, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub workflow: SummaryWorkflow,
    pub status: RunStatus,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub gates: Vec<SummaryGate>,
    #[serde(default, rename = "events")]
    pub last_event_at: LastEvent,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SummaryWorkflow {
    pub name: String,
    pub slug: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SummaryGate {
    pub gate: String,
    pub status: GateStatus,
}

/// The timestamp of the last event, read from the events array without
/// keeping the rest.
#[derive(Clone, Debug, Default)]
pub struct LastEvent(pub Option<String>);

impl<'de> Deserialize<'de> for LastEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Stamp {
            #[serde(default)]
            timestamp: Option<String>,
        }
        struct Last;
        impl<'de> Visitor<'de> for Last {
            type Value = LastEvent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of events")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<LastEvent, A::Error> {
                let mut last = None;
                while let Some(stamp) = seq.next_element::<Stamp>()? {
                    if stamp.timestamp.is_some() {
                        last = stamp.timestamp;
                    }
                }
                Ok(LastEvent(last))
            }
        }
        d.deserialize_seq(Last)
    }
}

impl RunSummary {
    pub fn gate_counts(&self) -> (usize, usize) {
        let passed = self
            .gates
            .iter()
            .filter(|g| g.status == GateStatus::Pass)
            .count();
        (passed, self.gates.len())
    }

    pub fn last_activity(&self) -> &str {
        self.last_event_at.0.as_deref().unwrap_or(&self.started_at)
    }
}

/// Summaries of every run, newest first. Records that cannot be read are
/// returned as errors next to their id, so one bad file does not hide the rest.
pub fn list(
    store: &Store,
) -> Result<Vec<std::result::Result<RunSummary, (String, crate::error::Error)>>> {
    let ids = store.ids()?;
    let repo = store.repo();
    let mut out = par::map_with(
        &ids,
        || (),
        |(), id| {
            let rel = layout::run_json(id);
            let text = crate::storage::regular::read_to_string(&repo.join(&rel))
                .map_err(|e| (id.clone(), crate::error::Error::read(&rel, e)))?;
            json::parse::<RunSummary>(&text, &rel).map_err(|e| (id.clone(), e))
        },
    );
    out.retain(|r| !matches!(r, Err((_, crate::error::Error::Read { source, .. })) if source.kind() == std::io::ErrorKind::NotFound));
    out.sort_by(|a, b| key(b).cmp(&key(a)));
    Ok(out)
}

fn key(r: &std::result::Result<RunSummary, (String, crate::error::Error)>) -> (&str, &str) {
    match r {
        Ok(s) => (s.started_at.as_str(), s.run_id.as_str()),
        Err((id, _)) => ("", id.as_str()),
    }
}
