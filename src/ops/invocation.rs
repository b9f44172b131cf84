//! Recording agent invocations against a gate's current attempt.

use crate::clock;
use crate::error::{Error, Result};
use crate::record::store::Store;
use crate::record::{Event, EventType, Invocation, InvocationStatus, id};
use crate::repo::Repo;

/// `orch invocation record`: appends an invocation to `RUN.json` and links it
/// to the gate's latest attempt (whose file is rewritten to match).
pub fn record(
    repo: &Repo,
    query: &str,
    gate: &str,
    agent: &str,
    status: InvocationStatus,
) -> Result<(String, Invocation)> {
    let store = Store::new(repo);
    let run_id = store.resolve(query)?;
    let by = super::actor(repo);
    store.update(&run_id, |txn| {
        super::ensure_open(&txn.run)?;
        let known: Vec<String> = txn.run.gates.iter().map(|g| g.gate.clone()).collect();
        let g = txn.run.gate_mut(gate).ok_or_else(|| {
            Error::input(format!("run `{run_id}` has no gate `{gate}`"))
                .hint(format!("its gates are: {}", known.join(", ")))
        })?;
        let now = clock::now();
        let stamp = clock::timestamp(now);
        let inv_id = id::new_invocation_id(now);
        let Some(attempt) = g.latest_mut() else {
            return Err(Error::conflict(format!(
                "{gate} has no attempt to link the invocation to"
            ))
            .hint(format!(
                "start one first: orch gate start --run {run_id} --gate {gate} --agent {agent}"
            )));
        };
        attempt.invocation_ids.push(inv_id.clone());
        let n = attempt.attempt;
        let invocation = Invocation {
            id: inv_id.clone(),
            gate: gate.to_string(),
            attempt: Some(n),
            agent: Some(agent.to_string()),
            status,
            timestamp: Some(stamp.clone()),
            recorded_by: by.clone(),
            extra: serde_json::Map::new(),
        };
        txn.run.invocations.push(invocation.clone());
        let mut event = Event::new(
            &stamp,
            EventType::InvocationRecorded,
            format!("Invocation {inv_id} of {agent} recorded for {gate} attempt {n}"),
        )
        .gate(gate, Some(n));
        event.agent = Some(agent.to_string());
        event.invocation_id = Some(inv_id);
        txn.run.events.push(event);
        txn.touch(gate, n);
        Ok((run_id.clone(), invocation))
    })
}
