//! `orch run <workflow>` and `orch run resume`: for each gate, write the
//! prompt packet, have the work done (a command-line agent, or a person),
//! finish the gate exactly as `gate finish` does, and retry or rewind on
//! failure, within a bound. It never prints: it reports through `Observer`
//! and asks `Human` when a person must act, so the terminal, a test or
//! another front end can drive it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::exec::agent::{self, AgentRun, AgentSpec, Ended, Output};
use crate::exec::agent_output::{self, AgentReport};
use crate::lease;
use crate::ops::gate::{self as gate_ops, Begin, Evaluated};
use crate::ops::run::StartOptions;
use crate::packet::{self, Context as PacketContext};
use crate::record::store::Store;
use crate::record::{
    AttemptStatus, Cost, Event, EventType, GateStatus, Invocation, InvocationStatus, OutputInfo,
    RunRecord, RunStatus, id,
};
use crate::repo::Repo;
use crate::storage::layout;
use crate::validate::Evaluation;
use crate::workflow::{ExecutorSpec, LoadedWorkflow, Pricing, WorkflowGate};
use crate::{clock, env, exit, hash, interrupt};

/// Default limits for command agents.
const DEFAULT_TIMEOUT_S: f64 = 1800.0;
const DEFAULT_MAX_OUTPUT: u64 = 10 * 1024 * 1024;
const DEFAULT_MAX_CONTINUES: u32 = 3;

/// Options shared by `orch run <workflow>` and `orch run resume`.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Run every gate with this command instead of its own executor.
    pub agent_cmd: Option<Vec<String>>,
    pub offline: bool,
    /// Validate the gates before this one without running them.
    pub start_from: Option<String>,
    /// Overrides every command gate's time limits (seconds).
    pub timeout_s: Option<f64>,
    pub idle_timeout_s: Option<f64>,
}

/// How a pipeline ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every gate passed; the run is completed PASSED.
    Passed,
    /// A blocking gate is out of retries (or out of the attempt budget).
    Failed { gate: String, reason: String },
    /// An agent said it cannot go on without help.
    Blocked { gate: String, reason: String },
    /// A person must do the gate; `packet` is the repo-relative packet path.
    AwaitingInput { gate: String, packet: String },
    /// Ctrl-C or SIGTERM; the run is resumable.
    Interrupted { gate: Option<String> },
}

impl Outcome {
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Passed => exit::SUCCESS,
            Outcome::Failed { .. } | Outcome::Blocked { .. } => exit::FAILED,
            Outcome::AwaitingInput { .. } => exit::AWAITING_INPUT,
            Outcome::Interrupted { .. } => exit::INTERRUPTED,
        }
    }
}

/// What happens, as it happens, for whoever is watching.
pub enum Progress<'a> {
    Started {
        run_id: &'a str,
        gates: usize,
        resumed: bool,
        took_over: Option<&'a str>,
    },
    GateStarted {
        gate: &'a str,
        name: &'a str,
        attempt: u32,
        agent: &'a str,
        by: Doer<'a>,
        packet: &'a str,
    },
    AgentStarted {
        gate: &'a str,
        pid: u32,
    },
    AgentOutput {
        line: &'a str,
    },
    AgentFinished {
        gate: &'a str,
        invocation: &'a Invocation,
    },
    Continuing {
        gate: &'a str,
        reason: &'a str,
    },
    Evaluated {
        gate: &'a str,
        name: &'a str,
        attempt: u32,
        depth: &'a str,
        evaluation: &'a Evaluation,
        failure: Option<&'a str>,
    },
    ValidatedOnly {
        gate: &'a str,
        passed: bool,
    },
    Retrying {
        gate: &'a str,
        reason: &'a str,
    },
    Rewinding {
        from: &'a str,
        to: &'a str,
        reason: &'a str,
    },
    /// A failed gate that does not block the run.
    Skipping {
        gate: &'a str,
    },
}

/// Who does a gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doer<'a> {
    Person,
    Command(&'a [String]),
}

pub trait Observer {
    fn on(&mut self, event: &Progress);
}

/// What a person chose at a gate.
pub enum HumanChoice {
    /// The work is done: check the contract.
    Validate,
    /// The gate failed, for this reason.
    Fail(String),
    /// Stop here; `orch run resume` continues.
    Pause,
}

/// Asks a person what to do at a gate (a menu on a terminal; without one,
/// always `Pause`).
pub trait Human {
    fn decide(&mut self, gate: &str, name: &str, packet_path: &Path, packet: &str) -> HumanChoice;
}

