//! `orch lint`: checks the orchestration sources themselves — workflows,
//! contracts, prompt templates, skills, validator plugins, and the team
//! settings (notify.json, allowed_signers) — before a run trips over them. Errors are what would stop or mislead a run; warnings
//! are what orch ignores or cannot check (unknown keys, references outside
//! the repository).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::contract::{BUILTIN_TYPES, Contract, PreScript, RequiredSkill};
use crate::error::{Error, Result};
use crate::repo::{Repo, is_safe_component};
use crate::report::findings::{Case, Document, Finding, Group, Level};
use crate::storage::layout;
use crate::{json, packet, schema, workflow};

/// The kinds of source files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Workflow,
    Contract,
    Prompt,
    Skill,
    Validator,
    /// `orchestration/notify.json`, `allowed_signers` and `commands.json`.
    Settings,
}

impl Kind {
    fn group(self) -> &'static str {
        match self {
            Kind::Workflow => "workflows",
            Kind::Contract => "contracts",
            Kind::Prompt => "prompt templates",
            Kind::Skill => "skills",
            Kind::Validator => "validator plugins",
            Kind::Settings => "team settings",
        }
    }
}

/// A file to lint, and the folder its references are relative to.
#[derive(Clone, Debug)]
struct Source {
    kind: Kind,
    path: PathBuf,
    shown: String,
    /// The repository root, or for files outside it the folder that plays
    /// that part (the parent of `orchestration/`, or the path given).
    base: PathBuf,
    inside_repo: bool,
}

/// Lints `paths` (files or folders), or every source in the repository.
pub fn lint(repo: &Repo, paths: &[PathBuf]) -> Result<Document> {
    let sources = if paths.is_empty() {
        default_sources(repo)
    } else {
        given_sources(repo, paths)?
    };
    let mut cases: BTreeMap<Kind, Vec<Case>> = BTreeMap::new();
    let contracts: Vec<(Source, Option<Contract>)> = sources
        .iter()
        .filter(|s| s.kind == Kind::Contract)
        .map(|s| {
            let (case, contract) = lint_contract(repo, s);
            cases.entry(Kind::Contract).or_default().push(case);
            (s.clone(), contract)
        })
        .collect();
    let used_types: BTreeSet<String> = contracts
        .iter()
        .filter_map(|(_, c)| c.as_ref())
        .flat_map(|c| {
            c.validations
                .iter()
                .map(|v| v.check.type_name().to_string())
        })
        .collect();
    for s in &sources {
        let case = match s.kind {
            Kind::Contract => continue,
            Kind::Workflow => lint_workflow(s, &contracts),
            Kind::Prompt => lint_prompt(s),
            Kind::Skill => lint_skill(s),
            Kind::Validator => lint_validator(s, &used_types),
            Kind::Settings => lint_settings(s),
        };
        cases.entry(s.kind).or_default().push(case);
    }
    let groups = cases
        .into_iter()
        .map(|(kind, cases)| Group {
            name: kind.group().to_string(),
            description: None,
            cases,
        })
        .collect();
    Ok(Document::new("lint", groups))
}

fn default_sources(repo: &Repo) -> Vec<Source> {
    let root = repo.root().to_path_buf();
    let mut found: Vec<(Kind, PathBuf)> = Vec::new();
    for dir in [layout::WORKFLOWS_DIR, layout::LEGACY_WORKFLOWS_DIR] {
        found.extend(
            files_in(&root.join(dir), Some("json"))
                .into_iter()
                .map(|p| (Kind::Workflow, p)),
        );
    }
    found.extend(
        files_in(&root.join(layout::CONTRACTS_DIR), Some("json"))
            .into_iter()
            .map(|p| (Kind::Contract, p)),
    );
    found.extend(
        files_in(&root.join(layout::PROMPTS_DIR), Some("md"))
            .into_iter()
            .map(|p| (Kind::Prompt, p)),
    );
    found.extend(
        skill_files(&root.join("skills"))
            .into_iter()
            .map(|p| (Kind::Skill, p)),
    );
    found.extend(
        files_in(&root.join(layout::VALIDATORS_DIR), None)
            .into_iter()
            .map(|p| (Kind::Validator, p)),
    );
    found.extend(
        [
            layout::NOTIFY_CONFIG,
            layout::ALLOWED_SIGNERS,
            layout::COMMANDS_CONFIG,
        ]
        .iter()
        .map(|rel| root.join(rel))
        // Anything there is linted: a FIFO or a folder is refused by the
        // read, saying what it is, never passed over as if absent.
        .filter(|p| std::fs::symlink_metadata(p).is_ok())
        .map(|p| (Kind::Settings, p)),
    );
    found
        .into_iter()
        .map(|(kind, p)| source(repo, kind, p, root.clone(), true))
        .collect()
}

