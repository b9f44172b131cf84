//! One run's checks (see the module above): the record, then each passed
//! gate's outputs, contract, staleness and approvals. Every file looked at
//! is reported to `storage::watch` (and every fact outside the files, such
//! as the signers at the trusted revision), so the finding can be cached
//! against them.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use super::Shared;
use super::cache::{HINT_BYTES, Hint};
use crate::contract::Check;
use crate::contract::template::Vars;
use crate::error::Error;
use crate::record::{
    Attempt, AttemptStatus, FORMAT_VERSION, GateRecord, GateStatus, RunRecord, RunStatus,
};
use crate::repo::Repo;
use crate::report::findings::{Case, Finding, Group, Level};
use crate::storage::stamp::Stamp;
use crate::storage::{atomic, layout, regular, watch};
use crate::validate::{self, Context};
use crate::workflow::LoadedWorkflow;
use crate::{hash, json};

/// A recorded output as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Now {
    Hash(String),
    Missing,
    /// The recorded path is not one orch may read (absolute, escaping, a symlink out).
    Unsafe(String),
}

/// Checks run `id`: its group of findings, whether any check reached
/// outside the files (a validator plugin, a URL: the finding cannot be
/// cached), and the hashes of its large outputs (`hints` holds those of
/// the last check).
pub(super) fn run(sh: &Shared, id: &str, hints: &[Hint]) -> (Group, bool, Vec<Hint>) {
    let repo = sh.repo;
    let (run, raw) = match load(repo, id) {
        Ok(r) => r,
        Err(e) => {
            let mut case = Case::new("record");
            case.push(Finding::from_error(Level::Error, "unreadable", &e));
            let group = Group {
                name: id.to_string(),
                description: None,
                cases: vec![case],
            };
            return (group, false, Vec::new());
        }
    };
    let (now, new_hints) = current_hashes(sh, &run, hints);
    let mut volatile = false;
    let approvals = crate::approval::find(repo, id);
    let mut cases = vec![check_record(repo, id, &run, &raw, &approvals)];
    for (j, g) in run.gates.iter().enumerate() {
        let mut case = check_gate(sh, &run, j, g, &now, &mut volatile);
        if let Some(a) = passed_attempt(g) {
            let current = |path: &str| match now.get(path) {
                Some(Now::Hash(h)) => Some(h.clone()),
                _ => None,
            };
            for f in sh.audit.check(&run, g, a, &approvals, &current) {
                case.push(f);
            }
        }
        cases.push(case);
    }
    let group = Group {
        name: id.to_string(),
        description: Some(format!(
            "{}/{}, {}",
            run.workflow.name, run.workflow.slug, run.status
        )),
        cases,
    };
    (group, volatile, new_hints)
}

fn load(repo: &Repo, id: &str) -> crate::error::Result<(RunRecord, Value)> {
    let rel = layout::run_json(id);
    let path = repo.join(&rel);
    watch::saw(&path);
    let text = regular::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::input(format!("run `{id}` has no record: `{rel}` is missing"))
        } else {
            Error::read(&rel, e)
        }
    })?;
    let value: Value = json::parse(&text, &rel)?;
    let run = RunRecord::deserialize(&value).map_err(|_| {
        // Reparse from text for the position of the problem.
        json::parse::<RunRecord>(&text, &rel)
            .err()
            .unwrap_or_else(|| Error::input(format!("{rel}: not a run record")))
    })?;
    Ok((run, value))
}

