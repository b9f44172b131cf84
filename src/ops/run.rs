//! Starting and completing runs.

use std::path::PathBuf;

use crate::contract::template::Vars;
use crate::contract::{Contract, Depth};
use crate::error::{Error, Result};
use crate::record::store::Store;
use crate::record::summary::RunSummary;
use crate::record::{
    AttemptStatus, Event, EventType, FORMAT_VERSION, GateRecord, GateStatus, PromptRef, RunOptions,
    RunRecord, RunStatus, WorkflowRef, id,
};
use crate::repo::Repo;
use crate::workflow::LoadedWorkflow;
use crate::{clock, hash};

/// `orch run start`.
pub struct StartOptions {
    pub workflow: String,
    pub slug: String,
    pub artifact_path: Option<String>,
    pub depth: Depth,
    /// As given on the command line (relative to the current directory).
    pub prompt_file: Option<PathBuf>,
    /// The backlog task this run does (`orch task run`, `orch worker`).
    pub task: Option<String>,
}

/// Creates a run: `RUN.json` with every gate `NOT_STARTED`, and the logs folder.
/// Every contract of the workflow is loaded first, so a broken one stops the
/// run before it exists.
pub fn start(repo: &Repo, opts: &StartOptions) -> Result<RunRecord> {
    start_with(repo, opts, None)
}

