//! Running other programs: contract pre-scripts, validator plugins and
//! (with the pipeline) agents. Each runs in its own process group so a
//! timeout stops it and everything it started.

pub mod agent;
pub mod agent_output;
pub mod excerpt;
pub mod model;
pub mod process;
pub mod signal;

pub use process::{Exit, Outcome, Spec};
