//! Ctrl-C and SIGTERM while a pipeline runs. The first signal asks orch to
//! stop: the agent's process group is stopped, the attempt is recorded as
//! interrupted and the run is left resumable. A second signal kills the
//! agent's group and exits at once (130); records are still whole, because
//! every write is an atomic rename.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::exit;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static AGENT_GROUP: AtomicU32 = AtomicU32::new(0);

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
                        let group = AGENT_GROUP.load(Ordering::SeqCst);
                        if group != 0 {
                            crate::exec::signal::kill_group(group, crate::exec::signal::KILL);
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

/// The process group to kill on a second signal (0: none).
pub fn set_agent_group(pgid: u32) {
    AGENT_GROUP.store(pgid, Ordering::SeqCst);
}
