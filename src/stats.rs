//! `orch stats`: how the work is going, from the run records (the truth)
//! and the tasks. Runs, outcomes, durations, first-attempt pass rates,
//! retries, task completion times, tokens and cost, overall or grouped by
//! workflow, gate, agent or worker. Costs keep their kind apart: what
//! agents reported, what orch estimated from prices, and invocations whose
//! cost is unknown, which are counted, never summed as 0.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock;
use crate::error::Result;
use crate::queue::Queue;
use crate::queue::task::Status;
use crate::record::store::Store;
use crate::record::summary;
use crate::record::{AttemptStatus, GateStatus, Invocation, RunRecord, RunStatus};

/// How to group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Workflow,
    Gate,
    Agent,
    Worker,
}

/// Which runs count: those started in `[since, until)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Window {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Window {
    fn holds(&self, ts: &str) -> bool {
        let Some(t) = clock::parse(ts) else {
            return self.since.is_none() && self.until.is_none();
        };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// Mean and median of some seconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Spread {
    pub count: usize,
    pub mean_s: Option<f64>,
    pub median_s: Option<f64>,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(f64::total_cmp);
        #[allow(clippy::cast_precision_loss)]
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let mid = v.len() / 2;
        let median = if v.len().is_multiple_of(2) {
            f64::midpoint(v[mid - 1], v[mid])
        } else {
            v[mid]
        };
        Spread {
            count: v.len(),
            mean_s: Some(round3(mean)),
            median_s: Some(round3(median)),
        }
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Tokens and cost, each kind apart.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Spend {
    pub invocations: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Invocations that reported no token counts.
    pub tokens_unknown: u64,
    /// Sum of reported costs; absent when no invocation reported one.
    pub reported_usd: Option<f64>,
    pub reported: u64,
    /// Sum of estimated costs; absent when none was estimated.
    pub estimated_usd: Option<f64>,
    pub estimated: u64,
    /// Invocations whose cost nobody knows (not counted as 0 anywhere).
    pub cost_unknown: u64,
}

impl Spend {
    fn add(&mut self, inv: &Invocation) {
        self.invocations += 1;
        match &inv.usage {
            Some(u) => {
                self.input_tokens = self.input_tokens.saturating_add(u.input_tokens);
                self.output_tokens = self.output_tokens.saturating_add(u.output_tokens);
            }
            None => self.tokens_unknown += 1,
        }
        match inv
            .cost
            .as_ref()
            .and_then(|c| c.usd.map(|usd| (usd, c.source.as_str())))
        {
            Some((usd, "estimated")) if usd.is_finite() => {
                *self.estimated_usd.get_or_insert(0.0) += usd;
                self.estimated += 1;
            }
            Some((usd, _)) if usd.is_finite() => {
                *self.reported_usd.get_or_insert(0.0) += usd;
                self.reported += 1;
            }
            _ => self.cost_unknown += 1,
        }
    }

    fn rounded(mut self) -> Spend {
        let round = |v: f64| (v * 1e6).round() / 1e6;
        self.reported_usd = self.reported_usd.map(round);
        self.estimated_usd = self.estimated_usd.map(round);
        self
    }
}

/// One group's figures (or the whole window's).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Figures {
    /// Runs (for `--by gate`: runs that attempted the gate).
    pub runs: u64,
    /// PASSED runs (for gates: gates that passed).
    pub passed: u64,
    /// FAILED runs (for gates: gates whose latest attempt failed or was blocked).
    pub failed: u64,
    /// passed / (passed + failed).
    pub success_rate: Option<f64>,
    /// Completed runs, start to finish (for gates: attempts).
    pub duration: Spread,
    /// Gates (or, for `--by agent`, attempts) whose first attempt passed.
    pub first_attempt_pass_rate: Option<f64>,
    pub attempts: u64,
    /// Attempts after the first, summed over gates.
    pub retries: u64,
    /// Tasks DONE in the window, and how long from claimed to done.
    pub tasks_done: u64,
    pub tasks_failed: u64,
    pub task_completion: Spread,
    pub spend: Spend,
}

#[derive(Clone, Default)]
struct Acc {
    runs: u64,
    passed: u64,
    failed: u64,
    durations: Vec<f64>,
    firsts: u64,
    firsts_passed: u64,
    attempts: u64,
    retries: u64,
    tasks_done: u64,
    tasks_failed: u64,
    task_times: Vec<f64>,
    spend: Spend,
}

