//! Integration tests: the real `orch` binary in temporary git repositories,
//! asserting on the files it writes, its exit codes and its messages.

mod common;
mod compat;
mod concurrency;
mod errors;
mod gate;
mod hand_edits;
mod invocation;
mod lint;
mod listing;
mod pipeline;
mod plugins;
mod quickstart;
mod review;
mod run;
mod schema;
mod store;
mod url;
mod validations;
mod verify;
