//! Gate contracts: what a gate must produce and which checks its outputs
//! must pass (FORMATS.md, "Gate contract"). Loading is strict on purpose: an
//! unknown validation type, a missing or mistyped field, a regex that does
//! not compile or an unknown path variable is an error with file, line and
//! column — never a check that is silently skipped.

pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex::{Regex, RegexBuilder};
use schemars::JsonSchema;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::repo::{Repo, is_safe_component};
use crate::storage::layout;
use crate::{hash, json};

/// How deep a run goes; contracts scale thresholds by it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Depth {
    /// A light pass.
    Quick,
    /// The usual depth (the default).
    #[default]
    Standard,
    /// The most thorough.
    Deep,
}

impl Depth {
    pub const ALL: [Depth; 3] = [Depth::Quick, Depth::Standard, Depth::Deep];

    pub fn as_str(self) -> &'static str {
        match self {
            Depth::Quick => "quick",
            Depth::Standard => "standard",
            Depth::Deep => "deep",
        }
    }
}

impl std::fmt::Display for Depth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a failed check fails its gate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A failure fails the gate (the default).
    #[default]
    Error,
    /// A failure is reported and recorded, and the gate can still pass.
    Warning,
}

/// A loaded, checked contract.
#[derive(Clone, Debug)]
pub struct Contract {
    pub gate: String,
    pub name: Option<String>,
    pub blocking: bool,
    pub description: Option<String>,
    pub pre_scripts: Vec<PreScript>,
    pub required_skills: Vec<RequiredSkill>,
    pub required_outputs: RequiredOutputs,
    pub validations: Vec<Validation>,
    /// Project commands run after the agent finishes (see `quality`).
    pub quality_checks: Vec<crate::quality::QualityCheck>,
    /// The file as shown to users.
    pub shown: String,
    /// SHA-256 of the contract file, so records can tell when it changed.
    pub sha256: String,
}

/// A script run before the gate is validated (by `gate finish` and `orch
/// run`): `.js`/`.mjs` with node, `.sh` with sh, `.py` with python3,
/// anything else directly. A failing pre-script is a warning.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct PreScript {
    /// Repo-relative path of the script; may use {slug} and {artifact_path}.
    pub path: String,
    /// Its arguments; variables are substituted.
    #[serde(default)]
    pub args: Vec<String>,
}

/// A skill whose files are put into the gate's prompt packet.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct RequiredSkill {
    /// Repo-relative folder of the skill, e.g. "skills/essay-research".
    pub path: String,
    /// The skill's name, as the packet titles it.
    #[serde(default)]
    pub name: Option<String>,
    /// Why the gate needs it, for people.
    #[serde(default)]
    pub reason: Option<String>,
    /// Files of the skill folder to put in the packet, e.g. `["SKILL.md"]`.
    #[serde(default)]
    pub inject: Vec<String>,
}

/// The files a gate must produce. They are hashed when the gate finishes.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
pub struct RequiredOutputs {
    /// Every one of these must exist (unless `required` or the depth says otherwise).
    #[serde(default)]
    pub all_of: Vec<OutputSpec>,
    /// At least one of these must exist.
    #[serde(default)]
    pub any_of: Vec<OutputSpec>,
}

/// One entry of `required_outputs`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct OutputSpec {
    /// Repo-relative path: a file, a folder or a glob (`{artifact_path}/data/*.csv`);
    /// may use {slug}, {artifact_path} and {client_component}.
    pub path: String,
    /// What the file is, for people and the prompt packet.
    #[serde(default)]
    pub description: Option<String>,
    /// `false` makes an `all_of` entry optional (default true).
    #[serde(default)]
    pub required: Option<bool>,
    /// Required only at these depths.
    #[serde(default)]
    pub required_for_depth: Option<Vec<Depth>>,
    /// Optional at these depths.
    #[serde(default)]
    pub optional_for_depth: Option<Vec<Depth>>,
}

impl OutputSpec {
    /// Whether this `all_of` entry must exist at `depth`:
    /// `required_for_depth` decides when present, then `required` (default
    /// true); `optional_for_depth` always makes it optional.
    pub fn required_at(&self, depth: Depth) -> bool {
        if self
            .optional_for_depth
            .as_ref()
            .is_some_and(|d| d.contains(&depth))
        {
            return false;
        }
        match &self.required_for_depth {
            Some(depths) => depths.contains(&depth),
            None => self.required.unwrap_or(true),
        }
    }
}

/// Per-depth thresholds: the number a check needs at each depth. A depth
/// with no threshold fails the check and says so.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// At depth quick.
    #[serde(default)]
    pub quick: Option<u64>,
    /// At depth standard.
    #[serde(default)]
    pub standard: Option<u64>,
    /// At depth deep.
    #[serde(default)]
    pub deep: Option<u64>,
}

impl Thresholds {
    pub fn get(&self, depth: Depth) -> Option<u64> {
        match depth {
            Depth::Quick => self.quick,
            Depth::Standard => self.standard,
            Depth::Deep => self.deep,
        }
    }
}

