//! Running other programs: contract pre-scripts, validator plugins and
//! (with the pipeline) agents. Each runs in its own process group so a
//! timeout stops it and everything it started.

pub mod process;
mod signal;

pub use process::{Exit, Outcome, Spec};
