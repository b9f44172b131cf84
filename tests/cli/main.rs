//! Integration tests: the real `orch` binary in temporary git repositories,
//! asserting on the files it writes, its exit codes and its messages.

mod common;
mod compat;
mod concurrency;
mod errors;
mod gate;
mod init;
mod invocation;
mod lint;
mod newcomer;
mod pipeline;
mod plugins;
mod quickstart;
mod readme;
mod review;
mod run;
mod schema;
mod url;
mod validations;
mod verify;