/// One validation of a contract.
#[derive(Clone, Debug)]
pub struct Validation {
    pub check: Check,
    pub severity: Severity,
    pub description: Option<String>,
    /// Line and column of the validation in its contract file.
    pub position: (usize, usize),
    /// The validation as written (plugins receive it, templates resolved).
    pub raw: Value,
}

/// What `file_exists` checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileTarget {
    AnyOf,
    AllRequired,
    Path(String),
}

/// A frontmatter condition.
#[derive(Clone, Debug, PartialEq)]
pub enum FrontmatterCheck {
    Equals(Value),
    Not(Value),
    Min(f64),
}

/// The validation types (FORMATS.md, "Validation types and their meaning").
#[derive(Clone, Debug)]
pub enum Check {
    FileExists(FileTarget),
    DirExists {
        target: String,
    },
    MinFileCount {
        target: String,
        pattern: glob::Pattern,
        thresholds: Thresholds,
    },
    MinSources {
        target: String,
        thresholds: Thresholds,
    },
    MinSourcesAnyOf {
        targets: Vec<String>,
        thresholds: Thresholds,
    },
    ContainsHeadings {
        target: String,
        headings: Vec<String>,
        /// Written as the seed's `content_check` (`file`, `requiredSections`).
        content_check: bool,
    },
    ContainsText {
        target: String,
        patterns: Vec<String>,
    },
    NotContains {
        target: String,
        pattern: String,
        missing_ok: bool,
    },
    RegexMatch {
        target: String,
        regex: Regex,
        must_not_match: bool,
    },
    MinRegexCount {
        target: String,
        regex: Regex,
        min_count: u64,
    },
    FrontmatterStatus {
        target: String,
        checks: Vec<(String, FrontmatterCheck)>,
    },
    UrlReachable {
        target: String,
        url_pattern: Option<Regex>,
        max_failures: u64,
        sample_size: Option<usize>,
    },
    /// A number in a JSON file (at a pointer or top-level key) or in a
    /// file's frontmatter (at a key) compared with a threshold.
    MetricThreshold {
        source: String,
        at: MetricAt,
        operator: Operator,
        threshold: f64,
    },
    /// An artifact of the run: registered with `orch artifact add`, or an
    /// outputs URI an agent printed.
    ArtifactExists {
        artifact_type: ArtifactType,
        label: Option<String>,
    },
    /// A type provided by `orchestration/validators/<type>`.
    Plugin {
        kind: String,
        program: PathBuf,
    },
}

/// Where `metric_threshold` finds its number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetricAt {
    /// A JSON pointer (`/jury/score`) into a JSON file.
    Pointer(String),
    /// A top-level key of a JSON file, or a frontmatter key.
    Key(String),
}

impl std::fmt::Display for MetricAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricAt::Pointer(p) | MetricAt::Key(p) => f.write_str(p),
        }
    }
}

/// How `metric_threshold` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

impl Operator {
    pub const ALL: [(&'static str, Operator); 6] = [
        (">=", Operator::Ge),
        (">", Operator::Gt),
        ("<=", Operator::Le),
        ("<", Operator::Lt),
        ("==", Operator::Eq),
        ("!=", Operator::Ne),
    ];

    pub fn parse(s: &str) -> Option<Operator> {
        Operator::ALL
            .iter()
            .find(|(t, _)| *t == s.trim())
            .map(|(_, o)| *o)
    }

    pub fn as_str(self) -> &'static str {
        Operator::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .map_or(">=", |(t, _)| t)
    }

    /// Whether `value <op> threshold` holds.
    #[allow(clippy::float_cmp)] // thresholds are numbers people wrote; equal means equal
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Operator::Ge => value >= threshold,
            Operator::Gt => value > threshold,
            Operator::Le => value <= threshold,
            Operator::Lt => value < threshold,
            Operator::Eq => value == threshold,
            Operator::Ne => value != threshold,
        }
    }
}

/// What kind of artifact `artifact_exists` looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactType {
    Url,
    File,
    PullRequest,
}

impl ArtifactType {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactType::Url => "url",
            ArtifactType::File => "file",
            ArtifactType::PullRequest => "pull_request",
        }
    }
}

/// Every built-in validation type (their fields come from their spec
/// structs, and so from `orch schema contract`).
pub const BUILTIN_TYPES: [&str; 15] = [
    "file_exists",
    "dir_exists",
    "min_file_count",
    "min_sources",
    "min_sources_any_of",
    "contains_headings",
    "contains_text",
    "not_contains",
    "regex_match",
    "min_regex_count",
    "frontmatter_status",
    "url_reachable",
    "metric_threshold",
    "artifact_exists",
    "content_check",
];

