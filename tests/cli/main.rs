//! Integration tests: the real `orch` binary in temporary git repositories,
//! asserting on the files it writes, its exit codes and its messages.

mod approvals;
mod checks;
mod common;
mod compat;
mod concurrency;
mod errors;
mod gate;
mod hand_edits;
mod history;
mod init;
mod invocation;
mod lint;
mod listing;
mod machines;
mod newcomer;
mod notify;
mod pgserver;
mod pipeline;
mod plans;
mod plugins;
mod queue_pg;
mod quickstart;
mod readme;
mod recipes;
mod review;
mod run;
mod schema;
mod skills;
mod store;
mod team;
mod url;
mod validations;
mod verify;
mod workers;