fn given_sources(repo: &Repo, paths: &[PathBuf]) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for given in paths {
        let abs = std::fs::canonicalize(given).map_err(|e| {
            Error::read(given.display(), e).hint("orch lint takes files or folders of workflows, contracts, prompts, skills and validators")
        })?;
        let inside_repo = abs.starts_with(repo.root());
        if abs.is_dir() {
            walk(repo, &abs, &abs, inside_repo, &mut out);
            // Outside the repository, show paths as the user wrote them.
            if !inside_repo {
                for s in out.iter_mut().filter(|s| {
                    s.path.starts_with(&abs) || s.shown.starts_with(&*abs.to_string_lossy())
                }) {
                    if let Ok(rest) = Path::new(&s.shown).strip_prefix(&abs) {
                        s.shown = given.join(rest).display().to_string();
                    }
                }
            }
        } else {
            let base = base_for(repo, &abs, abs.parent().unwrap_or(&abs), inside_repo);
            match classify(&abs) {
                Some(kind) => out.push(source(repo, kind, abs, base, inside_repo)),
                None => {
                    return Err(Error::input(format!("`{}` is not a source orch knows how to lint", given.display()))
                        .hint("lint workflows (*/workflows/*.json), contracts (*.contract.json), prompt templates (*/prompts/*.md), skills (SKILL.md) and validators (*/validators/*)"));
                }
            }
        }
    }
    out.sort_by(|a, b| (a.kind, &a.shown).cmp(&(b.kind, &b.shown)));
    out.dedup_by(|a, b| a.path == b.path);
    Ok(out)
}

/// A source; a skill is its folder, shown as its SKILL.md.
fn source(repo: &Repo, kind: Kind, path: PathBuf, base: PathBuf, inside_repo: bool) -> Source {
    let shown = repo.display(&path);
    let path = if kind == Kind::Skill {
        path.parent().map(Path::to_path_buf).unwrap_or(path)
    } else {
        path
    };
    Source {
        kind,
        path,
        shown,
        base,
        inside_repo,
    }
}

/// Where references in a file are resolved: the repository root for files
/// in it; else the parent of an `orchestration/` folder, else the path given.
fn base_for(repo: &Repo, file: &Path, given: &Path, inside_repo: bool) -> PathBuf {
    if inside_repo {
        return repo.root().to_path_buf();
    }
    file.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "orchestration"))
        .and_then(Path::parent)
        .map_or_else(|| given.to_path_buf(), Path::to_path_buf)
}

fn walk(repo: &Repo, given: &Path, dir: &Path, inside_repo: bool, out: &mut Vec<Source>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            // Run records are verify's business; build and VCS folders are noise.
            if !matches!(name.as_str(), "runs" | ".git" | "target" | "node_modules") {
                walk(repo, given, &p, inside_repo, out);
            }
        } else if let Some(kind) = classify(&p) {
            let base = base_for(repo, &p, given, inside_repo);
            out.push(source(repo, kind, p, base, inside_repo));
        }
    }
}

/// The kind of a source, by orch's layout (names are case-sensitive, as
/// orch looks them up).
fn classify(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_str()?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let parent = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or("");
    match (name, ext, parent) {
        ("SKILL.md", ..) => Some(Kind::Skill),
        (n, "json", p)
            if n.strip_suffix(".json")
                .is_some_and(|s| s.ends_with(".contract"))
                || p == "contracts" =>
        {
            Some(Kind::Contract)
        }
        ("notify.json" | "allowed_signers" | "commands.json", _, "orchestration") => {
            Some(Kind::Settings)
        }
        (_, "json", "workflows") => Some(Kind::Workflow),
        (_, "md", "prompts") => Some(Kind::Prompt),
        (n, _, "validators") if !n.starts_with('.') => Some(Kind::Validator),
        _ => None,
    }
}

fn files_in(dir: &Path, ext: Option<&str>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .filter(|p| ext.is_none_or(|x| p.extension().is_some_and(|e| e == x)))
        .collect();
    out.sort();
    out
}

/// `<dir>/<skill>/SKILL.md` for every skill folder (present or not).
fn skill_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .map(|p| p.join("SKILL.md"))
        .collect();
    out.sort();
    out
}