fn seconds(from: &str, to: &str) -> Option<f64> {
    let (a, b) = (clock::parse(from)?, clock::parse(to)?);
    #[allow(clippy::cast_precision_loss)]
    Some((b - a).num_milliseconds().max(0) as f64 / 1000.0)
}

fn rate(n: u64, of: u64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    (of > 0).then(|| round3(n as f64 / of as f64))
}

impl Acc {
    fn run(&mut self, run: &RunRecord) {
        self.runs += 1;
        match run.status {
            RunStatus::Passed => self.passed += 1,
            RunStatus::Failed => self.failed += 1,
            _ => {}
        }
        if let Some(d) = run
            .finished_at
            .as_deref()
            .and_then(|f| seconds(&run.started_at, f))
        {
            self.durations.push(d);
        }
        for g in &run.gates {
            self.gate(g);
        }
        for inv in &run.invocations {
            self.spend.add(inv);
        }
    }

    fn gate(&mut self, g: &crate::record::GateRecord) {
        let attempts: Vec<_> = g
            .attempts
            .iter()
            .filter(|a| a.mode.as_deref() != Some("validate_only"))
            .collect();
        if let Some(first) = attempts.iter().min_by_key(|a| a.attempt) {
            self.firsts += 1;
            if first.status == AttemptStatus::Pass {
                self.firsts_passed += 1;
            }
        }
        self.attempts += attempts.len() as u64;
        self.retries += (attempts.len() as u64).saturating_sub(1);
    }

    fn figures(self) -> Figures {
        Figures {
            runs: self.runs,
            passed: self.passed,
            failed: self.failed,
            success_rate: rate(self.passed, self.passed + self.failed),
            duration: Spread::of(self.durations),
            first_attempt_pass_rate: rate(self.firsts_passed, self.firsts),
            attempts: self.attempts,
            retries: self.retries,
            tasks_done: self.tasks_done,
            tasks_failed: self.tasks_failed,
            task_completion: Spread::of(self.task_times),
            spend: self.spend.rounded(),
        }
    }
}

/// The report.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    pub since: Option<String>,
    pub until: Option<String>,
    pub total: Figures,
    /// Per gate, always: attempts, first-attempt pass rate, retries.
    pub gates: BTreeMap<String, Figures>,
    /// Tasks by status now (whatever the window).
    pub tasks: BTreeMap<String, usize>,
    pub by: Option<By>,
    pub groups: BTreeMap<String, Figures>,
    /// Records that could not be read (skipped, named here).
    pub unreadable: Vec<String>,
}