impl Check {
    pub fn type_name(&self) -> &str {
        match self {
            Check::FileExists(_) => "file_exists",
            Check::DirExists { .. } => "dir_exists",
            Check::MinFileCount { .. } => "min_file_count",
            Check::MinSources { .. } => "min_sources",
            Check::MinSourcesAnyOf { .. } => "min_sources_any_of",
            Check::ContainsHeadings {
                content_check: true,
                ..
            } => "content_check",
            Check::ContainsHeadings { .. } => "contains_headings",
            Check::ContainsText { .. } => "contains_text",
            Check::NotContains { .. } => "not_contains",
            Check::RegexMatch { .. } => "regex_match",
            Check::MinRegexCount { .. } => "min_regex_count",
            Check::FrontmatterStatus { .. } => "frontmatter_status",
            Check::UrlReachable { .. } => "url_reachable",
            Check::MetricThreshold { .. } => "metric_threshold",
            Check::ArtifactExists { .. } => "artifact_exists",
            Check::Plugin { kind, .. } => kind,
        }
    }

    /// Path templates this check reads.
    pub fn path_templates(&self) -> Vec<&str> {
        match self {
            Check::FileExists(FileTarget::Path(t))
            | Check::DirExists { target: t }
            | Check::MinFileCount { target: t, .. }
            | Check::MinSources { target: t, .. }
            | Check::ContainsHeadings { target: t, .. }
            | Check::ContainsText { target: t, .. }
            | Check::NotContains { target: t, .. }
            | Check::RegexMatch { target: t, .. }
            | Check::MinRegexCount { target: t, .. }
            | Check::FrontmatterStatus { target: t, .. }
            | Check::UrlReachable { target: t, .. }
            | Check::MetricThreshold { source: t, .. } => vec![t.as_str()],
            Check::MinSourcesAnyOf { targets, .. } => targets.iter().map(String::as_str).collect(),
            Check::FileExists(_) | Check::ArtifactExists { .. } | Check::Plugin { .. } => {
                Vec::new()
            }
        }
    }
}

/// A gate contract: the files a gate must produce and the checks they must
/// pass (orchestration/gates/contracts/<gate>.contract.json).
#[derive(Deserialize, JsonSchema)]
pub(crate) struct RawContract<'a> {
    /// The gate this contract is for, e.g. "G1" (it must match the workflow's gate).
    gate: String,
    /// What the gate is, for people.
    #[serde(default)]
    name: Option<String>,
    /// Whether a failure of this gate stops the run (default true).
    #[serde(default = "default_true")]
    blocking: bool,
    /// What passing the gate means, in a sentence; shown in the prompt packet.
    #[serde(default)]
    description: Option<String>,
    /// Scripts run before the gate is validated.
    #[serde(default)]
    pre_scripts: Vec<PreScript>,
    /// Skills whose files are put into the prompt packet.
    #[serde(default)]
    required_skills: Vec<RequiredSkill>,
    /// The files the gate must produce.
    #[serde(default)]
    required_outputs: RequiredOutputs,
    /// The checks the outputs must pass, in order.
    #[serde(default, borrow)]
    #[schemars(with = "Vec<crate::schema::ValidationSchema>")]
    validations: Vec<&'a RawValue>,
    /// Commands run after the agent finishes: tests, lint, build, typecheck…
    #[serde(default)]
    quality_checks: Vec<crate::quality::QualityCheck>,
    /// Where editors find this file's JSON Schema (orch ignores it).
    #[serde(default, rename = "$schema")]
    #[allow(dead_code)]
    schema: Option<String>,
    /// Free text for people; orch does not read it.
    #[serde(default)]
    #[allow(dead_code)]
    notes: Option<String>,
    /// Files worth producing that do not block the gate; orch does not read it.
    #[serde(default)]
    #[allow(dead_code)]
    recommended_files: Option<Value>,
}

fn default_true() -> bool {
    true
}

impl Contract {
    /// Loads the contract at `path` (shown to users as `shown`).
    pub fn load(repo: &Repo, path: &Path) -> Result<Contract> {
        let shown = repo.display(path);
        let text = json::read_text(path, &shown)?;
        Self::parse(repo, &text, &shown)
    }

    /// The contract of a workflow gate: the file it names (or the
    /// conventional one), or, for a gate with `"contract": null`, none.
    pub fn for_workflow_gate(
        repo: &Repo,
        gate: &crate::workflow::WorkflowGate,
    ) -> Result<Contract> {
        match gate.contract_file() {
            Some(rel) => Self::for_gate(repo, &gate.gate, &rel),
            None => Ok(Self::none(&gate.gate)),
        }
    }

    /// A gate without a contract: no outputs, no checks. Its command's exit
    /// code decides (a failed invocation fails its attempt).
    pub fn none(gate: &str) -> Contract {
        Contract {
            gate: gate.to_string(),
            name: None,
            blocking: true,
            description: None,
            pre_scripts: Vec::new(),
            required_skills: Vec::new(),
            required_outputs: RequiredOutputs::default(),
            validations: Vec::new(),
            quality_checks: Vec::new(),
            shown: "(no contract)".to_string(),
            sha256: String::new(),
        }
    }

    /// Whether this is `Contract::none` (a gate with no contract).
    pub fn is_none(&self) -> bool {
        self.sha256.is_empty()
    }