/// A reference that cannot be found: an error inside the repository, a
/// warning outside it (where orch cannot know the layout).
fn missing(s: &Source, kind: &str, message: String, hint: &str) -> Finding {
    if s.inside_repo {
        Finding::new(Level::Error, kind, message)
            .file(s.shown.clone())
            .hint(hint)
    } else {
        Finding::new(
            Level::Warning,
            kind,
            format!("{message} (cannot check: outside the repository)"),
        )
        .file(s.shown.clone())
    }
}

/// Position of `"key":` in `text`, starting at byte `from`.
fn key_pos(text: &str, from: usize, key: &str) -> (usize, usize) {
    let needle = format!("\"{key}\"");
    let at = text[from..].find(&needle).map_or(from, |i| from + i);
    json::line_col(text, at)
}

fn read(s: &Source, case: &mut Case) -> Option<String> {
    match crate::storage::regular::read_to_string(&s.path) {
        Ok(t) => Some(t),
        Err(e) => {
            case.push(Finding::from_error(
                Level::Error,
                "unreadable",
                &Error::read(&s.shown, e),
            ));
            None
        }
    }
}

#[derive(Deserialize)]
struct Fragments<'a> {
    #[serde(default, borrow)]
    validations: Vec<&'a RawValue>,
}

fn lint_contract(repo: &Repo, s: &Source) -> (Case, Option<Contract>) {
    let mut case = Case::new(s.shown.clone());
    let Some(text) = read(s, &mut case) else {
        return (case, None);
    };
    let contract = match Contract::check(repo, &text, &s.shown) {
        Ok(c) => Some(c),
        Err(errors) => {
            for e in &errors {
                let kind = if e.to_string().contains("unknown validation type") {
                    "unknown_type"
                } else {
                    "contract"
                };
                case.push(Finding::from_error(Level::Error, kind, e));
            }
            None
        }
    };
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        return (case, contract);
    };
    // The file name names the gate.
    if let (Some(stem), Some(gate)) = (
        s.path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".contract.json")),
        value.get("gate").and_then(Value::as_str),
    ) && stem != gate
    {
        case.push(
            Finding::new(
                Level::Error,
                "gate_name",
                format!("the file is named for gate `{stem}` but says `\"gate\": \"{gate}\"`"),
            )
            .file(s.shown.clone())
            .at(key_pos(&text, 0, "gate"))
            .hint(format!(
                "rename the file to {gate}.contract.json or fix `gate`"
            )),
        );
    }
    let known = schema::top_level_fields("contract");
    for key in value.as_object().into_iter().flat_map(|o| o.keys()) {
        if !known.iter().any(|k| k == key) {
            case.push(unknown_key(s, &text, 0, key, "contract"));
        }
    }
    let fields = schema::validation_fields();
    if let Ok(fragments) = serde_json::from_str::<Fragments>(&text) {
        for fragment in fragments.validations {
            let start = json::fragment_offset(&text, fragment.get());
            let Ok(Value::Object(v)) = serde_json::from_str::<Value>(fragment.get()) else {
                continue;
            };
            let Some(kind) = v.get("type").and_then(Value::as_str) else {
                continue;
            };
            if let Some(allowed) = fields.get(kind) {
                for key in v.keys().filter(|k| !allowed.contains(k)) {
                    case.push(unknown_key(
                        s,
                        &text,
                        start,
                        key,
                        &format!("`{kind}` validation"),
                    ));
                }
            }
            if let Some(Value::Object(t)) = v.get("thresholds") {
                let absent: Vec<&str> = ["quick", "standard", "deep"]
                    .into_iter()
                    .filter(|d| !t.contains_key(*d))
                    .collect();
                if !absent.is_empty() {
                    case.push(
                        Finding::new(
                            Level::Warning,
                            "thresholds",
                            format!(
                                "`{kind}` has no threshold for {}: the check fails at that depth",
                                absent.join(", ")
                            ),
                        )
                        .file(s.shown.clone())
                        .at(key_pos(&text, start, "thresholds")),
                    );
                }
            }
        }
    }
    // Paths that every run would refuse (absolute, leaving the repository).
    for (what, template) in contract_paths(&value) {
        if let Some(why) = unsafe_path(repo, &template) {
            case.push(
                Finding::new(
                    Level::Error,
                    "unsafe_path",
                    format!("{what} `{template}`: {why}"),
                )
                .file(s.shown.clone())
                .at(find_value(&text, &template))
                .hint("orch only reads and writes inside the repository: use a repo-relative path"),
            );
        }
    }
    // References are checked even when the rest of the contract has errors.
    let skills: Vec<RequiredSkill> = value
        .get("required_skills")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    for skill in &skills {
        for file in &skill.inject {
            let rel = format!("{}/{file}", skill.path.trim_end_matches('/'));
            if !s.base.join(&rel).is_file() {
                case.push(missing(
                    s,
                    "missing_skill",
                    format!("required skill file `{rel}` does not exist"),
                    "add the file or fix required_skills",
                ));
            }
        }
    }
    let scripts: Vec<PreScript> = value
        .get("pre_scripts")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    for script in scripts.iter().filter(|p| !p.path.contains('{')) {
        if !s.base.join(&script.path).is_file() {
            case.push(
                Finding::new(
                    Level::Warning,
                    "missing_pre_script",
                    format!(
                        "pre-script `{}` does not exist (gate finish records it as missing)",
                        script.path
                    ),
                )
                .file(s.shown.clone()),
            );
        }
    }
    (case, contract)
}

