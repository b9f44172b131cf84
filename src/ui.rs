//! Terminal output in one place: colour is decided once, data goes to stdout,
//! messages to stderr, and text that came from files or agents is made safe
//! to print before it reaches a terminal.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use crate::env;

/// `--color`: when to use colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug)]
pub enum Style {
    Pass,
    Fail,
    Warn,
    Dim,
    Bold,
}

/// Output settings shared by every command.
#[derive(Clone, Debug)]
pub struct Ui {
    color: bool,
    stderr_color: bool,
}

impl Ui {
    /// `--color` wins, then `NO_COLOR`, then `FORCE_COLOR`, then "is it a terminal".
    pub fn new(choice: ColorChoice) -> Self {
        let decide = |tty: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                if std::env::var_os(env::NO_COLOR).is_some_and(|v| !v.is_empty()) {
                    false
                } else if env::flag(env::FORCE_COLOR) {
                    true
                } else {
                    tty
                }
            }
        };
        Ui {
            color: decide(std::io::stdout().is_terminal()),
            stderr_color: decide(std::io::stderr().is_terminal()),
        }
    }

    /// A Ui that never colours (for tests and machine output).
    pub fn plain() -> Self {
        Ui {
            color: false,
            stderr_color: false,
        }
    }

    pub fn paint<'a>(&self, style: Style, text: &'a str) -> Cow<'a, str> {
        paint(self.color, style, text)
    }

    /// Writes data to stdout. A closed pipe (`orch run list | head`) ends
    /// the process quietly, as every well-behaved Unix tool does.
    pub fn out(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let result = stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush());
        if let Err(e) = result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(0);
        }
    }

    /// Writes data to stdout as `write` produces it (a report too large to
    /// hold in memory); a closed pipe ends the process quietly, as `out`.
    pub fn out_with(&self, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
        let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
        let result = write(&mut stdout).and_then(|()| stdout.flush());
        if let Err(e) = result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            std::process::exit(0);
        }
    }

    /// Writes one line of data to stdout.
    pub fn line(&self, text: &str) {
        self.out(&format!("{text}\n"));
    }

    /// An informational line on stderr.
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }

    /// `warning: …` on stderr.
    pub fn warn(&self, text: &str) {
        eprintln!(
            "{} {text}",
            paint(self.stderr_color, Style::Warn, "warning:")
        );
    }

    /// `error: …` and `hint: …` lines on stderr.
    pub fn error(&self, message: &str, hints: &[String]) {
        eprintln!(
            "{} {}",
            paint(self.stderr_color, Style::Fail, "error:"),
            sanitize_line(message)
        );
        for hint in hints {
            eprintln!(
                "{} {}",
                paint(self.stderr_color, Style::Dim, "hint:"),
                sanitize_line(hint)
            );
        }
    }
}

fn paint(enabled: bool, style: Style, text: &str) -> Cow<'_, str> {
    if !enabled {
        return Cow::Borrowed(text);
    }
    let code = match style {
        Style::Pass => "32",
        Style::Fail => "31",
        Style::Warn => "33",
        Style::Dim => "2",
        Style::Bold => "1",
    };
    Cow::Owned(format!("\x1b[{code}m{text}\x1b[0m"))
}

/// Makes untrusted text safe for a terminal: control characters (escape
/// sequences included) are shown as `\u{..}` instead of being interpreted.
/// Newlines and tabs are kept.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && c != '\n') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_unsafe(c) && c != '\n' {
                    format!("\\u{{{:x}}}", u32::from(c))
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Like `sanitize`, and newlines become spaces: for one-line contexts.
pub fn sanitize_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\n' | '\r' => " ".to_string(),
                c if is_unsafe(c) => format!("\\u{{{:x}}}", u32::from(c)),
                c => c.to_string(),
            })
            .collect(),
    )
}

/// A command as a person would type it (words quoted where a shell needs
/// it), safe to print on one line.
pub fn command_line(argv: &[String]) -> String {
    let joined =
        shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "));
    sanitize_line(&joined).into_owned()
}

/// `-C DIR` as the user gave it, when they did.
static DIR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Remembers `-C DIR`, so the commands orch prints for pasting work from
/// where the user is, not only from inside the repository.
pub fn remember_dir(dir: &std::path::Path) {
    let _ = DIR.set(dir.display().to_string());
}

/// `orch ARGS` as the user should paste it: with `-C DIR` when they gave one.
pub fn orch_command(args: &str) -> String {
    match DIR.get() {
        Some(dir) => format!("orch -C {} {args}", command_line(std::slice::from_ref(dir))),
        None => format!("orch {args}"),
    }
}

/// The command that continues a run.
pub fn resume_command(run_id: &str) -> String {
    orch_command(&format!("run resume --run {run_id}"))
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_neutralised() {
        assert_eq!(sanitize("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(sanitize("line\nnext\tx"), "line\nnext\tx");
        assert_eq!(sanitize_line("a\nb\rc"), "a b c");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn commands_print_as_they_would_be_typed() {
        let argv: Vec<String> = ["sh", "-c", "echo 'hi' there", ""]
            .map(String::from)
            .to_vec();
        assert_eq!(command_line(&argv), r#"sh -c "echo 'hi' there" ''"#);
        assert_eq!(command_line(&["a\nb".to_string()]), "'a b'");
    }
}
