//! The committed run record: `RUN.json` and one file per gate attempt
//! (FORMATS.md, "RUN.json" and "Attempt file"). Fields serialise in the
//! order declared here, so records diff cleanly. Fields orch does not know
//! (older runners, newer orch) are kept and written back, except the
//! absolute paths the Node runner wrote, which are read and dropped.

pub mod id;
pub mod logs;
pub mod store;
pub mod summary;

use schemars::JsonSchema;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contract::{Depth, Severity};

/// The record format this orch writes. Records with a higher number are
/// read-only to it. Records without the field (the Node runner's) are 0.
pub const FORMAT_VERSION: u32 = 1;

/// Declares a status enum stored as a string; unknown strings are kept.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($variant,)*
            /// A value this orch does not know (written by another tool or version).
            Other(String),
        }

        impl $name {
            /// Every value this orch knows, in order.
            pub const KNOWN: &[&str] = &[$($text),*];

            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s,
                }
            }

            /// Case-insensitive parse, for command-line filters.
            pub fn parse_loose(s: &str) -> $name {
                $name::from(s.to_ascii_uppercase())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($text => $name::$variant,)*
                    _ => $name::Other(s),
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": concat!("One of: ", $($text, " "),*, "(other values, from other tools or versions, are kept)."),
                    "examples": [$($text),*]
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// Where a run is in its life.
    RunStatus {
        Queued = "QUEUED",
        Running = "RUNNING",
        AwaitingInput = "AWAITING_INPUT",
        AwaitingApproval = "AWAITING_APPROVAL",
        Interrupted = "INTERRUPTED",
        Passed = "PASSED",
        Failed = "FAILED",
        Canceled = "CANCELED",
    }
}

string_enum! {
    /// A gate's status in `RUN.json`.
    GateStatus {
        NotStarted = "NOT_STARTED",
        Running = "RUNNING",
        AwaitingApproval = "AWAITING_APPROVAL",
        Pass = "PASS",
        Fail = "FAIL",
        Blocked = "BLOCKED",
        Interrupted = "INTERRUPTED",
        Skipped = "SKIPPED",
    }
}

string_enum! {
    /// An attempt's status.
    AttemptStatus {
        Running = "RUNNING",
        AwaitingApproval = "AWAITING_APPROVAL",
        Pass = "PASS",
        Fail = "FAIL",
        Blocked = "BLOCKED",
        Interrupted = "INTERRUPTED",
    }
}

string_enum! {
    /// The outcome of one agent invocation.
    InvocationStatus {
        Running = "RUNNING",
        Success = "SUCCESS",
        Fail = "FAIL",
    }
}

string_enum! {
    /// Event types (FORMATS.md lists those seen in real records).
    EventType {
        RunStarted = "RUN_STARTED",
        GateStarted = "GATE_STARTED",
        InvocationRecorded = "INVOCATION_RECORDED",
        GatePassed = "GATE_PASSED",
        GateFailed = "GATE_FAILED",
        GateBlocked = "GATE_BLOCKED",
        GateInterrupted = "GATE_INTERRUPTED",
        GateSkipped = "GATE_SKIPPED",
        GateAwaitingApproval = "GATE_AWAITING_APPROVAL",
        ApprovalRecorded = "APPROVAL_RECORDED",
        GateApproved = "GATE_APPROVED",
        GateRejected = "GATE_REJECTED",
        RunPaused = "RUN_PAUSED",
        RunInterrupted = "RUN_INTERRUPTED",
        RunResumed = "RUN_RESUMED",
        RunCompleted = "RUN_COMPLETED",
        ArtifactAdded = "ARTIFACT_ADDED",
    }
}

impl GateStatus {
    /// Passed, or skipped by its condition: either way, what follows may go on.
    pub fn is_done(&self) -> bool {
        matches!(self, GateStatus::Pass | GateStatus::Skipped)
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

/// The person who did something, from git's identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Actor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Actor {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.email.is_none()
    }

    /// `Name <email>`, or whichever part is known.
    pub fn display(&self) -> String {
        match (&self.name, &self.email) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (Some(n), None) => n.clone(),
            (None, Some(e)) => format!("<{e}>"),
            (None, None) => "unknown".to_string(),
        }
    }
}