    /// Loads the contract a workflow gate names, checking that it is for that gate.
    pub fn for_gate(repo: &Repo, gate: &str, rel_path: &str) -> Result<Contract> {
        let path = repo
            .contain(rel_path)
            .map_err(|e| e.into_error(&format!("contract path for gate {gate}")))?;
        match std::fs::metadata(&path.abs) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::input(format!(
                    "gate {gate}: contract `{}` does not exist",
                    path.rel
                ))
                .hint(format!(
                    "create it, or point the workflow gate's `contract` at it (default: {})",
                    layout::default_contract(gate)
                )));
            }
            Ok(meta) if meta.is_dir() => {
                return Err(Error::input(format!(
                    "gate {gate}: contract `{}` is a directory, not a contract file",
                    path.rel
                ))
                .hint("point the workflow gate's `contract` at a .contract.json file"));
            }
            // Anything else that is not a regular file is refused when read.
            _ => {}
        }
        let contract = Self::load(repo, &path.abs)?;
        if contract.gate != gate {
            return Err(Error::input(format!(
                "contract `{}` is for gate `{}`, not `{gate}`",
                contract.shown, contract.gate
            ))
            .hint("fix the contract's `gate` field or the workflow's `contract` path"));
        }
        Ok(contract)
    }

    /// Parses and checks contract text.
    pub fn parse(repo: &Repo, text: &str, shown: &str) -> Result<Contract> {
        Self::check(repo, text, shown).map_err(|mut errors| errors.remove(0))
    }

    /// Parses and checks contract text, collecting every problem (for
    /// `lint`) instead of stopping at the first. The list is never empty.
    pub fn check(
        repo: &Repo,
        text: &str,
        shown: &str,
    ) -> std::result::Result<Contract, Vec<Error>> {
        let raw: RawContract = json::parse(text, shown).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        let mut path_fields: Vec<(&str, &str)> = Vec::new();
        for o in raw
            .required_outputs
            .all_of
            .iter()
            .chain(&raw.required_outputs.any_of)
        {
            path_fields.push(("required_outputs path", &o.path));
        }
        for s in &raw.pre_scripts {
            path_fields.push(("pre_scripts path", &s.path));
            for a in &s.args {
                path_fields.push(("pre_scripts arg", a));
            }
        }
        for s in &raw.required_skills {
            path_fields.push(("required_skills path", &s.path));
        }
        for (field, value) in path_fields {
            if let Err(e) =
                check_variables(shown, find_pos(text, value).unwrap_or((1, 1)), field, value)
            {
                errors.push(e);
            }
        }
        let mut validations = Vec::new();
        for fragment in &raw.validations {
            match parse_validation(repo, text, shown, fragment) {
                Ok(v) => validations.push(v),
                Err(e) => errors.push(e),
            }
        }
        for (i, q) in raw.quality_checks.iter().enumerate() {
            let duplicate = raw.quality_checks[..i].iter().any(|o| o.name == q.name);
            let problem = q.problem().or_else(|| {
                duplicate.then(|| format!("two quality checks are named `{}`", q.name))
            });
            if let Some(p) = problem {
                let pos = find_pos(text, &q.name)
                    .or_else(|| {
                        text.find("\"quality_checks\"")
                            .map(|i| json::line_col(text, i))
                    })
                    .unwrap_or((1, 1));
                errors.push(json::error_at(shown, pos, p));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Contract {
            gate: raw.gate,
            name: raw.name,
            blocking: raw.blocking,
            description: raw.description,
            pre_scripts: raw.pre_scripts,
            required_skills: raw.required_skills,
            required_outputs: raw.required_outputs,
            validations,
            quality_checks: raw.quality_checks,
            shown: shown.to_string(),
            sha256: hash::bytes(text.as_bytes()),
        })
    }

    /// Every output path template, `all_of` first.
    pub fn output_templates(&self) -> Vec<String> {
        self.required_outputs
            .all_of
            .iter()
            .chain(&self.required_outputs.any_of)
            .map(|o| o.path.clone())
            .collect()
    }
}

/// Best-effort position of a string value in the source, for messages.
fn find_pos(text: &str, value: &str) -> Option<(usize, usize)> {
    let quoted = serde_json::to_string(value).ok()?;
    text.find(&quoted).map(|i| json::line_col(text, i))
}

fn check_variables(shown: &str, pos: (usize, usize), field: &str, value: &str) -> Result<()> {
    if let Some(unknown) = template::unknown_variables(value).into_iter().next() {
        return Err(json::error_at(
            shown,
            pos,
            format!("unknown template variable `{unknown}` in {field} `{value}`"),
        )
        .hint(format!(
            "known variables: {}",
            template::VARIABLES.map(|v| format!("{{{v}}}")).join(", ")
        )));
    }
    Ok(())
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(de::Error::custom(format!(
                    "expected a string, found `{other}`"
                ))),
            })
            .collect(),
        other => Err(de::Error::custom(format!(
            "expected a string or a list of strings, found `{other}`"
        ))),
    }
}

/// `file_exists` and `dir_exists`.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct TargetSpec {
    /// The path to check (may use {slug}, {artifact_path}, {client_component});
    /// for file_exists also `any_of` (one of the any_of outputs exists) or
    /// `all_required` (every required all_of output exists).
    target: String,
}

