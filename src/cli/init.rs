//! `orch init`: set up a repository to use orch, with a working example.

use clap::{Args, ValueEnum};

use crate::error::Result;
use crate::init::{self, Action};
use crate::repo::Repo;
use crate::ui::Ui;
use crate::{exit, json};

#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum ExampleArg {
    /// One gate: a note with a summary and its sources.
    #[default]
    Minimal,
    /// orch's own recipe: three gates running vetted skills, quality checks,
    /// a person's approval before G3, and the example's trust setup.
    VisualEssay,
    /// An unattended plan of command gates: the format check, the tests and the lint.
    Nightly,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The example workflow to start from.
    #[arg(long, value_enum, default_value_t = ExampleArg::Minimal)]
    pub example: ExampleArg,
    /// Replace files that exist with other content (by default nothing is
    /// overwritten, and nothing is written when a file is in the way).
    #[arg(long)]
    pub force: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn execute(args: &InitArgs, repo: &Repo, ui: &Ui) -> Result<u8> {
    let name = args
        .example
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let example = init::examples::find(&name).expect("every ExampleArg is an example");
    let report = init::init(repo, example, args.force)?;
    let next = init::next_commands(example);
    if args.json {
        ui.out(&json::to_pretty_string(&serde_json::json!({
            "example": report.example,
            "workflow": example.workflow,
            "files": report.files.iter().map(|(path, action)| serde_json::json!({"path": path, "action": action})).collect::<Vec<_>>(),
            "next": next,
            "note": example.note,
        })));
        return Ok(exit::SUCCESS);
    }
    for (path, action) in &report.files {
        let verb = match action {
            Action::Created => "created  ",
            Action::Replaced => "replaced ",
            Action::Updated => "updated  ",
            Action::Unchanged => "unchanged",
        };
        ui.line(&format!("{verb} {path}"));
    }
    ui.note(&format!(
        "\nThe `{}` example: {}. Next:",
        example.name, example.about
    ));
    let try_it = match (example.script, example.agent_cmd) {
        (Some(_), _) => {
            "try it: the example's trust setup, the run with a stand-in agent, an approval"
        }
        (None, Some(_)) => "try it, with a stand-in agent",
        (None, None) => "try it",
    };
    let comments = [
        try_it,
        "check what the run recorded",
        "commit the setup, the run's record and its outputs",
    ];
    for (cmd, why) in next.iter().zip(comments) {
        ui.note(&format!("  {cmd}    # {why}"));
    }
    if let Some(note) = example.note {
        ui.note(note);
    }
    if example.agent_cmd.is_some() {
        ui.note("A real agent does the gates with --agent-cmd \"claude -p --output-format json --permission-mode acceptEdits\"; `orch hooks install` checks every commit.");
    } else {
        ui.note("`orch hooks install` checks every commit.");
    }
    Ok(exit::SUCCESS)
}