/// Every output recorded by a passed attempt, as it is now: hashed, unless
/// the last check's hash of a large output still holds by its stamp.
fn current_hashes(
    sh: &Shared,
    run: &RunRecord,
    hints: &[Hint],
) -> (HashMap<String, Now>, Vec<Hint>) {
    let repo = sh.repo;
    let wanted: BTreeSet<String> = run
        .gates
        .iter()
        .flat_map(|g| &g.attempts)
        .filter(|a| a.status == AttemptStatus::Pass)
        .flat_map(|a| &a.artifacts)
        .filter(|x| x.sha256.is_some())
        .map(|x| resolve(&run.workflow, &x.path))
        .collect();
    let mut now = HashMap::new();
    let mut new_hints = Vec::new();
    let mut to_hash: Vec<(String, PathBuf, Stamp)> = Vec::new();
    for rel in wanted {
        match repo.contain(&rel) {
            Err(e) => {
                now.insert(rel, Now::Unsafe(e.to_string()));
            }
            Ok(p) => match std::fs::metadata(&p.abs) {
                Ok(meta) if meta.is_file() => {
                    let stamp = Stamp::of(&meta);
                    if let Some(h) = hints.iter().find(|h| h.path == rel && h.stamp == stamp) {
                        now.insert(rel, Now::Hash(h.sha256.clone()));
                        new_hints.push(h.clone());
                    } else if let Some(sha) = sh.hashed(&rel, stamp) {
                        now.insert(rel, Now::Hash(sha));
                    } else {
                        to_hash.push((rel, p.abs, stamp));
                    }
                }
                _ => {
                    now.insert(rel, Now::Missing);
                }
            },
        }
    }
    let paths: Vec<PathBuf> = to_hash.iter().map(|(_, p, _)| p.clone()).collect();
    // Runs are checked on all cores already; a run with many outputs (one
    // run over a GiB, say) hashes them on all cores too.
    let hashed = if paths.len() >= 16 {
        hash::files(&paths)
    } else {
        hash::files_in_turn(&paths)
    };
    for ((rel, _, stamp), result) in to_hash.into_iter().zip(hashed) {
        match result {
            Ok(sha) => {
                sh.remember_hash(&rel, stamp, &sha);
                if stamp.size >= HINT_BYTES {
                    new_hints.push(Hint {
                        path: rel.clone(),
                        stamp,
                        sha256: sha.clone(),
                    });
                }
                now.insert(rel, Now::Hash(sha));
            }
            Err(_) => {
                now.insert(rel, Now::Missing);
            }
        }
    }
    (now, new_hints)
}
/// A recorded path, with the Node runner's `{artifact_path}`-style templates resolved.
fn resolve(wf: &crate::record::WorkflowRef, path: &str) -> String {
    if path.contains('{') {
        path.replace("{artifact_path}", &wf.artifact_path)
            .replace("{slug}", &wf.slug)
    } else {
        path.to_string()
    }
}

/// The attempt's recorded contract, else the workflow's, else the
/// conventional path; `None` for a gate with no contract.
fn contract_path(wf: Option<&LoadedWorkflow>, g: &GateRecord, a: &Attempt) -> Option<String> {
    if let Some(c) = &a.contract {
        return Some(c.path.clone());
    }
    match wf.and_then(|w| w.gate(&g.gate).ok()) {
        Some(wg) => wg.contract_file(),
        None => Some(layout::default_contract(&g.gate)),
    }
}

/// The latest passed attempt of a passed gate (the one verify checks).
fn passed_attempt(g: &GateRecord) -> Option<&Attempt> {
    (g.status == GateStatus::Pass)
        .then(|| {
            g.attempts
                .iter()
                .filter(|a| a.status == AttemptStatus::Pass)
                .max_by_key(|a| a.attempt)
        })
        .flatten()
}

