//! A task as it is committed: its definition (one file, written once) and
//! its events (one file each, appended, never rewritten). Two clones
//! that work on the same backlog add different files, so git merges them
//! without a conflict. Everything else (status, readiness, score) is folded
//! from these files when it is needed, never stored.

use serde::{Deserialize, Serialize};

use crate::contract::Depth;
use crate::queue::due::Due;
use crate::record::Actor;

/// The task format this orch writes; a newer one is read-only to it.
pub const FORMAT_VERSION: u32 = 1;

/// How much a task matters. The weights are the selection rule's.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];

    /// critical 1000, high 100, medium 10, low 1.
    pub fn weight(self) -> u64 {
        match self {
            Priority::Critical => 1000,
            Priority::High => 100,
            Priority::Medium => 10,
            Priority::Low => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }
}

/// The workflow run that does a task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskWorkflow {
    /// Workflow name (orchestration/workflows/<name>.json) or repo-relative path.
    pub name: String,
    pub slug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_path: Option<String>,
    #[serde(default)]
    pub depth: Depth,
    /// Repo-relative prompt file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_file: Option<String>,
}

/// `orchestration/tasks/<id>.json`: what the task is, as it was added.
/// Written once; later changes (`orch task edit`) are events. Fields a
/// newer orch adds are ignored when read.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskDef {
    #[serde(default)]
    pub format_version: u32,
    pub id: String,
    pub title: String,
    /// What the task is about, at length (`--description`): the agent
    /// doing it reads it in its packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Due>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Boxed: a backlog holds many definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<Box<TaskWorkflow>>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Actor>,
}

/// What an event says happened to a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A worker began (or resumed) the task's run: IN_PROGRESS.
    Started,
    /// Progress was reported; the status does not change.
    Progress,
    /// DONE (its run passed, or a person said so).
    Done,
    /// FAILED, with the reason.
    Failed,
    /// BLOCKED: the run's agent said it cannot go on, with the reason.
    Blocked,
    /// AWAITING_INPUT: the run waits for a person (a person's gate, or
    /// answers to its questions).
    AwaitingInput,
    /// AWAITING_APPROVAL: the run waits for signed approvals (of a gate's
    /// outputs, or to start its agent).
    AwaitingApproval,
    /// Back to TODO: the worker stopped, or a rescue released a dead claim.
    /// The run stays resumable and the next worker resumes it.
    Released,
    /// CANCELLED, with the reason.
    Cancelled,
    /// A failed or cancelled task back to TODO.
    Retried,
    /// The definition changed (`orch task edit`).
    Edited,
    /// Written by a newer orch; ignored.
    #[serde(other)]
    Unknown,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Started => "started",
            EventKind::Progress => "progress",
            EventKind::Done => "done",
            EventKind::Failed => "failed",
            EventKind::Blocked => "blocked",
            EventKind::AwaitingInput => "awaiting_input",
            EventKind::AwaitingApproval => "awaiting_approval",
            EventKind::Released => "released",
            EventKind::Cancelled => "cancelled",
            EventKind::Retried => "retried",
            EventKind::Edited => "edited",
            EventKind::Unknown => "unknown",
        }
    }
}

/// A change of definition. Lists are changes, so two clones that edit
/// different things both keep theirs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Edit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Due>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clear_due: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_depends_on: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_depends_on: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_tags: Vec<String>,
}

impl Edit {
    pub fn is_empty(&self) -> bool {
        *self == Edit::default()
    }
}

/// One event file: `orchestration/tasks/events/<id>-<seq>-<at>-<type>-<rand>.json`,
/// written once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    #[serde(default)]
    pub format_version: u32,
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The claim's fence number when a claim holder wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Boxed: most events have none, and events are many.
    pub edit: Option<Box<Edit>>,
    /// The pull request an isolated run's branch was proposed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs_uri: Option<String>,
}

impl Event {
    /// An event of `kind` stamped now, by `by`.
    pub fn new(kind: EventKind, by: Option<Actor>) -> Event {
        Event {
            format_version: FORMAT_VERSION,
            kind,
            at: crate::clock::now_timestamp(),
            by,
            worker: None,
            host: None,
            run_id: None,
            gate: None,
            percent: None,
            message: None,
            reason: None,
            fence: None,
            edit: None,
            outputs_uri: None,
        }
    }

    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Event {
        self.reason = Some(reason.into());
        self
    }