/// `RUN.json`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct RunRecord {
    #[serde(default)]
    pub format_version: u32,
    pub run_id: String,
    pub workflow: WorkflowRef,
    #[serde(default)]
    pub depth: Depth,
    #[serde(default)]
    pub prompt: Option<PromptRef>,
    /// How `orch run` drove the run, so `orch run resume` goes on the same way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<RunOptions>,
    /// The backlog task this run does (`orch task run`, `orch worker`):
    /// its id in `orchestration/tasks/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    pub status: RunStatus,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Actor>,
    /// Required: a record without its gates cannot say what happened.
    pub gates: Vec<GateRecord>,
    #[serde(default)]
    pub invocations: Vec<Invocation>,
    #[serde(default)]
    pub artifacts_index: Vec<IndexedArtifact>,
    /// URLs, pull requests and files registered with `orch artifact add`
    /// (what `artifact_exists` checks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registered_artifacts: Vec<RegisteredArtifact>,
    #[serde(default)]
    pub validations: Vec<Value>,
    #[serde(default)]
    pub events: Vec<Event>,
    /// Tokens and cost over every invocation (present once an agent ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<Totals>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Which workflow a run follows, for what.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct WorkflowRef {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    /// Repo-relative workflow file, when orch started the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub slug: String,
    pub artifact_path: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The options `orch run` was given, as typed: the agent command and time
/// limits it ran gates with. Nothing from the environment is kept, and the
/// repository's and home directory's paths are written relatively.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunOptions {
    /// `--agent-cmd`: the command that does every gate without an executor of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_cmd: Option<String>,
    /// `--timeout`: seconds each agent may run (overrides the workflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// `--idle-timeout`: seconds an agent may print nothing (overrides the workflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_s: Option<f64>,
    /// `--offline`: url_reachable checks are skipped.
    #[serde(default, skip_serializing_if = "is_false")]
    pub offline: bool,
    /// `--base`: the revision `"when": {"changed": […]}` conditions compare with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// `--model`: the model every agent is asked to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl RunOptions {
    pub fn is_empty(&self) -> bool {
        *self == RunOptions::default()
    }
}

/// The prompt file a run was started with.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PromptRef {
    pub file: String,
    pub sha256: String,
}

/// A gate's entry in `RUN.json`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct GateRecord {
    pub gate: String,
    #[serde(default)]
    pub name: Option<String>,
    pub status: GateStatus,
    /// From the contract when the run started; absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocking: Option<bool>,
    /// Why the gate was `SKIPPED` (its `when` condition did not hold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// The pull request (or other URL) the gate's agent printed last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_uri: Option<String>,
    /// The gate passed with this many warnings (checks or quality checks
    /// that failed without failing it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<u32>,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl GateRecord {
    pub fn latest(&self) -> Option<&Attempt> {
        self.attempts.iter().max_by_key(|a| a.attempt)
    }

    pub fn latest_mut(&mut self) -> Option<&mut Attempt> {
        self.attempts.iter_mut().max_by_key(|a| a.attempt)
    }

    pub fn next_attempt_number(&self) -> u32 {
        self.attempts.iter().map(|a| a.attempt).max().unwrap_or(0) + 1
    }

    /// Ends attempt `n` with `status` and `reason`, finished `now`; the gate
    /// takes the same status. The attempt, if there is one numbered `n`.
    pub fn end_attempt(
        &mut self,
        n: u32,
        status: AttemptStatus,
        reason: Option<String>,
        now: &str,
    ) -> Option<&mut Attempt> {
        self.status = GateStatus::from(status.as_str().to_string());
        let a = self.attempts.iter_mut().find(|a| a.attempt == n)?;
        a.status = status;
        a.finished_at = Some(now.to_string());
        a.failure_reason = reason;
        Some(a)
    }
}

/// The contract an attempt was judged by.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ContractRef {
    pub path: String,
    pub sha256: String,
}

