//! Evaluating a contract against the working tree: resolve the required
//! outputs, run every validation, hash every output that exists. The same
//! evaluation serves `gate finish` (which records it) and `gate check`
//! (which only reports it), so the two can never disagree.

pub mod artifacts;
pub mod frontmatter;
pub mod metric;
pub mod plugin;
pub mod sources;
pub mod url;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde_json::{Value, json};

use crate::contract::template::{TemplateError, Vars};
use crate::contract::{
    Check, Contract, Depth, FileTarget, OutputSpec, Severity, Thresholds, Validation,
};
use crate::error::{Error, Result};
use crate::record::{Artifact, ValidationResult};
use crate::repo::{Repo, RepoPath};
use crate::{env, hash};

/// What an evaluation needs to know about the run.
pub struct Context<'a> {
    pub repo: &'a Repo,
    pub vars: &'a Vars<'a>,
    pub depth: Depth,
    /// Skip `url_reachable` (recorded as skipped, shown as a warning).
    pub offline: bool,
    /// Hash the outputs (`verify` re-checks contracts and hashes separately).
    pub hash_outputs: bool,
    /// The run being checked, for checks about it (`artifact_exists`);
    /// `None` for `gate check`, which has no run.
    pub run: Option<&'a crate::record::RunRecord>,
}

/// Which list of `required_outputs` an output is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    AllOf,
    AnyOf,
}

/// One required output, resolved.
#[derive(Clone, Debug)]
pub struct Output {
    pub template: String,
    /// Repo-relative path, or the template when it cannot be resolved.
    pub path: String,
    pub group: Group,
    pub required: bool,
    pub exists: bool,
    /// Regular files it stands for: itself, the files under a directory, or
    /// the matches of a glob.
    pub files: Vec<RepoPath>,
    /// Why it could not be resolved (no client component).
    pub problem: Option<String>,
}

/// The result of evaluating a contract.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub outputs: Vec<Output>,
    pub results: Vec<ValidationResult>,
    pub artifacts: Vec<Artifact>,
    pub passed: bool,
    pub failure_reason: Option<String>,
    /// Quality checks, when they ran (`gate finish`, `orch run`).
    pub quality: Vec<crate::record::QualityCheckResult>,
}

impl Evaluation {
    /// Checks and quality checks that failed without failing the gate.
    pub fn warnings(&self) -> usize {
        self.results.iter().filter(|r| r.is_warning()).count()
            + self.quality.iter().filter(|q| q.warned()).count()
    }
}

/// Evaluates `contract`. Errors are problems with the contract or the
/// paths it names (exit 2), not failed checks.
pub fn evaluate(contract: &Contract, ctx: &Context) -> Result<Evaluation> {
    let outputs = resolve_outputs(contract, ctx)?;
    let eval = Evaluator {
        ctx,
        contract,
        outputs: &outputs,
        cache: RefCell::new(HashMap::new()),
    };
    let mut results = eval.implicit_checks();
    for v in &contract.validations {
        if crate::interrupt::requested() {
            return Err(Error::Interrupted);
        }
        results.push(eval.run(v)?);
    }
    let artifacts = if ctx.hash_outputs {
        hash_outputs(ctx.repo, &outputs)?
    } else {
        Vec::new()
    };
    let failures: Vec<String> = results
        .iter()
        .filter(|r| r.is_blocking_failure())
        .map(|r| format!("{}: {}", r.kind, r.reason.as_deref().unwrap_or("failed")))
        .collect();
    Ok(Evaluation {
        passed: failures.is_empty(),
        failure_reason: (!failures.is_empty()).then(|| failures.join("; ")),
        outputs,
        results,
        artifacts,
        quality: Vec::new(),
    })
}

