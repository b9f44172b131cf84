//! Integration tests: the real `orch` binary in temporary git repositories,
//! asserting on the files it writes, its exit codes and its messages.

mod approvals;
mod checks;
mod common;
mod compat;
mod concurrency;
mod context;
mod errors;
mod gate;
mod history;
mod init;
mod invocation;
mod isolate;
mod lint;
mod logs;
mod newcomer;
mod notify;
mod pipeline;
mod plans;
mod plugins;
mod quickstart;
mod readme;
mod recipes;
mod review;
mod run;
mod schema;
mod skills;
mod team;
mod url;
mod validations;
mod verify;
mod workers;