/// Every path template in a contract, with what it is.
fn contract_paths(value: &Value) -> Vec<(&'static str, String)> {
    // The strings at `key` of each object in the array at `pointer`.
    let at = |pointer: &str, key: &'static str| {
        value
            .pointer(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(move |item| match item.get(key) {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            })
    };
    let mut out = Vec::new();
    for group in ["/required_outputs/all_of", "/required_outputs/any_of"] {
        out.extend(at(group, "path").map(|p| ("required output", p)));
    }
    // `target` may also be a keyword naming the required outputs.
    let targets = at("/validations", "target").filter(|t| t != "any_of" && t != "all_required");
    out.extend(targets.map(|t| ("validation target", t)));
    out.extend(at("/validations", "targets").map(|t| ("validation target", t)));
    out.extend(at("/pre_scripts", "path").map(|t| ("pre-script", t)));
    out.extend(at("/required_skills", "path").map(|t| ("skill path", t)));
    out
}

/// Why a path template would be refused at run time (with sample values
/// for its variables), if it would.
fn unsafe_path(repo: &Repo, template: &str) -> Option<String> {
    let sample = template
        .replace("{slug}", "slug")
        .replace("{artifact_path}", "artifacts")
        .replace("{client_component}", "artifacts/Client.tsx");
    let lexical = repo.contain(&sample).err()?;
    Some(match lexical {
        crate::repo::PathError::Absolute(_) => "is an absolute path".to_string(),
        crate::repo::PathError::Escapes(_) => "leaves the repository".to_string(),
        other => other.to_string(),
    })
}

fn find_value(text: &str, value: &str) -> (usize, usize) {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    text.find(&quoted)
        .map_or((1, 1), |i| json::line_col(text, i))
}

fn unknown_key(s: &Source, text: &str, from: usize, key: &str, what: &str) -> Finding {
    Finding::new(
        Level::Warning,
        "unknown_key",
        format!("unknown key `{key}` in {what} (orch ignores it)"),
    )
    .file(s.shown.clone())
    .at(key_pos(text, from, key))
}

#[derive(Deserialize)]
struct WorkflowFragments<'a> {
    #[serde(default, borrow)]
    gates: Vec<&'a RawValue>,
}