fn has_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The contract's required outputs, resolved against the working tree.
pub fn resolve_outputs(contract: &Contract, ctx: &Context) -> Result<Vec<Output>> {
    let entries = contract
        .required_outputs
        .all_of
        .iter()
        .map(|o| (o, Group::AllOf))
        .chain(
            contract
                .required_outputs
                .any_of
                .iter()
                .map(|o| (o, Group::AnyOf)),
        );
    entries
        .map(|(spec, group)| resolve_output(spec, group, ctx))
        .collect()
}

fn resolve_output(spec: &OutputSpec, group: Group, ctx: &Context) -> Result<Output> {
    let required = group == Group::AllOf && spec.required_at(ctx.depth);
    let mut out = Output {
        template: spec.path.clone(),
        path: spec.path.clone(),
        group,
        required,
        exists: false,
        files: Vec::new(),
        problem: None,
    };
    let expanded = match ctx.vars.expand(&spec.path) {
        Ok(p) => p,
        Err(TemplateError::NoClientComponent(dir)) => {
            out.problem = Some(TemplateError::NoClientComponent(dir).to_string());
            return Ok(out);
        }
        Err(e) => return Err(template_error(e, "required output")),
    };
    if has_glob(&expanded) {
        let base = ctx
            .repo
            .contain(&expanded)
            .map_err(|e| e.into_error("required output"))?;
        out.path.clone_from(&base.rel);
        // The root is taken literally (it may hold `[`, `*` or `?`); only
        // the contract's part is a pattern.
        let root = glob::Pattern::escape(&ctx.repo.root().to_string_lossy());
        let pattern = format!("{root}/{}", base.rel);
        let matches = glob::glob(&pattern).map_err(|e| {
            Error::input(format!(
                "required output `{}` is not a valid glob: {e}",
                spec.path
            ))
            .hint("in a glob, `*` matches any run of characters and `[` opens a set: write `[[]` for a literal `[`")
        })?;
        refuse_unnamed_matches(ctx.repo, &base.rel)?;
        for m in matches.flatten() {
            let rel = text_path(ctx.repo, &m, &base.rel)?;
            let file = ctx
                .repo
                .contain(&rel)
                .map_err(|e| e.into_error("required output"))?;
            if file.abs.is_file() {
                out.files.push(file);
            }
        }
        out.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        out.exists = !out.files.is_empty();
        return Ok(out);
    }
    let path = ctx
        .repo
        .contain(&expanded)
        .map_err(|e| e.into_error("required output"))?;
    out.path.clone_from(&path.rel);
    if path.abs.is_file() {
        out.exists = true;
        out.files.push(path);
    } else if path.abs.is_dir() {
        out.exists = true;
        out.files = files_under(ctx.repo, &path)?;
    }
    Ok(out)
}

/// Regular files under a directory output, sorted, each proven inside the repository.
/// The repo-relative path of a file an output stands for. Records hold
/// paths as text, so a name that is not UTF-8 is an error, never a file
/// silently left out of the hashes.
fn text_path(repo: &Repo, path: &std::path::Path, output: &str) -> Result<String> {
    if path.to_str().is_none() {
        return Err(Error::input(format!(
            "output `{output}` holds a file whose name is not UTF-8: {}",
            crate::ui::sanitize_line(&path.to_string_lossy())
        ))
        .hint("orch records paths as text: rename the file"));
    }
    repo.relative(path).ok_or_else(|| {
        Error::input(format!("output `{output}` leads outside the repository"))
            .hint("orch only reads, hashes and writes files inside the repository")
    })
}

