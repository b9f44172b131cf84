//! The errors orch reports: each knows its exit code and the hints that help
//! a user recover. The CLI renders them in one place (`error:` / `hint:`).
//!
//! Every error has at least one hint, by construction: a site that knows
//! better adds its own with `hint`, and `hints` falls back to one derived
//! from the error's class (a JSON syntax or type error and the kind of file,
//! the I/O failure, …) when it did not.

use std::fmt;
use std::io;

use crate::exit;

/// Every failure that stops an orch command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A JSON file that does not parse or does not have the expected shape.
    #[error("{path}:{line}:{column}: {message}")]
    Json {
        path: String,
        line: usize,
        column: usize,
        message: String,
        hints: Vec<String>,
    },
    /// A file that could not be read.
    #[error("cannot read `{path}`: {}", crate::repo::io_reason(source))]
    Read {
        path: String,
        #[source]
        source: io::Error,
        hints: Vec<String>,
    },
    /// A file or directory that could not be written.
    #[error("cannot write `{path}`: {}", crate::repo::io_reason(source))]
    Write {
        path: String,
        #[source]
        source: io::Error,
        hints: Vec<String>,
    },
    /// Bad arguments or input: an unknown run, an unsafe path, a missing file.
    #[error("{message}")]
    Input { message: String, hints: Vec<String> },
    /// The record's state does not allow the operation.
    #[error("{message}")]
    Conflict { message: String, hints: Vec<String> },
    /// A service orch needs (the queue's database) could not be reached.
    #[error("{message}")]
    Unavailable { message: String, hints: Vec<String> },
    /// Ctrl-C or SIGTERM stopped the command before it recorded anything.
    #[error("interrupted")]
    Interrupted,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(message: impl fmt::Display) -> Self {
        Error::Input {
            message: message.to_string(),
            hints: Vec::new(),
        }
    }

    pub fn conflict(message: impl fmt::Display) -> Self {
        Error::Conflict {
            message: message.to_string(),
            hints: Vec::new(),
        }
    }

    pub fn unavailable(message: impl fmt::Display) -> Self {
        Error::Unavailable {
            message: message.to_string(),
            hints: Vec::new(),
        }
    }

    pub fn read(path: impl fmt::Display, source: io::Error) -> Self {
        Error::Read {
            path: path.to_string(),
            source,
            hints: Vec::new(),
        }
    }

    pub fn write(path: impl fmt::Display, source: io::Error) -> Self {
        Error::Write {
            path: path.to_string(),
            source,
            hints: Vec::new(),
        }
    }

    /// Adds a `hint:` line shown under the error.
    #[must_use]
    pub fn hint(mut self, hint: impl fmt::Display) -> Self {
        if let Some(hints) = self.own_hints_mut() {
            hints.push(hint.to_string());
        }
        self
    }

    fn own_hints_mut(&mut self) -> Option<&mut Vec<String>> {
        match self {
            Error::Json { hints, .. }
            | Error::Read { hints, .. }
            | Error::Write { hints, .. }
            | Error::Input { hints, .. }
            | Error::Conflict { hints, .. }
            | Error::Unavailable { hints, .. } => Some(hints),
            Error::Interrupted => None,
        }
    }

    fn own_hints(&self) -> &[String] {
        match self {
            Error::Json { hints, .. }
            | Error::Read { hints, .. }
            | Error::Write { hints, .. }
            | Error::Input { hints, .. }
            | Error::Conflict { hints, .. }
            | Error::Unavailable { hints, .. } => hints,
            Error::Interrupted => &[],
        }
    }

    /// What to do about it: the hints given where the error arose, else
    /// one that fits its class. Never empty.
    pub fn hints(&self) -> Vec<String> {
        let own = self.own_hints();
        if own.is_empty() {
            vec![self.fallback_hint()]
        } else {
            own.to_vec()
        }
    }

    fn fallback_hint(&self) -> String {
        match self {
            Error::Json { path, message, .. } => json_hint(path, message),
            Error::Read { path, source, .. } => match source.kind() {
                io::ErrorKind::NotFound => format!(
                    "check the path `{path}` (paths on the command line are relative to the current directory)"
                ),
                io::ErrorKind::PermissionDenied => {
                    format!("orch needs to read `{path}`: check its permissions (`ls -l`)")
                }
                io::ErrorKind::IsADirectory => format!("`{path}` is a folder: give a file"),
                io::ErrorKind::NotADirectory => {
                    format!("a part of `{path}` is a file where a folder is expected")
                }
                io::ErrorKind::InvalidData => format!("`{path}` must be UTF-8 text"),
                io::ErrorKind::InvalidInput => {
                    format!("`{path}` must be a regular file (orch never reads pipes or devices)")
                }
                _ => format!("check that `{path}` is readable, then run the command again"),
            },
            Error::Write { path, source, .. } => match source.kind() {
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
                    "the disk is full: free some space and run the command again (nothing was half-written)".to_string()
                }
                io::ErrorKind::PermissionDenied => format!(
                    "orch needs to write `{path}`: check the permissions of it and its folder (`ls -l`)"
                ),
                io::ErrorKind::ReadOnlyFilesystem => {
                    format!("`{path}` is on a read-only file system: run orch where it can write")
                }
                _ => format!(
                    "check that `{path}` and its folder are writable, then run the command again (nothing was half-written)"
                ),
            },
            Error::Input { .. } => {
                "`orch <command> --help` shows what each command expects".to_string()
            }
            Error::Unavailable { .. } => {
                "check that the service is up and reachable from here, then run the command again"
                    .to_string()
            }
            Error::Conflict { .. } => {
                "`orch run list` and `orch run show --run ID` show where each run stands"
                    .to_string()
            }
            Error::Interrupted => {
                "nothing was recorded by the interrupted step: run the command again".to_string()
            }
        }
    }

    /// The documented exit code for this error (see `exit`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Json { .. } | Error::Input { .. } => exit::USAGE,
            // The path given is wrong (missing, a folder, a FIFO, not text): the user's input.
            Error::Read { source, .. }
                if matches!(
                    source.kind(),
                    io::ErrorKind::NotFound
                        | io::ErrorKind::IsADirectory
                        | io::ErrorKind::NotADirectory
                        | io::ErrorKind::InvalidData
                        | io::ErrorKind::InvalidInput
                ) =>
            {
                exit::USAGE
            }
            Error::Read { .. } | Error::Write { .. } | Error::Unavailable { .. } => exit::IO,
            Error::Conflict { .. } => exit::CONFLICT,
            Error::Interrupted => exit::INTERRUPTED,
        }
    }
}

