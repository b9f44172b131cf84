//! `orch skill …`: the skills catalog on the command line.

use std::fmt::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::ops::skill::{self as ops, Judged, VetOptions};
use crate::repo::Repo;
use crate::report::pad;
use crate::skill::source::{ImportOptions, Imported};
use crate::skill::{Declared, Trust};
use crate::ui::{Style, Ui, sanitize_line};
use crate::{exit, json};

#[derive(Debug, Args)]
pub struct SkillCommand {
    #[command(subcommand)]
    pub action: SkillAction,
}

#[derive(Debug, Subcommand)]
pub enum SkillAction {
    /// List the skills in skills/, with their trust level.
    ///
    /// A skill is vetted only while a signed vetting by someone
    /// orchestration/allowed_signers allows (at the trusted revision)
    /// matches its current content; else it has its declared level.
    List(ListArgs),
    /// Show one skill: what its SKILL.md says, its content hash and files,
    /// its trust and why, its vettings, and the gates that use it.
    Show(ShowArgs),
    /// Vet a skill: sign its current content hash with your SSH key.
    ///
    /// The vetting (orchestration/skills/vettings/<id>/…) counts only for
    /// these exact bytes: edit one and the skill drops to its declared
    /// level until it is vetted again. Refused unless your key and email
    /// are in allowed_signers at the trusted revision, and inside an agent
    /// that orch started.
    Vet(VetArgs),
    /// Copy a skill from a folder or a git repository into skills/<id>/.
    ///
    /// A git source (a URL, a local repository, or anything with --rev or
    /// --path) is pinned to the commit it resolved to, with the content
    /// hash, in orchestration/skills/sources/<id>.json. Importing never
    /// vets: the skill is community (or --trust experimental) until a
    /// person vets it.
    Import(ImportArgs),
    /// Fetch an imported skill's source again and show what changed.
    Update(UpdateArgs),
}

/// `--trust` for listing.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TrustArg {
    Vetted,
    Community,
    Experimental,
}

impl From<TrustArg> for Trust {
    fn from(t: TrustArg) -> Trust {
        match t {
            TrustArg::Vetted => Trust::Vetted,
            TrustArg::Community => Trust::Community,
            TrustArg::Experimental => Trust::Experimental,
        }
    }
}

