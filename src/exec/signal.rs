//! The one place orch sends signals. `kill(2)` has no safe wrapper in std;
//! this module is the only unsafe code in orch and stays this small.

/// Sends `signal` to every process in group `pgid`. Errors (the group is
/// already gone) are ignored: the caller only wants it stopped.
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn kill_group(pgid: u32, signal: i32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    if pgid <= 1 {
        return;
    }
    // SAFETY: kill(2) takes plain integers and touches no memory of ours;
    // a negative pid addresses the process group, never a single unrelated
    // process, and pgid > 1 rules out "every process" (-1).
    unsafe {
        libc::kill(-pgid, signal);
    }
}

#[cfg(unix)]
pub const TERM: i32 = libc::SIGTERM;
#[cfg(unix)]
pub const KILL: i32 = libc::SIGKILL;

/// Whether a process exists (signal 0 checks without sending anything).
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 delivers nothing; kill(2) only reports whether the
    // process exists (EPERM: it exists but belongs to someone else).
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