/// `min_file_count`: enough files in a folder.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct MinFileCountSpec {
    /// The folder whose files (directly in it) are counted.
    target: String,
    /// Counts only file names matching this glob (default `*`).
    #[serde(default)]
    pattern: Option<String>,
    /// How many files each depth needs.
    thresholds: Thresholds,
}

/// `min_sources`: enough sources listed in a file.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct MinSourcesSpec {
    /// The file whose sources are counted (`###` headings, distinct URLs,
    /// `- **URL**:` lines or bullets: the largest count).
    target: String,
    /// How many sources each depth needs.
    thresholds: Thresholds,
}

/// `min_sources_any_of`: the best of several files has enough sources.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct MinSourcesAnyOfSpec {
    /// The files whose source counts are compared; the highest counts.
    targets: Vec<String>,
    /// How many sources each depth needs.
    thresholds: Thresholds,
}

/// `contains_headings`: every heading appears in the file.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct HeadingsSpec {
    /// The file to read.
    target: String,
    /// The strings that must each appear, e.g. `["## Scope", "## Audience"]`.
    required_headings: Vec<String>,
}

/// `contains_text`: every string appears in the file.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct ContainsTextSpec {
    /// The file to read.
    target: String,
    /// A string, or a list of strings, that must each appear.
    #[serde(deserialize_with = "one_or_many")]
    #[schemars(with = "crate::schema::OneOrMany")]
    patterns: Vec<String>,
}

/// `not_contains`: a string does not appear in the file.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct NotContainsSpec {
    /// The file to read.
    target: String,
    /// The string that must not appear (plain text, not a regex).
    pattern: String,
    /// A missing file passes instead of failing (default false).
    #[serde(default)]
    missing_ok: bool,
}

/// `regex_match`: a regex matches the file (multi-line mode).
#[derive(Deserialize, JsonSchema)]
pub(crate) struct RegexSpec {
    /// The file to read.
    target: String,
    /// A regex in Rust's syntax; `^` and `$` match at line ends.
    regex: String,
    /// Pass when the regex does not match instead (default false).
    #[serde(default)]
    must_not_match: bool,
}

/// `min_regex_count`: a regex matches the file often enough.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct RegexCountSpec {
    /// The file to read.
    target: String,
    /// A regex in Rust's syntax; non-overlapping matches are counted.
    regex: String,
    /// The fewest matches that pass.
    min_count: u64,
}

/// `frontmatter_status`: the file's `---` block of `key: value` lines says the right things.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct FrontmatterSpec {
    /// The file to read.
    target: String,
    /// For each key: a value it must equal, `{"not": value}`, or `{"min": number}`.
    #[schemars(with = "BTreeMap<String, crate::schema::FrontmatterCheckSchema>")]
    checks: BTreeMap<String, Value>,
}