/// The record agrees with itself: gate statuses with attempts, attempt
/// files with RUN.json, approvals with attempts, the run's status with
/// its gates.
fn check_record(
    repo: &Repo,
    id: &str,
    run: &RunRecord,
    raw: &Value,
    approvals: &[crate::approval::Found],
) -> Case {
    let mut case = Case::new("record");
    let run_json = layout::run_json(id);
    let inconsistent = |message: String| {
        Finding::new(Level::Error, "inconsistent", message).file(run_json.clone())
    };
    if run.run_id != id {
        case.push(inconsistent(format!(
            "run_id is `{}` but the folder is `{id}`",
            run.run_id
        )));
    }
    if run.format_version > FORMAT_VERSION {
        case.push(Finding::new(
            Level::Warning,
            "newer_format",
            format!(
                "written by a newer orch (format {}); checks may be incomplete",
                run.format_version
            ),
        ));
    }
    let raw_gates = raw.get("gates").and_then(Value::as_array);
    let mut expected_files: BTreeSet<String> = BTreeSet::new();
    for (gi, g) in run.gates.iter().enumerate() {
        let latest = g.latest();
        let agrees = match (&g.status, latest.map(|a| &a.status)) {
            // A skipped gate may have run before a resume skipped it.
            (GateStatus::NotStarted, None) | (GateStatus::Skipped, _) => true,
            (GateStatus::NotStarted, Some(_)) | (_, None) => false,
            (GateStatus::AwaitingApproval, Some(s)) => *s == AttemptStatus::AwaitingApproval,
            (GateStatus::Pass, Some(s)) => *s == AttemptStatus::Pass,
            (GateStatus::Fail, Some(s)) => *s == AttemptStatus::Fail,
            (GateStatus::Running, Some(s)) => *s == AttemptStatus::Running,
            (GateStatus::Blocked, Some(s)) => *s == AttemptStatus::Blocked,
            (GateStatus::Interrupted, Some(s)) => *s == AttemptStatus::Interrupted,
        };
        if !agrees {
            let what = latest.map_or_else(
                || "no attempts".to_string(),
                |a| format!("its latest attempt ({}) is {}", a.attempt, a.status),
            );
            case.push(inconsistent(format!(
                "gate {} is {} but {what}",
                g.gate, g.status
            )));
        }
        let mut numbers: Vec<u32> = g.attempts.iter().map(|a| a.attempt).collect();
        numbers.sort_unstable();
        numbers.dedup();
        if numbers.len() != g.attempts.len() {
            case.push(inconsistent(format!(
                "gate {} has two attempts with the same number",
                g.gate
            )));
        }
        for (ai, a) in g.attempts.iter().enumerate() {
            let rel = layout::attempt_file(id, &g.gate, a.attempt);
            expected_files.insert(rel.clone());
            let inline = raw_gates
                .and_then(|gs| gs.get(gi))
                .and_then(|g| g["attempts"].get(ai));
            let path = repo.join(&rel);
            watch::saw(&path);
            match regular::read_to_string(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => case.push(
                    Finding::from_error(Level::Error, "unreadable", &Error::read(&rel, e))
                        .file(rel),
                ),
                Err(_) => case.push(
                    Finding::new(
                        Level::Error,
                        "inconsistent",
                        format!("{} attempt {} has no attempt file", g.gate, a.attempt),
                    )
                    .file(rel),
                ),
                Ok(text) => match serde_json::from_str::<Value>(&text) {
                    Err(e) => case.push(Finding::from_error(
                        Level::Error,
                        "unreadable",
                        &json::from_serde(&e, &rel, (1, 1)),
                    )),
                    Ok(mut file) => {
                        if let Some(obj) = file.as_object_mut() {
                            obj.remove("format_version");
                        }
                        if let Some(inline) = inline.filter(|i| **i != file) {
                            let differing = differing_keys(inline, &file);
                            case.push(
                                Finding::new(
                                    Level::Error,
                                    "inconsistent",
                                    format!(
                                        "{} attempt {}: the attempt file and RUN.json differ in {}",
                                        g.gate,
                                        a.attempt,
                                        differing.join(", ")
                                    ),
                                )
                                .file(rel),
                            );
                        }
                    }
                },
            }
        }
    }
    for f in approvals {
        let known = run
            .gate(&f.gate)
            .is_some_and(|g| g.attempts.iter().any(|a| a.attempt == f.attempt));
        if !known {
            case.push(
                Finding::new(
                    Level::Error,
                    "inconsistent",
                    format!(
                        "an approval of {} attempt {}, which RUN.json does not have",
                        f.gate, f.attempt
                    ),
                )
                .file(format!("{}/{}", layout::approvals_dir(id), f.gate)),
            );
        }
    }
    let files = record_files(repo, id);
    for file in files.attempts {
        if !expected_files.contains(&file) {
            case.push(
                Finding::new(
                    Level::Error,
                    "inconsistent",
                    "an attempt file with no attempt in RUN.json",
                )
                .file(file),
            );
        }
    }
    if run.status == RunStatus::Passed {
        for g in run
            .gates
            .iter()
            .filter(|g| g.blocking.unwrap_or(true) && !g.status.is_done())
        {
            case.push(inconsistent(format!(
                "the run is PASSED but blocking gate {} is {}",
                g.gate, g.status
            )));
        }
    }
    for file in files.strays {
        case.push(
            Finding::new(
                Level::Warning,
                "stray_file",
                "a file orch does not know in the record folder",
            )
            .file(file)
            .hint("records hold RUN.json, gates/<gate>/attempt-<n>.json, approvals/<gate>/attempt-<n>-<id>.json and notifications.json only"),
        );
    }
    for file in files.temps {
        case.push(
            Finding::new(
                Level::Warning,
                "temp_file",
                "a temporary file from an interrupted write",
            )
            .file(file)
            .hint("delete it, it must not be committed (orch removes it when it next writes that folder)"),
        );
    }
    case
}