/// Computes the report for runs started in `window`.
pub fn compute(queue: &Queue, window: Window, by: Option<By>) -> Result<Stats> {
    let repo = queue.repo;
    let store = Store::new(repo);
    let mut unreadable = Vec::new();
    let mut ids = Vec::new();
    for s in summary::list(&store)? {
        match s {
            Ok(s) if window.holds(&s.started_at) => ids.push(s.run_id),
            Ok(_) => {}
            Err((id, _)) => unreadable.push(id),
        }
    }
    let loaded = crate::par::map_with(&ids, || (), |(), id| store.load(id));
    let mut runs = Vec::with_capacity(loaded.len());
    for (id, r) in ids.iter().zip(loaded) {
        match r {
            Ok(run) => runs.push(run),
            Err(_) => unreadable.push(id.clone()),
        }
    }
    let board = queue.board()?;
    // Which worker drove which run, from the tasks' `started` events.
    let mut worker_of: BTreeMap<String, String> = BTreeMap::new();
    for e in &board.entries {
        for ev in &e.stored.events {
            if let (Some(run), Some(w)) = (&ev.run_id, &ev.worker)
                && ev.kind == crate::queue::task::EventKind::Started
            {
                worker_of.insert(run.clone(), w.clone());
            }
        }
    }
    let mut total = Acc::default();
    let mut gates: BTreeMap<String, Acc> = BTreeMap::new();
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    for run in &runs {
        total.run(run);
        for g in &run.gates {
            let acc = gates.entry(g.gate.clone()).or_default();
            gate_outcome(acc, g);
            for inv in run.invocations.iter().filter(|i| i.gate == g.gate) {
                acc.spend.add(inv);
            }
        }
        match by {
            Some(By::Workflow) => groups
                .entry(run.workflow.name.clone())
                .or_default()
                .run(run),
            Some(By::Worker) => groups
                .entry(
                    worker_of
                        .get(&run.run_id)
                        .cloned()
                        .unwrap_or_else(|| "(none)".into()),
                )
                .or_default()
                .run(run),
            Some(By::Agent) => {
                for g in &run.gates {
                    for a in g
                        .attempts
                        .iter()
                        .filter(|a| a.mode.as_deref() != Some("validate_only"))
                    {
                        let acc = groups
                            .entry(a.agent.clone().unwrap_or_else(|| "(unknown)".into()))
                            .or_default();
                        acc.attempts += 1;
                        acc.firsts += 1;
                        if a.status == AttemptStatus::Pass {
                            acc.firsts_passed += 1;
                        }
                    }
                }
                for inv in &run.invocations {
                    groups
                        .entry(inv.agent.clone().unwrap_or_else(|| "(unknown)".into()))
                        .or_default()
                        .spend
                        .add(inv);
                }
            }
            Some(By::Gate) | None => {}
        }
    }
    if by == Some(By::Gate) {
        groups = gates.clone();
    }
    let mut tasks: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..board.entries.len() {
        *tasks.entry(board.shown(i).0.to_string()).or_default() += 1;
    }
    for e in &board.entries {
        let group = match by {
            Some(By::Workflow) => e.stored.def.workflow.as_ref().map(|w| w.name.clone()),
            Some(By::Worker) => e.folded.worker.clone(),
            _ => None,
        };
        let f = &e.folded;
        let (done, failed) = (f.status == Status::Done, matches!(f.status, Status::Failed));
        let at = if done {
            f.done_at.as_deref()
        } else {
            Some(f.updated_at.as_str())
        };
        if !(done || failed) || !at.is_some_and(|t| window.holds(t)) {
            continue;
        }
        let time = f
            .started_at
            .as_deref()
            .zip(f.done_at.as_deref())
            .and_then(|(a, b)| seconds(a, b));
        let count = |acc: &mut Acc| {
            if done {
                acc.tasks_done += 1;
                acc.task_times.extend(time);
            } else {
                acc.tasks_failed += 1;
            }
        };
        count(&mut total);
        if let Some(g) = group {
            count(groups.entry(g).or_default());
        }
    }
    Ok(Stats {
        since: window.since.map(clock::timestamp),
        until: window.until.map(clock::timestamp),
        total: total.figures(),
        gates: gates.into_iter().map(|(k, a)| (k, a.figures())).collect(),
        tasks,
        by,
        groups: groups.into_iter().map(|(k, a)| (k, a.figures())).collect(),
        unreadable,
    })
}

/// A gate's own outcome, counted for the per-gate figures.
fn gate_outcome(acc: &mut Acc, g: &crate::record::GateRecord) {
    if g.attempts.is_empty() {
        return;
    }
    acc.runs += 1;
    match g.status {
        GateStatus::Pass => acc.passed += 1,
        GateStatus::Fail | GateStatus::Blocked => acc.failed += 1,
        _ => {}
    }
    for a in &g.attempts {
        if let Some(d) = a
            .finished_at
            .as_deref()
            .and_then(|f| seconds(&a.started_at, f))
        {
            acc.durations.push(d);
        }
    }
    acc.gate(g);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads() {
        let s = Spread::of(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!((s.count, s.mean_s, s.median_s), (4, Some(4.0), Some(2.5)));
        assert_eq!(Spread::of(vec![]).mean_s, None);
    }

    #[test]
    fn unknown_cost_is_counted_not_summed() {
        let inv = |cost: Option<(f64, &str)>| {
            let mut i = Invocation::new(
                "i".into(),
                "G1",
                1,
                "a",
                crate::record::InvocationStatus::Success,
                "t".into(),
            );
            i.cost = Some(match cost {
                Some((usd, source)) => crate::record::Cost {
                    usd: Some(usd),
                    source: source.into(),
                },
                None => crate::record::Cost {
                    usd: None,
                    source: "unknown".into(),
                },
            });
            i
        };
        let mut s = Spend::default();
        s.add(&inv(Some((0.5, "reported"))));
        s.add(&inv(Some((0.25, "estimated"))));
        s.add(&inv(None));
        s.add(&Invocation::new(
            "j".into(),
            "G1",
            1,
            "a",
            crate::record::InvocationStatus::Success,
            "t".into(),
        ));
        assert_eq!((s.reported_usd, s.reported), (Some(0.5), 1));
        assert_eq!((s.estimated_usd, s.estimated), (Some(0.25), 1));
        assert_eq!(
            Spend::default().rounded().reported_usd,
            None,
            "no cost is not $0"
        );
        assert_eq!(s.cost_unknown, 2);
        assert_eq!(s.tokens_unknown, 4);
    }
}