/// Checks, before a run exists, everything that would stop it later:
/// contracts (`run start` loads them), prompt templates, `--start-from`,
/// and that every agent command can be found.
fn preflight(repo: &Repo, wf: &LoadedWorkflow, opts: &Options) -> Result<()> {
    // Skill paths are read as written (their variables, if any, are the run's).
    let vars = crate::contract::template::Vars::new(repo, "", "");
    for g in &wf.def.gates {
        packet::check_template(repo, g)?;
        let contract = Contract::for_gate(repo, &g.gate, &g.contract_path())?;
        for skill in &contract.required_skills {
            for file in &skill.inject {
                let rel = format!("{}/{file}", skill.path.trim_end_matches('/'));
                if !rel.contains('{') {
                    packet::read_skill(&vars, &g.gate, &rel)?;
                }
            }
        }
        if let Some(argv) = command_for(g, opts) {
            resolve_program(repo, &argv[0])?;
        }
    }
    if let Some(from) = &opts.start_from {
        wf.gate(from)?;
    }
    Ok(())
}

/// Creates a run and drives it.
pub fn start_and_run(
    repo: &Repo,
    start: &StartOptions,
    opts: &Options,
    obs: &mut dyn Observer,
    human: &mut dyn Human,
) -> Result<(String, Outcome)> {
    super::check_slug(&start.slug)?;
    let wf = LoadedWorkflow::find(repo, &start.workflow)?;
    preflight(repo, &wf, opts)?;
    let run = super::run::start(repo, start)?;
    let outcome = Driver::new(repo, &run.run_id, opts, obs, human, None)?.run_fresh()?;
    Ok((run.run_id, outcome))
}

/// Continues a paused, interrupted or failed run from its first gate that
/// has not passed. A person's gate that was waiting is validated first.
pub fn resume(
    repo: &Repo,
    query: &str,
    opts: &Options,
    obs: &mut dyn Observer,
    human: &mut dyn Human,
) -> Result<(String, Outcome)> {
    let store = Store::new(repo);
    let id = store.resolve(query)?;
    let run = store.load(&id)?;
    super::ensure_open(&run)?;
    let wf = super::run_workflow(repo, &run)?;
    preflight(repo, &wf, opts)?;
    let outcome = Driver::new(repo, &id, opts, obs, human, Some(wf))?.run_resumed()?;
    Ok((id, outcome))
}

/// What one attempt at a gate came to.
enum GateResult {
    Passed,
    Failed(String),
    Blocked(String),
    Paused(String),
    Interrupted,
}

struct Driver<'a> {
    repo: &'a Repo,
    store: Store<'a>,
    id: String,
    wf: LoadedWorkflow,
    gates: Rc<[WorkflowGate]>,
    opts: &'a Options,
    obs: &'a mut dyn Observer,
    human: &'a mut dyn Human,
    lease: lease::Held,
    took_over: Option<String>,
    by: Option<crate::record::Actor>,
    attempts: u32,
    budget: u32,
    retries_used: HashMap<String, u32>,
    /// A person resumed a run whose gate of theirs failed: the next attempt
    /// at a person's gate validates at once instead of asking again.
    person_ready: bool,
}

impl<'a> Driver<'a> {
    fn new(
        repo: &'a Repo,
        id: &str,
        opts: &'a Options,
        obs: &'a mut dyn Observer,
        human: &'a mut dyn Human,
        wf: Option<LoadedWorkflow>,
    ) -> Result<Self> {
        let store = Store::new(repo);
        let wf = match wf {
            Some(wf) => wf,
            None => super::run_workflow(repo, &store.load(id)?)?,
        };
        let by = super::actor(repo);
        let (lease, taken) = lease::acquire(repo, id, by.clone())?;
        let took_over = match taken {
            lease::Taken::TookOver(_, why) => Some(why),
            lease::Taken::Fresh => None,
        };
        interrupt::install();
        let budget = wf.def.attempt_budget();
        let gates: Rc<[WorkflowGate]> = wf.def.gates.clone().into();
        Ok(Driver {
            repo,
            store,
            id: id.to_string(),
            wf,
            gates,
            opts,
            obs,
            human,
            lease,
            took_over,
            by,
            attempts: 0,
            budget,
            retries_used: HashMap::new(),
            person_ready: false,
        })
    }

