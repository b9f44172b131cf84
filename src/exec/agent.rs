//! Running a command-line agent for a gate: the prompt packet on stdin,
//! stdout and stderr streamed to log files (capped; what is dropped is
//! counted and noted), the time limits enforced (total and idle), Ctrl-C
//! honoured, and the agent's whole process group stopped when it must end.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::process::{Exit, exit_of, piped_in_own_group, stop_group};
use super::signal;
use crate::interrupt;

/// What to run and where its output goes.
#[derive(Clone, Debug)]
pub struct AgentSpec {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
    pub timeout: Duration,
    pub idle_timeout: Option<Duration>,
    /// Bytes kept of each stream.
    pub max_output: u64,
    pub stdout_log: PathBuf,
    pub stderr_log: PathBuf,
    /// Between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
}

/// Why the agent stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Exited,
    Timeout,
    IdleTimeout,
    Interrupted,
    SpawnFailed,
}

impl Ended {
    pub fn as_str(self) -> &'static str {
        match self {
            Ended::Exited => "exited",
            Ended::Timeout => "timeout",
            Ended::IdleTimeout => "idle_timeout",
            Ended::Interrupted => "interrupted",
            Ended::SpawnFailed => "spawn_failed",
        }
    }
}

/// The outcome of one agent run.
#[derive(Clone, Debug)]
pub struct AgentRun {
    pub exit: Exit,
    pub ended: Ended,
    pub stdout_bytes: u64,
    pub stderr_bytes: u64,
    pub truncated: bool,
    pub duration: Duration,
    pub pid: Option<u32>,
}

/// Something the agent printed, for a live view.
pub enum Output {
    Started(u32),
    Line(String),
}

type Pipe = Box<dyn Read + Send>;

/// Sockets through which a process can sign as the person running orch
/// (ssh-agent, gpg-agent). Agents do not get them: defence in depth for
/// approvals, not the guarantee (an agent that can read an unprotected
/// private key file can still sign; see README, "Approvals").
pub const SIGNING_SOCKETS: &[&str] = &["SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO"];

struct Stream {
    total: u64,
    dropped: u64,
}