fn differing_keys(a: &Value, b: &Value) -> Vec<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return vec!["content".into()];
    };
    let mut keys: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys.iter().map(|k| format!("`{k}`")).collect()
}

/// The files in a run's record folder, sorted by what they are.
#[derive(Default)]
struct RecordFiles {
    /// `gates/<gate>/attempt-<n>.json`.
    attempts: Vec<String>,
    /// Left by a write that was interrupted.
    temps: Vec<String>,
    /// Anything else.
    strays: Vec<String>,
}

fn record_files(repo: &Repo, id: &str) -> RecordFiles {
    let dir = layout::record_dir(id);
    let mut out = RecordFiles::default();
    watch::saw(&repo.join(&dir));
    let entries = walkdir::WalkDir::new(repo.join(&dir))
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| {
            // A new file in any of the record's folders changes what is found.
            if e.file_type().is_dir() {
                watch::saw(e.path());
            }
            !e.file_type().is_dir()
        });
    for e in entries {
        let parts: Vec<String> = e
            .path()
            .strip_prefix(repo.join(&dir))
            .unwrap_or(e.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let rel = format!("{dir}/{}", parts.join("/"));
        let name = parts.last().map_or("", String::as_str);
        let is_attempt = parts.len() == 3
            && parts[0] == "gates"
            && name
                .strip_prefix("attempt-")
                .and_then(|n| n.strip_suffix(".json"))
                .is_some_and(|n| n.parse::<u32>().is_ok());
        // Checked against RUN.json by the approval checks.
        let is_approval = parts.len() == 3
            && parts[0] == "approvals"
            && crate::approval::parse_name(name).is_some();
        let is_other_record =
            parts.len() == 1 && (name == "RUN.json" || name == "notifications.json");
        if name.starts_with(atomic::TEMP_PREFIX) {
            out.temps.push(rel);
        } else if is_attempt && e.file_type().is_file() {
            out.attempts.push(rel);
        } else if !(is_approval || is_other_record) {
            out.strays.push(rel);
        }
    }
    out
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn check_gate(
    sh: &Shared,
    run: &RunRecord,
    j: usize,
    g: &GateRecord,
    now: &HashMap<String, Now>,
    volatile: &mut bool,
) -> Case {
    let repo = sh.repo;
    let name = match &g.name {
        Some(n) => format!("{} {n}", g.gate),
        None => g.gate.clone(),
    };
    if g.status == GateStatus::Skipped {
        return Case::skipped(
            name,
            format!(
                "skipped: {}",
                g.skip_reason
                    .as_deref()
                    .unwrap_or("its condition did not hold")
            ),
        );
    }
    if g.status != GateStatus::Pass {
        return Case::skipped(
            name,
            format!("not passed ({}); nothing to verify", g.status),
        );
    }
    let Some(a) = passed_attempt(g) else {
        return Case::skipped(name, "no passed attempt to verify");
    };
    let mut case = Case::new(name);
    // The outputs it recorded.
    for x in &a.artifacts {
        let Some(recorded) = &x.sha256 else { continue };
        let path = resolve(&run.workflow, &x.path);
        match now.get(&path) {
            Some(Now::Hash(current)) if current == recorded => {}
            Some(Now::Hash(current)) => case.push(
                Finding::new(
                    Level::Error,
                    "modified",
                    format!(
                        "{path} changed since {} passed (recorded {}, now {})",
                        g.gate,
                        short(recorded),
                        short(current)
                    ),
                )
                .file(path.clone()),
            ),
            Some(Now::Unsafe(why)) => {
                case.push(Finding::new(
                    Level::Error,
                    "unsafe_path",
                    format!("recorded output {why}"),
                ));
            }
            Some(Now::Missing) | None => case.push(
                Finding::new(
                    Level::Error,
                    "missing",
                    format!("{path} was recorded by {} and no longer exists", g.gate),
                )
                .file(path.clone()),
            ),
        }
    }
    // Its contract, today.
    let workflow = a.contract.is_none().then(|| sh.workflow(run));
    let wf = workflow.as_ref().and_then(|w| w.value.as_ref().ok());
    // A gate with no contract: its command's exit code decided.
    let Some(rel) = contract_path(wf, g, a) else {
        return stale(run, j, g, a, now, case);
    };
    let loaded = sh.contract(&rel);
    match &loaded.value {
        Err(why) => {
            case.push(
                Finding::new(
                    Level::Error,
                    "contract_unloadable",
                    format!("the contract {rel} cannot be loaded: {why}"),
                )
                .file(rel.clone()),
            );
        }
        Ok(contract) => {
            *volatile |= contract.validations.iter().any(|v| match &v.check {
                Check::Plugin { .. } => true,
                Check::UrlReachable { .. } => !sh.offline,
                _ => false,
            });
            if let Some(recorded) = &a.contract
                && recorded.sha256 != contract.sha256
            {
                case.push(
                    Finding::new(
                        Level::Warning,
                        "contract_changed",
                        format!(
                            "the contract changed since {} passed (recorded {}, now {})",
                            g.gate,
                            short(&recorded.sha256),
                            short(&contract.sha256)
                        ),
                    )
                    .file(rel.clone()),
                );
            }
            let vars = match repo.contain(&run.workflow.artifact_path) {
                Ok(p) => Vars::new(repo, &run.workflow.slug, &p.rel),
                Err(e) => {
                    case.push(Finding::new(
                        Level::Error,
                        "unsafe_path",
                        format!("artifact path: {e}"),
                    ));
                    return case;
                }
            };
            let ctx = Context {
                repo,
                vars: &vars,
                depth: a.depth.unwrap_or(run.depth),
                offline: sh.offline,
                hash_outputs: false,
                run: Some(run),
            };
            // A gate a person's signed override passed failed its checks
            // on purpose: that it still does is worth saying, not an error.
            let overridden = a.review.as_ref().is_some_and(|r| r.granted_at.is_some());
            match validate::evaluate(contract, &ctx) {
                Ok(ev) if ev.passed => {}
                Ok(ev) if overridden => case.push(
                    Finding::new(
                        Level::Warning,
                        "contract_overridden",
                        format!(
                            "the contract does not pass ({}); {} passed by a reviewed override",
                            ev.failure_reason.unwrap_or_default(),
                            g.gate
                        ),
                    )
                    .file(rel.clone()),
                ),
                Ok(ev) => case.push(
                    Finding::new(
                        Level::Error,
                        "contract_failing",
                        format!(
                            "the contract no longer passes: {}",
                            ev.failure_reason.unwrap_or_default()
                        ),
                    )
                    .file(rel.clone()),
                ),
                Err(e) => case.push(Finding::from_error(Level::Error, "contract_failing", &e)),
            }
        }
    }
    stale(run, j, g, a, now, case)
}

/// Adds to `case` the staleness of gate `g` (the `j`th), passed by `a`: an
/// earlier gate's outputs, as this gate saw them, changed since.
fn stale(
    run: &RunRecord,
    j: usize,
    g: &GateRecord,
    a: &Attempt,
    now: &HashMap<String, Now>,
    mut case: Case,
) -> Case {
    let passed_at = a.finished_at.as_deref().unwrap_or(&a.started_at);
    for earlier in &run.gates[..j] {
        let seen = earlier
            .attempts
            .iter()
            .filter(|e| e.status == AttemptStatus::Pass)
            .filter(|e| {
                e.finished_at
                    .as_deref()
                    .is_some_and(|t| before_or_at(t, passed_at))
            })
            .max_by_key(|e| e.attempt);
        let Some(seen) = seen else { continue };
        let changed: Vec<String> = seen
            .artifacts
            .iter()
            .filter_map(|x| {
                let recorded = x.sha256.as_ref()?;
                let path = resolve(&run.workflow, &x.path);
                match now.get(&path) {
                    Some(Now::Hash(current)) if current == recorded => None,
                    _ => Some(path),
                }
            })
            .collect();
        if let Some(first) = changed.first() {
            let more = match changed.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            case.push(
                Finding::new(
                    Level::Error,
                    "stale",
                    format!(
                        "{} is stale: {} output {first} changed since {} passed{more}",
                        g.gate, earlier.gate, g.gate
                    ),
                )
                .file(first.clone()),
            );
        }
    }
    case
}

fn before_or_at(a: &str, b: &str) -> bool {
    match (crate::clock::parse(a), crate::clock::parse(b)) {
        (Some(a), Some(b)) => a <= b,
        _ => a <= b,
    }
}