/// One attempt at a gate: inline in `RUN.json` and, identical, in
/// `record/gates/<gate>/attempt-<n>.json`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Attempt {
    pub attempt: u32,
    pub status: AttemptStatus,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<ContractRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<Depth>,
    #[serde(default)]
    pub invocation_ids: Vec<String>,
    #[serde(default)]
    pub required_outputs: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre_scripts: Vec<PreScriptResult>,
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    #[serde(default)]
    pub validations: Vec<ValidationResult>,
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// Failed by a person (`orch gate fail`), not by validation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub manual_failure: bool,
    /// `validate_only` when `--start-from` checked the gate without running it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The signed approvals this attempt needs before it passes (set when
    /// its checks passed and the workflow asked for approval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRequirement>,
    /// The automation level the attempt ran at (`fully_auto`,
    /// `auto_notify`, `human_approval`, `manual`): the lower of the gate's
    /// and what its skills' trust allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automation: Option<String>,
    /// The catalog skills the gate ran with, as they were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<SkillUse>,
    /// The signed approvals needed before the agent may start
    /// (`human_approval`, or skills that are not vetted); `granted_at`
    /// once they verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_approval: Option<ApprovalRequirement>,
    /// A failed attempt waiting for a person to approve an override or
    /// reject it (`on_fail: review_required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ApprovalRequirement>,
    /// The contract's quality checks, as they ran after the agent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quality_checks: Vec<QualityCheckResult>,
    /// Outputs restored to their state before this failed attempt
    /// (`on_fail: revert`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reverted: Vec<Reverted>,
    /// The questions file written for a person (`on_fail: create_questions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questions: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A catalog skill a gate ran with: its content hash and its trust then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SkillUse {
    pub id: String,
    pub sha256: String,
    pub trust: String,
}

/// One quality check after the agent finished: the command, how it ended
/// and what it printed (an excerpt; the whole output is in the logs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QualityCheckResult {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// `block`, `warn` or `skip`.
    pub on_failure: String,
    /// `passed`, `failed` (blocks the gate), `warned` (failed, passes with a
    /// warning) or `skipped`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub duration_ms: u64,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_excerpt: Option<LogExcerpt>,
}

impl QualityCheckResult {
    /// It failed and its `on_failure` is `block`.
    pub fn blocks(&self) -> bool {
        self.status == "failed"
    }

    pub fn warned(&self) -> bool {
        self.status == "warned"
    }
}

/// An output put back after a failed attempt: `restored` (its bytes
/// before the attempt) or `removed` (the attempt created it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Reverted {
    pub path: String,
    pub action: String,
}

/// How many signed approvals an attempt needs, and from whom.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApprovalRequirement {
    pub min_approvals: u32,
    /// Whether the person who ran the gate may approve it.
    #[serde(default)]
    pub allow_self_approval: bool,
    /// Why approval is needed (a start or a review), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When enough approvals verified (a start approval: the agent may start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_at: Option<String>,
}

impl Attempt {
    /// A new attempt in progress.
    pub fn begin(number: u32, now: &str, agent: Option<String>, by: Option<Actor>) -> Self {
        Attempt {
            attempt: number,
            status: AttemptStatus::Running,
            started_at: now.to_string(),
            finished_at: None,
            agent,
            started_by: by,
            prompt_sha256: None,
            contract: None,
            depth: None,
            invocation_ids: Vec::new(),
            required_outputs: Vec::new(),
            pre_scripts: Vec::new(),
            artifacts: Vec::new(),
            validations: Vec::new(),
            failure_reason: None,
            manual_failure: false,
            mode: None,
            approval: None,
            automation: None,
            skills: Vec::new(),
            start_approval: None,
            review: None,
            quality_checks: Vec::new(),
            reverted: Vec::new(),
            questions: None,
            extra: Map::new(),
        }
    }

    /// Waiting for approval to let the agent start.
    pub fn awaits_start(&self) -> bool {
        self.status == AttemptStatus::AwaitingApproval
            && self
                .start_approval
                .as_ref()
                .is_some_and(|s| s.granted_at.is_none())
    }

    /// Waiting for a person to approve an override of its failure or reject it.
    pub fn awaits_review(&self) -> bool {
        self.status == AttemptStatus::AwaitingApproval && self.review.is_some()
    }

    /// Quality checks and validations that failed without failing the gate.
    pub fn warnings(&self) -> usize {
        self.validations.iter().filter(|v| v.is_warning()).count()
            + self.quality_checks.iter().filter(|q| q.warned()).count()
    }
}

