//! The errors orch reports: each knows its exit code and the hints that help
//! a user recover. The CLI renders them in one place (`error:` / `hint:`).

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

    pub fn read(path: impl fmt::Display, source: io::Error) -> Self {
        Error::Read {
            path: path.to_string(),
            source,
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
        match &mut self {
            Error::Json { hints, .. }
            | Error::Input { hints, .. }
            | Error::Conflict { hints, .. }
            | Error::Write { hints, .. } => {
                hints.push(hint.to_string());
                self
            }
            Error::Read { path, source } => Error::Input {
                message: format!("cannot read `{path}`: {source}"),
                hints: vec![hint.to_string()],
            },
            Error::Interrupted => self,
        }
    }

    pub fn hints(&self) -> &[String] {
        match self {
            Error::Json { hints, .. }
            | Error::Input { hints, .. }
            | Error::Conflict { hints, .. }
            | Error::Write { hints, .. } => hints,
            Error::Read { .. } | Error::Interrupted => &[],
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
            Error::Read { .. } | Error::Write { .. } => exit::IO,
            Error::Conflict { .. } => exit::CONFLICT,
            Error::Interrupted => exit::INTERRUPTED,
        }
    }
}
