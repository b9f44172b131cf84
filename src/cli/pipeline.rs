//! `orch run <workflow>` and `orch run resume`: the arguments, the
//! confirmation and the person's menu on a terminal, and the final word.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;
use clap::builder::FalseyValueParser;
use serde_json::json;

use crate::cli::DepthArg;
use crate::error::{Error, Result};
use crate::ops::pipeline::{self, Human, HumanChoice, Options, Outcome};
use crate::ops::run::StartOptions;
use crate::record::store::Store;
use crate::repo::Repo;
use crate::report::progress::ProgressView;
use crate::storage::layout;
use crate::ui::{Ui, sanitize};
use crate::{env, json};

/// `orch run <WORKFLOW> --slug S …`: the whole pipeline.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Workflow to run: a name (orchestration/workflows/<name>.json) or a path.
    #[arg(value_name = "WORKFLOW")]
    pub workflow: Option<String>,
    /// What this run is about; used in the run id and in `{slug}`.
    #[arg(long)]
    pub slug: Option<String>,
    /// The folder for the run's outputs (`{artifact_path}` in contracts),
    /// e.g. essays/the-word-robot. Relative to the current directory, like
    /// --prompt-file and every path on the command line; recorded
    /// repo-relative. Defaults to the workflow's default_artifact_path.
    #[arg(long, value_name = "PATH")]
    pub artifact_path: Option<String>,
    /// How deep the work goes (quick, standard, deep; default standard).
    #[arg(long, value_enum)]
    pub depth: Option<DepthArg>,
    /// The run's original prompt: a file in the repository, relative to the
    /// current directory (like --artifact-path). Its SHA-256 is recorded.
    #[arg(long, value_name = "FILE")]
    pub prompt_file: Option<PathBuf>,
    /// Validate the gates before GATE without running them, then run from GATE.
    #[arg(long, value_name = "GATE")]
    pub start_from: Option<String>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// `orch run resume --run ID`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Run id, or any unique prefix or suffix of one.
    #[arg(long, value_name = "ID")]
    pub run: String,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// How gates are executed.
#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub agents: AgentArgs,
    /// Do not ask before running agents.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the outcome as JSON on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// How agents run: `orch run`, `orch task run` and `orch worker` share these.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Run every gate with this agent command instead of the workflow's
    /// executors, e.g. "claude -p --output-format json". Split into words
    /// like a shell would (quotes work), but run without a shell.
    #[arg(long, value_name = "CMD")]
    pub agent_cmd: Option<String>,
    /// Skip url_reachable checks (recorded as skipped).
    #[arg(long, env = env::OFFLINE, value_parser = FalseyValueParser::new())]
    pub offline: bool,
    /// Seconds each agent may run (overrides the workflow; default 1800).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub timeout: Option<f64>,
    /// Seconds an agent may print nothing before it is stopped (overrides the workflow).
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub idle_timeout: Option<f64>,
    /// Compare `"when": {"changed": […]}` conditions with this revision
    /// (without it, such gates run).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// The model agents are asked to use: put in place of `{model}` in
    /// their commands and exported as ORCH_MODEL (wins over ORCH_MODEL and
    /// the workflow's and gates' `model`).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    #[command(flatten)]
    pub trust: super::approve::TrustArgs,
}

impl ExecArgs {
    pub(crate) fn options(&self, start_from: Option<String>) -> Result<Options> {
        self.agents.options(start_from)
    }
}

