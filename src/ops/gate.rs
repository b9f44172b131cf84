//! Gate attempts: start one, finish it (pre-scripts, validations, hashes,
//! record), fail it by hand, or check a contract without any run.

use std::path::{Path, PathBuf};

use crate::contract::template::Vars;
use crate::contract::{Contract, Depth};
use crate::error::{Error, Result};
use crate::exec::{self, Spec};
use crate::record::store::{Store, Txn};
use crate::record::{
    Attempt, AttemptStatus, ContractRef, Event, EventType, GateStatus, PreScriptResult, RunRecord,
};
use crate::repo::Repo;
use crate::storage::layout;
use crate::validate::{self, Context, Evaluation};
use crate::workflow::LoadedWorkflow;
use crate::{clock, env};

/// A started attempt, and the earlier gates that have not passed (worth a warning).
pub struct Started {
    pub run_id: String,
    pub attempt: u32,
    pub earlier_not_passed: Vec<String>,
}

/// How an attempt begins.
pub struct Begin<'a> {
    pub agent: &'a str,
    /// SHA-256 of the prompt packet written for it.
    pub prompt_sha256: Option<String>,
    /// `validate_only` for `--start-from`.
    pub mode: Option<&'static str>,
    /// The attempt number the caller prepared for (its packet names it).
    pub expect: Option<u32>,
    pub by: Option<crate::record::Actor>,
}

/// What to say when `--agent` is empty.
pub const AGENT_HINT: &str = "name who does the work, e.g. --agent research-agent or --agent alice";

/// Starts the next attempt of `gate` inside a transaction: shared by
/// `gate start` and the pipeline, so both record the same thing.
pub fn begin_attempt(txn: &mut Txn, gate: &str, begin: &Begin) -> Result<u32> {
    let id = txn.run.run_id.clone();
    let g = gate_mut(&mut txn.run, gate)?;
    if let Some(a) = g.latest().filter(|a| a.status == AttemptStatus::Running) {
        return Err(
            Error::conflict(format!("{gate} attempt {} is still in progress", a.attempt))
                .hint(format!(
                    "finish it: {}",
                    crate::ui::orch_command(&format!("gate finish --run {id} --gate {gate}"))
                ))
                .hint(format!(
                    "or give it up: {} --reason \"…\"",
                    crate::ui::orch_command(&format!("gate fail --run {id} --gate {gate}"))
                )),
        );
    }
    let n = g.next_attempt_number();
    if begin.expect.is_some_and(|e| e != n) {
        return Err(Error::conflict(format!(
            "{gate} gained an attempt from another orch process"
        ))
        .hint("only one orch should drive a run at a time"));
    }
    let now = clock::now_timestamp();
    let mut attempt = Attempt::begin(n, &now, Some(begin.agent.to_string()), begin.by.clone());
    attempt.prompt_sha256.clone_from(&begin.prompt_sha256);
    attempt.mode = begin.mode.map(str::to_string);
    g.attempts.push(attempt);
    g.status = GateStatus::Running;
    txn.run.status = crate::record::RunStatus::Running;
    let what = if begin.mode.is_some() {
        "validation"
    } else {
        "attempt"
    };
    let mut event = Event::new(
        &now,
        EventType::GateStarted,
        format!("Gate {gate} {what} {n} started with agent {}", begin.agent),
    )
    .gate(gate, Some(n));
    event.agent = Some(begin.agent.to_string());
    txn.run.events.push(event);
    txn.touch(gate, n);
    Ok(n)
}