    #[must_use]
    pub fn run(mut self, run_id: &str) -> Event {
        self.run_id = Some(run_id.to_string());
        self
    }
}

/// A task's status. `BLOCKED` covers both "a dependency is not DONE" (shown,
/// never stored) and "the run's agent said blocked".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Todo,
    Blocked,
    InProgress,
    AwaitingInput,
    AwaitingApproval,
    Done,
    Failed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Todo,
        Status::Blocked,
        Status::InProgress,
        Status::AwaitingInput,
        Status::AwaitingApproval,
        Status::Done,
        Status::Failed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Todo => "TODO",
            Status::Blocked => "BLOCKED",
            Status::InProgress => "IN_PROGRESS",
            Status::AwaitingInput => "AWAITING_INPUT",
            Status::AwaitingApproval => "AWAITING_APPROVAL",
            Status::Done => "DONE",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
        }
    }

    /// Case-insensitive, `-` or `_`: for `--status`.
    pub fn parse_loose(s: &str) -> Option<Status> {
        let up = s.trim().to_ascii_uppercase().replace('-', "_");
        Status::ALL.into_iter().find(|st| st.as_str() == up)
    }

    /// DONE and CANCELLED end a task (a FAILED one may be retried).
    pub fn is_closed(self) -> bool {
        matches!(self, Status::Done | Status::Cancelled)
    }

    /// AWAITING_INPUT and AWAITING_APPROVAL: the task's run waits for a
    /// person, and continues when resumed.
    pub fn is_waiting(self) -> bool {
        matches!(self, Status::AwaitingInput | Status::AwaitingApproval)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task as stored: its definition and its events, oldest first.
#[derive(Clone, Debug)]
pub struct StoredTask {
    pub def: TaskDef,
    pub events: Vec<Event>,
}

/// What a task's files say now: its definition with every edit applied, and
/// the status its events lead to.
#[derive(Clone, Debug)]
pub struct Folded {
    pub title: String,
    pub priority: Priority,
    pub due: Option<Due>,
    pub depends_on: Vec<String>,
    pub tags: Vec<String>,
    /// From the events alone (claims and dependencies are judged later).
    pub status: Status,
    /// Why it is FAILED, BLOCKED, CANCELLED, or back to TODO.
    pub reason: Option<String>,
    /// The run the task's last `started` event attached.
    pub run_id: Option<String>,
    /// Every run that worked on it, oldest first.
    pub runs: Vec<String>,
    pub percent: Option<u8>,
    pub message: Option<String>,
    /// The worker and host of the last `started`.
    pub worker: Option<String>,
    pub host: Option<String>,
    /// When the current attempt at the task began (its first `started`
    /// since it was last TODO by a retry), and when it ended DONE.
    pub started_at: Option<String>,
    pub done_at: Option<String>,
    /// The time of the last event, or of creation.
    pub updated_at: String,
}

impl StoredTask {
    /// Folds the events over the definition.
    pub fn fold(&self) -> Folded {
        let d = &self.def;
        let mut f = Folded {
            title: d.title.clone(),
            priority: d.priority,
            due: d.due,
            depends_on: d.depends_on.clone(),
            tags: d.tags.clone(),
            status: Status::Todo,
            reason: None,
            run_id: None,
            runs: Vec::new(),
            percent: None,
            message: None,
            worker: None,
            host: None,
            started_at: None,
            done_at: None,
            updated_at: d.created_at.clone(),
        };
        for e in &self.events {
            f.apply(e);
        }
        f
    }
}

impl Folded {
    fn apply(&mut self, e: &Event) {
        if e.at > self.updated_at {
            self.updated_at.clone_from(&e.at);
        }
        let status = match e.kind {
            EventKind::Started => {
                if let Some(run) = &e.run_id {
                    if !self.runs.contains(run) {
                        self.runs.push(run.clone());
                    }
                    self.run_id = Some(run.clone());
                }
                self.worker.clone_from(&e.worker);
                self.host.clone_from(&e.host);
                if self.started_at.is_none() {
                    self.started_at = Some(e.at.clone());
                }
                Status::InProgress
            }
            EventKind::Progress => {
                if e.percent.is_some() {
                    self.percent = e.percent;
                }
                if e.message.is_some() {
                    self.message.clone_from(&e.message);
                }
                return;
            }
            EventKind::Edited => {
                if let Some(edit) = &e.edit {
                    self.edit(edit);
                }
                return;
            }
            EventKind::Unknown => return,
            EventKind::Done => {
                self.done_at = Some(e.at.clone());
                self.percent = Some(100);
                Status::Done
            }
            EventKind::Failed => Status::Failed,
            EventKind::Blocked => Status::Blocked,
            EventKind::AwaitingInput => Status::AwaitingInput,
            EventKind::AwaitingApproval => Status::AwaitingApproval,
            EventKind::Released => Status::Todo,
            EventKind::Cancelled => Status::Cancelled,
            EventKind::Retried => {
                self.started_at = None;
                self.done_at = None;
                Status::Todo
            }
        };
        self.status = status;
        self.reason = match e.kind {
            EventKind::AwaitingInput | EventKind::AwaitingApproval => {
                e.message.clone().or_else(|| e.reason.clone())
            }
            _ => e.reason.clone(),
        };
    }

    fn edit(&mut self, edit: &Edit) {
        if let Some(t) = &edit.title {
            self.title.clone_from(t);
        }
        if let Some(p) = edit.priority {
            self.priority = p;
        }
        if edit.clear_due {
            self.due = None;
        }
        if edit.due.is_some() {
            self.due = edit.due;
        }
        self.depends_on
            .retain(|d| !edit.remove_depends_on.contains(d));
        for d in &edit.add_depends_on {
            if !self.depends_on.contains(d) {
                self.depends_on.push(d.clone());
            }
        }
        self.tags.retain(|t| !edit.remove_tags.contains(t));
        for t in &edit.add_tags {
            if !self.tags.contains(t) {
                self.tags.push(t.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(events: Vec<Event>) -> StoredTask {
        StoredTask {
            def: TaskDef {
                format_version: 1,
                id: "t_a".into(),
                title: "A".into(),
                description: None,
                priority: Priority::Medium,
                due: None,
                depends_on: vec!["t_b".into()],
                tags: vec![],
                workflow: None,
                created_at: "2026-01-01T00:00:00.000Z".into(),
                created_by: None,
            },
            events,
        }
    }

    fn ev(kind: EventKind) -> Event {
        Event::new(kind, None)
    }

    #[test]
    fn status_follows_the_events() {
        assert_eq!(task(vec![]).fold().status, Status::Todo);
        let f = task(vec![
            ev(EventKind::Started).run("run_1"),
            ev(EventKind::Failed).reason("G2 failed"),
        ])
        .fold();
        assert_eq!(
            (f.status, f.reason.as_deref()),
            (Status::Failed, Some("G2 failed"))
        );
        let f = task(vec![
            ev(EventKind::Started).run("run_1"),
            ev(EventKind::Released).reason("worker died"),
            ev(EventKind::Started).run("run_1"),
            ev(EventKind::Done).run("run_1"),
        ])
        .fold();
        assert_eq!(f.status, Status::Done);
        assert_eq!(f.runs, vec!["run_1"]);
        assert_eq!(f.percent, Some(100));
    }

    #[test]
    fn progress_and_edits_do_not_change_the_status() {
        let mut p = ev(EventKind::Progress);
        p.percent = Some(40);
        let mut e = ev(EventKind::Edited);
        e.edit = Some(Box::new(Edit {
            priority: Some(Priority::Critical),
            remove_depends_on: vec!["t_b".into()],
            add_depends_on: vec!["t_c".into()],
            add_tags: vec!["x".into()],
            ..Edit::default()
        }));
        let f = task(vec![p, e]).fold();
        assert_eq!(f.status, Status::Todo);
        assert_eq!(f.percent, Some(40));
        assert_eq!(f.priority, Priority::Critical);
        assert_eq!(f.depends_on, vec!["t_c"]);
        assert_eq!(f.tags, vec!["x"]);
    }

    #[test]
    fn unknown_events_are_ignored() {
        let e: Event =
            serde_json::from_str(r#"{"type": "teleported", "at": "2026-01-02T00:00:00Z"}"#)
                .unwrap();
        assert_eq!(e.kind, EventKind::Unknown);
        assert_eq!(task(vec![e]).fold().status, Status::Todo);
    }
}
