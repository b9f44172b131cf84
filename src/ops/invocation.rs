//! Recording agent invocations against a gate's current attempt.

use crate::clock;
use crate::error::{Error, Result};
use crate::record::store::Store;
use crate::record::{Cost, Event, EventType, Invocation, InvocationStatus, Usage, id};
use crate::repo::Repo;

/// What a person may add about an invocation they record by hand.
#[derive(Clone, Debug, Default)]
pub struct Details {
    pub session_id: Option<String>,
    pub usage: Option<Usage>,
    pub cost_usd: Option<f64>,
}

/// `orch invocation record`: appends an invocation to `RUN.json` and links it
/// to the gate's latest attempt (whose file is rewritten to match). On a
/// gate with no attempt yet it is recorded unlinked (`attempt` absent).
pub fn record(
    repo: &Repo,
    query: &str,
    gate: &str,
    agent: &str,
    status: InvocationStatus,
    details: &Details,
) -> Result<(String, Invocation)> {
    super::non_empty("--agent", agent, super::gate::AGENT_HINT)?;
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
        // Linked to the gate's latest attempt; a gate with none yet gets the
        // invocation unlinked, as the Node runner records it.
        let n = g.latest_mut().map(|attempt| {
            attempt.invocation_ids.push(inv_id.clone());
            attempt.attempt
        });
        let mut invocation = Invocation::new(
            inv_id.clone(),
            gate,
            n.unwrap_or(0),
            agent,
            status,
            stamp.clone(),
        );
        invocation.attempt = n;
        invocation.recorded_by.clone_from(&by);
        invocation.session_id.clone_from(&details.session_id);
        invocation.usage = details.usage;
        invocation.cost = details.cost_usd.map(|usd| Cost {
            usd: Some(usd),
            source: "reported".to_string(),
        });
        txn.run.invocations.push(invocation.clone());
        txn.run.recompute_totals();
        let linked = match n {
            Some(n) => format!("attempt {n}"),
            None => "no attempt yet (not linked)".to_string(),
        };
        let mut event = Event::new(
            &stamp,
            EventType::InvocationRecorded,
            format!("Invocation {inv_id} of {agent} recorded for {gate}, {linked}"),
        )
        .gate(gate, n);
        event.agent = Some(agent.to_string());
        event.invocation_id = Some(inv_id);
        txn.run.events.push(event);
        if let Some(n) = n {
            txn.touch(gate, n);
        }
        Ok((run_id.clone(), invocation))
    })
}
