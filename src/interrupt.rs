//! Ctrl-C and SIGTERM while a pipeline runs. The first signal asks orch to
//! stop: the agent's process group is stopped, the attempt is recorded as
//! interrupted and the run is left resumable. A second signal kills every
//! agent group still running and exits at once (130); records are still
//! whole, because every write is an atomic rename.
//!
//! A worker drives several runs at once, and one of them may have to stop
//! alone (its claim was taken over): `Stop` is that run's own switch, which
//! the process-wide signal also trips.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};

use crate::exit;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static AGENT_GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Starts listening for SIGINT and SIGTERM (once per process).
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGINT, SIGTERM};
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
                return;
            };
            std::thread::spawn(move || {
                for _ in signals.forever() {
                    if REQUESTED.swap(true, Ordering::SeqCst) {
                        for group in groups().iter() {
                            crate::exec::signal::kill_group(*group, crate::exec::signal::KILL);
                        }
                        eprintln!("\nkilled");
                        std::process::exit(i32::from(exit::INTERRUPTED));
                    }
                    eprintln!("\ninterrupting: stopping what is running (press Ctrl-C again to stop at once)");
                }
            });
        }
    });
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

fn groups() -> std::sync::MutexGuard<'static, Vec<u32>> {
    AGENT_GROUPS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Notes a process group to kill on a second signal, while it runs.
pub fn agent_started(pgid: u32) {
    groups().push(pgid);
}

/// The group has ended (or was stopped): forget it.
pub fn agent_ended(pgid: u32) {
    groups().retain(|g| *g != pgid);
}

/// One run's stop switch: tripped by its owner (a worker that lost the
/// claim) or by SIGINT/SIGTERM for the whole process.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Asks the run to stop as a signal would: agents stopped, the attempt
    /// recorded as interrupted, the run left resumable.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether this run, or the whole process, was asked to stop.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst) || requested()
    }
}