/// `url_reachable`: the file's URLs answer (skipped with --offline).
#[derive(Deserialize, JsonSchema)]
pub(crate) struct UrlSpec {
    /// The file whose URLs are checked.
    target: String,
    /// A regex picking the URLs to check (default: every https:// URL).
    #[serde(default)]
    url_pattern: Option<String>,
    /// How many URLs may fail (default 0).
    #[serde(default)]
    max_failures: u64,
    /// Check only the first this many distinct URLs.
    #[serde(default)]
    sample_size: Option<usize>,
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct MetricSpec {
    /// The JSON file or the file with frontmatter.
    source: String,
    /// A JSON pointer into a JSON source (`/jury/score`); or `key`.
    #[serde(default)]
    pointer: Option<String>,
    /// A top-level key of a JSON source, or a frontmatter key.
    #[serde(default, alias = "metric")]
    key: Option<String>,
    /// `>=` (default), `>`, `<=`, `<`, `==` or `!=`.
    #[serde(default)]
    operator: Option<String>,
    /// The number the value is compared with (`score >= 70`).
    threshold: f64,
}

#[derive(Deserialize, JsonSchema)]
pub(crate) struct ArtifactSpec {
    /// `url`, `file` or `pull_request`.
    #[serde(alias = "artifactType")]
    artifact_type: ArtifactType,
    /// The label it was registered with (`orch artifact add --label`).
    #[serde(default)]
    label: Option<String>,
}

/// The seed's `content_check`: another name for `contains_headings`.
#[derive(Deserialize, JsonSchema)]
pub(crate) struct ContentCheckSpec {
    /// The Markdown file to read (`target` is accepted too).
    #[serde(alias = "target")]
    file: String,
    /// The strings that must each appear, e.g. `["## Scope", "## Audience"]`.
    #[serde(alias = "required_sections", alias = "required_headings")]
    #[serde(rename = "requiredSections")]
    required_sections: Vec<String>,
}

#[derive(Deserialize)]
struct Header {
    #[serde(rename = "type")]
    kind: Option<Value>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

fn parse_validation(
    repo: &Repo,
    text: &str,
    shown: &str,
    fragment: &RawValue,
) -> Result<Validation> {
    let src = fragment.get();
    let pos = json::line_col(text, json::fragment_offset(text, src));
    let typed = |e: serde_json::Error| json::from_serde(&e, shown, pos);
    let raw: Value = serde_json::from_str(src).map_err(typed)?;
    if !raw.is_object() {
        return Err(
            json::error_at(shown, pos, "a validation must be a JSON object").hint(
                "e.g. {\"type\": \"file_exists\", \"target\": \"{artifact_path}/README.md\"}",
            ),
        );
    }
    let header: Header = serde_json::from_str(src).map_err(typed)?;
    let kind = match header.kind {
        Some(Value::String(k)) => k,
        Some(other) => {
            return Err(json::error_at(
                shown,
                pos,
                format!("validation `type` must be a string, found `{other}`"),
            )
            .hint(format!("known types: {}", builtin_names())));
        }
        None => {
            return Err(json::error_at(shown, pos, "validation has no `type`")
                .hint(format!("known types: {}", builtin_names())));
        }
    };
    let severity = match header.severity.as_deref() {
        None | Some("error") => Severity::Error,
        Some("warning") => Severity::Warning,
        Some(other) => {
            return Err(
                json::error_at(shown, pos, format!("unknown severity `{other}`"))
                    .hint("use \"error\" (fails the gate) or \"warning\" (reported only)"),
            );
        }
    };
    let regex = |pattern: &str, field: &str| -> Result<Regex> {
        RegexBuilder::new(pattern)
            .multi_line(true)
            .build()
            .map_err(|e| {
                json::error_at(
                    shown,
                    pos,
                    format!("`{field}` does not compile: {}", regex_reason(&e)),
                )
                .hint("orch uses Rust's regex syntax (no look-around or backreferences); in JSON a backslash is written \\\\")
            })
    };
    let check = match kind.as_str() {
        "file_exists" => {
            let s: TargetSpec = serde_json::from_str(src).map_err(typed)?;
            match s.target.as_str() {
                "any_of" => Check::FileExists(FileTarget::AnyOf),
                "all_required" => Check::FileExists(FileTarget::AllRequired),
                _ => Check::FileExists(FileTarget::Path(s.target)),
            }
        }
        "dir_exists" => {
            let s: TargetSpec = serde_json::from_str(src).map_err(typed)?;
            Check::DirExists { target: s.target }
        }
        "min_file_count" => {
            let s: MinFileCountSpec = serde_json::from_str(src).map_err(typed)?;
            let text_pattern = s.pattern.unwrap_or_else(|| "*".to_string());
            let pattern = glob::Pattern::new(&text_pattern).map_err(|e| {
                json::error_at(shown, pos, format!("`pattern` is not a valid glob: {e}"))
                    .hint("a glob matches file names: `*` any run of characters, `?` one, `[abc]` one of these, e.g. \"*.md\"")
            })?;
            Check::MinFileCount {
                target: s.target,
                pattern,
                thresholds: s.thresholds,
            }
        }
        "min_sources" => {
            let s: MinSourcesSpec = serde_json::from_str(src).map_err(typed)?;
            Check::MinSources {
                target: s.target,
                thresholds: s.thresholds,
            }
        }
        "min_sources_any_of" => {
            let s: MinSourcesAnyOfSpec = serde_json::from_str(src).map_err(typed)?;
            if s.targets.is_empty() {
                return Err(json::error_at(shown, pos, "`targets` is empty")
                    .hint("list the files whose source counts are compared, e.g. [\"{artifact_path}/SOURCES.md\"]"));
            }
            Check::MinSourcesAnyOf {
                targets: s.targets,
                thresholds: s.thresholds,
            }
        }
        "contains_headings" => {
            let s: HeadingsSpec = serde_json::from_str(src).map_err(typed)?;
            Check::ContainsHeadings {
                target: s.target,
                headings: s.required_headings,
                content_check: false,
            }
        }
        "content_check" => {
            let s: ContentCheckSpec = serde_json::from_str(src).map_err(typed)?;
            Check::ContainsHeadings {
                target: s.file,
                headings: s.required_sections,
                content_check: true,
            }
        }
        "metric_threshold" => {
            let s: MetricSpec = serde_json::from_str(src).map_err(typed)?;
            let at = match (s.pointer, s.key) {
                (Some(p), None) if p.starts_with('/') => MetricAt::Pointer(p),
                (Some(p), None) => {
                    return Err(json::error_at(
                        shown,
                        pos,
                        format!("`pointer` `{p}` is not a JSON pointer"),
                    )
                    .hint("a JSON pointer starts with `/`, e.g. \"/jury/score\""));
                }
                (None, Some(k)) if !k.trim().is_empty() => MetricAt::Key(k),
                _ => {
                    return Err(json::error_at(
                        shown,
                        pos,
                        "metric_threshold needs one of `pointer` (JSON) or `key` (JSON or frontmatter)",
                    ));
                }
            };
            let op_text = s.operator.unwrap_or_else(|| ">=".to_string());
            let operator = Operator::parse(&op_text).ok_or_else(|| {
                json::error_at(shown, pos, format!("unknown operator `{op_text}`")).hint(format!(
                    "use one of {}",
                    Operator::ALL.map(|(t, _)| t).join(", ")
                ))
            })?;
            if !s.threshold.is_finite() {
                return Err(json::error_at(shown, pos, "`threshold` must be a number"));
            }
            Check::MetricThreshold {
                source: s.source,
                at,
                operator,
                threshold: s.threshold,
            }
        }
        "artifact_exists" => {
            let s: ArtifactSpec = serde_json::from_str(src).map_err(typed)?;
            Check::ArtifactExists {
                artifact_type: s.artifact_type,
                label: s.label.filter(|l| !l.trim().is_empty()),
            }
        }
        "contains_text" => {
            let s: ContainsTextSpec = serde_json::from_str(src).map_err(typed)?;
            Check::ContainsText {
                target: s.target,
                patterns: s.patterns,
            }
        }
        "not_contains" => {
            let s: NotContainsSpec = serde_json::from_str(src).map_err(typed)?;
            Check::NotContains {
                target: s.target,
                pattern: s.pattern,
                missing_ok: s.missing_ok,
            }
        }
        "regex_match" => {
            let s: RegexSpec = serde_json::from_str(src).map_err(typed)?;
            Check::RegexMatch {
                regex: regex(&s.regex, "regex")?,
                target: s.target,
                must_not_match: s.must_not_match,
            }
        }
        "min_regex_count" => {
            let s: RegexCountSpec = serde_json::from_str(src).map_err(typed)?;
            Check::MinRegexCount {
                regex: regex(&s.regex, "regex")?,
                target: s.target,
                min_count: s.min_count,
            }
        }
        "frontmatter_status" => {
            let s: FrontmatterSpec = serde_json::from_str(src).map_err(typed)?;
            let checks = s
                .checks
                .into_iter()
                .map(|(key, v)| {
                    Ok((
                        key.clone(),
                        frontmatter_check(&key, v).map_err(|m| {
                            json::error_at(shown, pos, m).hint(
                                "e.g. \"checks\": {\"status\": \"APPROVED\", \"draft\": {\"not\": true}, \"layers\": {\"min\": 6}}",
                            )
                        })?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?;
            Check::FrontmatterStatus {
                target: s.target,
                checks,
            }
        }
        "url_reachable" => {
            let s: UrlSpec = serde_json::from_str(src).map_err(typed)?;
            Check::UrlReachable {
                url_pattern: s
                    .url_pattern
                    .as_deref()
                    .map(|p| regex(p, "url_pattern"))
                    .transpose()?,
                target: s.target,
                max_failures: s.max_failures,
                sample_size: s.sample_size,
            }
        }
        other => match plugin(repo, other) {
            Ok(program) => Check::Plugin {
                kind: other.to_string(),
                program,
            },
            Err(problem) => {
                let mut e =
                    json::error_at(shown, pos, format!("unknown validation type `{other}`"));
                if let Some(near) = crate::suggest::closest(other, BUILTIN_TYPES) {
                    e = e.hint(format!("did you mean `{near}`?"));
                }
                let e = e.hint(format!("known types: {}", builtin_names()));
                return Err(match problem {
                    PluginProblem::Missing if is_safe_component(other) => e.hint(format!(
                        "to add a type, provide an executable `{}` (see README, \"Validator plugins\")",
                        layout::validator(other)
                    )),
                    PluginProblem::Missing => e,
                    PluginProblem::NotExecutable(path) => {
                        e.hint(format!("`{path}` exists but is not executable: run `chmod +x {path}`"))
                    }
                });
            }
        },
    };
    for template in check.path_templates() {
        check_variables(
            shown,
            pos,
            &format!("`{}` target", check.type_name()),
            template,
        )?;
    }
    Ok(Validation {
        check,
        severity,
        description: header.description,
        position: pos,
        raw,
    })
}

enum PluginProblem {
    Missing,
    NotExecutable(String),
}

/// Finds the executable that provides validation type `kind`.
fn plugin(repo: &Repo, kind: &str) -> std::result::Result<PathBuf, PluginProblem> {
    if !is_safe_component(kind) {
        return Err(PluginProblem::Missing);
    }
    let rel = layout::validator(kind);
    let path = repo.join(&rel);
    let Ok(meta) = std::fs::metadata(&path) else {
        return Err(PluginProblem::Missing);
    };
    if !meta.is_file() {
        return Err(PluginProblem::Missing);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(PluginProblem::NotExecutable(rel));
        }
    }
    Ok(path)
}

fn builtin_names() -> String {
    BUILTIN_TYPES.join(", ")
}

/// The one-line reason from the regex crate's multi-line message.
fn regex_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map_or_else(
            || text.lines().last().unwrap_or_default().trim().to_string(),
            str::to_string,
        )
}

fn frontmatter_check(key: &str, value: Value) -> std::result::Result<FrontmatterCheck, String> {
    let usage = "use a value (\"PASS\"), {\"not\": value} or {\"min\": number}";
    match value {
        Value::Object(map) => {
            let mut entries = map.into_iter();
            match (entries.next(), entries.next()) {
                (Some((op, v)), None) if op == "not" && is_scalar(&v) => {
                    Ok(FrontmatterCheck::Not(v))
                }
                (Some((op, v)), None) if op == "min" => v
                    .as_f64()
                    .map(FrontmatterCheck::Min)
                    .ok_or_else(|| format!("frontmatter check `{key}`: `min` needs a number")),
                _ => Err(format!(
                    "frontmatter check `{key}` is not understood; {usage}"
                )),
            }
        }
        v if is_scalar(&v) => Ok(FrontmatterCheck::Equals(v)),
        _ => Err(format!(
            "frontmatter check `{key}` is not understood; {usage}"
        )),
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, Repo) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let repo = Repo::discover(dir.path()).unwrap();
        (dir, repo)
    }

    fn parse(text: &str) -> Result<Contract> {
        let (_d, repo) = repo();
        Contract::parse(&repo, text, "G9.contract.json")
    }

    #[test]
    fn loads_every_builtin_type() {
        let c = parse(
            r###"{"gate": "G1", "required_outputs": {"all_of": [{"path": "{artifact_path}/a.md"}]},
            "validations": [
              {"type": "file_exists", "target": "all_required"},
              {"type": "dir_exists", "target": "{artifact_path}"},
              {"type": "min_file_count", "target": "{artifact_path}", "pattern": "*.md", "thresholds": {"quick": 1}},
              {"type": "min_sources", "target": "{artifact_path}/a.md", "thresholds": {"standard": 2}},
              {"type": "min_sources_any_of", "targets": ["{artifact_path}/a.md"], "thresholds": {"deep": 2}},
              {"type": "contains_headings", "target": "{artifact_path}/a.md", "required_headings": ["## A"]},
              {"type": "contains_text", "target": "{artifact_path}/a.md", "patterns": "x"},
              {"type": "not_contains", "target": "{artifact_path}/a.md", "pattern": "x", "missing_ok": true},
              {"type": "regex_match", "target": "{client_component}", "regex": "[\\u{1F300}-\\u{1F9FF}]", "must_not_match": true},
              {"type": "min_regex_count", "target": "{artifact_path}/a.md", "regex": "a", "min_count": 2},
              {"type": "frontmatter_status", "target": "{artifact_path}/a.md", "checks": {"status": {"not": "FAIL"}, "score": {"min": 8}, "kind": "x"}},
              {"type": "url_reachable", "target": "{artifact_path}/a.md", "severity": "warning"}
            ]}"###,
        )
        .unwrap();
        assert_eq!(c.validations.len(), 12);
        assert!(c.blocking);
        assert_eq!(c.validations[11].severity, Severity::Warning);
        assert!(
            matches!(&c.validations[6].check, Check::ContainsText { patterns, .. } if patterns == &["x"])
        );
    }

    #[test]
    fn unknown_types_are_positioned_errors_with_a_way_out() {
        let err =
            parse("{\"gate\": \"G5\",\n \"validations\": [\n   {\"type\": \"viz_tech_match\"}]}")
                .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("G9.contract.json:3:4: unknown validation type `viz_tech_match`"),
            "{err}"
        );
        assert!(
            err.hints()
                .iter()
                .any(|h| h.contains("orchestration/validators/viz_tech_match")),
            "{:?}",
            err.hints()
        );
    }