    /// The workflow's gates, shared (the loop calls `&mut self` methods while iterating them).
    fn gates(&self) -> Rc<[WorkflowGate]> {
        Rc::clone(&self.gates)
    }

    fn run_fresh(mut self) -> Result<Outcome> {
        let gates = self.gates();
        self.obs.on(&Progress::Started {
            run_id: &self.id,
            gates: gates.len(),
            resumed: false,
            took_over: None,
        });
        let mut from = 0;
        if let Some(target) = self.opts.start_from.clone() {
            from = self.wf.def.index_of(&target).unwrap_or(0);
            for g in &gates[..from] {
                if let Some(outcome) = self.validate_only(g)? {
                    return Ok(outcome);
                }
            }
        }
        self.drive(from, None)
    }

    fn run_resumed(mut self) -> Result<Outcome> {
        let gates = self.gates();
        let run = self.store.load(&self.id)?;
        let took_over = self.took_over.clone();
        let message = match &took_over {
            Some(why) => format!("Run resumed; took over from a stale owner: {why}"),
            None => "Run resumed".to_string(),
        };
        self.store.update(&self.id, |txn| {
            txn.run.status = RunStatus::Running;
            txn.run
                .events
                .push(Event::now(EventType::RunResumed, message.clone()));
            Ok(())
        })?;
        self.obs.on(&Progress::Started {
            run_id: &self.id,
            gates: gates.len(),
            resumed: true,
            took_over: took_over.as_deref(),
        });
        let Some(i) = gates.iter().position(|g| {
            run.gate(&g.gate)
                .is_none_or(|r| r.status != GateStatus::Pass)
        }) else {
            return self.complete();
        };
        let g = &gates[i];
        let by_person = command_for(g, self.opts).is_none();
        match run.gate(&g.gate).and_then(|r| r.latest()) {
            Some(a) if a.status == AttemptStatus::Running => {
                let n = a.attempt;
                if by_person && run.status == RunStatus::AwaitingInput {
                    // The run paused for a person with the packet; they have
                    // done the work.
                    let result = self.finish(g, n, None)?;
                    return self.drive_after(i, result);
                }
                self.mark_interrupted(
                    &g.gate,
                    n,
                    "orch stopped while the attempt was in progress",
                )?;
            }
            // A person was handed the packet (no agent ran), saw why their
            // attempt failed and has fixed it: a new attempt (its packet
            // says why the last one failed) is validated at once.
            Some(a)
                if by_person
                    && a.status == AttemptStatus::Fail
                    && a.prompt_sha256.is_some()
                    && a.invocation_ids.is_empty() =>
            {
                self.person_ready = true;
            }
            _ => {}
        }
        self.drive(i, None)
    }

    /// Runs gates from `i` on; `rewound` explains why gate `i` is redone.
    fn drive(&mut self, mut i: usize, mut rewound: Option<(String, String)>) -> Result<Outcome> {
        let gates = self.gates();
        while i < gates.len() {
            if interrupt::requested() {
                return self.interrupted(None);
            }
            let g = &gates[i];
            let result = self.attempt(g, rewound.take().as_ref())?;
            match self.next_step(i, result)? {
                Step::Go(next, note) => {
                    i = next;
                    rewound = note;
                }
                Step::Stop(outcome) => return Ok(outcome),
            }
        }
        self.complete()
    }

    fn drive_after(&mut self, i: usize, result: GateResult) -> Result<Outcome> {
        match self.next_step(i, result)? {
            Step::Go(next, note) => self.drive(next, note),
            Step::Stop(outcome) => Ok(outcome),
        }
    }

