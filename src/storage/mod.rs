//! Durable storage: where orch's files live, how they are written (atomic
//! replace) and how writers are serialised (one lock per run).

pub mod atomic;
pub mod layout;
pub mod lock;

pub use atomic::write_atomic;
pub use lock::FileLock;