/// Ends attempt `n` of `gate` as INTERRUPTED (orch stopped, or its owner
/// died, while it was in progress), with the event that says why.
pub fn interrupt_attempt(txn: &mut Txn, gate: &str, n: u32, why: &str) -> Result<()> {
    let now = clock::now_timestamp();
    gate_mut(&mut txn.run, gate)?.end_attempt(
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
}

/// Records `gate` as SKIPPED (its `when` condition did not hold): it counts
/// as passed for what follows.
pub fn skip(txn: &mut Txn, gate: &str, reason: &str) -> Result<()> {
    let g = gate_mut(&mut txn.run, gate)?;
    g.status = GateStatus::Skipped;
    g.skip_reason = Some(reason.to_string());
    txn.run.events.push(
        Event::now(
            EventType::GateSkipped,
            format!("Gate {gate} skipped: {reason}"),
        )
        .gate(gate, None),
    );
    txn.run.refresh_status();
    Ok(())
}

/// `orch gate start`.
pub fn start(repo: &Repo, query: &str, gate: &str, agent: &str) -> Result<Started> {
    super::non_empty("--agent", agent, AGENT_HINT)?;
    let store = Store::new(repo);
    let id = store.resolve(query)?;
    let by = super::actor(repo);
    store.update(&id, |txn| {
        super::ensure_open(&txn.run)?;
        let earlier_not_passed = earlier_not_passed(&txn.run, gate);
        let attempt = begin_attempt(
            txn,
            gate,
            &Begin {
                agent,
                prompt_sha256: None,
                mode: None,
                expect: None,
                by: by.clone(),
            },
        )?;
        Ok(Started {
            run_id: id.clone(),
            attempt,
            earlier_not_passed,
        })
    })
}

fn earlier_not_passed(run: &RunRecord, gate: &str) -> Vec<String> {
    run.gates
        .iter()
        .take_while(|g| g.gate != gate)
        .filter(|g| g.status != GateStatus::Pass)
        .map(|g| g.gate.clone())
        .collect()
}

pub fn gate_mut<'a>(
    run: &'a mut RunRecord,
    gate: &str,
) -> Result<&'a mut crate::record::GateRecord> {
    let unknown = unknown_gate(run, gate);
    run.gate_mut(gate).ok_or(unknown)
}

/// A run's gate, or an error listing its gates.
pub fn gate_of<'a>(run: &'a RunRecord, gate: &str) -> Result<&'a crate::record::GateRecord> {
    run.gate(gate).ok_or_else(|| unknown_gate(run, gate))
}