/// `--trust` for importing (importing never vets).
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DeclaredArg {
    Community,
    Experimental,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only skills with this tag (## Tags in SKILL.md).
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Only skills at this level.
    #[arg(long, value_enum)]
    pub trust: Option<TrustArg>,
    #[command(flatten)]
    pub trusted: super::approve::TrustArgs,
    /// Print the skills as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The skill's id (its folder under skills/).
    pub id: String,
    #[command(flatten)]
    pub trusted: super::approve::TrustArgs,
    /// Print the skill as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VetArgs {
    /// The skill's id.
    pub id: String,
    /// The SSH key to sign with (default: git's user.signingkey).
    #[arg(long, value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// What you checked, kept (and signed) with the vetting.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
    #[command(flatten)]
    pub trusted: super::approve::TrustArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A folder holding SKILL.md, a git URL, or a local git repository.
    pub source: String,
    /// The id to import it as (default: the last part of its path or URL).
    #[arg(long)]
    pub id: Option<String>,
    /// For a git source: the branch, tag or commit (default HEAD).
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// For a git source: the skill's folder inside the repository.
    #[arg(long, value_name = "DIR")]
    pub path: Option<String>,
    /// The level it starts at (it is never vetted by importing).
    #[arg(long, value_enum, default_value_t = DeclaredArg::Community)]
    pub trust: DeclaredArg,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The imported skill's id.
    pub id: String,
    /// For a git source: fetch this revision instead of the one it was imported at.
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// Show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn execute(cmd: SkillCommand, repo: &Repo, ui: &Ui) -> Result<u8> {
    match cmd.action {
        SkillAction::List(args) => list(&args, repo, ui),
        SkillAction::Show(args) => show(&args, repo, ui),
        SkillAction::Vet(args) => vet(args, repo, ui),
        SkillAction::Import(args) => import(args, repo, ui),
        SkillAction::Update(args) => update(&args, repo, ui),
    }
}

fn summary_json(j: &Judged) -> Value {
    let s = &j.skill;
    json!({
        "id": s.id,
        "name": s.doc.name(),
        "description": s.doc.description,
        "version": s.doc.meta("version"),
        "tags": s.doc.tags,
        "trust": j.assessment.level,
        "declared_trust": j.assessment.declared,
        "trust_reason": j.assessment.why,
        "content_sha256": s.content.sha256,
        "source": s.origin(),
    })
}

fn list(args: &ListArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let (items, warnings) = ops::list(
        repo,
        args.tag.as_deref(),
        args.trust.map(Trust::from),
        args.trusted.trusted_rev.as_deref(),
    )?;
    let mut ok = Vec::new();
    for item in items {
        match item {
            Ok(j) => ok.push(j),
            Err(e) => ui.warn(&format!("skipping a skill: {e}")),
        }
    }
    if ok.iter().any(|j| !j.assessment.vettings.is_empty()) {
        for w in &warnings {
            ui.warn(w);
        }
    }
    if args.json {
        ui.out(&json::to_pretty_string(
            &ok.iter().map(summary_json).collect::<Vec<_>>(),
        ));
        return Ok(exit::SUCCESS);
    }
    if ok.is_empty() {
        ui.note(if args.tag.is_some() || args.trust.is_some() {
            "no skill matches"
        } else {
            "no skills yet: add skills/<id>/SKILL.md, or orch skill import SOURCE"
        });
        return Ok(exit::SUCCESS);
    }
    let rows: Vec<[String; 5]> = ok
        .iter()
        .map(|j| {
            [
                j.skill.id.clone(),
                j.assessment.level.to_string(),
                j.skill.doc.tags.join(","),
                j.skill.origin(),
                j.skill.doc.description.clone().unwrap_or_default(),
            ]
        })
        .collect();
    ui.out(&table(
        ui,
        &["ID", "TRUST", "TAGS", "SOURCE", "DESCRIPTION"],
        &rows,
    ));
    Ok(exit::SUCCESS)
}

/// A table with a bold header; the last column is cut at 60 characters.
fn table<const N: usize>(ui: &Ui, headers: &[&str; N], rows: &[[String; N]]) -> String {
    let cell = |c: &str, last: bool| {
        let c = sanitize_line(c).into_owned();
        if last && c.chars().count() > 60 {
            format!("{}…", c.chars().take(59).collect::<String>())
        } else {
            c
        }
    };
    let widths: Vec<usize> = (0..N)
        .map(|i| {
            rows.iter()
                .map(|r| cell(&r[i], i == N - 1).chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| pad(c, *w))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = String::new();
    let header = line(headers.iter().map(|h| (*h).to_string()).collect());
    let _ = writeln!(out, "{}", ui.paint(Style::Bold, &header));
    for r in rows {
        let _ = writeln!(
            out,
            "{}",
            line(
                r.iter()
                    .enumerate()
                    .map(|(i, c)| cell(c, i == N - 1))
                    .collect()
            )
        );
    }
    out
}

fn show(args: &ShowArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let shown = ops::show(repo, &args.id, args.trusted.trusted_rev.as_deref())?;
    let (s, a) = (&shown.judged.skill, &shown.judged.assessment);
    if !a.vettings.is_empty() {
        for w in &shown.warnings {
            ui.warn(w);
        }
    }
    for (path, why) in &a.unreadable {
        ui.warn(&format!("{path}: {why}"));
    }
    if args.json {
        let mut v = summary_json(&shown.judged);
        let obj = v.as_object_mut().expect("an object");
        obj.insert("title".into(), json!(s.doc.title));
        obj.insert(
            "frontmatter".into(),
            json!(
                s.doc
                    .frontmatter
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect::<serde_json::Map<_, _>>()
            ),
        );
        obj.insert("inputs".into(), json!(s.doc.inputs));
        obj.insert("outputs".into(), json!(s.doc.outputs));
        obj.insert("entrypoint".into(), json!(s.doc.entrypoint()));
        obj.insert("files".into(), json!(s.content.files));
        obj.insert("pin".into(), json!(s.source));
        obj.insert(
            "vettings".into(),
            json!(
                a.vettings
                    .iter()
                    .map(|c| json!({
                        "file": c.file.path,
                        "vetter": c.file.payload.vetter,
                        "content_sha256": c.file.payload.content_sha256,
                        "comment": c.file.payload.comment,
                        "signed_at": c.file.payload.signed_at,
                        "key_fingerprint": c.key.as_ref().map(|k| k.fingerprint.clone()),
                        "valid": c.valid(),
                        "problems": c.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    }))
                    .collect::<Vec<_>>()
            ),
        );
        obj.insert("used_by".into(), json!(shown.used_by));
        ui.out(&json::to_pretty_string(&v));
        return Ok(exit::SUCCESS);
    }
    let mut out = String::new();
    let title = match s.doc.name() {
        Some(n) => format!("{} — {}", s.id, n),
        None => s.id.clone(),
    };
    let _ = writeln!(out, "{}", ui.paint(Style::Bold, &sanitize_line(&title)));
    let mut field = |k: &str, v: &str| {
        let _ = writeln!(out, "  {} {}", pad(k, 11), sanitize_line(v));
    };
    if let Some(d) = &s.doc.description {
        field("description", d);
    }
    if let Some(v) = s.doc.meta("version") {
        field("version", v);
    }
    field("source", &s.origin());
    if let Some(e) = s.doc.entrypoint() {
        field("entrypoint", e);
    }
    field(
        "content",
        &format!(
            "sha256 {} ({} files)",
            s.content.sha256,
            s.content.files.len()
        ),
    );
    field("trust", &format!("{} — {}", a.level, a.why));
    if !s.doc.tags.is_empty() {
        field("tags", &s.doc.tags.join(", "));
    }
    for (name, list) in [("inputs", &s.doc.inputs), ("outputs", &s.doc.outputs)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {name}");
        for f in list {
            let mut line = format!("    - {}", f.name);
            if let Some(k) = &f.kind {
                let _ = write!(line, ": {k}");
            }
            match f.required {
                Some(true) => line.push_str(" (required)"),
                Some(false) => line.push_str(" (optional)"),
                None => {}
            }
            if let Some(d) = &f.description {
                let _ = write!(line, " — {d}");
            }
            let _ = writeln!(out, "{}", sanitize_line(&line));
        }
    }
    let _ = writeln!(out, "  files");
    for f in &s.content.files {
        let _ = writeln!(
            out,
            "    {} {}  {}",
            f.kind,
            &f.sha256[..12],
            sanitize_line(&f.path)
        );
    }
    if !a.vettings.is_empty() {
        let _ = writeln!(out, "  vettings");
        for c in &a.vettings {
            let p = &c.file.payload;
            let (mark, style) = if c.valid() {
                ("✓", Style::Pass)
            } else {
                ("✗", Style::Fail)
            };
            let key = c
                .key
                .as_ref()
                .map(|k| format!(", {} {}", k.kind, k.fingerprint))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {} {} at {} for {}{key}",
                ui.paint(style, mark),
                sanitize_line(&p.vetter.display()),
                p.signed_at,
                crate::skill::vetting::short(&p.content_sha256)
            );
            for problem in &c.problems {
                let _ = writeln!(out, "        {}", sanitize_line(&problem.to_string()));
            }
        }
    }
    if shown.used_by.is_empty() {
        let _ = writeln!(out, "  used by    no workflow gate");
    } else {
        let _ = writeln!(out, "  used by");
        for u in &shown.used_by {
            let _ = writeln!(out, "    {}", sanitize_line(u));
        }
    }
    ui.out(&out);
    Ok(exit::SUCCESS)
}

fn vet(args: VetArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let done = ops::vet(
        repo,
        &VetOptions {
            id: args.id,
            key: args.key,
            comment: args.comment,
            trusted_rev: args.trusted.trusted_rev,
        },
    )?;
    for w in &done.warnings {
        ui.warn(w);
    }
    if args.json {
        ui.out(&json::to_pretty_string(&json!({
            "skill": done.id,
            "content_sha256": done.content_sha256,
            "file": done.path,
            "already_vetted": done.already,
        })));
        return Ok(exit::SUCCESS);
    }
    if done.already {
        ui.line(&format!(
            "{} is already vetted by you for content {} ({})",
            done.id,
            crate::skill::vetting::short(&done.content_sha256),
            done.path
        ));
    } else {
        ui.line(&format!(
            "vetted {} (content {}): recorded in {}",
            done.id,
            crate::skill::vetting::short(&done.content_sha256),
            done.path
        ));
        ui.note("commit the vetting; it holds for these exact bytes only");
    }
    Ok(exit::SUCCESS)
}

fn imported_json(i: &Imported) -> Value {
    json!({
        "skill": i.pin.skill,
        "source": i.pin.source,
        "content_sha256": i.pin.content_sha256,
        "previous_content_sha256": i.previous.as_ref().map(|p| p.content_sha256.clone()),
        "trust": i.pin.trust,
        "added": i.added,
        "removed": i.removed,
        "changed": i.changed,
        "written": i.written,
        "pin": crate::storage::layout::skill_source(&i.pin.skill),
    })
}

fn import(args: ImportArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let done = ops::import(
        repo,
        &ImportOptions {
            source: args.source,
            id: args.id,
            rev: args.rev,
            path: args.path,
            trust: match args.trust {
                DeclaredArg::Community => Declared::Community,
                DeclaredArg::Experimental => Declared::Experimental,
            },
        },
    )?;
    if args.json {
        ui.out(&json::to_pretty_string(&imported_json(&done)));
        return Ok(exit::SUCCESS);
    }
    ui.line(&format!(
        "imported {} from {} ({} files, content {})",
        done.pin.skill,
        done.pin.describe(),
        done.content.files.len(),
        crate::skill::vetting::short(&done.pin.content_sha256)
    ));
    ui.note(&format!(
        "it is {} until someone vets it: orch skill vet {}",
        Trust::from(done.pin.trust),
        done.pin.skill
    ));
    Ok(exit::SUCCESS)
}

fn update(args: &UpdateArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let vetted_before =
        ops::show(repo, &args.id, None).is_ok_and(|s| s.judged.assessment.level == Trust::Vetted);
    let done = ops::update(repo, &args.id, args.rev.as_deref(), args.dry_run)?;
    if args.json {
        ui.out(&json::to_pretty_string(&imported_json(&done)));
        return Ok(exit::SUCCESS);
    }
    let previous = done
        .previous
        .as_ref()
        .ok_or_else(|| Error::input("no previous import"))?;
    let changed = done.added.len() + done.removed.len() + done.changed.len();
    if changed == 0 && previous.content_sha256 == done.pin.content_sha256 {
        ui.line(&format!(
            "{} is up to date ({})",
            args.id,
            done.pin.describe()
        ));
        return Ok(exit::SUCCESS);
    }
    let verb = if done.written {
        "updated"
    } else {
        "would update"
    };
    ui.line(&format!(
        "{verb} {}: {} → {}",
        args.id,
        previous.describe(),
        done.pin.describe()
    ));
    ui.line(&format!(
        "  content {} → {}",
        crate::skill::vetting::short(&previous.content_sha256),
        crate::skill::vetting::short(&done.pin.content_sha256)
    ));
    for (mark, list) in [
        ("+", &done.added),
        ("-", &done.removed),
        ("~", &done.changed),
    ] {
        for p in list {
            ui.line(&format!("  {mark} {}", sanitize_line(p)));
        }
    }
    if vetted_before && done.written {
        ui.warn(&format!(
            "{} was vetted; its new content is not: vet it again (orch skill vet {})",
            args.id, args.id
        ));
    }
    Ok(exit::SUCCESS)
}
