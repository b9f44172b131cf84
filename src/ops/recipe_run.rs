//! What a gate's recipe adds to an attempt in `orch run`: the level it
//! runs at and the skills it runs (stamped on the attempt), a wait for a
//! signed approval before its agent starts, and what its `on_fail` does
//! after a failure — put the outputs back (`revert`), or write questions
//! and pause for a person (`create_questions`). (`review_required` is in
//! `gate::record_finish`, so `orch gate finish` honours it too.)

use crate::contract::Contract;
use crate::error::Result;
use crate::recipe::level::Plan;
use crate::recipe::{questions, snapshot};
use crate::record::store::{Store, Txn};
use crate::record::{AttemptStatus, Event, EventType, GateStatus, Reverted, RunStatus};
use crate::repo::Repo;
use crate::storage::layout;
use crate::validate::Context;
use crate::workflow::WorkflowGate;

/// Records on attempt `n` of `gate` how it runs; when its agent needs a
/// signed approval to start, the attempt and the gate wait for it.
pub fn stamp(txn: &mut Txn, gate: &str, n: u32, plan: &Plan) -> Result<()> {
    let g = super::gate::gate_mut(&mut txn.run, gate)?;
    let Some(a) = g.attempts.iter_mut().find(|a| a.attempt == n) else {
        return Ok(());
    };
    a.automation = Some(plan.level.as_str().to_string());
    a.skills.clone_from(&plan.skills);
    if let Some(start) = &plan.start {
        a.start_approval = Some(start.clone());
        a.status = AttemptStatus::AwaitingApproval;
        g.status = GateStatus::AwaitingApproval;
        let why = start.reason.clone().unwrap_or_default();
        txn.run.events.push(
            Event::now(
                EventType::GateAwaitingApproval,
                format!(
                    "Gate {gate} attempt {n} awaits {} signed approval(s) before its agent starts: {why}",
                    start.min_approvals
                ),
            )
            .gate(gate, Some(n)),
        );
        txn.run.refresh_status();
    }
    txn.touch(gate, n);
    Ok(())
}

/// Where attempt `n`'s snapshot of its outputs is kept (in the logs).
fn snapshot_dir(repo: &Repo, id: &str, gate: &str, n: u32) -> std::path::PathBuf {
    repo.join(&format!(
        "{}/gates/{gate}/attempt-{n}/snapshot",
        layout::logs_dir(id)
    ))
}

/// `on_fail: revert`: copies the outputs as they are before the work.
pub fn before_work(repo: &Repo, store: &Store, id: &str, g: &WorkflowGate, n: u32) -> Result<()> {
    if g.on_fail() != crate::recipe::OnFail::Revert {
        return Ok(());
    }
    let run = store.load(id)?;
    let contract = Contract::for_workflow_gate(repo, g)?;
    let vars = super::run_vars(repo, &run)?;
    let dir = snapshot_dir(repo, id, &g.gate, n);
    std::fs::create_dir_all(&dir).map_err(|e| crate::error::Error::write(dir.display(), e))?;
    snapshot::take(&contract, &context(repo, &vars, &run), &dir)?;
    Ok(())
}

fn context<'a>(
    repo: &'a Repo,
    vars: &'a crate::contract::template::Vars<'a>,
    run: &crate::record::RunRecord,
) -> Context<'a> {
    Context {
        repo,
        vars,
        depth: run.depth,
        offline: true,
        hash_outputs: false,
        run: None,
    }
}

/// What a failed attempt's `on_fail` did.
pub enum AfterFailure {
    /// Nothing more (`stay`, `review_required`), or the outputs were put back.
    Go,
    /// Questions were written to this file; the run waits for a person.
    Asked(String),
}

/// Applies gate `g`'s `on_fail` to failed attempt `n`.
pub fn after_failure(
    repo: &Repo,
    store: &Store,
    id: &str,
    g: &WorkflowGate,
    n: u32,
) -> Result<AfterFailure> {
    match g.on_fail() {
        crate::recipe::OnFail::Revert => {
            let Some(snap) = snapshot::load(&snapshot_dir(repo, id, &g.gate, n)) else {
                return Ok(AfterFailure::Go);
            };
            let run = store.load(id)?;
            let contract = Contract::for_workflow_gate(repo, g)?;
            let vars = super::run_vars(repo, &run)?;
            let reverted = snap.restore(repo, &contract, &context(repo, &vars, &run))?;
            record_reverted(store, id, &g.gate, n, &reverted)?;
            Ok(AfterFailure::Go)
        }
        crate::recipe::OnFail::CreateQuestions => {
            let run = store.load(id)?;
            let Some(a) = run
                .gate(&g.gate)
                .and_then(|r| r.attempts.iter().find(|a| a.attempt == n))
            else {
                return Ok(AfterFailure::Go);
            };
            let rel = questions::write(repo, &run.workflow.artifact_path, id, &g.gate, a)?;
            store.update(id, |txn| {
                let gate = super::gate::gate_mut(&mut txn.run, &g.gate)?;
                if let Some(a) = gate.attempts.iter_mut().find(|a| a.attempt == n) {
                    a.questions = Some(rel.clone());
                }
                txn.run.status = RunStatus::AwaitingInput;
                txn.run.events.push(
                    Event::now(
                        EventType::RunPaused,
                        format!(
                            "Gate {} attempt {n} failed; questions for a person are in {rel}",
                            g.gate
                        ),
                    )
                    .gate(&g.gate, Some(n)),
                );
                txn.touch(&g.gate, n);
                Ok(())
            })?;
            Ok(AfterFailure::Asked(rel))
        }
        _ => Ok(AfterFailure::Go),
    }
}

fn record_reverted(
    store: &Store,
    id: &str,
    gate: &str,
    n: u32,
    reverted: &[Reverted],
) -> Result<()> {
    if reverted.is_empty() {
        return Ok(());
    }
    store.update(id, |txn| {
        let g = super::gate::gate_mut(&mut txn.run, gate)?;
        if let Some(a) = g.attempts.iter_mut().find(|a| a.attempt == n) {
            a.reverted = reverted.to_vec();
        }
        txn.touch(gate, n);
        Ok(())
    })
}