    #[test]
    fn bad_fields_and_regexes_are_errors() {
        let err = parse(r#"{"gate": "G1", "validations": [{"type": "regex_match", "target": "a", "regex": "[a-"}]}"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`regex` does not compile: unclosed character class"),
            "{err}"
        );
        let err = parse(r#"{"gate": "G1", "validations": [{"type": "min_sources", "target": "a", "thresholds": {"Standard": 3}}]}"#)
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `Standard`"),
            "{err}"
        );
        let err = parse(r#"{"gate": "G1", "validations": [{"type": "dir_exists"}]}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `target`"), "{err}");
        let err =
            parse(r#"{"gate": "G1", "validations": [{"type": "dir_exists", "target": "{slgu}"}]}"#)
                .unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown template variable `{slgu}`"),
            "{err}"
        );
        let err = parse(r#"{"gate": "G1", "validations": [{"type": "dir_exists", "target": "x", "severity": "fatal"}]}"#)
            .unwrap_err();
        assert!(
            err.to_string().contains("unknown severity `fatal`"),
            "{err}"
        );
    }

    #[test]
    fn depth_rules_for_outputs() {
        let o: OutputSpec = serde_json::from_str(
            r#"{"path": "a", "required_for_depth": ["deep"], "optional_for_depth": ["quick"]}"#,
        )
        .unwrap();
        assert!(o.required_at(Depth::Deep));
        assert!(!o.required_at(Depth::Standard));
        let o: OutputSpec =
            serde_json::from_str(r#"{"path": "a", "optional_for_depth": ["quick"]}"#).unwrap();
        assert!(o.required_at(Depth::Standard));
        assert!(!o.required_at(Depth::Quick));
        let o: OutputSpec = serde_json::from_str(r#"{"path": "a", "required": false}"#).unwrap();
        assert!(!o.required_at(Depth::Deep));
    }
}