    /// Decides what follows one attempt at gate `i`.
    fn next_step(&mut self, i: usize, result: GateResult) -> Result<Step> {
        let gates = self.gates();
        let g = &gates[i];
        let reason = match result {
            GateResult::Passed => return Ok(Step::Go(i + 1, None)),
            GateResult::Paused(packet) => {
                return Ok(Step::Stop(Outcome::AwaitingInput {
                    gate: g.gate.clone(),
                    packet,
                }));
            }
            GateResult::Interrupted => return self.interrupted(Some(&g.gate)).map(Step::Stop),
            GateResult::Blocked(reason) => {
                return Ok(Step::Stop(Outcome::Blocked {
                    gate: g.gate.clone(),
                    reason,
                }));
            }
            GateResult::Failed(reason) => reason,
        };
        let is_agent = command_for(g, self.opts).is_some();
        let allowed = g.retries.unwrap_or(u32::from(is_agent));
        let used = self.retries_used.entry(g.gate.clone()).or_insert(0);
        if *used < allowed && self.attempts < self.budget {
            *used += 1;
            return Ok(match &g.retry_from {
                Some(target) if *target != g.gate => {
                    self.obs.on(&Progress::Rewinding {
                        from: &g.gate,
                        to: target,
                        reason: &reason,
                    });
                    let to = self.wf.def.index_of(target).unwrap_or(i);
                    Step::Go(to, Some((g.gate.clone(), reason)))
                }
                _ => {
                    self.obs.on(&Progress::Retrying {
                        gate: &g.gate,
                        reason: &reason,
                    });
                    Step::Go(i, None)
                }
            });
        }
        let run = self.store.load(&self.id)?;
        let blocking = run.gate(&g.gate).and_then(|r| r.blocking).unwrap_or(true);
        if !blocking {
            self.obs.on(&Progress::Skipping { gate: &g.gate });
            return Ok(Step::Go(i + 1, None));
        }
        let reason = if *self.retries_used.get(&g.gate).unwrap_or(&0) < allowed {
            format!("{reason} (attempt budget of {} used up)", self.budget)
        } else {
            reason
        };
        Ok(Step::Stop(Outcome::Failed {
            gate: g.gate.clone(),
            reason,
        }))
    }

    fn complete(&mut self) -> Result<Outcome> {
        let run = super::run::complete(self.repo, &self.id, None)?;
        Ok(match run.status {
            RunStatus::Passed => Outcome::Passed,
            status => Outcome::Failed {
                gate: String::new(),
                reason: format!("the run completed {status}"),
            },
        })
    }

    fn interrupted(&mut self, gate: Option<&str>) -> Result<Outcome> {
        self.store.update(&self.id, |txn| {
            txn.run.status = RunStatus::Interrupted;
            let msg = "Run interrupted; `orch run resume` continues it".to_string();
            txn.run
                .events
                .push(Event::now(EventType::RunInterrupted, msg));
            Ok(())
        })?;
        Ok(Outcome::Interrupted {
            gate: gate.map(str::to_string),
        })
    }

    fn mark_interrupted(&mut self, gate: &str, n: u32, why: &str) -> Result<()> {
        self.store.update(&self.id, |txn| {
            let now = clock::now_timestamp();
            gate_ops::gate_mut(&mut txn.run, gate)?.end_attempt(
                n,
                AttemptStatus::Interrupted,
                Some(why.to_string()),
                &now,
            );
            txn.run.events.push(
                Event::new(
                    &now,
                    EventType::GateInterrupted,
                    format!("Gate {gate} attempt {n} interrupted: {why}"),
                )
                .gate(gate, Some(n)),
            );
            txn.touch(gate, n);
            Ok(())
        })
    }

    /// `--start-from`: checks an earlier gate's contract without running it.
    fn validate_only(&mut self, g: &WorkflowGate) -> Result<Option<Outcome>> {
        let n = self.store.update(&self.id, |txn| {
            gate_ops::begin_attempt(
                txn,
                &g.gate,
                &Begin {
                    agent: "orch",
                    prompt_sha256: None,
                    mode: Some("validate_only"),
                    expect: None,
                    by: self.by.clone(),
                },
            )
        })?;
        let run = self.store.load(&self.id)?;
        let evaluated =
            gate_ops::evaluate_for_run(self.repo, &run, &g.gate, n, false, self.opts.offline)?;
        let done = gate_ops::record_finish(&self.store, &self.id, &g.gate, n, &evaluated, None)?;
        let passed = done.evaluation.passed;
        self.obs.on(&Progress::ValidatedOnly {
            gate: &g.gate,
            passed,
        });
        self.report(
            g,
            n,
            &run,
            &evaluated,
            done.attempt.failure_reason.as_deref(),
        );
        if passed {
            return Ok(None);
        }
        Ok(Some(Outcome::Failed {
            gate: g.gate.clone(),
            reason: format!(
                "{} does not validate, so the run cannot start after it: {}",
                g.gate,
                done.attempt.failure_reason.unwrap_or_default()
            ),
        }))
    }