/// Runs the agent to its end. `on_output` sees its start and each line it
/// prints (for a live tail); it is called on this thread.
pub fn run(spec: &AgentSpec, on_output: &mut dyn FnMut(Output)) -> AgentRun {
    let start = Instant::now();
    let failed = |e: String, start: Instant| {
        let _ = std::fs::write(
            &spec.stderr_log,
            format!("orch: could not start `{}`: {e}\n", spec.argv[0]),
        );
        AgentRun {
            exit: Exit::SpawnFailed(e),
            ended: Ended::SpawnFailed,
            stdout_bytes: 0,
            stderr_bytes: 0,
            truncated: false,
            duration: start.elapsed(),
            pid: None,
        }
    };
    let files = (
        File::create(&spec.stdout_log),
        File::create(&spec.stderr_log),
    );
    let (Ok(out_file), Ok(err_file)) = files else {
        return failed("cannot create the log files".into(), start);
    };
    let mut cmd = piped_in_own_group(&spec.argv[0], &spec.argv[1..], &spec.cwd, &spec.env);
    for name in SIGNING_SOCKETS {
        cmd.env_remove(name);
    }
    // `orch approve` and `orch reject` refuse to run where this is set.
    cmd.env(crate::env::IN_AGENT, "1");
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed(crate::repo::io_reason(&e), start),
    };
    let pgid = child.id();
    interrupt::set_agent_group(pgid);
    on_output(Output::Started(pgid));
    let last_output = Arc::new(AtomicU64::new(0));
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let (done_tx, done_rx) = mpsc::channel::<(usize, Stream)>();
    let pipes: [(usize, Option<Pipe>, File); 2] = [
        (
            0,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            out_file,
        ),
        (
            1,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
            err_file,
        ),
    ];
    for (slot, pipe, file) in pipes {
        let Some(pipe) = pipe else { continue };
        let (lines, done, last) = (lines_tx.clone(), done_tx.clone(), Arc::clone(&last_output));
        let limit = spec.max_output;
        std::thread::spawn(move || {
            let stream = copy_capped(pipe, file, limit, &lines, &last, start);
            let _ = done.send((slot, stream));
        });
    }
    drop((lines_tx, done_tx));
    if let Some(mut stdin) = child.stdin.take() {
        let input = spec.stdin.clone();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }

    let mut ended = Ended::Exited;
    // Poll fast at first (most agents in tests and scripts end quickly),
    // then back off to a few milliseconds.
    let mut poll = Duration::from_micros(100);
    let exit = loop {
        while let Ok(line) = lines_rx.try_recv() {
            on_output(Output::Line(line));
        }
        match child.try_wait() {
            Ok(Some(status)) => break exit_of(status),
            Ok(None) => {}
            Err(e) => break Exit::SpawnFailed(crate::repo::io_reason(&e)),
        }
        let elapsed = start.elapsed();
        let idle =
            elapsed.saturating_sub(Duration::from_millis(last_output.load(Ordering::Relaxed)));
        let stop = if interrupt::requested() {
            Some(Ended::Interrupted)
        } else if elapsed >= spec.timeout {
            Some(Ended::Timeout)
        } else if spec.idle_timeout.is_some_and(|limit| idle >= limit) {
            Some(Ended::IdleTimeout)
        } else {
            None
        };
        if let Some(reason) = stop {
            ended = reason;
            break stop_group(&mut child, pgid, spec.kill_grace);
        }
        std::thread::sleep(poll);
        poll = (poll * 2).min(Duration::from_millis(5));
    };
    // Collect the output; anything the agent left running that still holds
    // the pipes is stopped after a short wait.
    let mut streams = [
        Stream {
            total: 0,
            dropped: 0,
        },
        Stream {
            total: 0,
            dropped: 0,
        },
    ];
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut received = 0;
    while received < 2 {
        match done_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((slot, s)) => {
                streams[slot] = s;
                received += 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                #[cfg(unix)]
                signal::kill_group(pgid, signal::KILL);
                while let Ok((slot, s)) = done_rx.recv_timeout(Duration::from_secs(2)) {
                    streams[slot] = s;
                }
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    while let Ok(line) = lines_rx.try_recv() {
        on_output(Output::Line(line));
    }
    #[cfg(unix)]
    signal::kill_group(pgid, signal::KILL);
    interrupt::set_agent_group(0);
    AgentRun {
        exit,
        ended,
        stdout_bytes: streams[0].total,
        stderr_bytes: streams[1].total,
        truncated: streams[0].dropped + streams[1].dropped > 0,
        duration: start.elapsed(),
        pid: Some(pgid),
    }
}

/// Copies a pipe to its log until `limit` bytes, then keeps draining (so the
/// agent never blocks) and notes how much was dropped.
fn copy_capped(
    mut pipe: Pipe,
    mut file: File,
    limit: u64,
    lines: &mpsc::Sender<String>,
    last: &AtomicU64,
    start: Instant,
) -> Stream {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    let mut written = 0u64;
    let mut partial = Vec::new();
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        last.store(
            u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        total += n as u64;
        let room = usize::try_from(limit.saturating_sub(written))
            .unwrap_or(usize::MAX)
            .min(n);
        if room > 0 && file.write_all(&buf[..room]).is_ok() {
            written += room as u64;
        }
        // Lines for the live view, from what is kept only (bounded work).
        if room > 0 {
            partial.extend_from_slice(&buf[..room]);
            while let Some(i) = partial.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = partial.drain(..=i).collect();
                let _ = lines.send(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            if partial.len() > 4096 {
                partial.clear();
            }
        }
    }
    let dropped = total - written;
    if dropped > 0 {
        let _ = write!(
            file,
            "\n[orch: output truncated: kept the first {written} bytes, dropped {dropped} more]\n"
        );
    }
    Stream { total, dropped }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn spec(dir: &std::path::Path, script: &str) -> AgentSpec {
        AgentSpec {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            cwd: dir.to_path_buf(),
            env: vec![],
            stdin: b"packet".to_vec(),
            timeout: Duration::from_secs(20),
            idle_timeout: None,
            max_output: 1000,
            stdout_log: dir.join("stdout.log"),
            stderr_log: dir.join("stderr.log"),
            kill_grace: Duration::from_millis(200),
        }
    }

    #[test]
    fn streams_output_to_logs_and_sees_lines() {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = Vec::new();
        let run = run(
            &spec(dir.path(), "cat; echo; echo second; echo oops >&2"),
            &mut |o| {
                if let Output::Line(l) = o {
                    lines.push(l);
                }
            },
        );
        assert_eq!(
            (run.exit.clone(), run.ended),
            (Exit::Code(0), Ended::Exited)
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("stdout.log")).unwrap(),
            "packet\nsecond\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("stderr.log")).unwrap(),
            "oops\n"
        );
        assert!(lines.contains(&"second".to_string()), "{lines:?}");
    }

    #[test]
    fn caps_output_and_notes_it() {
        let dir = tempfile::tempdir().unwrap();
        let run = run(
            &spec(dir.path(), "head -c 50000 /dev/zero | tr '\\0' x"),
            &mut |_| {},
        );
        assert!(run.truncated);
        assert_eq!(run.stdout_bytes, 50_000);
        let log = std::fs::read_to_string(dir.path().join("stdout.log")).unwrap();
        assert!(log.starts_with(&"x".repeat(1000)));
        assert!(
            log.ends_with(
                "[orch: output truncated: kept the first 1000 bytes, dropped 49000 more]\n"
            ),
            "{log}"
        );
    }

    #[test]
    fn idle_agents_are_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path(), "echo start; sleep 30");
        s.idle_timeout = Some(Duration::from_millis(300));
        let run = run(&s, &mut |_| {});
        assert_eq!(run.ended, Ended::IdleTimeout);
        assert!(matches!(run.exit, Exit::Signal(_)), "{:?}", run.exit);
    }

    #[test]
    fn missing_programs_are_spawn_failures() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(dir.path(), "");
        s.argv = vec!["/nonexistent/agent".into()];
        let run = run(&s, &mut |_| {});
        assert_eq!(run.ended, Ended::SpawnFailed);
        assert!(
            std::fs::read_to_string(dir.path().join("stderr.log"))
                .unwrap()
                .contains("could not start")
        );
    }
}
