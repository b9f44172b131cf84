//! The command line: clap types at the edge, turned into plain options for
//! `ops`, results rendered through `report` and `ui`. One file per command
//! group; each doc comment is the help text.

pub mod approve;
pub mod artifact;
pub mod findings;
pub mod gate;
pub mod init;
pub mod invocation;
pub mod lint;
pub mod meta;
pub mod next;
pub mod notify;
pub mod page;
pub mod pipeline;
pub mod queue;
pub mod recipe;
pub mod run;
pub mod skill;
pub mod stats;
pub mod task;
pub mod usage;
pub mod verify;
pub mod worker;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::Result;
use crate::repo::Repo;
use crate::ui::{ColorChoice, Ui};

const AFTER_LONG_HELP: &str = "\
Exit codes:
  0    success; every gate or check involved passed
  1    a gate, check or verification failed
  2    usage or input error (bad arguments, broken contract, unknown run, unsafe path)
  3    the run's state does not allow this (no attempt in progress, run completed,
       written by a newer orch, lock held too long; a signer not allowed to vet)
  4    a run paused for a person: a person's gate, their answers, or signed approvals
  5    orch could not read or write what it needed, or reach the queue's database
  130  interrupted

Environment:
  ORCH_OFFLINE         skip url_reachable checks (like --offline)
  ORCH_URL_TIMEOUT     seconds per url_reachable request (default 10)
  ORCH_LOCK_TIMEOUT    seconds to wait for another orch writing the same run (default 60)
  ORCH_SCRIPT_TIMEOUT  seconds a pre-script (default 30) or validator plugin (60) may run
  ORCH_KILL_GRACE      seconds between SIGTERM and SIGKILL when an agent must stop (default 5)
  ORCH_TRUSTED_REV     revision whose orchestration/allowed_signers says who may approve or vet
  ORCH_MODEL           the model agents use (like --model; set for every agent)
  ORCH_NOTIFY_TIMEOUT  seconds per notification request (default 10)
  ORCH_NOTIFY_BACKOFF  seconds before a notification's first retry, doubled after (default 1)
  ORCH_QUEUE_URL       the queue's PostgreSQL URL (like --queue); else the file queue
  ORCH_QUEUE_RETRY_S   seconds to keep reconnecting to the queue's database (default 60)
  ORCH_NOW, ORCH_SEED  fixed clock and id seed, for reproducible records
  TZ                   the zone whose calendar days \"today\", due dates and --since mean
  ORCH_WORKER_ID, ORCH_MAX_CONCURRENT, ORCH_POLL_INTERVAL, ORCH_HEARTBEAT_S,
  ORCH_STALE_AFTER_S, ORCH_STUCK_AFTER_S  workers (see `orch worker --help`)
  NO_COLOR, FORCE_COLOR  colour control (--color wins)";

/// `orch --version`: the package version, and the commit it was built from
/// when it was built from a git checkout (see build.rs).
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("ORCH_VERSION_SUFFIX"));

/// Run agent-driven, multi-gate workflows in a git repository and keep
/// records you can trust.
///
/// A workflow is an ordered list of gates; each gate has a JSON contract
/// (the files it must produce and the checks they must pass). orch validates
/// each gate's contract, hashes its outputs with SHA-256 and records every
/// attempt in committed JSON under orchestration/runs/<run-id>/record/.
#[derive(Debug, Parser)]
#[command(name = "orch", version = VERSION, after_long_help = AFTER_LONG_HELP)]
pub struct Cli {
    /// Run as if orch was started in DIR.
    #[arg(
        short = 'C',
        global = true,
        value_name = "DIR",
        help_heading = "Global options"
    )]
    pub dir: Option<PathBuf>,

    /// When to colour output.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = ColorArg::Auto,
        value_name = "WHEN",
        help_heading = "Global options"
    )]
    pub color: ColorArg,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

impl From<ColorArg> for ColorChoice {
    fn from(c: ColorArg) -> Self {
        match c {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }
    }
}