    /// One attempt at a gate: packet, work, validation.
    fn attempt(
        &mut self,
        g: &WorkflowGate,
        rewound: Option<&(String, String)>,
    ) -> Result<GateResult> {
        let run = self.store.load(&self.id)?;
        let record = run.gate(&g.gate).ok_or_else(|| {
            Error::input(format!("run `{}` has no gate `{}`", self.id, g.gate))
                .hint("the workflow changed since the run started; start a new run")
        })?;
        let n = record.next_attempt_number()?;
        let previous = record
            .latest()
            .filter(|a| matches!(a.status, AttemptStatus::Fail | AttemptStatus::Blocked));
        let command = command_for(g, self.opts);
        let agent = agent_name(g, command.as_deref());
        let contract = Contract::for_gate(self.repo, &g.gate, &g.contract_path())?;
        let vars = super::run_vars(self.repo, &run)?;
        let context = match (rewound, previous) {
            (Some((later, reason)), _) => PacketContext::Rewound {
                gate: later,
                reason,
            },
            (None, Some(prev)) => PacketContext::Retry(prev),
            (None, None) => PacketContext::First,
        };
        let text = packet::render(
            self.repo,
            &vars,
            &packet::Input {
                run: &run,
                gate: g,
                contract: &contract,
                attempt: n,
                agent: &agent,
                context,
                for_agent: command.is_some(),
            },
        )?;
        let packet_rel = format!(
            "{}/gates/{}/attempt-{n}/prompt.txt",
            layout::logs_dir(&self.id),
            g.gate
        );
        let packet_path = self.repo.join(&packet_rel);
        write_file(&packet_path, text.as_bytes())?;
        let sha = hash::bytes(text.as_bytes());
        self.store.update(&self.id, |txn| {
            gate_ops::begin_attempt(
                txn,
                &g.gate,
                &Begin {
                    agent: &agent,
                    prompt_sha256: Some(sha.clone()),
                    mode: None,
                    expect: Some(n),
                    by: self.by.clone(),
                },
            )
        })?;
        self.attempts += 1;
        let doer = command.as_deref().map_or(Doer::Person, Doer::Command);
        self.obs.on(&Progress::GateStarted {
            gate: &g.gate,
            name: g.display_name(),
            attempt: n,
            agent: &agent,
            by: doer,
            packet: &packet_rel,
        });

        let agent_failure = match &command {
            None if std::mem::take(&mut self.person_ready) => None,
            None => match self
                .human
                .decide(&g.gate, g.display_name(), &packet_path, &text)
            {
                HumanChoice::Validate => None,
                HumanChoice::Fail(reason) => {
                    gate_ops::fail(self.repo, &self.id, &g.gate, &reason, None)?;
                    return Ok(GateResult::Failed(reason));
                }
                HumanChoice::Pause => {
                    if interrupt::requested() {
                        self.mark_interrupted(
                            &g.gate,
                            n,
                            "interrupted while waiting for a person",
                        )?;
                        return Ok(GateResult::Interrupted);
                    }
                    self.pause(&g.gate, &packet_rel)?;
                    return Ok(GateResult::Paused(packet_rel));
                }
            },
            Some(argv) => match self.run_agent(g, n, &agent, argv, &packet_path, &text)? {
                AgentEnd::Done(failure) => failure,
                AgentEnd::Blocked(reason) => {
                    self.block(&g.gate, n, &reason)?;
                    return Ok(GateResult::Blocked(reason));
                }
                AgentEnd::Interrupted => {
                    self.mark_interrupted(
                        &g.gate,
                        n,
                        "interrupted (SIGINT/SIGTERM) while the agent was working",
                    )?;
                    return Ok(GateResult::Interrupted);
                }
            },
        };
        self.finish(g, n, agent_failure.as_deref())
    }

    /// Validates attempt `n` and records it, as `gate finish` does.
    fn finish(
        &mut self,
        g: &WorkflowGate,
        n: u32,
        agent_failure: Option<&str>,
    ) -> Result<GateResult> {
        let run = self.store.load(&self.id)?;
        let evaluated = match gate_ops::evaluate_for_run(
            self.repo,
            &run,
            &g.gate,
            n,
            true,
            self.opts.offline,
        ) {
            Ok(e) => e,
            Err(Error::Interrupted) => {
                self.mark_interrupted(
                    &g.gate,
                    n,
                    "interrupted (SIGINT/SIGTERM) while the gate was validated",
                )?;
                return Ok(GateResult::Interrupted);
            }
            Err(e) => return Err(e),
        };
        let done =
            gate_ops::record_finish(&self.store, &self.id, &g.gate, n, &evaluated, agent_failure)?;
        self.report(
            g,
            n,
            &run,
            &evaluated,
            done.attempt.failure_reason.as_deref(),
        );
        Ok(if done.attempt.status == AttemptStatus::Pass {
            GateResult::Passed
        } else {
            GateResult::Failed(
                done.attempt
                    .failure_reason
                    .unwrap_or_else(|| "failed".into()),
            )
        })
    }