/// What happened when a contract's pre-script ran.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PreScriptResult {
    pub path: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// `ok`, `failed`, `timeout`, `missing` or `error`.
    pub status: String,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub duration_ms: u64,
}

/// An output hashed when an attempt finished.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Artifact {
    pub path: String,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default = "yes")]
    pub exists: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The Node runner's machine path: read so it is not kept, never written.
    #[serde(default, skip_serializing, rename = "absolute_path")]
    #[schemars(skip)]
    _absolute_path: Option<IgnoredAny>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn yes() -> bool {
    true
}

impl Artifact {
    pub fn new(path: String, sha256: String, size: u64) -> Self {
        Artifact {
            path,
            sha256: Some(sha256),
            exists: true,
            size: Some(size),
            _absolute_path: None,
            extra: Map::new(),
        }
    }
}

/// The outcome of one validation, with the detail needed to see why.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ValidationResult {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub pass: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub skipped: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// One line: counts against thresholds, missing strings, failing URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The Node runner's machine paths: read so they are not kept, never written.
    #[serde(default, skip_serializing, rename = "absolute_path")]
    #[schemars(skip)]
    _absolute_path: Option<IgnoredAny>,
    #[serde(default, skip_serializing, rename = "resolved_path")]
    #[schemars(skip)]
    _resolved_path: Option<IgnoredAny>,
    /// Type-specific facts (`count`, `threshold`, `missing`, `failed`, …).
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

impl ValidationResult {
    pub fn new(kind: &str, severity: Severity, description: Option<String>) -> Self {
        ValidationResult {
            kind: kind.to_string(),
            path: None,
            pass: false,
            severity: Some(severity),
            skipped: false,
            description,
            reason: None,
            _absolute_path: None,
            _resolved_path: None,
            details: Map::new(),
        }
    }

    /// True when this result fails its gate (a failed, non-skipped error).
    pub fn is_blocking_failure(&self) -> bool {
        !self.pass && !self.skipped && self.severity != Some(Severity::Warning)
    }

    pub fn is_warning(&self) -> bool {
        (!self.pass && self.severity == Some(Severity::Warning)) || self.skipped
    }
}

/// One agent invocation.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Invocation {
    #[serde(alias = "invocation_id")]
    pub id: String,
    pub gate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    #[serde(default)]
    pub agent: Option<String>,
    pub status: InvocationStatus,
    /// When it started (or, recorded by hand, when it was recorded).
    #[serde(default, alias = "started_at")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The program and arguments orch ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// How it ended: `exited`, `timeout`, `idle_timeout`, `interrupted`, `spawn_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<String>,
    /// Why the invocation counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Which output format orch recognised (`claude-json`, `codex-jsonl`, `text`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// The agent's own completion status line, when it printed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<Completion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputInfo>,
    /// The first and last lines of what it printed, secrets redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_excerpt: Option<LogExcerpt>,
    /// The pull request (or other URL matching the workflow's pattern) it printed last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_uri: Option<String>,
    /// The recipe step (1-based) this invocation ran, in a gate with `steps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// The skill that step ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// The model orch asked for (`--model`, `ORCH_MODEL`, the gate's, the workflow's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The model the agent says it used, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<Actor>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Invocation {
    pub fn new(
        id: String,
        gate: &str,
        attempt: u32,
        agent: &str,
        status: InvocationStatus,
        timestamp: String,
    ) -> Self {
        Invocation {
            id,
            gate: gate.to_string(),
            attempt: Some(attempt),
            agent: Some(agent.to_string()),
            status,
            timestamp: Some(timestamp),
            finished_at: None,
            duration_ms: None,
            command: None,
            exit_code: None,
            ended_by: None,
            error: None,
            output_format: None,
            session_id: None,
            usage: None,
            cost: None,
            reported: None,
            output: None,
            log_excerpt: None,
            outputs_uri: None,
            step: None,
            skill: None,
            model: None,
            reported_model: None,
            recorded_by: None,
            extra: Map::new(),
        }
    }
}

/// Tokens an agent used. `input_tokens` counts input not read from a cache,
/// whichever agent reported it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
}