fn lint_workflow(s: &Source, contracts: &[(Source, Option<Contract>)]) -> Case {
    let mut case = Case::new(s.shown.clone());
    let Some(text) = read(s, &mut case) else {
        return case;
    };
    let wf = match workflow::parse(&text, &s.shown) {
        Ok(wf) => wf,
        Err(e) => {
            case.push(Finding::from_error(Level::Error, "workflow", &e));
            return case;
        }
    };
    let Ok(value) = serde_json::from_str::<Value>(&text) else {
        return case;
    };
    let known = schema::top_level_fields("workflow");
    for key in value.as_object().into_iter().flat_map(|o| o.keys()) {
        if !known.iter().any(|k| k == key) {
            case.push(unknown_key(s, &text, 0, key, "workflow"));
        }
    }
    let gate_fields = gate_fields();
    let fragments = serde_json::from_str::<WorkflowFragments>(&text)
        .map(|f| f.gates)
        .unwrap_or_default();
    let prompts_dir = s.base.join(layout::PROMPTS_DIR);
    for (i, g) in wf.gates.iter().enumerate() {
        let start = fragments
            .get(i)
            .map_or(0, |f| json::fragment_offset(&text, f.get()));
        if let Some(Ok(Value::Object(obj))) = fragments
            .get(i)
            .map(|f| serde_json::from_str::<Value>(f.get()))
        {
            for key in obj.keys().filter(|k| !gate_fields.contains(k)) {
                case.push(unknown_key(
                    s,
                    &text,
                    start,
                    key,
                    &format!("gate `{}`", g.gate),
                ));
            }
        }
        let pos = json::line_col(&text, start);
        // `"contract": null`: the gate's command decides; nothing to find.
        if let Some(rel) = g.contract_file() {
            if let Some(why) =
                unsafe_path(&Repo::at(&s.base).unwrap_or_else(|_| dummy_repo()), &rel)
            {
                case.push(
                    Finding::new(
                        Level::Error,
                        "unsafe_path",
                        format!("gate `{}`: contract `{rel}` {why}", g.gate),
                    )
                    .file(s.shown.clone())
                    .at(pos),
                );
                continue;
            }
            let at_path = s.base.join(&rel);
            let linted = contracts
                .iter()
                .find(|(src, _)| src.path == at_path)
                .or_else(|| {
                    contracts.iter().find(|(src, c)| {
                        c.as_ref().is_some_and(|c| c.gate == g.gate)
                            || src.path.file_name() == at_path.file_name()
                    })
                });
            match (at_path.is_file(), linted) {
                (_, Some((_, Some(c)))) if c.gate != g.gate => case.push(
                    Finding::new(
                        Level::Error,
                        "contract_gate",
                        format!(
                            "gate `{}` points at a contract for gate `{}`",
                            g.gate, c.gate
                        ),
                    )
                    .file(s.shown.clone())
                    .at(pos),
                ),
                (true, _) | (false, Some(_)) => {}
                (false, None) => case.push(
                    missing(
                        s,
                        "missing_contract",
                        format!("gate `{}`: contract `{rel}` does not exist", g.gate),
                        "create the contract or fix the gate's `contract`",
                    )
                    .at(pos),
                ),
            }
        }
        if let Some(t) = &g.prompt_template {
            let p = prompts_dir.join(format!("{t}.md"));
            if !p.is_file() {
                let message = format!(
                    "gate `{}`: prompt template `{}` does not exist",
                    g.gate,
                    layout::prompt_template(t)
                );
                let finding = if s.inside_repo && prompts_dir.is_dir() {
                    Finding::new(Level::Error, "missing_prompt", message)
                        .hint("orch run needs it to write the gate's prompt packet")
                } else {
                    Finding::new(
                        Level::Warning,
                        "missing_prompt",
                        format!("{message} (orch run would stop at this gate)"),
                    )
                };
                case.push(finding.file(s.shown.clone()).at(pos));
            }
        }
    }
    // Recipes: skills that exist and are trusted enough for the gate's level.
    if let Ok(base) = Repo::at(&s.base) {
        let judge = crate::recipe::level::Judge::new(&base, None);
        let report = crate::recipe::check::validate(&base, &judge, &wf);
        for e in report.errors {
            case.push(
                Finding::new(Level::Error, "recipe", e)
                    .file(s.shown.clone())
                    .hint("`orch recipe validate` shows the workflow's skills and their trust"),
            );
        }
        for w in report.warnings {
            case.push(Finding::new(Level::Warning, "recipe", w).file(s.shown.clone()));
        }
    }
    case
}

/// A stand-in root for lexical checks when the base folder cannot be opened.
fn dummy_repo() -> Repo {
    Repo::at(Path::new("/")).expect("the root folder exists")
}

