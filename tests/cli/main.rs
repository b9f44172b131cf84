//! Integration tests: the real `orch` binary in temporary git repositories,
//! asserting on the files it writes, its exit codes and its messages.

mod approvals;
mod common;
mod compat;
mod concurrency;
mod errors;
mod gate;
mod init;
mod invocation;
mod lint;
mod newcomer;
mod notify;
mod pipeline;
mod plans;
mod plugins;
mod quickstart;
mod readme;
mod review;
mod run;
mod schema;
mod url;
mod validations;
mod verify;