    fn report(
        &mut self,
        g: &WorkflowGate,
        n: u32,
        run: &RunRecord,
        ev: &Evaluated,
        failure: Option<&str>,
    ) {
        let depth = run.depth.to_string();
        self.obs.on(&Progress::Evaluated {
            gate: &g.gate,
            name: g.display_name(),
            attempt: n,
            depth: &depth,
            evaluation: &ev.evaluation,
            failure,
        });
    }

    fn pause(&mut self, gate: &str, packet: &str) -> Result<()> {
        self.store.update(&self.id, |txn| {
            txn.run.status = RunStatus::AwaitingInput;
            txn.run.events.push(
                Event::now(
                    EventType::RunPaused,
                    format!("Waiting for a person to do {gate}; packet: {packet}"),
                )
                .gate(gate, None),
            );
            Ok(())
        })
    }

    fn block(&mut self, gate: &str, n: u32, reason: &str) -> Result<()> {
        self.store.update(&self.id, |txn| {
            let now = clock::now_timestamp();
            gate_ops::gate_mut(&mut txn.run, gate)?.end_attempt(
                n,
                AttemptStatus::Blocked,
                Some(format!("agent reported blocked: {reason}")),
                &now,
            );
            txn.run.events.push(
                Event::new(
                    &now,
                    EventType::GateBlocked,
                    format!("Gate {gate} blocked: {reason}"),
                )
                .gate(gate, Some(n)),
            );
            txn.run.refresh_status();
            txn.touch(gate, n);
            Ok(())
        })
    }