// Parsed once per process: boxing the largest variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up this repository to use orch, with an example workflow that works.
    ///
    /// Creates orchestration/ (workflows, gates/contracts, prompts, and the
    /// JSON Schemas editors use for hover help), an example workflow with
    /// its contract and prompt (and a stand-in agent to try it with), and
    /// the .gitignore lines. Nothing is overwritten without --force. Prints
    /// what it created and the next three commands.
    Init(init::InitArgs),
    /// Run a workflow's gates in order (`orch run <workflow> --slug S`), or
    /// start, list, show, resume and complete runs.
    Run(run::RunCommand),
    /// Start, finish, fail and check gates.
    Gate(gate::GateCommand),
    /// The team's backlog: add, list, show, edit and close tasks, report
    /// progress, run one now.
    Task(task::TaskCommand),
    Next(next::NextArgs),
    Worker(worker::WorkerCommand),
    Stats(stats::StatsArgs),
    Queue(queue::QueueCommand),
    /// Record agent invocations against a gate's attempt.
    Invocation(invocation::InvocationCommand),
    /// Approve a gate awaiting approval: sign what it produced with your SSH key.
    ///
    /// The approval binds the run, gate, attempt, the SHA-256 of every output
    /// and of the attempt record, you (git's user.name and user.email) and the
    /// time, signed with `ssh-keygen -Y sign -n orch-approval`. It is committed
    /// in the run's record/approvals/. It counts once its key and your email
    /// are in orchestration/allowed_signers at the trusted revision; when
    /// enough approvals count, the gate passes and `orch run resume` goes on.
    /// Refused inside an agent that orch started.
    Approve(approve::ApproveArgs),
    /// Reject a gate awaiting approval: a signed rejection with the reason.
    ///
    /// The attempt fails with the reason; `orch run resume` retries the gate
    /// (the agent's next packet says why). Refused inside an agent that orch
    /// started.
    Reject(approve::RejectArgs),
    /// List gates that await approval, and the approvals recorded, across runs.
    ///
    /// Each approval is verified as `orch verify` does: signature, signer in
    /// allowed_signers at the trusted revision, self-approval, approved bytes.
    Approvals(approve::ApprovalsArgs),
    /// Notifications (orchestration/notify.json): resend pending ones, or test a target.
    Notify(notify::NotifyCommand),
    /// The skills catalog (skills/<id>/): list, show, vet, import, update.
    Skill(skill::SkillCommand),
    /// Workflow recipes: validate automation levels, skills and on-fail rules.
    Recipe(recipe::RecipeCommand),
    /// Artifacts of a run (URLs, pull requests, files) that contracts can check.
    Artifact(artifact::ArtifactCommand),
    /// Check that committed run records still tell the truth about the tree.
    ///
    /// For each run: the record parses and agrees with itself; every output
    /// recorded for a passed gate still has its SHA-256 (else it is
    /// "modified" or "missing"); each passed gate's contract still passes
    /// (a contract that changed since is reported); a gate whose evidence
    /// came from an earlier gate's outputs that changed since is "stale".
    /// Exits 0 when everything holds, 1 when anything does not.
    Verify(verify::VerifyArgs),
    /// Check workflows, contracts, prompt templates, skills and validator
    /// plugins for problems before a run trips over them.
    ///
    /// Errors: broken JSON (file:line:column), missing or mistyped fields,
    /// unknown validation types, regexes that do not compile, unknown
    /// template variables, a contract named for another gate, missing
    /// contracts, prompt templates and skill files, validators that are not
    /// executable. Warnings: unknown keys, thresholds that miss a depth,
    /// references orch cannot check. Exits 1 when there is an error.
    Lint(lint::LintArgs),
    /// Install git hooks: a pre-commit hook that runs `orch lint` and
    /// `orch verify` on the runs a commit touches.
    Hooks(HooksArgs),
    /// Print the JSON Schema of a file kind, for editors and validators.
    ///
    /// Generated from the types orch reads the files with. The repository
    /// keeps copies in orchestration/schemas/ (see README, "Editor support").
    Schema(SchemaArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(meta::CompletionsArgs),
    /// Print orch's manual page (roff), or write one per command with --out-dir.
    Man(meta::ManArgs),
}

