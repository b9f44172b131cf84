//! Run a program to completion with a time limit: stdin fed from memory,
//! stdout and stderr captured up to a cap (the rest is drained and counted,
//! so a chatty program never blocks or fills memory), the whole process
//! group stopped on timeout (SIGTERM, then SIGKILL after a grace period).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::signal;

/// What to run.
#[derive(Clone, Debug)]
pub struct Spec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
    pub timeout: Duration,
    /// Bytes kept of each of stdout and stderr.
    pub capture_limit: usize,
}

/// How it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    TimedOut,
    /// Ctrl-C or SIGTERM reached orch, which stopped it.
    Interrupted,
    /// It could not be started at all.
    SpawnFailed(String),
}

impl Exit {
    pub fn success(&self) -> bool {
        *self == Exit::Code(0)
    }

    pub fn describe(&self) -> String {
        match self {
            Exit::Code(c) => format!("exit code {c}"),
            Exit::Signal(s) => format!("killed by signal {s}"),
            Exit::TimedOut => "timed out".to_string(),
            Exit::Interrupted => "interrupted".to_string(),
            Exit::SpawnFailed(e) => format!("could not start: {e}"),
        }
    }

    pub fn code(&self) -> Option<i32> {
        match self {
            Exit::Code(c) => Some(*c),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub exit: Exit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Bytes produced beyond the capture limit (stdout, stderr).
    pub dropped: (u64, u64),
    pub duration: Duration,
}

impl Outcome {
    /// The last non-empty line of stderr, for one-line messages.
    pub fn stderr_tail(&self) -> Option<String> {
        String::from_utf8_lossy(&self.stderr)
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().chars().take(300).collect())
    }
}

const GRACE: Duration = Duration::from_secs(2);

/// A command with piped stdio, started in its own process group (so it and
/// everything it starts can be stopped together), from `cwd` with `env` added.
pub(super) fn piped_in_own_group(
    program: impl AsRef<std::ffi::OsStr>,
    args: &[String],
    cwd: &std::path::Path,
    env: &[(String, String)],
) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd
}

/// Runs `spec` and waits for it (or its time limit).
pub fn run(spec: &Spec) -> Outcome {
    let start = Instant::now();
    let mut cmd = piped_in_own_group(&spec.program, &spec.args, &spec.cwd, &spec.env);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                exit: Exit::SpawnFailed(crate::repo::io_reason(&e)),
                stdout: Vec::new(),
                stderr: Vec::new(),
                dropped: (0, 0),
                duration: start.elapsed(),
            };
        }
    };
    let pgid = child.id();
    // A second Ctrl-C kills this group before orch exits.
    crate::interrupt::agent_started(pgid);
    let (tx, rx) = mpsc::channel::<(usize, Vec<u8>, u64)>();
    let limit = spec.capture_limit;
    for (slot, pipe) in [
        (
            0,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            1,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ] {
        let Some(mut pipe) = pipe else { continue };
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut dropped = 0u64;
            let mut buf = [0u8; 16 * 1024];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let room = limit.saturating_sub(kept.len()).min(n);
                        kept.extend_from_slice(&buf[..room]);
                        dropped += (n - room) as u64;
                    }
                }
            }
            let _ = tx.send((slot, kept, dropped));
        });
    }
    drop(tx);
    if let Some(mut stdin) = child.stdin.take() {
        let input = spec.stdin.clone();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let deadline = start
        .checked_add(spec.timeout)
        .unwrap_or_else(|| start + Duration::from_secs(86_400 * 365));
    let mut delay = Duration::from_millis(1);
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => break exit_of(status),
            Ok(None) => {}
            Err(e) => break Exit::SpawnFailed(crate::repo::io_reason(&e)),
        }
        if crate::interrupt::requested() {
            stop_group(&mut child, pgid, GRACE);
            break Exit::Interrupted;
        }
        let now = Instant::now();
        if now >= deadline {
            stop_group(&mut child, pgid, GRACE);
            break Exit::TimedOut;
        }
        std::thread::sleep(delay.min(deadline - now));
        delay = (delay * 2).min(Duration::from_millis(20));
    };
    // The program is done; wait briefly for its output, then stop anything
    // it left running that still holds the pipes open.
    let mut outputs = [(Vec::new(), 0u64), (Vec::new(), 0u64)];
    let collect_until = Instant::now() + GRACE;
    let mut received = 0;
    while received < 2 {
        let left = collect_until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((slot, kept, dropped)) => {
                outputs[slot] = (kept, dropped);
                received += 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                #[cfg(unix)]
                signal::kill_group(pgid, signal::KILL);
                while let Ok((slot, kept, dropped)) = rx.recv_timeout(GRACE) {
                    outputs[slot] = (kept, dropped);
                }
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    crate::interrupt::agent_ended(pgid);
    let [(stdout, d_out), (stderr, d_err)] = outputs;
    Outcome {
        exit,
        stdout,
        stderr,
        dropped: (d_out, d_err),
        duration: start.elapsed(),
    }
}

/// SIGTERM to the process group, SIGKILL after `grace`; returns how the
/// process ended. Shared by every runner of other programs.
pub(super) fn stop_group(child: &mut std::process::Child, pgid: u32, grace: Duration) -> Exit {
    #[cfg(unix)]
    signal::kill_group(pgid, signal::TERM);
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            #[cfg(unix)]
            signal::kill_group(pgid, signal::KILL);
            return exit_of(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    #[cfg(unix)]
    signal::kill_group(pgid, signal::KILL);
    let _ = child.kill();
    child.wait().map_or(Exit::Code(-1), exit_of)
}

pub(super) fn exit_of(status: std::process::ExitStatus) -> Exit {
    if let Some(code) = status.code() {
        return Exit::Code(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Exit::Signal(sig);
        }
    }
    Exit::Code(-1)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str, timeout_ms: u64, limit: usize) -> Outcome {
        run(&Spec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: std::env::temp_dir(),
            env: vec![("GREETING".into(), "hi".into())],
            stdin: b"from stdin".to_vec(),
            timeout: Duration::from_millis(timeout_ms),
            capture_limit: limit,
        })
    }

    #[test]
    fn captures_output_env_and_stdin() {
        let out = sh("echo $GREETING; cat; echo err >&2; exit 3", 5000, 1024);
        assert_eq!(out.exit, Exit::Code(3));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\nfrom stdin");
        assert_eq!(out.stderr_tail().as_deref(), Some("err"));
    }

    #[test]
    fn caps_output_and_counts_the_rest() {
        let out = sh("head -c 100000 /dev/zero", 5000, 1000);
        assert_eq!(out.stdout.len(), 1000);
        assert_eq!(out.dropped.0, 99_000);
    }

    #[test]
    fn timeout_stops_the_group() {
        let out = sh("sleep 30 & sleep 30", 100, 100);
        assert_eq!(out.exit, Exit::TimedOut);
    }

    #[test]
    fn missing_programs_are_reported() {
        let out = run(&Spec {
            program: "/nonexistent/prog".into(),
            args: vec![],
            cwd: std::env::temp_dir(),
            env: vec![],
            stdin: vec![],
            timeout: Duration::from_secs(1),
            capture_limit: 10,
        });
        assert!(matches!(out.exit, Exit::SpawnFailed(_)));
    }
}
