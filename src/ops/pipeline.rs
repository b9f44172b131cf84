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
use crate::exec::excerpt;
use crate::lease;
use crate::ops::gate::{self as gate_ops, Begin, Evaluated};
use crate::ops::run::StartOptions;
use crate::packet::{self, Context as PacketContext};
use crate::record::store::Store;
use crate::record::{
    AttemptStatus, Cost, Event, EventType, GateStatus, Invocation, InvocationStatus, OutputInfo,
    RunOptions, RunRecord, RunStatus, id,
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
    /// This run's stop switch: a worker trips it when its claim on the
    /// run's task is taken over (SIGINT/SIGTERM trip every run's).
    pub stop: interrupt::Stop,
    /// The revision `"when": {"changed": […]}` conditions compare with.
    pub base: Option<String>,
    /// Where `allowed_signers` is read from when approvals are counted
    /// and skills' vettings judged.
    pub trusted_rev: Option<String>,
    /// The model for every agent (`--model`; wins over `ORCH_MODEL` and the workflow).
    pub model: Option<String>,
    /// The task section of packets, as the worker that claimed the run's
    /// task read it from its queue (whichever backend, and the main
    /// repository's even when the run is isolated in a worktree). `None`:
    /// read from the queue of the repository the run is in.
    pub task_context: Option<String>,
}

impl Options {
    /// What a run's record keeps of these options: the agent command as a
    /// person would type it (no path of this machine), the time limits,
    /// `--offline`, `--base`, `--model`. `None` when there is nothing to keep.
    pub fn recorded(&self, repo: &Repo) -> Option<RunOptions> {
        let options = RunOptions {
            agent_cmd: self.agent_cmd.as_ref().map(|argv| {
                let words: Vec<String> = argv.iter().map(|w| repo.scrub(w)).collect();
                shlex::try_join(words.iter().map(String::as_str))
                    .unwrap_or_else(|_| words.join(" "))
            }),
            timeout_s: self.timeout_s,
            idle_timeout_s: self.idle_timeout_s,
            offline: self.offline,
            base: self.base.clone(),
            model: self.model.clone(),
        };
        (!options.is_empty()).then_some(options)
    }

    /// These options over the ones a run recorded: what is given here
    /// wins, what is not is taken from the record.
    pub fn over(&self, recorded: &RunOptions) -> Result<Options> {
        let agent_cmd = match (&self.agent_cmd, &recorded.agent_cmd) {
            (Some(argv), _) => Some(argv.clone()),
            (None, Some(cmd)) => Some(split_recorded(cmd)?),
            (None, None) => None,
        };
        Ok(Options {
            agent_cmd,
            offline: self.offline || recorded.offline,
            start_from: self.start_from.clone(),
            timeout_s: self.timeout_s.or(recorded.timeout_s),
            idle_timeout_s: self.idle_timeout_s.or(recorded.idle_timeout_s),
            base: self.base.clone().or_else(|| recorded.base.clone()),
            trusted_rev: self.trusted_rev.clone(),
            model: self.model.clone().or_else(|| recorded.model.clone()),
            stop: self.stop.clone(),
            task_context: self.task_context.clone(),
        })
    }
}

/// A recorded agent command as words again (`~/` is the home directory,
/// as the record wrote it).
fn split_recorded(cmd: &str) -> Result<Vec<String>> {
    let words = shlex::split(cmd).filter(|w| !w.is_empty()).ok_or_else(|| {
        Error::input(format!(
            "the run's recorded agent command `{cmd}` cannot be split into words"
        ))
        .hint("give the agent command again with --agent-cmd")
    })?;
    let home = std::env::var("HOME").ok().filter(|h| h.len() > 1);
    Ok(words
        .into_iter()
        .map(|w| match (w.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => format!("{home}/{rest}"),
            _ => w,
        })
        .collect())
}