/// The glob crate passes over names that are not UTF-8 without a word: a
/// file the pattern would match must not be left out of the hashes
/// silently, so such names are found here and refused (as `text_path`
/// refuses them under a directory output).
fn refuse_unnamed_matches(repo: &Repo, pattern: &str) -> Result<()> {
    let parts: Vec<&str> = pattern.split('/').collect();
    let literal = parts.iter().take_while(|p| !has_glob(p)).count();
    let base = repo.root().join(parts[..literal].join("/"));
    let rest = &parts[literal..];
    let Ok(matcher) = glob::Pattern::new(&rest.join("/")) else {
        return Ok(()); // glob reports the bad pattern itself
    };
    crate::storage::watch::saw(&base);
    let depth = if rest.contains(&"**") {
        usize::MAX
    } else {
        rest.len()
    };
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::new()
    };
    for entry in walkdir::WalkDir::new(&base)
        .min_depth(1)
        .max_depth(depth)
        .into_iter()
        .flatten()
    {
        if entry.file_type().is_dir() {
            crate::storage::watch::saw(entry.path());
        }
        let Ok(rel) = entry.path().strip_prefix(&base) else {
            continue;
        };
        if rel.to_str().is_none() && matcher.matches_with(&rel.to_string_lossy(), options) {
            text_path(repo, entry.path(), pattern)?;
        }
    }
    Ok(())
}

fn files_under(repo: &Repo, dir: &RepoPath) -> Result<Vec<RepoPath>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&dir.abs).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::read(&dir.rel, e.into()))?;
        if entry.file_type().is_dir() {
            crate::storage::watch::saw(entry.path());
            continue;
        }
        let rel = text_path(repo, entry.path(), &dir.rel)?;
        let file = repo
            .contain(&rel)
            .map_err(|e| e.into_error("output file"))?;
        if file.abs.is_file() {
            files.push(file);
        }
    }
    Ok(files)
}

fn hash_outputs(repo: &Repo, outputs: &[Output]) -> Result<Vec<Artifact>> {
    let mut seen = std::collections::HashSet::new();
    let files: Vec<&RepoPath> = outputs
        .iter()
        .flat_map(|o| &o.files)
        .filter(|f| seen.insert(f.rel.clone()))
        .collect();
    let paths: Vec<PathBuf> = files.iter().map(|f| f.abs.clone()).collect();
    let hashes = hash::files(&paths);
    files
        .iter()
        .zip(hashes)
        .map(|(f, h)| {
            let sha = h.map_err(|e| Error::read(&f.rel, e))?;
            let size = std::fs::metadata(&f.abs).map_or(0, |m| m.len());
            let _ = repo;
            Ok(Artifact::new(f.rel.clone(), sha, size))
        })
        .collect()
}

fn template_error(e: TemplateError, what: &str) -> Error {
    match e {
        TemplateError::Unsafe(p) => p.into_error(what),
        TemplateError::NoClientComponent(dir) => Error::input(format!(
            "{what}: {}",
            TemplateError::NoClientComponent(dir.clone())
        ))
        .hint(format!(
            "{{client_component}} is the first file in `{dir}` whose name ends in Client.tsx or Client.jsx: write it first"
        )),
        other @ TemplateError::Unknown(_) => Error::input(format!("{what}: {other}")).hint(format!(
            "known variables: {}",
            crate::contract::template::VARIABLES.map(|v| format!("{{{v}}}")).join(", ")
        )),
    }
}

/// A content check's file: found (perhaps via the any_of fallback) or missing.
enum Target {
    File {
        path: RepoPath,
        fallback_from: Option<String>,
    },
    Missing {
        shown: String,
        why: String,
    },
}

struct Evaluator<'a> {
    ctx: &'a Context<'a>,
    contract: &'a Contract,
    outputs: &'a [Output],
    cache: RefCell<HashMap<PathBuf, Rc<str>>>,
}