impl AgentArgs {
    pub(crate) fn options(&self, start_from: Option<String>) -> Result<Options> {
        let agent_cmd = match &self.agent_cmd {
            None => None,
            Some(cmd) => {
                let argv = shlex::split(cmd).ok_or_else(|| {
                    Error::input(format!("cannot split --agent-cmd `{cmd}` into words"))
                        .hint("check its quotes")
                })?;
                if argv.is_empty() {
                    return Err(Error::input("--agent-cmd is empty")
                        .hint("give the agent's command, e.g. --agent-cmd \"claude -p\""));
                }
                Some(argv)
            }
        };
        for (flag, v) in [
            ("--timeout", self.timeout),
            ("--idle-timeout", self.idle_timeout),
        ] {
            if v.is_some_and(|s| !s.is_finite() || s <= 0.0 || s > env::MAX_SECONDS) {
                return Err(Error::input(format!(
                    "{flag} must be a positive number of seconds, at most 1e9"
                ))
                .hint(format!(
                    "e.g. {flag} 600; leave it out for the workflow's limits"
                )));
            }
        }
        Ok(Options {
            agent_cmd,
            offline: self.offline,
            start_from,
            timeout_s: self.timeout,
            idle_timeout_s: self.idle_timeout,
            base: self.base.clone(),
            trusted_rev: self.trust.trusted_rev.clone(),
            model: self.model.clone(),
            ..Options::default()
        })
    }
}