fn unknown_gate(run: &RunRecord, gate: &str) -> Error {
    Error::input(format!("run `{}` has no gate `{gate}`", run.run_id)).hint(format!(
        "its gates are: {}",
        run.gates
            .iter()
            .map(|g| g.gate.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The attempt in progress for `gate`, or a conflict explaining how to start one.
pub fn running_attempt(run: &RunRecord, gate: &str) -> Result<u32> {
    let g = gate_of(run, gate)?;
    match g.latest() {
        Some(a) if a.status == AttemptStatus::Running => Ok(a.attempt),
        latest => {
            let what = latest.map_or_else(
                || "has not been started".to_string(),
                |a| {
                    format!(
                        "has no attempt in progress (attempt {} is {})",
                        a.attempt, a.status
                    )
                },
            );
            Err(Error::conflict(format!("{gate} {what}")).hint(format!(
                "start an attempt first: {}",
                crate::ui::orch_command(&format!(
                    "gate start --run {} --gate {gate} --agent <name>",
                    run.run_id
                ))
            )))
        }
    }
}

/// The outcome of `gate finish`.
pub struct Finished {
    pub run_id: String,
    pub gate_name: String,
    pub attempt: Attempt,
    pub evaluation: Evaluation,
    pub blocking: bool,
    pub run_status: crate::record::RunStatus,
    /// The notifications sent because the gate now waits for approval.
    pub notified: Vec<crate::notify::Delivery>,
    /// Why they could not be sent (a broken notify.json); the gate's record stands.
    pub notify_error: Option<String>,
}

/// A run's gate evaluated against its contract, not yet recorded.
pub struct Evaluated {
    pub gate_name: String,
    pub contract: Contract,
    /// `None` for a gate with no contract.
    pub contract_rel: Option<String>,
    pub pre_scripts: Vec<PreScriptResult>,
    pub evaluation: Evaluation,
    /// The workflow gate's approval policy.
    pub approval: Option<crate::approval::ApprovalPolicy>,
    /// What a failure leads to (`review_required` waits for a person).
    pub on_fail: crate::recipe::OnFail,
}

/// Evaluates attempt `n` of a run's gate (pre-scripts first, and quality
/// checks after, when `scripts` — `gate finish` and `orch run`; not
/// `--start-from`, which only looks). Runs without the run's lock: it may
/// take a while (URL checks, test commands).
pub fn evaluate_for_run(
    repo: &Repo,
    run: &RunRecord,
    gate: &str,
    n: u32,
    scripts: bool,
    offline: bool,
) -> Result<Evaluated> {
    let wf = super::run_workflow(repo, run)?;
    let wf_gate = wf.gate(gate)?;
    let contract_rel = wf_gate.contract_file();
    let contract = Contract::for_workflow_gate(repo, wf_gate)?;
    let vars = super::run_vars(repo, run)?;
    let logs = repo.join(&format!(
        "{}/gates/{gate}/attempt-{n}",
        layout::logs_dir(&run.run_id)
    ));
    let pre_scripts = if scripts {
        run_pre_scripts(repo, &contract, &vars, gate, &logs)?
    } else {
        Vec::new()
    };
    let ctx = Context {
        repo,
        vars: &vars,
        depth: run.depth,
        offline,
        hash_outputs: true,
        run: Some(run),
    };
    let mut evaluation = validate::evaluate(&contract, &ctx)?;
    if scripts {
        let results = crate::quality::run_all(repo, &contract.quality_checks, &vars, gate, &logs)?;
        crate::quality::apply(&mut evaluation, results);
    }
    Ok(Evaluated {
        gate_name: wf_gate.display_name().to_string(),
        contract,
        contract_rel,
        pre_scripts,
        evaluation,
        approval: wf_gate.approval.clone(),
        on_fail: wf_gate.on_fail(),
    })
}

/// Records attempt `n` as finished. `agent_failure` (the agent crashed,
/// timed out or reported an error) fails the attempt whatever the checks
/// say; the checks are recorded all the same.
pub fn record_finish(
    store: &Store,
    id: &str,
    gate: &str,
    n: u32,
    ev: &Evaluated,
    agent_failure: Option<&str>,
) -> Result<Finished> {
    store.update(id, |txn| {
        super::ensure_open(&txn.run)?;
        if running_attempt(&txn.run, gate)? != n {
            return Err(Error::conflict(format!(
                "{gate} attempt {n} was changed by another orch process while it was being validated"
            ))
            .hint("run `orch run show` to see the current state"));
        }
        let now = clock::now_timestamp();
        let depth = txn.run.depth;
        let passed = ev.evaluation.passed && agent_failure.is_none();
        let failure_reason = match (agent_failure, &ev.evaluation.failure_reason) {
            (Some(agent), Some(checks)) => Some(format!("{agent}; {checks}")),
            (Some(agent), None) => Some(agent.to_string()),
            (None, checks) => checks.clone(),
        };
        let has_uri = txn
            .run
            .invocations
            .iter()
            .any(|i| i.gate == gate && i.attempt == Some(n) && i.outputs_uri.is_some());
        let approval = ev
            .approval
            .as_ref()
            .and_then(|p| p.requirement(has_uri))
            .filter(|_| passed);
        // `on_fail: review_required`: a failure waits for a person's
        // override (approve) or rejection, instead of failing the gate.
        let review = (!passed && ev.on_fail == crate::recipe::OnFail::ReviewRequired).then(|| {
            crate::record::ApprovalRequirement {
                min_approvals: ev.approval.as_ref().map_or(1, |p| p.min_approvals.max(1)),
                allow_self_approval: ev.approval.as_ref().is_some_and(|p| p.allow_self_approval),
                reason: failure_reason.clone(),
                granted_at: None,
            }
        });
        let g = gate_mut(&mut txn.run, gate)?;
        let blocking = g.blocking.unwrap_or(ev.contract.blocking);
        let status = match (passed, &approval, &review) {
            (true, Some(_), _) | (false, _, Some(_)) => AttemptStatus::AwaitingApproval,
            (true, None, _) => AttemptStatus::Pass,
            (false, _, None) => AttemptStatus::Fail,
        };
        let a = g
            .end_attempt(n, status, failure_reason.clone(), &now)
            .expect("checked above");
        a.contract = ev.contract_rel.as_ref().map(|path| ContractRef {
            path: path.clone(),
            sha256: ev.contract.sha256.clone(),
        });
        a.approval.clone_from(&approval);
        a.review.clone_from(&review);
        a.depth = Some(depth);
        a.required_outputs = ev.contract.output_templates();
        a.pre_scripts.clone_from(&ev.pre_scripts);
        a.artifacts.clone_from(&ev.evaluation.artifacts);
        a.validations.clone_from(&ev.evaluation.results);
        a.quality_checks.clone_from(&ev.evaluation.quality);
        let attempt = a.clone();
        let warnings = u32::try_from(attempt.warnings()).unwrap_or(u32::MAX);
        g.warnings = (passed && warnings > 0).then_some(warnings);
        let event = if let Some(req) = &review {
            Event::new(
                &now,
                EventType::GateAwaitingApproval,
                format!(
                    "Gate {gate} failed on attempt {n} and awaits a person's review: {} signed approval(s) override it, a rejection fails it ({})",
                    req.min_approvals,
                    failure_reason.as_deref().unwrap_or("")
                ),
            )
        } else if let Some(req) = &approval {
            Event::new(
                &now,
                EventType::GateAwaitingApproval,
                format!(
                    "Gate {gate} passed its checks on attempt {n} and awaits {} signed approval(s)",
                    req.min_approvals
                ),
            )
        } else if passed {
            Event::new(&now, EventType::GatePassed, format!("Gate {gate} passed on attempt {n}"))
        } else {
            Event::new(
                &now,
                EventType::GateFailed,
                format!("Gate {gate} failed: {}", failure_reason.as_deref().unwrap_or("")),
            )
        };
        txn.run.events.push(event.gate(gate, Some(n)));
        txn.run.index_artifacts(gate, n, &ev.evaluation.artifacts, &now);
        txn.run.refresh_status();
        txn.touch(gate, n);
        Ok(Finished {
            run_id: id.to_string(),
            gate_name: ev.gate_name.clone(),
            attempt,
            evaluation: ev.evaluation.clone(),
            blocking,
            run_status: txn.run.status.clone(),
            notified: Vec::new(),
            notify_error: None,
        })
    })
}

/// `orch gate finish`: runs pre-scripts, evaluates the contract, records the
/// attempt, after checking it is still the one in progress.
pub fn finish(repo: &Repo, query: &str, gate: &str, offline: bool) -> Result<Finished> {
    let store = Store::new(repo);
    let id = store.resolve(query)?;
    let run = store.load(&id)?;
    super::ensure_open(&run)?;
    let n = running_attempt(&run, gate)?;
    let evaluated = evaluate_for_run(repo, &run, gate, n, true, offline)?;
    let mut done = record_finish(&store, &id, gate, n, &evaluated, None)?;
    // A person finished the gate and it now waits for signed approvals:
    // tell the people who approve, as `orch run` does.
    if done.attempt.status == AttemptStatus::AwaitingApproval {
        match crate::notify::dispatch(
            repo,
            &id,
            crate::notify::Event::AwaitingApproval,
            Some(gate),
            offline,
        ) {
            Ok(sent) => done.notified = sent,
            Err(e) => done.notify_error = Some(e.to_string()),
        }
    }
    Ok(done)
}

/// `orch gate fail`: fails the attempt in progress, or records a new failed
/// attempt when none is in progress (a reviewer rejecting a passed gate).
pub fn fail(
    repo: &Repo,
    query: &str,
    gate: &str,
    reason: &str,
    agent: Option<&str>,
) -> Result<(String, Attempt)> {
    super::non_empty(
        "--reason",
        reason,
        "say why the gate failed; reviewers read it",
    )?;
    if let Some(agent) = agent {
        super::non_empty("--agent", agent, AGENT_HINT)?;
    }
    let store = Store::new(repo);
    let id = store.resolve(query)?;
    let by = super::actor(repo);
    store.update(&id, |txn| {
        super::ensure_open(&txn.run)?;
        let now = clock::now_timestamp();
        let g = gate_mut(&mut txn.run, gate)?;
        if g.latest()
            .is_none_or(|a| a.status != AttemptStatus::Running)
        {
            let n = g.next_attempt_number();
            g.attempts.push(Attempt::begin(
                n,
                &now,
                agent.map(str::to_string),
                by.clone(),
            ));
        }
        let n = g.latest().map_or(0, |a| a.attempt);
        let a = g
            .end_attempt(n, AttemptStatus::Fail, Some(reason.to_string()), &now)
            .expect("an attempt exists");
        a.manual_failure = true;
        let attempt = a.clone();
        txn.run.events.push(
            Event::new(
                &now,
                EventType::GateFailed,
                format!("Gate {gate} failed (manual): {reason}"),
            )
            .gate(gate, Some(attempt.attempt)),
        );
        txn.run.refresh_status();
        txn.touch(gate, attempt.attempt);
        Ok((id.clone(), attempt))
    })
}

/// Where `gate check` finds its contract.
pub enum ContractSource {
    /// A contract file, as given on the command line.
    File(PathBuf),
    /// The gate of a workflow (name or path).
    Workflow(String),
    /// `orchestration/gates/contracts/<gate>.contract.json`.
    Default,
}

/// `orch gate check`.
pub struct CheckOptions {
    pub gate: String,
    pub source: ContractSource,
    pub slug: String,
    pub artifact_path: String,
    pub depth: Depth,
    pub offline: bool,
}

/// Evaluates a contract against the working tree; writes nothing.
pub fn check(repo: &Repo, opts: &CheckOptions) -> Result<(Contract, Evaluation)> {
    super::check_slug(&opts.slug)?;
    let artifact = repo
        .contain(&super::artifact_dir(repo, &opts.artifact_path)?)
        .map_err(|e| e.into_error("artifact path"))?;
    let contract = match &opts.source {
        ContractSource::File(path) => {
            let c = Contract::load(repo, path)?;
            if c.gate != opts.gate {
                return Err(Error::input(format!(
                    "contract `{}` is for gate `{}`, not `{}`",
                    c.shown, c.gate, opts.gate
                ))
                .hint(format!(
                    "check it as --gate {}, or fix the contract's `gate` field",
                    c.gate
                )));
            }
            c
        }
        ContractSource::Workflow(spec) => {
            let wf = LoadedWorkflow::find(repo, spec)?;
            let g = wf.gate(&opts.gate)?;
            Contract::for_workflow_gate(repo, g)?
        }
        ContractSource::Default => {
            Contract::for_gate(repo, &opts.gate, &layout::default_contract(&opts.gate))?
        }
    };
    let vars = Vars::new(repo, &opts.slug, &artifact.rel);
    let ctx = Context {
        repo,
        vars: &vars,
        depth: opts.depth,
        offline: opts.offline,
        hash_outputs: true,
        run: None,
    };
    let evaluation = validate::evaluate(&contract, &ctx)?;
    Ok((contract, evaluation))
}

/// Runs a contract's pre-scripts (from the repository root, 30 s each). A
/// failing script is recorded and reported, not fatal: validations decide.
fn run_pre_scripts(
    repo: &Repo,
    contract: &Contract,
    vars: &Vars,
    gate: &str,
    logs: &Path,
) -> Result<Vec<PreScriptResult>> {
    // Every path is checked before anything runs.
    let paths = contract
        .pre_scripts
        .iter()
        .map(|script| {
            vars.path(&script.path).map_err(|e| {
                Error::input(format!("pre-script `{}`: {e}", script.path))
                    .hint("pre-scripts are repository files, run from the repository root")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut results = Vec::new();
    for (i, (script, path)) in contract.pre_scripts.iter().zip(paths).enumerate() {
        let args: Vec<String> = script.args.iter().map(|a| vars.text(a)).collect();
        let mut result = PreScriptResult {
            path: path.rel.clone(),
            args: args.clone(),
            status: "missing".into(),
            exit_code: None,
            duration_ms: 0,
        };
        if !path.abs.is_file() {
            results.push(result);
            continue;
        }
        let (program, mut command_line): (PathBuf, Vec<String>) =
            match path.abs.extension().and_then(|e| e.to_str()) {
                Some("js" | "mjs" | "cjs") => ("node".into(), vec![path.rel.clone()]),
                Some("sh") => ("sh".into(), vec![path.rel.clone()]),
                Some("py") => ("python3".into(), vec![path.rel.clone()]),
                _ => (path.abs.clone(), Vec::new()),
            };
        command_line.extend(args);
        let outcome = exec::process::run(&Spec {
            program,
            args: command_line,
            cwd: repo.root().to_path_buf(),
            env: vars.script_env(gate),
            stdin: Vec::new(),
            timeout: env::seconds(env::SCRIPT_TIMEOUT, 30.0),
            capture_limit: 1024 * 1024,
        });
        if outcome.exit == exec::Exit::Interrupted {
            return Err(Error::Interrupted);
        }
        result.exit_code = outcome.exit.code();
        result.duration_ms = u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX);
        result.status = match &outcome.exit {
            e if e.success() => "ok",
            exec::Exit::TimedOut => "timeout",
            exec::Exit::SpawnFailed(_) => "error",
            _ => "failed",
        }
        .into();
        let log = logs.join(format!("pre-script-{}.log", i + 1));
        if std::fs::create_dir_all(logs).is_ok() {
            let mut text = format!("$ {} ({})\n", path.rel, outcome.exit.describe());
            text.push_str(&String::from_utf8_lossy(&outcome.stdout));
            text.push_str(&String::from_utf8_lossy(&outcome.stderr));
            let _ = std::fs::write(&log, text);
        }
        results.push(result);
    }
    Ok(results)
}
