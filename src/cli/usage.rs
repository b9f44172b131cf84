//! clap's argument errors in orch's shape: one `error:` line, then `hint:`
//! lines saying what to do (clap's own tips among them, a "did you mean"
//! for a near miss), then the usage, so a typo reads like every other error.

use crate::ui::Ui;

/// Prints a clap error for people and returns the exit code. `--help` and
/// `--version` (which clap also reports as "errors") print as clap has them.
pub fn report(err: &clap::Error, ui: &Ui) -> u8 {
    if !err.use_stderr() {
        let _ = err.print();
        return crate::exit::SUCCESS;
    }
    if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // `orch` alone, `orch run` …: the help is the answer.
        let _ = err.print();
        return crate::exit::USAGE;
    }
    let text = err.render().to_string();
    let mut parsed = Parsed::from(&text);
    // `orch run resmue --run X`: the typo was read as a workflow's name, and
    // the error is about the arguments that followed it.
    if let Some((word, sub)) = mistyped_run_subcommand(std::env::args().skip(1)) {
        parsed.hints = vec![
            format!("did you mean `{sub}`?"),
            format!(
                "read as a workflow's name, `{word}` led to: {}",
                parsed.message
            ),
        ];
        parsed.message = format!("unrecognized subcommand `{word}`");
    }
    parsed.hints.push(format!(
        "`{} --help` shows what it takes",
        command_path(std::env::args().skip(1))
    ));
    ui.error(&parsed.message, &parsed.hints);
    for line in &parsed.details {
        eprintln!("{line}");
    }
    crate::exit::USAGE
}

/// clap's rendered error, taken apart.
#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    message: String,
    /// The usage lines, shown after the hints (lines explaining the
    /// message, such as the missing arguments, are joined to it).
    details: Vec<String>,
    hints: Vec<String>,
}

impl Parsed {
    fn from(text: &str) -> Parsed {
        let mut p = Parsed::default();
        let mut in_usage = false;
        for line in text.lines() {
            let trimmed = line.trim();
            if let Some(m) = line.strip_prefix("error: ") {
                p.message = m.to_string();
            } else if let Some(tip) = trimmed.strip_prefix("tip: ") {
                p.hints.push(tip_hint(tip));
            } else if trimmed.starts_with("For more information, try") || trimmed.is_empty() {
                // The last is replaced by the hint below, which names the command.
            } else if trimmed.starts_with("Usage: ") {
                in_usage = true;
                p.details.push(String::new());
                p.details.push(line.to_string());
            } else if in_usage {
                p.details.push(line.to_string());
            } else {
                // A line that explains the message (missing arguments, possible values).
                p.message = format!("{} {trimmed}", p.message);
            }
        }
        p
    }
}

/// In `orch run WORD …`, a WORD that is a near miss of a `run` subcommand:
/// (WORD, the subcommand).
fn mistyped_run_subcommand(mut args: impl Iterator<Item = String>) -> Option<(String, String)> {
    use clap::CommandFactory;
    let cli = super::Cli::command();
    let run = cli.find_subcommand("run")?;
    args.by_ref().find(|a| a == "run")?;
    let word = args.next().filter(|w| !w.starts_with('-'))?;
    if run.find_subcommand(&word).is_some() {
        return None;
    }
    let names = run.get_subcommands().map(clap::Command::get_name);
    let sub = crate::suggest::closest(&word, names)?.to_string();
    Some((word, sub))
}

/// The subcommands named on the command line (`orch run start`), so the
/// hint points at the help that has the answer.
fn command_path(args: impl Iterator<Item = String>) -> String {
    use clap::CommandFactory;
    let mut cmd = super::Cli::command();
    let mut path = vec!["orch".to_string()];
    for arg in args {
        let Some(sub) = cmd.find_subcommand(&arg).cloned() else {
            continue;
        };
        path.push(arg);
        cmd = sub;
    }
    path.join(" ")
}

/// clap's tip, phrased as orch's hints are.
fn tip_hint(tip: &str) -> String {
    for what in ["subcommand", "argument", "value"] {
        let prefix = format!("a similar {what} exists: ");
        if let Some(names) = tip.strip_prefix(&prefix) {
            return format!("did you mean {}?", backticked(names));
        }
        let prefix = format!("some similar {what}s exist: ");
        if let Some(names) = tip.strip_prefix(&prefix) {
            return format!("did you mean one of {}?", backticked(names));
        }
    }
    tip.to_string()
}

/// `'list', 'lint'` → "`list`, `lint`".
fn backticked(names: &str) -> String {
    names
        .split(", ")
        .map(|n| format!("`{}`", n.trim_matches('\'')))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_miss_becomes_did_you_mean() {
        let p = Parsed::from(
            "error: unrecognized subcommand 'lsit'\n\n  tip: a similar subcommand exists: 'lint'\n\nUsage: orch [OPTIONS] <COMMAND>\n\nFor more information, try '--help'.\n",
        );
        assert_eq!(p.message, "unrecognized subcommand 'lsit'");
        assert_eq!(p.hints, ["did you mean `lint`?"]);
        assert_eq!(p.details, ["", "Usage: orch [OPTIONS] <COMMAND>"]);
    }

    #[test]
    fn missing_arguments_stay_in_the_message_and_the_command_is_named() {
        let p = Parsed::from(
            "error: the following required arguments were not provided:\n  --slug <SLUG>\n\nUsage: orch run start --workflow <NAME> --slug <SLUG>\n\nFor more information, try '--help'.\n",
        );
        assert_eq!(
            p.message,
            "the following required arguments were not provided: --slug <SLUG>"
        );
        assert!(p.hints.is_empty());
        assert_eq!(
            command_path(
                ["run", "--depth", "start", "x"]
                    .map(String::from)
                    .into_iter()
            ),
            "orch run start"
        );
        let p = Parsed::from(
            "error: invalid value 'extreme' for '--depth <DEPTH>'\n  [possible values: quick, standard, deep]\n\nFor more information, try '--help'.\n",
        );
        assert_eq!(
            p.message,
            "invalid value 'extreme' for '--depth <DEPTH>' [possible values: quick, standard, deep]"
        );
    }
}