/// `start`, recording how `orch run` will drive the run (`options`), so a
/// resume goes on the same way.
pub fn start_with(
    repo: &Repo,
    opts: &StartOptions,
    options: Option<&RunOptions>,
) -> Result<RunRecord> {
    super::check_slug(&opts.slug)?;
    let given = std::path::Path::new(&opts.workflow);
    if crate::workflow::is_path_spec(&opts.workflow)
        && std::fs::canonicalize(given).is_ok_and(|p| !p.starts_with(repo.root()))
    {
        return Err(Error::input(format!(
            "workflow `{}` is outside the repository",
            opts.workflow
        ))
        .hint(
            "a run's workflow must be committed with it: copy it under orchestration/workflows/",
        ));
    }
    let wf = LoadedWorkflow::find(repo, &opts.workflow)?;
    let Some(wf_rel) = wf.rel.clone() else {
        return Err(Error::input(format!("workflow `{}` is outside the repository", wf.shown))
            .hint("a run's workflow must be committed with it: copy it under orchestration/workflows/"));
    };
    let artifact_path = artifact_path(repo, &wf, opts)?;
    let gates = wf
        .def
        .gates
        .iter()
        .map(|g| {
            let contract = Contract::for_workflow_gate(repo, g)?;
            Ok(GateRecord {
                gate: g.gate.clone(),
                name: Some(g.display_name().to_string()),
                status: GateStatus::NotStarted,
                blocking: Some(contract.blocking),
                skip_reason: None,
                outputs_uri: None,
                warnings: None,
                attempts: Vec::new(),
                extra: serde_json::Map::new(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let prompt = opts
        .prompt_file
        .as_ref()
        .map(|p| prompt_ref(repo, p))
        .transpose()?;
    let store = Store::new(repo);
    let now = clock::now();
    let stamp = clock::timestamp(now);
    for _ in 0..8 {
        let run = RunRecord {
            format_version: FORMAT_VERSION,
            run_id: id::new_run_id(now, &opts.slug),
            workflow: WorkflowRef {
                name: wf.def.workflow.clone(),
                version: wf.def.version.clone(),
                path: Some(wf_rel.clone()),
                slug: opts.slug.clone(),
                artifact_path: artifact_path.clone(),
                extra: serde_json::Map::new(),
            },
            depth: opts.depth,
            prompt: prompt.clone(),
            options: options.cloned(),
            task: opts.task.clone(),
            status: RunStatus::Running,
            started_at: stamp.clone(),
            finished_at: None,
            created_by: super::actor(repo),
            gates: gates.clone(),
            invocations: Vec::new(),
            artifacts_index: Vec::new(),
            registered_artifacts: Vec::new(),
            validations: Vec::new(),
            events: vec![Event::new(
                &stamp,
                EventType::RunStarted,
                format!("Run initialized for {}/{}", wf.def.workflow, opts.slug),
            )],
            totals: None,
            extra: serde_json::Map::new(),
        };
        if store.create(&run)? {
            return Ok(run);
        }
    }
    Err(
        Error::conflict("could not find a free run id after 8 tries")
            .hint("unset ORCH_SEED if it is set, or wait a millisecond"),
    )
}

/// Other runs that already recorded outputs (a gate finished, passing or
/// not) under the artifact path a new run would get, or one nested with
/// it: the new run would check and hash the same files. Only looked for
/// when that folder has something in it, so a fresh path costs nothing.
pub fn outputs_shared_with(repo: &Repo, opts: &StartOptions) -> Result<Vec<RunSummary>> {
    let wf = LoadedWorkflow::find(repo, &opts.workflow)?;
    let path = artifact_path(repo, &wf, opts)?;
    let occupied = std::fs::read_dir(repo.join(&path)).is_ok_and(|mut d| d.next().is_some());
    if !occupied {
        return Ok(Vec::new());
    }
    let nested = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/"));
    Ok(crate::record::summary::list(&Store::new(repo))?
        .into_iter()
        .flatten()
        .filter(|r| {
            let other = r.workflow.artifact_path.trim_end_matches('/');
            (nested(other, &path) || nested(&path, other))
                && r.gates
                    .iter()
                    .any(|g| matches!(g.status, GateStatus::Pass | GateStatus::Fail))
        })
        .collect())
}

fn artifact_path(repo: &Repo, wf: &LoadedWorkflow, opts: &StartOptions) -> Result<String> {
    let raw = match (&opts.artifact_path, &wf.def.default_artifact_path) {
        (Some(p), _) => p.clone(),
        (None, Some(template)) => {
            Vars::new(repo, &opts.slug, "")
                .expand(template)
                .map_err(|e| {
                    Error::input(format!(
                        "workflow `{}`: default_artifact_path: {e}",
                        wf.shown
                    ))
                })?
        }
        (None, None) => {
            return Err(Error::input("--artifact-path is required").hint(format!(
                "workflow `{}` declares no default_artifact_path",
                wf.def.workflow
            )));
        }
    };
    super::artifact_dir(repo, &raw)
}

fn prompt_ref(repo: &Repo, given: &PathBuf) -> Result<PromptRef> {
    let shown = given.display().to_string();
    let abs = std::fs::canonicalize(given).map_err(|e| {
        Error::read(&shown, e)
            .hint("--prompt-file names a text file with the run's original prompt")
    })?;
    let Some(rel) = repo.relative(&abs) else {
        return Err(Error::input(format!("prompt file `{shown}` is outside the repository"))
            .hint("the record names the prompt by its repo-relative path: keep the prompt in the repository"));
    };
    let sha256 = hash::file(&abs).map_err(|e| {
        Error::read(&rel, e).hint("--prompt-file names a text file with the run's original prompt")
    })?;
    Ok(PromptRef { file: rel, sha256 })
}

/// `orch run complete`: closes the run. Without a status, PASSED when every
/// blocking gate passed, else FAILED. Attempts still in progress are closed
/// as failed, so nothing is left dangling.
pub fn complete(repo: &Repo, query: &str, status: Option<RunStatus>) -> Result<RunRecord> {
    let store = Store::new(repo);
    let id = store.resolve(query)?;
    store.update(&id, |txn| {
        super::ensure_open(&txn.run)?;
        let now = clock::now_timestamp();
        let mut closed = Vec::new();
        for gate in &mut txn.run.gates {
            if let Some(n) = gate
                .latest()
                .filter(|a| a.status == AttemptStatus::Running)
                .map(|a| a.attempt)
            {
                gate.end_attempt(
                    n,
                    AttemptStatus::Fail,
                    Some("the run was completed before this attempt finished".into()),
                    &now,
                );
                closed.push((gate.gate.clone(), n));
            }
        }
        for (gate, n) in closed {
            txn.touch(&gate, n);
        }
        let computed = if txn
            .run
            .gates
            .iter()
            .filter(|g| g.blocking.unwrap_or(true))
            .all(|g| g.status.is_done())
        {
            RunStatus::Passed
        } else {
            RunStatus::Failed
        };
        let status = status.unwrap_or(computed);
        txn.run.status = status.clone();
        txn.run.finished_at = Some(now.clone());
        let mut event = Event::new(
            &now,
            EventType::RunCompleted,
            format!("Run completed with status: {status}"),
        );
        event.status = Some(status.to_string());
        txn.run.events.push(event);
        Ok(txn.run.clone())
    })
}

/// Marks a run whose owner is gone as INTERRUPTED (its attempt in progress
/// too), so `orch run resume` continues it. Takes the run's lease first,
/// which stops a dead owner's agent still running on this host. False,
/// changing nothing, when the run is completed or a live owner drives it
/// (that owner records the interruption itself when it stops).
pub fn interrupt(repo: &Repo, id: &str, why: &str) -> Result<bool> {
    let store = Store::new(repo);
    if store.load(id)?.is_completed() {
        return Ok(false);
    }
    let Ok((_lease, _taken)) = crate::lease::acquire(repo, id, super::actor(repo)) else {
        return Ok(false);
    };
    store.update(id, |txn| {
        let running: Vec<(String, u32)> = txn
            .run
            .gates
            .iter()
            .filter_map(|g| {
                g.latest()
                    .filter(|a| a.status == AttemptStatus::Running)
                    .map(|a| (g.gate.clone(), a.attempt))
            })
            .collect();
        for (gate, n) in running {
            super::gate::interrupt_attempt(txn, &gate, n, why)?;
        }
        txn.run.status = RunStatus::Interrupted;
        txn.run.events.push(Event::now(
            EventType::RunInterrupted,
            format!("Run interrupted: {why}; `orch run resume` continues it"),
        ));
        Ok(true)
    })
}