/// The options that changed between two recorded sets, for the record:
/// `--agent-cmd `new` (was `old`)`.
fn changes(old: &RunOptions, new: &RunOptions) -> Vec<String> {
    fn each(o: &RunOptions) -> [(&'static str, Option<String>); 6] {
        let secs = |v: Option<f64>| v.map(|v| v.to_string());
        [
            ("--agent-cmd", o.agent_cmd.clone()),
            ("--timeout", secs(o.timeout_s)),
            ("--idle-timeout", secs(o.idle_timeout_s)),
            ("--offline", o.offline.then(|| "on".to_string())),
            ("--base", o.base.clone()),
            ("--model", o.model.clone()),
        ]
    }
    let show = |v: &Option<String>| {
        v.as_ref()
            .map_or_else(|| "none".to_string(), |v| format!("`{v}`"))
    };
    each(old)
        .into_iter()
        .zip(each(new))
        .filter(|((_, was), (_, now))| was != now)
        .map(|((_, was), (flag, now))| format!("{flag} {} (was {})", show(&now), show(&was)))
        .collect()
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
    /// The gate waits for signed approvals (`have` of `need`): of its
    /// outputs, to start its agent, or of an override of its failure.
    AwaitingApproval { gate: String, have: u32, need: u32 },
    /// The gate failed and its questions wait for a person's answers
    /// (`on_fail: create_questions`); `questions` is the file.
    AwaitingAnswers { gate: String, questions: String },
    /// Ctrl-C or SIGTERM; the run is resumable.
    Interrupted { gate: Option<String> },
}

impl Outcome {
    /// The gate the run stopped at, if any.
    pub fn gate(&self) -> Option<&str> {
        match self {
            Outcome::Passed => None,
            Outcome::Failed { gate, .. }
            | Outcome::Blocked { gate, .. }
            | Outcome::AwaitingInput { gate, .. }
            | Outcome::AwaitingApproval { gate, .. }
            | Outcome::AwaitingAnswers { gate, .. } => Some(gate.as_str()),
            Outcome::Interrupted { gate } => gate.as_deref(),
        }
        .filter(|g| !g.is_empty())
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Passed => exit::SUCCESS,
            Outcome::Failed { .. } | Outcome::Blocked { .. } => exit::FAILED,
            Outcome::AwaitingInput { .. }
            | Outcome::AwaitingApproval { .. }
            | Outcome::AwaitingAnswers { .. } => exit::AWAITING_INPUT,
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
    /// A gate's agent waits for a signed approval before it starts.
    AwaitingStart {
        gate: &'a str,
        reason: &'a str,
    },
    /// A gate whose `when` condition does not hold.
    GateSkipped {
        gate: &'a str,
        reason: &'a str,
    },
    /// A notification was sent (or could not be, and stays pending).
    Notified {
        delivery: &'a crate::notify::Delivery,
    },
    /// Something the person should know that does not stop the run.
    Warning {
        message: &'a str,
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
    let commands = crate::quality::Commands::load(repo)?;
    for (i, g) in wf.def.gates.iter().enumerate() {
        let earlier: Vec<&str> = wf.def.gates[..i].iter().map(|e| e.gate.as_str()).collect();
        packet::check_template(repo, g, &earlier)?;
        let contract = Contract::for_workflow_gate(repo, g)?;
        commands.check_names(&contract.quality_checks)?;
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
            let model = crate::exec::model::resolve(
                opts.model.as_deref(),
                g.model.as_deref(),
                wf.def.model.as_deref(),
            );
            model_in(&g.gate, &argv, model.as_deref())?;
        }
        for id in crate::recipe::level::gate_skills(g, Some(&contract)) {
            crate::skill::load(repo, &id).map_err(|e| {
                Error::input(format!("gate {}: {e}", g.gate))
                    .hint("add the skill, import it (orch skill import), or fix the gate's steps")
            })?;
        }
    }
    if let Some(from) = &opts.start_from {
        wf.gate(from)?;
    }
    if let Some(rev) = &opts.trusted_rev {
        // Skills' vettings and approvals are judged against it: a revision
        // that is not there is a mistake to say now, not a surprise later.
        crate::approval::trust::load(repo, Some(rev))?;
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
    crate::workflow::condition::Facts::new(repo, opts.base.as_deref()).check_base()?;
    let run = super::run::start_with(repo, start, opts.recorded(repo).as_ref())?;
    let outcome = Driver::new(repo, &run.run_id, opts, obs, human, None)?.run_fresh()?;
    notify_outcome(repo, &run.run_id, &outcome, opts, obs);
    Ok((run.run_id, outcome))
}

/// Continues a paused, interrupted or failed run from its first gate that
/// has not passed, with the options it was started with (`opts` overrides
/// them; the change is recorded). A person's gate that was waiting is
/// validated first.
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
    let opts = opts.over(&run.options.clone().unwrap_or_default())?;
    no_silent_handover(&run, &wf, &opts)?;
    preflight(repo, &wf, &opts)?;
    crate::workflow::condition::Facts::new(repo, opts.base.as_deref()).check_base()?;
    let outcome = Driver::new(repo, &id, &opts, obs, human, Some(wf))?.run_resumed()?;
    notify_outcome(repo, &id, &outcome, &opts, obs);
    Ok((id, outcome))
}

/// Tells the people who asked (`orchestration/notify.json`) how the run
/// ended. Never fails the run: a notification that cannot be sent stays
/// pending in the record (`orch notify retry`).
fn notify_outcome(
    repo: &Repo,
    id: &str,
    outcome: &Outcome,
    opts: &Options,
    obs: &mut dyn Observer,
) {
    let (event, gate) = match outcome {
        Outcome::Passed => (crate::notify::Event::Passed, None),
        Outcome::Failed { gate, .. } => (crate::notify::Event::Failed, Some(gate.as_str())),
        Outcome::Blocked { gate, .. } => (crate::notify::Event::Blocked, Some(gate.as_str())),
        Outcome::AwaitingInput { gate, .. } | Outcome::AwaitingAnswers { gate, .. } => {
            (crate::notify::Event::AwaitingInput, Some(gate.as_str()))
        }
        Outcome::AwaitingApproval { gate, .. } => {
            (crate::notify::Event::AwaitingApproval, Some(gate.as_str()))
        }
        Outcome::Interrupted { .. } => return,
    };
    notify(repo, id, event, gate.filter(|g| !g.is_empty()), opts, obs);
}

fn notify(
    repo: &Repo,
    id: &str,
    event: crate::notify::Event,
    gate: Option<&str>,
    opts: &Options,
    obs: &mut dyn Observer,
) {
    match crate::notify::dispatch(repo, id, event, gate, opts.offline) {
        Ok(deliveries) => {
            for d in &deliveries {
                obs.on(&Progress::Notified { delivery: d });
            }
        }
        Err(e) => obs.on(&Progress::Warning {
            message: &format!("notifications: {e}"),
        }),
    }
}

/// Refuses to hand a gate an agent was doing to a person just because the
/// resume has no agent command (a run recorded before orch kept its
/// options): the person would not know, and the record would say otherwise.
fn no_silent_handover(run: &RunRecord, wf: &LoadedWorkflow, opts: &Options) -> Result<()> {
    for g in wf
        .def
        .gates
        .iter()
        .filter(|g| command_for(g, opts).is_none())
    {
        let Some(record) = run.gate(&g.gate).filter(|r| r.status != GateStatus::Pass) else {
            continue;
        };
        let last = record
            .attempts
            .iter()
            .flat_map(|a| &a.invocation_ids)
            .filter_map(|id| run.invocations.iter().find(|i| &i.id == id))
            .filter_map(|i| i.command.as_ref())
            .next_back();
        if let Some(argv) = last {
            let cmd = crate::ui::command_line(argv);
            return Err(Error::input(format!(
                "{} was being done by an agent (`{cmd}`), but the run has no agent command recorded to continue with",
                g.gate
            ))
            .hint(format!(
                "continue with the agent: {} --agent-cmd {}",
                crate::ui::resume_command(&run.run_id),
                shlex::try_quote(&cmd).map_or_else(|_| cmd.clone(), std::borrow::Cow::into_owned)
            ))
            .hint(format!(
                "or do {} by hand (`orch gate start`, `orch gate finish`), then resume",
                g.gate
            )));
        }
    }
    Ok(())
}

/// What one attempt at a gate came to.
enum GateResult {
    Passed,
    /// Waits for signed approvals: (have, need).
    AwaitingApproval(u32, u32),
    Failed(String),
    Blocked(String),
    Paused(String),
    /// Failed; questions for a person are in this file.
    Asked(String),
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
    /// What `when` conditions are judged against.
    facts: crate::workflow::condition::Facts<'a>,
    /// Skills' trust, judged once per run.
    judge: crate::recipe::level::Judge<'a>,
    /// Whether the trusted signers' warnings were shown.
    trust_said: bool,
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
            facts: crate::workflow::condition::Facts::new(repo, opts.base.as_deref()),
            judge: crate::recipe::level::Judge::new(repo, opts.trusted_rev.as_deref()),
            trust_said: false,
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
                if self.skipped(g)? {
                    continue;
                }
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
        let mut message = match &took_over {
            Some(why) => format!("Run resumed; took over from a stale owner: {why}"),
            None => "Run resumed".to_string(),
        };
        let before = run.options.clone().unwrap_or_default();
        let now = self.opts.recorded(self.repo).unwrap_or_default();
        let changed = changes(&before, &now);
        if !changed.is_empty() {
            message = format!("{message} with {}", changed.join(", "));
        }
        self.store.update(&self.id, |txn| {
            txn.run.status = RunStatus::Running;
            if !changed.is_empty() {
                txn.run.options = (!now.is_empty()).then(|| now.clone());
            }
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
        if took_over.is_some() {
            notify(
                self.repo,
                &self.id,
                crate::notify::Event::Rescued,
                None,
                self.opts,
                &mut *self.obs,
            );
        }
        let Some(i) = gates
            .iter()
            .position(|g| run.gate(&g.gate).is_none_or(|r| !r.status.is_done()))
        else {
            return self.complete();
        };
        let g = &gates[i];
        if run
            .gate(&g.gate)
            .is_some_and(|r| r.status == GateStatus::AwaitingApproval)
        {
            let result = self.settle(g)?;
            return self.drive_after(i, result);
        }
        let by_person = command_for(g, self.opts).is_none();
        match run.gate(&g.gate).and_then(|r| r.latest()) {
            Some(a) if a.status == AttemptStatus::Running => {
                let n = a.attempt;
                if by_person && run.status == RunStatus::AwaitingInput {
                    // The run paused for a person with the packet; they have
                    // done the work.
                    let result = self.finish(g, n, None)?;
                    let result = self.after(g, n, result)?;
                    return self.drive_after(i, result);
                }
                // Its start was approved (`orch approve` let it start) and
                // no agent has run yet: run it now.
                if a.start_approval
                    .as_ref()
                    .is_some_and(|s| s.granted_at.is_some())
                    && a.invocation_ids.is_empty()
                    && took_over.is_none()
                {
                    let result = self.continue_started(g, n)?;
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
            if self.opts.stop.requested() {
                return self.interrupted(None);
            }
            let g = &gates[i];
            if self.skipped(g)? {
                i += 1;
                continue;
            }
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
            GateResult::AwaitingApproval(have, need) => {
                return Ok(Step::Stop(Outcome::AwaitingApproval {
                    gate: g.gate.clone(),
                    have,
                    need,
                }));
            }
            GateResult::Paused(packet) => {
                return Ok(Step::Stop(Outcome::AwaitingInput {
                    gate: g.gate.clone(),
                    packet,
                }));
            }
            GateResult::Asked(questions) => {
                return Ok(Step::Stop(Outcome::AwaitingAnswers {
                    gate: g.gate.clone(),
                    questions,
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
            gate_ops::interrupt_attempt(txn, gate, n, why)
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
        let contract = Contract::for_workflow_gate(self.repo, g)?;
        let plan = crate::recipe::level::plan(
            &self.judge,
            g,
            Some(&contract),
            command_for(g, self.opts).is_some(),
        )?;
        let command =
            command_for(g, self.opts).filter(|_| plan.level != crate::recipe::Automation::Manual);
        let agent = agent_name(g, command.as_deref());
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
                task_context: self.opts.task_context.as_deref(),
            },
        )?;
        let packet_rel = packet_rel(&self.id, &g.gate, n);
        let packet_path = self.repo.join(&packet_rel);
        write_file(&packet_path, text.as_bytes())?;
        let sha = hash::bytes(text.as_bytes());
        self.store.update(&self.id, |txn| {
            let n = gate_ops::begin_attempt(
                txn,
                &g.gate,
                &Begin {
                    agent: &agent,
                    prompt_sha256: Some(sha.clone()),
                    mode: None,
                    expect: Some(n),
                    by: self.by.clone(),
                },
            )?;
            super::recipe_run::stamp(txn, &g.gate, n, &plan)
        })?;
        self.attempts += 1;
        self.announce(g, n, &agent, command.as_deref(), &packet_rel);
        if !plan.held_back.is_empty() && !std::mem::replace(&mut self.trust_said, true) {
            // Why a vetting may not count: where the signers were read from.
            let warnings = self
                .judge
                .trusted()
                .map(crate::approval::trust::TrustedSigners::warnings)
                .unwrap_or_default();
            for w in &warnings {
                self.obs.on(&Progress::Warning { message: w });
            }
        }
        if let Some(start) = &plan.start {
            self.obs.on(&Progress::AwaitingStart {
                gate: &g.gate,
                reason: start.reason.as_deref().unwrap_or(""),
            });
            return Ok(GateResult::AwaitingApproval(0, start.min_approvals));
        }
        self.work(g, n, &agent, command.as_deref(), &packet_rel, &text)
    }

    /// A gate whose start was approved: its agent runs on the packet that
    /// was approved (and only on that packet).
    fn continue_started(&mut self, g: &WorkflowGate, n: u32) -> Result<GateResult> {
        let run = self.store.load(&self.id)?;
        let approved = run
            .gate(&g.gate)
            .and_then(|r| r.attempts.iter().find(|a| a.attempt == n))
            .and_then(|a| a.prompt_sha256.clone());
        let rel = packet_rel(&self.id, &g.gate, n);
        let text = crate::storage::regular::read_to_string(&self.repo.join(&rel))
            .ok()
            .filter(|t| Some(hash::bytes(t.as_bytes())) == approved);
        let Some(text) = text else {
            self.mark_interrupted(
                &g.gate,
                n,
                "the prompt packet approved to start is gone or changed; a new attempt needs a new approval",
            )?;
            return self.attempt(g, None);
        };
        let command = command_for(g, self.opts);
        let agent = agent_name(g, command.as_deref());
        self.announce(g, n, &agent, command.as_deref(), &rel);
        self.work(g, n, &agent, command.as_deref(), &rel, &text)
    }

    /// Tells the observer attempt `n` of `g` is under way, and by whom.
    fn announce(
        &mut self,
        g: &WorkflowGate,
        n: u32,
        agent: &str,
        command: Option<&[String]>,
        packet: &str,
    ) {
        self.obs.on(&Progress::GateStarted {
            gate: &g.gate,
            name: g.display_name(),
            attempt: n,
            agent,
            by: command.map_or(Doer::Person, Doer::Command),
            packet,
        });
    }

    /// The work of attempt `n` (an agent's, or a person's), then its
    /// validation, then what the gate's recipe does after it.
    fn work(
        &mut self,
        g: &WorkflowGate,
        n: u32,
        agent: &str,
        command: Option<&[String]>,
        packet_rel: &str,
        text: &str,
    ) -> Result<GateResult> {
        let packet_path = self.repo.join(packet_rel);
        let agent_failure = match command {
            None if std::mem::take(&mut self.person_ready) => None,
            None => match self
                .human
                .decide(&g.gate, g.display_name(), &packet_path, text)
            {
                HumanChoice::Validate => None,
                HumanChoice::Fail(reason) => {
                    gate_ops::fail(self.repo, &self.id, &g.gate, &reason, None)?;
                    return Ok(GateResult::Failed(reason));
                }
                HumanChoice::Pause => {
                    if self.opts.stop.requested() {
                        self.mark_interrupted(
                            &g.gate,
                            n,
                            "interrupted while waiting for a person",
                        )?;
                        return Ok(GateResult::Interrupted);
                    }
                    self.pause(&g.gate, packet_rel)?;
                    return Ok(GateResult::Paused(packet_rel.to_string()));
                }
            },
            Some(argv) => {
                super::recipe_run::before_work(self.repo, &self.store, &self.id, g, n)?;
                match self.run_agent(g, n, agent, argv, &packet_path, text)? {
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
                }
            }
        };
        let result = self.finish(g, n, agent_failure.as_deref())?;
        self.after(g, n, result)
    }

    /// What the gate's recipe does once an attempt is decided: tell people
    /// an `auto_notify` gate passed; on a failure, its `on_fail`.
    fn after(&mut self, g: &WorkflowGate, n: u32, result: GateResult) -> Result<GateResult> {
        match result {
            GateResult::Passed => {
                let run = self.store.load(&self.id)?;
                let notify_it = run
                    .gate(&g.gate)
                    .and_then(|r| r.attempts.iter().find(|a| a.attempt == n))
                    .and_then(|a| a.automation.as_deref())
                    == Some(crate::recipe::Automation::AutoNotify.as_str());
                if notify_it {
                    notify(
                        self.repo,
                        &self.id,
                        crate::notify::Event::GatePassed,
                        Some(&g.gate),
                        self.opts,
                        &mut *self.obs,
                    );
                }
                Ok(GateResult::Passed)
            }
            GateResult::Failed(reason) => {
                match super::recipe_run::after_failure(self.repo, &self.store, &self.id, g, n)? {
                    super::recipe_run::AfterFailure::Asked(questions) => {
                        Ok(GateResult::Asked(questions))
                    }
                    super::recipe_run::AfterFailure::Go => Ok(GateResult::Failed(reason)),
                }
            }
            other => Ok(other),
        }
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
        let awaited = done
            .attempt
            .approval
            .as_ref()
            .or(done.attempt.review.as_ref());
        Ok(match (&done.attempt.status, awaited) {
            (AttemptStatus::Pass, _) => GateResult::Passed,
            (AttemptStatus::AwaitingApproval, Some(req)) => {
                GateResult::AwaitingApproval(0, req.min_approvals)
            }
            _ => GateResult::Failed(
                done.attempt
                    .failure_reason
                    .unwrap_or_else(|| "failed".into()),
            ),
        })
    }

    /// Records gate `g` as SKIPPED when its `when` condition does not hold.
    fn skipped(&mut self, g: &WorkflowGate) -> Result<bool> {
        let Some(cond) = &g.when else {
            return Ok(false);
        };
        let Some(reason) = self.facts.skip_reason(cond)? else {
            return Ok(false);
        };
        self.store
            .update(&self.id, |txn| gate_ops::skip(txn, &g.gate, &reason))?;
        self.obs.on(&Progress::GateSkipped {
            gate: &g.gate,
            reason: &reason,
        });
        Ok(true)
    }

    /// A gate awaiting approval: passes, starts its agent, fails or keeps
    /// waiting, as its signed approvals decide.
    fn settle(&mut self, g: &WorkflowGate) -> Result<GateResult> {
        let (settled, warnings) = super::approval::settle(
            self.repo,
            &self.id,
            &g.gate,
            self.opts.trusted_rev.as_deref(),
        )?;
        for w in &warnings {
            self.obs.on(&Progress::Warning { message: w });
        }
        Ok(match settled {
            super::approval::Settled::Passed { .. } => GateResult::Passed,
            super::approval::Settled::Started { .. } => {
                let run = self.store.load(&self.id)?;
                let n = run
                    .gate(&g.gate)
                    .and_then(|r| r.latest())
                    .map_or(0, |a| a.attempt);
                return self.continue_started(g, n);
            }
            super::approval::Settled::Rejected { reason } => GateResult::Failed(reason),
            super::approval::Settled::Waiting {
                have,
                need,
                problems,
            } => {
                for p in &problems {
                    self.obs.on(&Progress::Warning {
                        message: &format!("an approval does not count: {p}"),
                    });
                }
                GateResult::AwaitingApproval(have, need)
            }
        })
    }

    /// The model for gate `g`'s agent: `--model` > `ORCH_MODEL` > the gate's > the workflow's.
    fn model_for(&self, g: &WorkflowGate) -> Option<String> {
        crate::exec::model::resolve(
            self.opts.model.as_deref(),
            g.model.as_deref(),
            self.wf.def.model.as_deref(),
        )
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

    /// Runs the agent once per recipe step (once for a gate without
    /// steps), each again while it asks to continue and, after a failure,
    /// as many times as the step's `retries`; records every invocation.
    fn run_agent(
        &mut self,
        g: &WorkflowGate,
        n: u32,
        agent: &str,
        argv: &[String],
        packet_path: &Path,
        packet: &str,
    ) -> Result<AgentEnd> {
        for step in super::steps::inputs(self.repo, g, packet)? {
            let mut tries = 0;
            loop {
                match self.run_step(g, n, agent, argv, packet_path, &step)? {
                    AgentEnd::Done(None) => break,
                    AgentEnd::Done(Some(failure)) if tries < step.retries => {
                        tries += 1;
                        let what = match (&step.number, &step.skill) {
                            (Some(k), Some(skill)) => format!("step {k} ({skill}): {failure}"),
                            _ => failure,
                        };
                        self.obs.on(&Progress::Retrying {
                            gate: &g.gate,
                            reason: &what,
                        });
                    }
                    other => return Ok(other),
                }
            }
        }
        Ok(AgentEnd::Done(None))
    }

    /// One step: the agent, again while it asks to continue (within a bound).
    fn run_step(
        &mut self,
        g: &WorkflowGate,
        n: u32,
        agent: &str,
        argv: &[String],
        packet_path: &Path,
        step: &super::steps::StepInput,
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
        let mut input = step.input.clone();
        let mut continues = 0;
        loop {
            let (invocation, run, report) = self.invoke(
                g,
                n,
                agent,
                argv,
                &program,
                &spec,
                packet_path,
                &input,
                step,
            )?;
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
                        "{}\n\n## Continue ({continues} of {max_continues})\n\nYour last turn ended with \"continue\": {reason}\nCarry on from where you stopped; the files you wrote are still there.\n",
                        step.input
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
        step: &super::steps::StepInput,
    ) -> Result<(Invocation, AgentRun, AgentReport)> {
        let started = clock::now();
        let inv_id = id::new_invocation_id(started);
        let log_rel = super::logs::dir_rel(&self.id, &inv_id);
        let log_dir = self.repo.join(&log_rel);
        self.repo.create_dir_all(&log_dir)?;
        super::logs::write_meta(
            self.repo,
            &self.id,
            &inv_id,
            &super::logs::Meta {
                gate: g.gate.clone(),
                attempt: n,
            },
        )?;
        let run = self.store.load(&self.id)?;
        let timeout = self
            .opts
            .timeout_s
            .or(step.timeout_s)
            .or(spec.timeout_s)
            .unwrap_or(DEFAULT_TIMEOUT_S);
        let idle = self.opts.idle_timeout_s.or(spec.idle_timeout_s);
        let model = self.model_for(g);
        let argv = model_in(&g.gate, argv, model.as_deref())?;
        let mut full_argv = vec![program.to_string_lossy().into_owned()];
        full_argv.extend(argv[1..].iter().cloned());
        let mut env = vec![
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
        ];
        if let Some(m) = &model {
            env.push((env::MODEL.into(), m.clone()));
        }
        if let (Some(k), Some(skill)) = (step.number, &step.skill) {
            env.push(("ORCH_STEP".into(), k.to_string()));
            env.push(("ORCH_SKILL".into(), skill.clone()));
        }
        let agent_spec = AgentSpec {
            argv: full_argv,
            cwd: self.repo.root().to_path_buf(),
            env,
            stdin: input.as_bytes().to_vec(),
            timeout: env::duration(timeout),
            idle_timeout: idle.map(env::duration),
            max_output: spec.max_output_bytes.unwrap_or(DEFAULT_MAX_OUTPUT),
            stdout_log: log_dir.join("stdout.log"),
            stderr_log: log_dir.join("stderr.log"),
            kill_grace: env::seconds(env::KILL_GRACE, 5.0),
            stop: self.opts.stop.clone(),
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
        inv.command = Some(recorded_command(self.repo, &argv));
        inv.step = step.number;
        inv.skill.clone_from(&step.skill);
        inv.model.clone_from(&model);
        inv.reported_model.clone_from(&report.model);
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
        inv.log_excerpt = excerpt::of_logs(&agent_spec.stdout_log, &agent_spec.stderr_log);
        let stderr = read_capped(&agent_spec.stderr_log, agent_spec.max_output);
        let pattern = excerpt::uri_pattern(
            g.outputs_uri_pattern.as_deref(),
            self.wf.def.outputs_uri_pattern.as_deref(),
        );
        inv.outputs_uri = excerpt::find_uri(&pattern, &[&stderr, &stdout]);
        inv.recorded_by.clone_from(&self.by);
        self.store.update(&self.id, |txn| {
            let g = gate_ops::gate_mut(&mut txn.run, &gate)?;
            if let Some(a) = g.attempts.iter_mut().find(|a| a.attempt == n) {
                a.invocation_ids.push(inv_id.clone());
            }
            if inv.outputs_uri.is_some() {
                g.outputs_uri.clone_from(&inv.outputs_uri);
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

/// The command a gate runs: `--agent-cmd` for every gate, else its
/// executor; none for a gate whose automation is `manual` (a person's).
fn command_for(g: &WorkflowGate, opts: &Options) -> Option<Vec<String>> {
    if g.automation == Some(crate::recipe::Automation::Manual) {
        return None;
    }
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

/// `argv` with `{model}` put in, or an error naming the gate when there is no model.
fn model_in(gate: &str, argv: &[String], model: Option<&str>) -> Result<Vec<String>> {
    crate::exec::model::substitute(argv, model).map_err(|arg| {
        Error::input(format!(
            "gate {gate}: its command uses `{arg}`, and no model is set"
        ))
        .hint("set one: --model NAME, ORCH_MODEL, or \"model\" on the gate or the workflow")
    })
}

/// The repo-relative path of attempt `n`'s prompt packet.
fn packet_rel(id: &str, gate: &str, n: u32) -> String {
    format!(
        "{}/gates/{gate}/attempt-{n}/prompt.txt",
        layout::logs_dir(id)
    )
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