impl Usage {
    /// Adds another usage; counts saturate (they come from agents' output).
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cache_read_input_tokens = self
            .cache_read_input_tokens
            .saturating_add(other.cache_read_input_tokens);
        self.cache_creation_input_tokens = self
            .cache_creation_input_tokens
            .saturating_add(other.cache_creation_input_tokens);
    }
}

/// What an invocation cost, and how sure orch is of it. `usd` is absent
/// (never 0) when the cost is unknown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Cost {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd: Option<f64>,
    /// `reported` (by the agent), `estimated` (from the workflow's prices) or `unknown`.
    pub source: String,
}

/// An agent's completion status line: `{"status": "complete"|"blocked"|"continue", "reason": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Completion {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How much an agent printed, and where it is kept (the logs are not committed).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct OutputInfo {
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
    pub log_dir: String,
}

/// A short excerpt of an invocation's output, kept in the committed record
/// (the full logs are not committed): the first and last lines of each
/// stream, capped in bytes, with the values of secret-looking environment
/// variables replaced by `[redacted:NAME]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogExcerpt {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
}

/// Sums over a run's invocations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    pub invocations: u64,
    /// Sum of the usage agents reported; absent when none reported any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Sum of the known costs; absent when none is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// `reported`, `estimated` (some estimated), `partial` (some unknown) or `unknown`.
    pub cost_source: String,
}

/// The latest known hash of every output, across gates.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct IndexedArtifact {
    pub path: String,
    pub sha256: String,
    pub gate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    pub recorded_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An artifact registered with a run (`orch artifact add`): a URL (a
/// Chromatic build, a preview), a pull request, or a file in the repository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RegisteredArtifact {
    /// `url`, `pull_request` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A repo-relative file, with its SHA-256 when it was added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub gate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    pub added_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<Actor>,
}

/// Something that happened to a run, in order.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    pub timestamp: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Event {
    pub fn new(timestamp: &str, kind: EventType, message: String) -> Self {
        Event {
            timestamp: timestamp.to_string(),
            kind,
            gate: None,
            attempt: None,
            agent: None,
            invocation_id: None,
            status: None,
            message: Some(message),
            extra: Map::new(),
        }
    }

    /// An event stamped now.
    pub fn now(kind: EventType, message: String) -> Self {
        Event::new(&crate::clock::now_timestamp(), kind, message)
    }

    #[must_use]
    pub fn gate(mut self, gate: &str, attempt: Option<u32>) -> Self {
        self.gate = Some(gate.to_string());
        self.attempt = attempt;
        self
    }
}

/// The attempt file: the attempt, with the format version in front.
#[derive(Serialize, JsonSchema)]
pub struct AttemptFile<'a> {
    /// Absent in files the Node runner wrote (format 0).
    #[serde(default)]
    pub format_version: u32,
    #[serde(flatten)]
    pub attempt: &'a Attempt,
}

impl RunRecord {
    pub fn gate(&self, code: &str) -> Option<&GateRecord> {
        self.gates.iter().find(|g| g.gate == code)
    }

    pub fn gate_mut(&mut self, code: &str) -> Option<&mut GateRecord> {
        self.gates.iter_mut().find(|g| g.gate == code)
    }

    /// (passed, total) gates; a skipped gate counts as passed.
    pub fn gate_counts(&self) -> (usize, usize) {
        let passed = self.gates.iter().filter(|g| g.status.is_done()).count();
        (passed, self.gates.len())
    }

    pub fn is_completed(&self) -> bool {
        self.finished_at.is_some()
    }

    /// Refuses changes to a completed run: its record is final.
    pub fn ensure_open(&self) -> crate::error::Result<()> {
        match &self.finished_at {
            Some(at) => Err(crate::error::Error::conflict(format!(
                "run `{}` was completed ({}) at {at}",
                self.run_id, self.status
            ))
            .hint("a completed run's record is final; start a new run with `orch run start`")),
            None => Ok(()),
        }
    }