/// Keys a workflow gate may have (from the gate type's schema).
fn gate_fields() -> Vec<String> {
    let text = schema::render("workflow").unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or_default();
    v.pointer("/$defs/WorkflowGate/properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn lint_prompt(s: &Source) -> Case {
    let mut case = Case::new(s.shown.clone());
    let Some(text) = read(s, &mut case) else {
        return case;
    };
    let dummy: Vec<(&str, String)> = packet::PROMPT_VARIABLES
        .iter()
        .copied()
        .chain([packet::ANY_OUTPUTS])
        .map(|v| (v, String::new()))
        .collect();
    if let Err(e) = packet::render_template(&text, &s.shown, &dummy) {
        case.push(Finding::from_error(Level::Error, "template_variable", &e));
    }
    case
}

fn lint_skill(s: &Source) -> Case {
    let skill_md = s.path.join("SKILL.md");
    let mut case = Case::new(s.shown.clone());
    match crate::storage::regular::read_to_string(&skill_md) {
        Err(_) => {
            let folder = s
                .shown
                .strip_suffix("/SKILL.md")
                .unwrap_or(&s.shown)
                .to_string();
            case.push(
                Finding::new(
                    Level::Error,
                    "missing_skill",
                    format!("skill folder `{folder}` has no SKILL.md"),
                )
                .file(s.shown.clone())
                .hint("every skills/<id>/ folder holds a SKILL.md"),
            );
        }
        Ok(text) => {
            let doc = crate::skill::doc::parse(&text);
            for (line, why) in &doc.problems {
                case.push(
                    Finding::new(Level::Warning, "skill_format", why.clone())
                        .file(case.name.clone())
                        .at((*line, 1))
                        .hint("list items read `- name: type (required) - description`"),
                );
            }
            if let Some(t) = doc
                .meta("trust")
                .filter(|t| crate::skill::Trust::parse(t).is_none())
            {
                case.push(
                    Finding::new(
                        Level::Error,
                        "skill_trust",
                        format!("`trust: {t}` is not a level"),
                    )
                    .file(case.name.clone())
                    .hint("trust: community or experimental (it can lower a skill's level; only a signed vetting makes one vetted)"),
                );
            }
            let has_name = crate::validate::frontmatter::parse(&text)
                .is_ok_and(|f| f.iter().any(|(k, _)| k == "name"));
            if !has_name {
                case.push(
                    Finding::new(
                        Level::Warning,
                        "skill_frontmatter",
                        "SKILL.md has no frontmatter `name`",
                    )
                    .file(case.name.clone())
                    .at((1, 1))
                    .hint("start it with ---, name: …, ---"),
                );
            }
        }
    }
    case
}

/// notify.json parses and names its targets well; every line of
/// allowed_signers can be read (one that cannot allows nobody). The
/// working tree's copy is linted; approvals are checked against the copy
/// at the trusted revision.
fn lint_settings(s: &Source) -> Case {
    let mut case = Case::new(s.shown.clone());
    let Some(text) = read(s, &mut case) else {
        return case;
    };
    if s.path.file_name().is_some_and(|n| n == "notify.json") {
        if let Err(e) = crate::notify::Config::parse(&text, &s.shown) {
            case.push(Finding::from_error(Level::Error, "notify", &e));
        }
    } else if s.path.file_name().is_some_and(|n| n == "commands.json") {
        if let Err(e) = crate::quality::Commands::parse(&text, &s.shown) {
            case.push(Finding::from_error(Level::Error, "commands", &e));
        }
    } else {
        let signers = crate::approval::signers::AllowedSigners::parse(&text);
        for (line, why) in &signers.problems {
            case.push(
                Finding::new(Level::Error, "allowed_signers", why.clone())
                    .file(s.shown.clone())
                    .at((*line, 1)),
            );
        }
        if signers.signers.is_empty() && signers.problems.is_empty() {
            case.push(
                Finding::new(
                    Level::Warning,
                    "allowed_signers",
                    "lists nobody: no approval can verify",
                )
                .file(s.shown.clone()),
            );
        }
    }
    case
}

fn lint_validator(s: &Source, used: &BTreeSet<String>) -> Case {
    let mut case = Case::new(s.shown.clone());
    let name = s
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    if !is_safe_component(&name) {
        case.push(
            Finding::new(
                Level::Error,
                "validator_name",
                format!("`{name}` cannot be a validation type name"),
            )
            .file(s.shown.clone()),
        );
    }
    if BUILTIN_TYPES.contains(&name.as_str()) {
        case.push(
            Finding::new(
                Level::Warning,
                "validator_shadowed",
                format!("`{name}` is a built-in type; this plugin is never used"),
            )
            .file(s.shown.clone()),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let executable =
            std::fs::metadata(&s.path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
        if !executable {
            case.push(
                Finding::new(
                    Level::Error,
                    "validator_not_executable",
                    format!("validator `{name}` is not executable"),
                )
                .file(s.shown.clone())
                .hint(format!("chmod +x {}", s.shown)),
            );
        }
    }
    if !used.contains(&name) && !BUILTIN_TYPES.contains(&name.as_str()) {
        case.push(
            Finding::new(
                Level::Warning,
                "validator_unused",
                format!("no linted contract uses type `{name}`"),
            )
            .file(s.shown.clone()),
        );
    }
    case
}