#[derive(Debug, clap::Args)]
pub struct HooksArgs {
    #[command(subcommand)]
    pub action: HooksAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum HooksAction {
    /// Install the pre-commit hook (in .git/hooks, or core.hooksPath).
    ///
    /// The hook lints the orchestration sources and verifies only the runs
    /// the commit touches (`orch verify --staged`). A hook orch did not write is left alone.
    Install {
        /// Replace an existing pre-commit hook that orch did not write.
        #[arg(long)]
        force: bool,
        /// Print what was installed as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which file: a gate contract, a workflow, a RUN.json, an attempt file,
    /// or orchestration/notify.json.
    #[arg(value_enum)]
    pub kind: SchemaKind,
    /// Accepted for scripts that pass --json everywhere: a schema is JSON already.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SchemaKind {
    Contract,
    Workflow,
    Run,
    Attempt,
    Notify,
}

/// Runs the parsed command; returns the exit code.
pub fn execute(cli: Cli, ui: &Ui) -> Result<u8> {
    if let Some(dir) = &cli.dir {
        crate::ui::remember_dir(dir);
        std::env::set_current_dir(dir).map_err(|e| {
            crate::error::Error::read(dir.display(), e).hint("-C takes a directory to run in")
        })?;
    }
    let repo = || Repo::discover(&std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")));
    match cli.command {
        Command::Init(args) => init::execute(&args, &repo()?, ui),
        Command::Run(cmd) => run::execute(cmd, &repo()?, ui),
        Command::Gate(cmd) => {
            // Pre-scripts and validator plugins are stopped, not orphaned, by Ctrl-C.
            crate::interrupt::install();
            gate::execute(cmd, &repo()?, ui)
        }
        Command::Invocation(cmd) => invocation::execute(cmd, &repo()?, ui),
        Command::Task(cmd) => task::execute(cmd, &repo()?, ui),
        Command::Next(args) => next::execute(&args, &repo()?, ui),
        Command::Worker(cmd) => worker::execute(cmd, &repo()?, ui),
        Command::Stats(args) => stats::execute(&args, &repo()?, ui),
        Command::Queue(cmd) => queue::execute(cmd, &repo()?, ui),
        Command::Approve(args) => approve::approve(args, &repo()?, ui),
        Command::Reject(args) => approve::reject(args, &repo()?, ui),
        Command::Approvals(args) => approve::list(&args, &repo()?, ui),
        Command::Notify(cmd) => notify::execute(cmd, &repo()?, ui),
        Command::Skill(cmd) => skill::execute(cmd, &repo()?, ui),
        Command::Recipe(cmd) => recipe::execute(cmd, &repo()?, ui),
        Command::Artifact(cmd) => artifact::execute(cmd, &repo()?, ui),
        Command::Lint(args) => lint::execute(&args, &repo()?, ui),
        Command::Verify(args) => {
            crate::interrupt::install();
            verify::execute(&args, &repo()?, ui)
        }
        Command::Hooks(args) => {
            let repo = repo()?;
            let HooksAction::Install { force, json } = args.action;
            let (verb, path) = match crate::hooks::install(&repo, force)? {
                crate::hooks::Installed::Created(p) => ("installed", p),
                crate::hooks::Installed::Updated(p) => ("updated", p),
            };
            if json {
                ui.out(&crate::json::to_pretty_string(
                    &serde_json::json!({ "hook": repo.display(&path), "action": verb }),
                ));
            } else {
                ui.line(&format!("{verb} {}", repo.display(&path)));
                ui.note("before each commit it runs `orch lint` and `orch verify --staged` (skip once: git commit --no-verify)");
            }
            Ok(crate::exit::SUCCESS)
        }
        Command::Completions(args) => Ok(meta::completions(&args)),
        Command::Man(args) => meta::man(&args, ui),
        Command::Schema(args) => {
            let kind = args
                .kind
                .to_possible_value()
                .map(|v| v.get_name().to_string())
                .unwrap_or_default();
            let text = crate::schema::render(&kind).expect("every SchemaKind has a schema");
            ui.out(&text);
            Ok(crate::exit::SUCCESS)
        }
    }
}

/// `--depth`.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum DepthArg {
    Quick,
    #[default]
    Standard,
    Deep,
}

impl From<DepthArg> for crate::contract::Depth {
    fn from(d: DepthArg) -> Self {
        match d {
            DepthArg::Quick => Self::Quick,
            DepthArg::Standard => Self::Standard,
            DepthArg::Deep => Self::Deep,
        }
    }
}