/// Whether a person can be asked: a terminal on both ends, and no `--json`.
pub(crate) fn interactive(json: bool) -> bool {
    !json && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

pub fn run(args: PipelineArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let Some(workflow) = args.workflow.clone() else {
        return Err(
            Error::input("`orch run` needs a workflow to run, or a subcommand")
                .hint("run a workflow: orch run visual-essay --slug the-word-robot")
                .hint("or see `orch run --help` for start, list, show, resume, complete"),
        );
    };
    // `orch run lsit`: a subcommand mistyped reads as a workflow's name.
    if let Err(e) = crate::workflow::LoadedWorkflow::find(repo, &workflow) {
        return Err(match near_subcommand(&workflow) {
            Some(sub) => Error::input(format!("unrecognized subcommand `{workflow}`"))
                .hint(format!("did you mean `{sub}`? (orch run {sub} …)"))
                .hint("to run a workflow: orch run <WORKFLOW> --slug <SLUG>"),
            None => e,
        });
    }
    let Some(slug) = args.slug.clone() else {
        return Err(Error::input("--slug is required to run a workflow")
            .hint(format!("e.g. orch run {workflow} --slug the-word-robot")));
    };
    let opts = args.exec.options(args.start_from.clone())?;
    if !confirm(&args.exec, &opts, repo, &workflow)? {
        ui.note("nothing was run");
        return Ok(crate::exit::SUCCESS);
    }
    let start = StartOptions {
        workflow,
        slug,
        artifact_path: args
            .artifact_path
            .map(|p| repo.from_cwd(&p, "--artifact-path"))
            .transpose()?,
        depth: args.depth.unwrap_or_default().into(),
        prompt_file: args.prompt_file,
        task: None,
    };
    super::run::warn_shared_outputs(repo, ui, &start);
    let mut view = ProgressView::new(ui, args.exec.json);
    let mut human = TerminalHuman::new(interactive(args.exec.json));
    let (run_id, outcome) = pipeline::start_and_run(repo, &start, &opts, &mut view, &mut human)?;
    drop(view);
    finish(repo, ui, &run_id, &outcome, args.exec.json)
}

pub fn resume(args: &ResumeArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let opts = args.exec.options(None)?;
    let mut view = ProgressView::new(ui, args.exec.json);
    let mut human = TerminalHuman::new(interactive(args.exec.json));
    let (run_id, outcome) = pipeline::resume(repo, &args.run, &opts, &mut view, &mut human)?;
    drop(view);
    finish(repo, ui, &run_id, &outcome, args.exec.json)
}

/// The `orch run` subcommand `word` is a near miss of, if any.
fn near_subcommand(word: &str) -> Option<String> {
    use clap::CommandFactory;
    let cli = super::Cli::command();
    let run = cli.find_subcommand("run")?;
    let names: Vec<&str> = run.get_subcommands().map(clap::Command::get_name).collect();
    crate::suggest::closest(word, names).map(str::to_string)
}

/// On a terminal, agents are not started without a yes (they cost money).
pub(crate) fn confirm(
    exec: &ExecArgs,
    opts: &Options,
    repo: &Repo,
    workflow: &str,
) -> Result<bool> {
    if exec.yes || !interactive(exec.json) {
        return Ok(true);
    }
    let wf = crate::workflow::LoadedWorkflow::find(repo, workflow)?;
    let commands: Vec<String> = wf
        .def
        .gates
        .iter()
        .filter_map(|g| {
            opts.agent_cmd
                .clone()
                .or_else(|| g.executor.as_ref().map(|e| e.command.clone()))
        })
        .map(|argv| crate::ui::command_line(&argv))
        .collect();
    if commands.is_empty() {
        return Ok(true);
    }
    let mut distinct: Vec<&str> = Vec::new();
    for c in &commands {
        if !distinct.contains(&c.as_str()) {
            distinct.push(c);
        }
    }
    let prompt = format!(
        "Run {} gate(s) of `{workflow}` with `{}`?",
        commands.len(),
        distinct.join("`, `")
    );
    Ok(dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(true)
        .interact()
        .unwrap_or(false))
}

/// The final word: stdout gets the outcome, stderr what to do next.
pub(crate) fn finish(
    repo: &Repo,
    ui: &Ui,
    run_id: &str,
    outcome: &Outcome,
    as_json: bool,
) -> Result<u8> {
    let run = Store::new(repo).load(run_id)?;
    let (passed, total) = run.gate_counts();
    let resume = crate::ui::resume_command(run_id);
    if as_json {
        let (kind, gate, reason, packet) = match outcome {
            Outcome::Passed => ("passed", None, None, None),
            Outcome::Failed { gate, reason } => ("failed", Some(gate), Some(reason), None),
            Outcome::Blocked { gate, reason } => ("blocked", Some(gate), Some(reason), None),
            Outcome::AwaitingInput { gate, packet } => {
                ("awaiting_input", Some(gate), None, Some(packet))
            }
            Outcome::AwaitingApproval { gate, .. } => ("awaiting_approval", Some(gate), None, None),
            Outcome::AwaitingAnswers { gate, questions } => {
                ("awaiting_answers", Some(gate), None, Some(questions))
            }
            Outcome::Interrupted { gate } => ("interrupted", gate.as_ref(), None, None),
        };
        ui.out(&json::to_pretty_string(&json!({
            "run_id": run_id,
            "outcome": kind,
            "status": run.status,
            "gate": gate.filter(|g| !g.is_empty()),
            "reason": reason,
            "packet": packet,
            "gates_passed": passed,
            "gates_total": total,
            "record": layout::run_json(run_id),
            "totals": run.totals,
            "approvals": match outcome {
                Outcome::AwaitingApproval { have, need, .. } => json!({"have": have, "need": need}),
                _ => serde_json::Value::Null,
            },
            "exit_code": outcome.exit_code(),
        })));
        return Ok(outcome.exit_code());
    }
    if let Some(t) = &run.totals {
        let cost = t.cost_usd.map_or_else(
            || "unknown".to_string(),
            |c| format!("${c:.4} ({})", t.cost_source),
        );
        let tokens = t.usage.map_or_else(
            || "tokens not reported".to_string(),
            |u| {
                format!(
                    "{} input / {} output tokens",
                    u.input_tokens, u.output_tokens
                )
            },
        );
        ui.note(&format!(
            "agents: {} invocation(s), {tokens}, cost {cost}",
            t.invocations
        ));
    }
    match outcome {
        Outcome::Passed => ui.line(&format!("PASSED {run_id} ({passed}/{total} gates)")),
        Outcome::Failed { gate, reason } => {
            ui.line(&format!("FAILED {run_id} ({passed}/{total} gates)"));
            if !gate.is_empty() {
                ui.note(&format!("{gate} failed: {}", sanitize(reason)));
            }
            if run.is_completed() {
                ui.note("the run is completed; start a new run to try again");
            } else {
                ui.note(&format!("fix the outputs, then continue with: {resume}"));
            }
        }
        Outcome::Blocked { gate, reason } => {
            ui.line(&format!("BLOCKED {run_id} at {gate}"));
            ui.note(&format!("the agent needs help: {}", sanitize(reason)));
            ui.note(&format!("when it is unblocked: {resume}"));
        }
        Outcome::AwaitingInput { gate, packet } => {
            ui.line(&format!("AWAITING_INPUT {run_id} at {gate}"));
            ui.note(&format!(
                "{gate} is done by a person. The prompt packet: {packet}"
            ));
            ui.note(&format!(
                "when the work is done, validate it and go on: {resume}"
            ));
        }
        Outcome::AwaitingApproval { gate, have, need } => {
            ui.line(&format!("AWAITING_APPROVAL {run_id} at {gate}"));
            let what = match crate::ops::approval::awaited(&run, gate) {
                crate::approval::Scope::Start => "needs signed approvals before its agent starts",
                crate::approval::Scope::Override => {
                    "failed and needs a person's review: approve an override, or reject"
                }
                crate::approval::Scope::Outputs => "passed its checks and needs signed approvals",
            };
            ui.note(&format!("{gate} {what} ({have} of {need} so far)"));
            ui.note(&format!(
                "a reviewer approves with: {}",
                crate::ui::orch_command(&format!("approve --run {run_id} --gate {gate}"))
            ));
            ui.note(&format!("then continue with: {resume}"));
        }
        Outcome::AwaitingAnswers { gate, questions } => {
            ui.line(&format!("AWAITING_INPUT {run_id} at {gate}"));
            ui.note(&format!(
                "{gate} failed, and its recipe asks a person first: the questions are in {questions}"
            ));
            ui.note(&format!(
                "answer them (or fix what they point at), then retry the gate: {resume}"
            ));
        }
        Outcome::Interrupted { .. } => {
            ui.line(&format!("INTERRUPTED {run_id} ({passed}/{total} gates)"));
            ui.note(&format!("the run is resumable: {resume}"));
        }
    }
    Ok(outcome.exit_code())
}

/// A person at a terminal, or nobody (then every human gate pauses).
pub(crate) struct TerminalHuman {
    interactive: bool,
}

impl TerminalHuman {
    pub(crate) fn new(interactive: bool) -> Self {
        TerminalHuman { interactive }
    }
}

impl Human for TerminalHuman {
    fn decide(&mut self, gate: &str, name: &str, packet_path: &Path, packet: &str) -> HumanChoice {
        if !self.interactive {
            return HumanChoice::Pause;
        }
        eprintln!(
            "\n{gate} {name} is yours. The prompt packet is {}",
            packet_path.display()
        );
        // The default (a stray Enter) only shows the packet: validating
        // work that is not done would fail the gate, and people get no retry.
        let items = [
            "Show the prompt packet",
            "Validate now (the work is done)",
            "Mark the gate failed",
            "Pause and exit (resume later)",
        ];
        loop {
            let choice = dialoguer::Select::new()
                .with_prompt(format!("{gate}: what next?"))
                .items(items)
                .default(0)
                .interact_opt();
            match choice {
                Ok(Some(0)) => eprintln!("\n{}\n", sanitize(packet)),
                Ok(Some(1)) => return HumanChoice::Validate,
                Ok(Some(2)) => {
                    let reason: std::result::Result<String, _> = dialoguer::Input::new()
                        .with_prompt("Why did it fail?")
                        .interact_text();
                    match reason {
                        Ok(r) if !r.trim().is_empty() => return HumanChoice::Fail(r),
                        Ok(_) => eprintln!("a reason is needed"),
                        Err(_) => return HumanChoice::Pause,
                    }
                }
                _ => return HumanChoice::Pause,
            }
        }
    }
}