    /// Runs the agent (again while it asks to continue, within a bound),
    /// recording every invocation.
    fn run_agent(
        &mut self,
        g: &WorkflowGate,
        n: u32,
        agent: &str,
        argv: &[String],
        packet_path: &Path,
        packet: &str,
    ) -> Result<AgentEnd> {
        let spec = g.executor.clone().unwrap_or_else(|| ExecutorSpec {
            command: argv.to_vec(),
            timeout_s: None,
            idle_timeout_s: None,
            max_output_bytes: None,
            max_continues: None,
            pricing: None,
        });
        let max_continues = spec.max_continues.unwrap_or(DEFAULT_MAX_CONTINUES);
        let program = resolve_program(self.repo, &argv[0])?;
        let mut input = packet.to_string();
        let mut continues = 0;
        loop {
            let (invocation, run, report) =
                self.invoke(g, n, agent, argv, &program, &spec, packet_path, &input)?;
            if run.ended == Ended::Interrupted {
                return Ok(AgentEnd::Interrupted);
            }
            if let Some(error) = &invocation.error {
                let logs = invocation
                    .output
                    .as_ref()
                    .map(|o| o.log_dir.clone())
                    .unwrap_or_default();
                return Ok(AgentEnd::Done(Some(format!(
                    "agent {agent}: {error} (logs: {logs})"
                ))));
            }
            match report
                .completion
                .as_ref()
                .map(|c| (c.status.as_str(), c.reason.clone().unwrap_or_default()))
            {
                Some(("blocked", reason)) => return Ok(AgentEnd::Blocked(reason)),
                Some(("continue", reason)) if continues < max_continues => {
                    continues += 1;
                    self.obs.on(&Progress::Continuing {
                        gate: &g.gate,
                        reason: &reason,
                    });
                    input = format!(
                        "{packet}\n\n## Continue ({continues} of {max_continues})\n\nYour last turn ended with \"continue\": {reason}\nCarry on from where you stopped; the files you wrote are still there.\n"
                    );
                }
                _ => return Ok(AgentEnd::Done(None)),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn invoke(
        &mut self,
        g: &WorkflowGate,
        n: u32,
        agent: &str,
        argv: &[String],
        program: &Path,
        spec: &ExecutorSpec,
        packet_path: &Path,
        input: &str,
    ) -> Result<(Invocation, AgentRun, AgentReport)> {
        let started = clock::now();
        let inv_id = id::new_invocation_id(started);
        let log_rel = format!("{}/invocations/{inv_id}", layout::logs_dir(&self.id));
        let log_dir = self.repo.join(&log_rel);
        self.repo.create_dir_all(&log_dir)?;
        let run = self.store.load(&self.id)?;
        let timeout = self
            .opts
            .timeout_s
            .or(spec.timeout_s)
            .unwrap_or(DEFAULT_TIMEOUT_S);
        let idle = self.opts.idle_timeout_s.or(spec.idle_timeout_s);
        let mut full_argv = vec![program.to_string_lossy().into_owned()];
        full_argv.extend(argv[1..].iter().cloned());
        let agent_spec = AgentSpec {
            argv: full_argv,
            cwd: self.repo.root().to_path_buf(),
            env: vec![
                ("ORCH_RUN_ID".into(), self.id.clone()),
                ("ORCH_GATE".into(), g.gate.clone()),
                ("ORCH_ATTEMPT".into(), n.to_string()),
                ("ORCH_INVOCATION_ID".into(), inv_id.clone()),
                ("ORCH_PROMPT_FILE".into(), packet_path.display().to_string()),
                (
                    "ORCH_REPO_ROOT".into(),
                    self.repo.root().display().to_string(),
                ),
                (
                    "ORCH_ARTIFACT_PATH".into(),
                    run.workflow.artifact_path.clone(),
                ),
                ("ORCH_SLUG".into(), run.workflow.slug.clone()),
                ("ORCH_DEPTH".into(), run.depth.to_string()),
            ],
            stdin: input.as_bytes().to_vec(),
            timeout: env::duration(timeout),
            idle_timeout: idle.map(env::duration),
            max_output: spec.max_output_bytes.unwrap_or(DEFAULT_MAX_OUTPUT),
            stdout_log: log_dir.join("stdout.log"),
            stderr_log: log_dir.join("stderr.log"),
            kill_grace: env::seconds(env::KILL_GRACE, 5.0),
        };
        let gate = g.gate.clone();
        let (obs, lease) = (&mut *self.obs, &self.lease);
        let result = agent::run(&agent_spec, &mut |o| match o {
            Output::Started(pid) => {
                lease.set_agent(pid);
                obs.on(&Progress::AgentStarted { gate: &gate, pid });
            }
            Output::Line(line) => obs.on(&Progress::AgentOutput { line: &line }),
        });
        self.lease.set_agent(0);
        let stdout = read_capped(&agent_spec.stdout_log, agent_spec.max_output);
        let report = agent_output::parse(&stdout);
        let error = match (&result.ended, &result.exit) {
            (Ended::SpawnFailed, e) => Some(e.describe()),
            (Ended::Timeout, _) => Some(format!("timed out after {}s", trim_float(timeout))),
            (Ended::IdleTimeout, _) => Some(format!(
                "printed nothing for {}s",
                trim_float(idle.unwrap_or(0.0))
            )),
            (Ended::Interrupted, _) => Some("interrupted".to_string()),
            (Ended::Exited, e) if !e.success() => Some(e.describe()),
            (Ended::Exited, _) => report.error.clone(),
        };
        let mut inv = Invocation::new(
            inv_id.clone(),
            &g.gate,
            n,
            agent,
            if error.is_none() {
                InvocationStatus::Success
            } else {
                InvocationStatus::Fail
            },
            clock::timestamp(started),
        );
        inv.finished_at = Some(clock::now_timestamp());
        inv.duration_ms = Some(u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX));
        inv.command = Some(recorded_command(self.repo, argv));
        inv.exit_code = result.exit.code();
        inv.ended_by = Some(result.ended.as_str().to_string());
        inv.error = error;
        inv.output_format = Some(report.format.to_string());
        inv.session_id.clone_from(&report.session_id);
        inv.usage = report.usage;
        inv.cost = Some(cost(&report, spec.pricing.as_ref()));
        inv.reported.clone_from(&report.completion);
        inv.output = Some(OutputInfo {
            stdout_bytes: result.stdout_bytes,
            stderr_bytes: result.stderr_bytes,
            truncated: result.truncated,
            log_dir: log_rel,
        });
        inv.recorded_by.clone_from(&self.by);
        self.store.update(&self.id, |txn| {
            let g = gate_ops::gate_mut(&mut txn.run, &gate)?;
            if let Some(a) = g.attempts.iter_mut().find(|a| a.attempt == n) {
                a.invocation_ids.push(inv_id.clone());
            }
            txn.run.invocations.push(inv.clone());
            txn.run.recompute_totals();
            let mut event = Event::now(
                EventType::InvocationRecorded,
                format!(
                    "Invocation {inv_id} of {agent} for {gate} attempt {n}: {}",
                    inv.status
                ),
            )
            .gate(&gate, Some(n));
            event.agent = Some(agent.to_string());
            event.invocation_id = Some(inv_id.clone());
            txn.run.events.push(event);
            txn.touch(&gate, n);
            Ok(())
        })?;
        self.obs.on(&Progress::AgentFinished {
            gate: &g.gate,
            invocation: &inv,
        });
        Ok((inv, result, report))
    }
}

enum Step {
    /// Go on with gate `.0`; `.1` says why it is redone after a rewind.
    Go(usize, Option<(String, String)>),
    Stop(Outcome),
}

enum AgentEnd {
    /// The agent finished; `Some` when it failed (the attempt fails whatever the checks say).
    Done(Option<String>),
    Blocked(String),
    Interrupted,
}

/// The command as the record keeps it: no absolute path of this machine
/// (a program inside the repository is repo-relative, one outside is its
/// name; the repository and home directory in arguments are scrubbed).
fn recorded_command(repo: &Repo, argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let program = Path::new(&argv[0]);
    out.push(if program.is_absolute() {
        repo.relative(program).unwrap_or_else(|| {
            program
                .file_name()
                .map_or_else(|| argv[0].clone(), |n| n.to_string_lossy().into_owned())
        })
    } else {
        argv[0].clone()
    });
    out.extend(argv[1..].iter().map(|a| repo.scrub(a)));
    out
}

/// The command a gate runs: `--agent-cmd` for every gate, else its executor.
fn command_for(g: &WorkflowGate, opts: &Options) -> Option<Vec<String>> {
    opts.agent_cmd
        .clone()
        .or_else(|| g.executor.as_ref().map(|e| e.command.clone()))
}

/// The name recorded for whoever does a gate.
fn agent_name(g: &WorkflowGate, command: Option<&[String]>) -> String {
    if let Some(agent) = &g.agent {
        return agent.clone();
    }
    match command {
        Some(argv) => Path::new(&argv[0])
            .file_name()
            .map_or_else(|| argv[0].clone(), |n| n.to_string_lossy().into_owned()),
        None => "person".to_string(),
    }
}

/// Finds an agent's program: a path (relative to the current directory,
/// then to the repository root) or a name on PATH.
fn resolve_program(repo: &Repo, program: &str) -> Result<PathBuf> {
    let not_found = || {
        Error::input(format!("agent command `{program}` was not found"))
            .hint("install it, or give a path; --agent-cmd runs it without a shell (write `sh -c '…'` for one)")
    };
    if program.contains('/') {
        let given = PathBuf::from(program);
        let candidates = if given.is_absolute() {
            vec![given]
        } else {
            let cwd = std::env::current_dir().unwrap_or_else(|_| repo.root().to_path_buf());
            vec![cwd.join(&given), repo.root().join(&given)]
        };
        return candidates
            .into_iter()
            .find(|p| p.is_file())
            .ok_or_else(not_found);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
        .map(|_| PathBuf::from(program))
        .ok_or_else(not_found)
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// What an invocation cost: as reported, else estimated from the workflow's
/// prices, else unknown (never a made-up 0).
fn cost(report: &AgentReport, pricing: Option<&Pricing>) -> Cost {
    if let Some(usd) = report.cost_usd {
        return Cost {
            usd: Some(usd),
            source: "reported".into(),
        };
    }
    match (report.usage, pricing) {
        (Some(u), Some(p)) => {
            #[allow(clippy::cast_precision_loss)]
            let usd = (u.input_tokens as f64 * p.input_per_mtok
                + u.cache_creation_input_tokens as f64 * p.input_per_mtok
                + u.cache_read_input_tokens as f64
                    * p.cached_input_per_mtok.unwrap_or(p.input_per_mtok)
                + u.output_tokens as f64 * p.output_per_mtok)
                / 1e6;
            Cost {
                usd: Some((usd * 1e6).round() / 1e6),
                source: "estimated".into(),
            }
        }
        _ => Cost {
            usd: None,
            source: "unknown".into(),
        },
    }
}

fn read_capped(path: &Path, max: u64) -> String {
    use std::io::Read;
    let mut buf = Vec::new();
    if let Ok(f) = crate::storage::regular::open(path) {
        let _ = f.take(max).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir.display(), e))?;
    }
    std::fs::write(path, bytes).map_err(|e| Error::write(path.display(), e))
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_string)
}