    /// While a run is open its status follows its gates: FAILED while a
    /// blocking gate's latest attempt failed, AWAITING_APPROVAL while a gate
    /// waits for signed approvals, RUNNING otherwise.
    pub fn refresh_status(&mut self) {
        if self.is_completed() {
            return;
        }
        let failed = self.gates.iter().any(|g| {
            g.blocking.unwrap_or(true) && matches!(g.status, GateStatus::Fail | GateStatus::Blocked)
        });
        let awaiting = self
            .gates
            .iter()
            .any(|g| g.status == GateStatus::AwaitingApproval);
        self.status = if failed {
            RunStatus::Failed
        } else if awaiting {
            RunStatus::AwaitingApproval
        } else {
            RunStatus::Running
        };
    }

    /// Records the hashes of an attempt's artifacts in `artifacts_index`.
    pub fn index_artifacts(&mut self, gate: &str, attempt: u32, artifacts: &[Artifact], now: &str) {
        for a in artifacts {
            let Some(sha) = &a.sha256 else { continue };
            match self.artifacts_index.iter_mut().find(|e| e.path == a.path) {
                Some(entry) => {
                    if entry.sha256 != *sha || entry.gate != gate {
                        entry.updated_at = Some(now.to_string());
                    }
                    entry.sha256.clone_from(sha);
                    entry.gate = gate.to_string();
                    entry.attempt = Some(attempt);
                }
                None => self.artifacts_index.push(IndexedArtifact {
                    path: a.path.clone(),
                    sha256: sha.clone(),
                    gate: gate.to_string(),
                    attempt: Some(attempt),
                    recorded_at: now.to_string(),
                    updated_at: None,
                    extra: Map::new(),
                }),
            }
        }
    }

    /// Recomputes `totals` from the invocations.
    pub fn recompute_totals(&mut self) {
        let mut totals = Totals::default();
        let (mut reported, mut estimated, mut unknown) = (0, 0, 0);
        let mut usd = 0.0;
        for inv in self
            .invocations
            .iter()
            .filter(|i| i.command.is_some() || i.cost.is_some() || i.usage.is_some())
        {
            totals.invocations += 1;
            if let Some(u) = &inv.usage {
                totals.usage.get_or_insert_with(Usage::default).add(u);
            }
            match inv.cost.as_ref() {
                Some(Cost {
                    usd: Some(v),
                    source,
                }) => {
                    usd += v;
                    if source == "estimated" {
                        estimated += 1;
                    } else {
                        reported += 1;
                    }
                }
                _ => unknown += 1,
            }
        }
        if totals.invocations == 0 {
            self.totals = None;
            return;
        }
        // A sum that is not a finite number is not a cost anyone can use.
        if !usd.is_finite() {
            unknown += reported + estimated;
            (reported, estimated) = (0, 0);
        }
        totals.cost_usd = (reported + estimated > 0).then_some((usd * 1e6).round() / 1e6);
        totals.cost_source = match (reported + estimated, unknown, estimated) {
            (0, _, _) => "unknown",
            (_, u, _) if u > 0 => "partial",
            (_, _, e) if e > 0 => "estimated",
            _ => "reported",
        }
        .to_string();
        self.totals = Some(totals);
    }

    /// The time of the last recorded activity.
    pub fn last_activity(&self) -> &str {
        self.events
            .last()
            .map_or(&self.started_at, |e| &e.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_saturates_and_an_infinite_cost_is_unknown() {
        let mut u = Usage {
            output_tokens: u64::MAX,
            ..Usage::default()
        };
        u.add(&Usage {
            output_tokens: 5,
            input_tokens: 1,
            ..Usage::default()
        });
        assert_eq!((u.output_tokens, u.input_tokens), (u64::MAX, 1));
        let text = r#"{"run_id": "r", "workflow": {"name": "w", "slug": "s", "artifact_path": "a"}, "status": "RUNNING", "started_at": "t", "gates": [],
            "invocations": [{"id": "a", "gate": "G1", "status": "SUCCESS", "cost": {"usd": 1e308, "source": "reported"}},
                            {"id": "b", "gate": "G1", "status": "SUCCESS", "cost": {"usd": 1e308, "source": "reported"}}]}"#;
        let mut run: RunRecord = serde_json::from_str(text).unwrap();
        run.recompute_totals();
        let t = run.totals.unwrap();
        assert_eq!((t.cost_usd, t.cost_source.as_str()), (None, "unknown"));
    }
}