/// What to do about a JSON file that does not parse or has the wrong shape,
/// by the kind of file it is.
fn json_hint(path: &str, message: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    let record = name == "RUN.json" || (name.starts_with("attempt-") && path.contains("/record/"));
    if record {
        return format!(
            "orch writes this record itself: if it was edited by hand, restore it with `git checkout -- {path}`"
        );
    }
    if message.starts_with("invalid JSON") {
        return "fix the JSON at that line and column (a missing or extra comma, quote or brace is the usual cause)".to_string();
    }
    let kind = if name.ends_with(".contract.json") || path.contains("/contracts/") {
        Some("contract")
    } else if path.contains("/workflows/") {
        Some("workflow")
    } else {
        None
    };
    match kind {
        Some(kind) => {
            format!("`orch schema {kind}` describes every field of a {kind} and its type")
        }
        None => "fix the value at that line and column".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_hint() {
        let errors = [
            Error::input("x"),
            Error::conflict("x"),
            Error::read("a", io::Error::from(io::ErrorKind::PermissionDenied)),
            Error::write("a", io::Error::from(io::ErrorKind::StorageFull)),
            Error::Interrupted,
            crate::json::error_at("w.json", (1, 1), "x"),
        ];
        for e in &errors {
            assert!(!e.hints().is_empty(), "{e}");
        }
        let given = Error::input("x").hint("do this");
        assert_eq!(given.hints(), ["do this"]);
    }

    #[test]
    fn a_hint_never_changes_the_exit_code() {
        let e = Error::read("a", io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(e.exit_code(), exit::IO);
        assert_eq!(e.hint("h").exit_code(), exit::IO);
    }
}