impl Evaluator<'_> {
    /// Required outputs are checked even when no `file_exists` lists them.
    fn implicit_checks(&self) -> Vec<ValidationResult> {
        let listed = |t: &FileTarget| {
            self.contract
                .validations
                .iter()
                .any(|v| matches!(&v.check, Check::FileExists(x) if x == t))
        };
        let mut out = Vec::new();
        if self
            .outputs
            .iter()
            .any(|o| o.group == Group::AllOf && o.required)
            && !listed(&FileTarget::AllRequired)
        {
            let mut r = self.all_required(
                Severity::Error,
                Some("required outputs (always checked)".into()),
            );
            r.details.insert("implicit".into(), json!(true));
            out.push(r);
        }
        if self.outputs.iter().any(|o| o.group == Group::AnyOf) && !listed(&FileTarget::AnyOf) {
            let mut r = self.any_of(
                Severity::Error,
                Some("one of the any_of outputs (always checked)".into()),
            );
            r.details.insert("implicit".into(), json!(true));
            out.push(r);
        }
        out
    }

    fn all_required(&self, severity: Severity, description: Option<String>) -> ValidationResult {
        let mut r = ValidationResult::new("file_exists", severity, description);
        r.details.insert("target".into(), json!("all_required"));
        let required: Vec<&Output> = self
            .outputs
            .iter()
            .filter(|o| o.group == Group::AllOf && o.required)
            .collect();
        let missing: Vec<String> = required
            .iter()
            .filter(|o| !o.exists)
            .map(|o| describe_missing(o))
            .collect();
        r.details.insert(
            "checked".into(),
            json!(
                required
                    .iter()
                    .map(|o| json!({"path": o.path, "exists": o.exists}))
                    .collect::<Vec<_>>()
            ),
        );
        r.pass = missing.is_empty();
        r.reason = Some(if r.pass {
            match required.len() {
                0 => "no output is required at this depth".to_string(),
                1 => format!("{} exists", required[0].path),
                n => format!("all {n} required outputs exist"),
            }
        } else {
            format!("missing {}", missing.join(", "))
        });
        r
    }

    fn any_of(&self, severity: Severity, description: Option<String>) -> ValidationResult {
        let mut r = ValidationResult::new("file_exists", severity, description);
        r.details.insert("target".into(), json!("any_of"));
        let candidates: Vec<&Output> = self
            .outputs
            .iter()
            .filter(|o| o.group == Group::AnyOf)
            .collect();
        r.details.insert(
            "checked".into(),
            json!(
                candidates
                    .iter()
                    .map(|o| json!({"path": o.path, "exists": o.exists}))
                    .collect::<Vec<_>>()
            ),
        );
        match candidates.iter().find(|o| o.exists) {
            Some(found) => {
                r.pass = true;
                r.path = Some(found.path.clone());
                r.reason = Some(format!("found {}", found.path));
            }
            None if candidates.is_empty() => {
                r.reason = Some("the contract lists no any_of outputs".into());
            }
            None => {
                r.reason = Some(format!(
                    "none of {} exists",
                    candidates
                        .iter()
                        .map(|o| describe_missing(o))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        r
    }

    fn read(&self, path: &RepoPath) -> Result<Rc<str>> {
        if let Some(text) = self.cache.borrow().get(&path.abs) {
            return Ok(Rc::clone(text));
        }
        let bytes =
            crate::storage::regular::read(&path.abs).map_err(|e| Error::read(&path.rel, e))?;
        let text: Rc<str> = Rc::from(String::from_utf8_lossy(&bytes).as_ref());
        self.cache
            .borrow_mut()
            .insert(path.abs.clone(), Rc::clone(&text));
        Ok(text)
    }

    /// Resolves a content check's file, falling back to the first existing
    /// any_of output when the named one does not exist (FORMATS.md).
    fn target(&self, template: &str) -> Result<Target> {
        let (shown, why) = match self.ctx.vars.path(template) {
            Ok(p) if p.abs.is_file() => {
                return Ok(Target::File {
                    path: p,
                    fallback_from: None,
                });
            }
            Ok(p) if p.abs.exists() => (p.rel.clone(), format!("{} is not a file", p.rel)),
            Ok(p) => (p.rel, "file not found".to_string()),
            Err(TemplateError::NoClientComponent(dir)) => (
                template.to_string(),
                TemplateError::NoClientComponent(dir).to_string(),
            ),
            Err(e) => return Err(template_error(e, "validation target")),
        };
        for o in self
            .outputs
            .iter()
            .filter(|o| o.group == Group::AnyOf && o.exists)
        {
            if let Some(f) = o.files.first().filter(|f| f.rel == o.path) {
                return Ok(Target::File {
                    path: f.clone(),
                    fallback_from: Some(shown),
                });
            }
        }
        Ok(Target::Missing { shown, why })
    }

    fn run(&self, v: &Validation) -> Result<ValidationResult> {
        let mut r = ValidationResult::new(v.check.type_name(), v.severity, v.description.clone());
        match &v.check {
            Check::FileExists(FileTarget::AnyOf) => {
                return Ok(self.any_of(v.severity, v.description.clone()));
            }
            Check::FileExists(FileTarget::AllRequired) => {
                return Ok(self.all_required(v.severity, v.description.clone()));
            }
            Check::FileExists(FileTarget::Path(t)) => match self.ctx.vars.path(t) {
                Ok(p) => {
                    r.pass = p.abs.exists();
                    r.reason = Some(if r.pass {
                        format!("{} exists", p.rel)
                    } else {
                        format!("{} not found", p.rel)
                    });
                    r.path = Some(p.rel);
                }
                Err(TemplateError::NoClientComponent(dir)) => {
                    r.path = Some(t.clone());
                    r.reason = Some(TemplateError::NoClientComponent(dir).to_string());
                }
                Err(e) => return Err(template_error(e, "validation target")),
            },
            Check::DirExists { target } => {
                let p = self
                    .ctx
                    .vars
                    .path(target)
                    .map_err(|e| template_error(e, "validation target"))?;
                r.pass = p.abs.is_dir();
                r.reason = Some(if r.pass {
                    format!("{} is a directory", p.rel)
                } else if p.abs.exists() {
                    format!("{} is not a directory", p.rel)
                } else {
                    format!("{} not found", p.rel)
                });
                r.path = Some(p.rel);
            }
            Check::MinFileCount {
                target,
                pattern,
                thresholds,
            } => {
                let p = self
                    .ctx
                    .vars
                    .path(target)
                    .map_err(|e| template_error(e, "validation target"))?;
                r.path = Some(p.rel.clone());
                r.details.insert("pattern".into(), json!(pattern.as_str()));
                if p.abs.is_dir() {
                    let count = std::fs::read_dir(&p.abs)
                        .map_err(|e| Error::read(&p.rel, e))?
                        .flatten()
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                        .filter(|e| pattern.matches(&e.file_name().to_string_lossy()))
                        .count();
                    let noun = format!("files matching `{}`", pattern.as_str());
                    self.threshold(&mut r, thresholds, count as u64, &noun);
                } else {
                    r.reason = Some(format!("directory {} not found", p.rel));
                }
            }
            Check::MinSources { target, thresholds } => {
                if let Some(path) = self.file_or_fail(&mut r, target)? {
                    let counted = sources::count(&self.read(&path)?);
                    r.details
                        .insert("counted_by".into(), json!(counted.method()));
                    self.threshold(&mut r, thresholds, counted.best() as u64, "sources");
                }
            }
            Check::MinSourcesAnyOf {
                targets,
                thresholds,
            } => self.min_sources_any_of(&mut r, targets, thresholds)?,
            Check::ContainsHeadings {
                target, headings, ..
            } => {
                if let Some(path) = self.file_or_fail(&mut r, target)? {
                    let text = self.read(&path)?;
                    let missing: Vec<&String> = headings
                        .iter()
                        .filter(|h| !text.contains(h.as_str()))
                        .collect();
                    r.details.insert("missing".into(), json!(missing));
                    r.pass = missing.is_empty();
                    r.reason = Some(if r.pass {
                        format!("all {} headings present", headings.len())
                    } else {
                        format!("missing {}", quote_list(&missing))
                    });
                }
            }
            Check::ContainsText { target, patterns } => {
                if let Some(path) = self.file_or_fail(&mut r, target)? {
                    let text = self.read(&path)?;
                    let wanted: Vec<String> =
                        patterns.iter().map(|p| self.ctx.vars.text(p)).collect();
                    let missing: Vec<&String> = wanted
                        .iter()
                        .filter(|p| !text.contains(p.as_str()))
                        .collect();
                    r.details.insert("patterns".into(), json!(wanted));
                    r.details.insert("missing".into(), json!(missing));
                    r.pass = missing.is_empty();
                    r.reason = Some(if r.pass {
                        format!("all {} strings present", wanted.len())
                    } else {
                        format!("missing {}", quote_list(&missing))
                    });
                }
            }
            Check::NotContains {
                target,
                pattern,
                missing_ok,
            } => {
                let pattern = self.ctx.vars.text(pattern);
                r.details.insert("pattern".into(), json!(pattern));
                match self.target(target)? {
                    Target::Missing { shown, why } if *missing_ok => {
                        r.path = Some(shown);
                        r.pass = true;
                        r.reason = Some(format!("{why} (missing_ok)"));
                    }
                    Target::Missing { shown, why } => {
                        r.path = Some(shown);
                        r.reason = Some(why);
                    }
                    Target::File {
                        path,
                        fallback_from,
                    } => {
                        note_fallback(&mut r, &path, fallback_from);
                        let text = self.read(&path)?;
                        let found = text.find(pattern.as_str());
                        r.details.insert("found".into(), json!(found.is_some()));
                        r.pass = found.is_none();
                        r.reason = Some(match found {
                            None => format!("`{pattern}` not found"),
                            Some(at) => format!("found `{pattern}` at line {}", line_of(&text, at)),
                        });
                    }
                }
            }
            Check::RegexMatch {
                target,
                regex,
                must_not_match,
            } => {
                r.details.insert("regex".into(), json!(regex.as_str()));
                r.details
                    .insert("must_not_match".into(), json!(must_not_match));
                if let Some(path) = self.file_or_fail(&mut r, target)? {
                    let text = self.read(&path)?;
                    let found = regex.find(&text);
                    r.details.insert("matched".into(), json!(found.is_some()));
                    r.pass = found.is_some() != *must_not_match;
                    r.reason = Some(match (found, must_not_match) {
                        (Some(m), false) => {
                            format!("matches at line {}", line_of(&text, m.start()))
                        }
                        (None, false) => format!("no match for /{}/", regex.as_str()),
                        (None, true) => "no match, as required".to_string(),
                        (Some(m), true) => format!(
                            "matched `{}` at line {}, which is not allowed",
                            excerpt(m.as_str()),
                            line_of(&text, m.start())
                        ),
                    });
                }
            }
            Check::MinRegexCount {
                target,
                regex,
                min_count,
            } => {
                r.details.insert("regex".into(), json!(regex.as_str()));
                r.details.insert("min_count".into(), json!(min_count));
                if let Some(path) = self.file_or_fail(&mut r, target)? {
                    let count = regex.find_iter(&self.read(&path)?).count() as u64;
                    r.details.insert("actual_count".into(), json!(count));
                    r.pass = count >= *min_count;
                    r.reason = Some(if r.pass {
                        format!("{count} matches ≥ {min_count}")
                    } else {
                        format!(
                            "{count} matches of /{}/, need at least {min_count}",
                            regex.as_str()
                        )
                    });
                }
            }
            Check::FrontmatterStatus { target, checks } => {
                if let Some(path) = self.file_or_fail(&mut r, target)? {
                    match frontmatter::parse(&self.read(&path)?) {
                        Err(why) => r.reason = Some(why.to_string()),
                        Ok(fields) => {
                            r.details.insert(
                                "fields".into(),
                                Value::Object(
                                    fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect(),
                                ),
                            );
                            let outcomes: Vec<_> = checks
                                .iter()
                                .map(|(k, c)| frontmatter::check(&fields, k, c))
                                .collect();
                            let failed: Vec<&String> =
                                outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
                            r.pass = failed.is_empty();
                            r.reason = Some(if r.pass {
                                outcomes
                                    .iter()
                                    .filter_map(|o| o.as_ref().ok())
                                    .cloned()
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            } else {
                                failed
                                    .iter()
                                    .map(|s| s.as_str())
                                    .collect::<Vec<_>>()
                                    .join("; ")
                            });
                        }
                    }
                }
            }
            Check::UrlReachable {
                target,
                url_pattern,
                max_failures,
                sample_size,
            } => self.url_reachable(
                &mut r,
                target,
                url_pattern.as_ref(),
                *max_failures,
                *sample_size,
            )?,
            Check::MetricThreshold {
                source,
                at,
                operator,
                threshold,
            } => {
                if let Some(path) = self.file_or_fail(&mut r, source)? {
                    metric::check(&mut r, &path, &self.read(&path)?, at, *operator, *threshold);
                }
            }
            Check::ArtifactExists {
                artifact_type,
                label,
            } => artifacts::check(
                &mut r,
                self.ctx.run,
                self.ctx.repo,
                *artifact_type,
                label.as_deref(),
            ),
            Check::Plugin { program, .. } => {
                let verdict = plugin::run(
                    program,
                    v,
                    self.ctx.vars,
                    self.ctx.depth,
                    &self.contract.gate,
                    self.ctx.repo.root(),
                );
                r.pass = verdict.pass;
                // A plugin's answer goes into the record: keep it repo-relative.
                let repo = self.ctx.repo;
                r.reason = Some(repo.scrub(&verdict.reason));
                r.path = verdict.path.and_then(|p| {
                    if Path::new(&p).is_absolute() {
                        repo.relative(Path::new(&p))
                    } else {
                        Some(p)
                    }
                });
                r.details = verdict
                    .details
                    .into_iter()
                    .map(|(k, v)| (k, scrub_value(repo, v)))
                    .collect();
            }
        }
        Ok(r)
    }

    /// Sets `path`; on a missing file records why and returns None.
    fn file_or_fail(&self, r: &mut ValidationResult, template: &str) -> Result<Option<RepoPath>> {
        match self.target(template)? {
            Target::File {
                path,
                fallback_from,
            } => {
                note_fallback(r, &path, fallback_from);
                Ok(Some(path))
            }
            Target::Missing { shown, why } => {
                r.path = Some(shown);
                r.reason = Some(why);
                Ok(None)
            }
        }
    }

    fn threshold(&self, r: &mut ValidationResult, thresholds: &Thresholds, count: u64, noun: &str) {
        let depth = self.ctx.depth;
        r.details.insert("count".into(), json!(count));
        r.details.insert("depth".into(), json!(depth));
        let Some(threshold) = thresholds.get(depth) else {
            r.reason = Some(format!(
                "the contract gives no threshold for depth `{depth}`"
            ));
            return;
        };
        r.details.insert("threshold".into(), json!(threshold));
        r.pass = count >= threshold;
        r.reason = Some(if r.pass {
            format!("{count} {noun} ≥ {threshold} ({depth})")
        } else {
            format!("{count} {noun}, need at least {threshold} ({depth})")
        });
    }

    fn min_sources_any_of(
        &self,
        r: &mut ValidationResult,
        targets: &[String],
        thresholds: &Thresholds,
    ) -> Result<()> {
        let mut checked = Vec::new();
        let mut best: Option<(String, sources::SourceCount)> = None;
        for t in targets {
            match self.ctx.vars.path(t) {
                Ok(p) if p.abs.is_file() => {
                    let c = sources::count(&self.read(&p)?);
                    checked.push(json!({"path": p.rel, "exists": true, "count": c.best()}));
                    if best.as_ref().is_none_or(|(_, b)| c.best() > b.best()) {
                        best = Some((p.rel, c));
                    }
                }
                Ok(p) => checked.push(json!({"path": p.rel, "exists": false})),
                Err(TemplateError::NoClientComponent(_)) => {
                    checked.push(json!({"path": t, "exists": false}));
                }
                Err(e) => return Err(template_error(e, "validation target")),
            }
        }
        r.details.insert("checked".into(), Value::Array(checked));
        match best {
            Some((path, count)) => {
                r.details.insert("matched".into(), json!(path));
                r.details.insert("counted_by".into(), json!(count.method()));
                r.path = Some(path);
                self.threshold(r, thresholds, count.best() as u64, "sources");
            }
            None => r.reason = Some("none of the source files exists".into()),
        }
        Ok(())
    }

    fn url_reachable(
        &self,
        r: &mut ValidationResult,
        target: &str,
        pattern: Option<&regex::Regex>,
        max_failures: u64,
        sample_size: Option<usize>,
    ) -> Result<()> {
        let Some(path) = self.file_or_fail(r, target)? else {
            return Ok(());
        };
        let text = self.read(&path)?;
        let default_pattern;
        let pattern = if let Some(p) = pattern {
            p
        } else {
            default_pattern =
                regex::Regex::new(r#"https://[^\s"'<>()\[\]{}`]+"#).expect("valid regex");
            &default_pattern
        };
        let mut urls: Vec<String> = Vec::new();
        for m in pattern.find_iter(&text) {
            if !urls.iter().any(|u| u == m.as_str()) {
                urls.push(m.as_str().to_string());
            }
        }
        let total = urls.len();
        if let Some(n) = sample_size {
            urls.truncate(n);
        }
        r.details.insert("total_urls".into(), json!(total));
        r.details.insert("max_failures".into(), json!(max_failures));
        if self.ctx.offline {
            r.skipped = true;
            r.pass = true;
            r.details.insert("checked".into(), json!(0));
            r.reason = Some(format!(
                "skipped (offline): {} URL(s) not checked",
                urls.len()
            ));
            return Ok(());
        }
        let outcomes = url::check_all(&urls, env::seconds(env::URL_TIMEOUT, 10.0));
        let failed: Vec<&url::UrlOutcome> = outcomes.iter().filter(|o| !o.ok).collect();
        r.details.insert("checked".into(), json!(outcomes.len()));
        r.details
            .insert("ok".into(), json!(outcomes.len() - failed.len()));
        r.details.insert(
            "failed".into(),
            json!(
                failed
                    .iter()
                    .map(|o| json!({"url": o.url, "status": o.status, "error": o.error}))
                    .collect::<Vec<_>>()
            ),
        );
        r.pass = failed.len() as u64 <= max_failures;
        r.reason = Some(if failed.is_empty() {
            format!("{} of {} URLs reachable", outcomes.len(), outcomes.len())
        } else {
            format!(
                "{} of {} URLs failed (max {max_failures}): {}",
                failed.len(),
                outcomes.len(),
                failed
                    .iter()
                    .map(|o| o.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
        Ok(())
    }
}

/// Scrubs machine paths from every string in a JSON value.
fn scrub_value(repo: &Repo, v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(repo.scrub(&s)),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|x| scrub_value(repo, x)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, x)| (k, scrub_value(repo, x)))
                .collect(),
        ),
        other => other,
    }
}

fn note_fallback(r: &mut ValidationResult, path: &RepoPath, fallback_from: Option<String>) {
    r.path = Some(path.rel.clone());
    if let Some(from) = fallback_from {
        r.details.insert("fallback_from".into(), json!(from));
    }
}

fn describe_missing(o: &Output) -> String {
    match &o.problem {
        Some(p) => format!("{} ({p})", o.path),
        None => o.path.clone(),
    }
}

fn quote_list(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].bytes().filter(|&b| b == b'\n').count() + 1
}

fn excerpt(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > 60 {
        format!("{}…", one_line.chars().take(60).collect::<String>())
    } else {
        one_line
    }
}
