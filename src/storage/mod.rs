//! Durable storage: where orch's files live, how they are read (regular
//! files only, never blocking), how they are written (atomic replace; a
//! change to several files of a run as one journaled commit) and how
//! writers are serialised (one lock per run).

pub mod atomic;
pub mod fault;
pub mod journal;
pub mod layout;
pub mod lines;
pub mod lock;
pub mod regular;
pub mod stamp;
pub mod watch;

pub use atomic::write_atomic;
pub use lock::FileLock;
