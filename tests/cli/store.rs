//! The record store under faults: a crash or a failed write at any step of
//! a change leaves the record whole (the next command finishes a journaled
//! change and says so; a failed command changes nothing), files that are
//! not regular never hang orch, and a change costs one fsync.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Out, Server, TestRepo};

/// Every file under the run's record folder, with its content.
fn record(repo: &TestRepo, run: &str) -> BTreeMap<String, String> {
    repo.files_under(&format!("orchestration/runs/{run}/record"))
        .into_iter()
        .map(|f| {
            let text = repo.read(&f);
            (f, text)
        })
        .collect()
}

fn gate_start(repo: &TestRepo, run: &str, gate: &str, fault: Option<&str>) -> Out {
    let args = [
        "gate", "start", "--run", run, "--gate", gate, "--agent", "a",
    ];
    match fault {
        Some(f) => repo.orch_env(&args, &[("ORCH_FAULT", f)]),
        None => repo.orch(&args),
    }
}

/// A run with G1 passed and G2 started: changes to it touch an attempt
/// file and RUN.json.
fn busy_run(repo: &TestRepo) -> String {
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "a").ok();
    repo.do_work("G1", "robot");
    repo.finish_gate(&run, "G1").ok();
    run
}

/// Asserts that run `run`'s record folder holds no temporary file.
fn no_temp_left(repo: &TestRepo, run: &str, what: &str) {
    assert!(
        !repo
            .files_under(&format!("orchestration/runs/{run}/record"))
            .iter()
            .any(|f| f.contains(".orch-tmp-")),
        "{what}: no temporary file is left"
    );
}

fn verify_ok(repo: &TestRepo, run: &str) {
    repo.orch(&["verify", "--run", run, "--offline"]).ok();
}

#[test]
fn a_crash_after_the_change_is_journaled_is_finished_by_the_next_command() {
    // Steps of `gate start` after its journal entry is synced: writing the
    // attempt file's and RUN.json's temporary copies, then the two renames.
    for step in ["temp#1", "temp#2", "rename#1", "rename#2"] {
        let repo = TestRepo::shipped();
        let run = busy_run(&repo);
        let out = gate_start(&repo, &run, "G2", Some(&format!("{step}:kill")));
        assert_ne!(out.code, 0, "{step}: orch was killed");
        let attempt = format!("orchestration/runs/{run}/record/gates/G2/attempt-1.json");
        if step == "rename#2" {
            // Killed between the attempt file and RUN.json: torn on disk.
            assert!(repo.exists(&attempt), "{step}");
            assert_eq!(repo.run_json(&run)["gates"][1]["status"], "NOT_STARTED");
        }
        let show = repo.orch(&["run", "show", "--run", &run]);
        show.ok()
            .stderr_has(&format!("warning: run {run}: an interrupted orch command had journaled \"Gate G2 attempt 1 started with agent a\""))
            .stderr_has("rolled forward:");
        let r = repo.run_json(&run);
        assert_eq!(r["gates"][1]["status"], "RUNNING", "{step}");
        assert_eq!(repo.attempt_json(&run, "G2", 1)["status"], "RUNNING");
        verify_ok(&repo, &run);
        // Said once: the record is whole now.
        let again = repo.orch(&["run", "show", "--run", &run]);
        assert!(!again.stderr.contains("warning"), "{}", again.stderr);
        no_temp_left(&repo, &run, step);
    }
}

#[test]
fn a_crash_before_the_change_is_journaled_changes_nothing() {
    let repo = TestRepo::shipped();
    let run = busy_run(&repo);
    let before = record(&repo, &run);
    let out = gate_start(&repo, &run, "G2", Some("journal:kill"));
    assert_ne!(out.code, 0);
    assert_eq!(record(&repo, &run), before);
    let show = repo.orch(&["run", "show", "--run", &run]);
    assert!(!show.stderr.contains("warning"), "{}", show.stderr);
    gate_start(&repo, &run, "G2", None).ok();
    verify_ok(&repo, &run);
}

#[test]
fn a_failed_write_at_any_step_leaves_the_record_as_it_was() {
    for fault in [
        "journal:enospc",
        "temp#1:enospc",
        "temp#2:erofs",
        "rename#1:eio",
        "rename#2:eacces",
    ] {
        let repo = TestRepo::shipped();
        let run = busy_run(&repo);
        let journal = repo
            .path()
            .join(format!("orchestration/runs/{run}/logs/journal"));
        let journal_len = || std::fs::metadata(&journal).unwrap().len();
        // gate finish rewrites an existing attempt file: it must come back too.
        gate_start(&repo, &run, "G2", None).ok();
        let started = record(&repo, &run);
        let journaled = journal_len();
        let out = repo.orch_env(
            &["gate", "finish", "--run", &run, "--gate", "G2"],
            &[("ORCH_FAULT", fault)],
        );
        out.code(5).stderr_has(
            "hint: nothing was recorded: the run's record is as it was before this command",
        );
        assert_eq!(
            record(&repo, &run),
            started,
            "{fault}: the record is unchanged"
        );
        assert!(!repo.exists(&format!(
            "orchestration/runs/{run}/record/gates/G2/.orch-tmp"
        )));
        // A failed `gate start` on a gate never started leaves no folder or file.
        let out = repo.orch_env(
            &[
                "gate", "start", "--run", &run, "--gate", "G3", "--agent", "a",
            ],
            &[("ORCH_FAULT", fault)],
        );
        out.code(5);
        assert!(
            !repo.exists(&format!("orchestration/runs/{run}/record/gates/G3")),
            "{fault}"
        );
        assert_eq!(record(&repo, &run), started, "{fault}");
        assert_eq!(
            journal_len(),
            journaled,
            "{fault}: the failed changes left the journal"
        );
        // Nothing to finish later: the failed changes are gone for good.
        let next = repo.orch(&["run", "show", "--run", &run]);
        assert!(!next.stderr.contains("warning"), "{fault}: {}", next.stderr);
        repo.orch(&["run", "complete", "--run", &run]).ok();
        verify_ok(&repo, &run);
    }
}

/// The issue's reproduction: a `gate start` that cannot write RUN.json must
/// not leave an attempt file that a completed run then carries forever.
#[test]
fn a_gate_start_that_cannot_write_run_json_leaves_no_stray_attempt() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "a").ok();
    let record_dir = repo.path().join(format!("orchestration/runs/{run}/record"));
    let Some(guard) = ReadOnly::try_new(&record_dir) else {
        // Without a way to make the folder read-only, fail the same step by injection.
        gate_start(&repo, &run, "G3", Some("temp#2:eacces")).code(5);
        assert!(!repo.exists(&format!("orchestration/runs/{run}/record/gates/G3")));
        repo.orch(&["run", "complete", "--run", &run]).ok();
        verify_ok(&repo, &run);
        return;
    };
    let out = gate_start(&repo, &run, "G3", None);
    drop(guard);
    out.code(5).stderr_has(
        "hint: nothing was recorded: the run's record is as it was before this command",
    );
    assert!(!repo.exists(&format!(
        "orchestration/runs/{run}/record/gates/G3/attempt-1.json"
    )));
    repo.orch(&["run", "complete", "--run", &run]).ok();
    verify_ok(&repo, &run);
}

/// A folder made unwritable for the length of a test: `chattr +i` as root
/// (root ignores permissions), `chmod a-w` otherwise. None when neither works.
struct ReadOnly {
    dir: std::path::PathBuf,
    immutable: bool,
}

impl ReadOnly {
    fn try_new(dir: &Path) -> Option<ReadOnly> {
        let probe = |dir: &Path| std::fs::write(dir.join(".probe"), "x").is_err();
        let chattr = Command::new("chattr")
            .arg("+i")
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if chattr {
            if probe(dir) {
                return Some(ReadOnly {
                    dir: dir.to_path_buf(),
                    immutable: true,
                });
            }
            let _ = Command::new("chattr").arg("-i").arg(dir).status();
        }
        let chmod = |mode: &str| Command::new("chmod").arg(mode).arg(dir).status();
        let _ = chmod("a-w");
        if probe(dir) {
            return Some(ReadOnly {
                dir: dir.to_path_buf(),
                immutable: false,
            });
        }
        let _ = chmod("u+w");
        let _ = std::fs::remove_file(dir.join(".probe"));
        eprintln!(
            "skipping the read-only folder: neither chattr +i nor chmod a-w stops writes here"
        );
        None
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let (cmd, arg) = if self.immutable {
            ("chattr", "-i")
        } else {
            ("chmod", "u+w")
        };
        let _ = Command::new(cmd).arg(arg).arg(&self.dir).status();
    }
}

/// A full disk, for real: the repository on a small tmpfs (needs root;
/// skipped, saying why, elsewhere).
#[test]
fn a_full_disk_fails_the_command_and_loses_nothing() {
    let mount = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(mount.path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipping: cannot mount a tmpfs here (needs root) to fill a disk");
        return;
    }
    let _unmount = Unmount(mount.path());
    let repo = TestRepo::shipped_in(mount.path());
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "a").ok();
    let before = record(&repo, &run);
    // Fill the disk to the last byte.
    let filler = mount.path().join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut f, &block).is_ok() {}
    drop(f);
    let out = repo.orch(&[
        "gate", "fail", "--run", &run, "--gate", "G1", "--reason", "r",
    ]);
    out.code(5)
        .stderr_has("the disk is full")
        .stderr_has("hint: nothing was recorded");
    assert_eq!(record(&repo, &run), before);
    std::fs::remove_file(&filler).unwrap();
    let next = repo.orch(&[
        "gate", "fail", "--run", &run, "--gate", "G1", "--reason", "r",
    ]);
    next.ok();
    assert!(!next.stderr.contains("warning"), "{}", next.stderr);
    verify_ok(&repo, &run);
}

/// Unmounts a file system when dropped.
struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

/// A change made outside orch (a checkout, a copy) is never undone by the
/// journal, even when it puts back an older version.
#[test]
fn a_record_restored_by_hand_is_not_rolled_forward() {
    let repo = TestRepo::shipped();
    let run = busy_run(&repo);
    let rel = format!("orchestration/runs/{run}/record/RUN.json");
    let older = repo.read(&rel);
    gate_start(&repo, &run, "G2", None).ok();
    // As `git checkout -- RUN.json` would: the older bytes, a new file.
    std::fs::remove_file(repo.path().join(&rel)).unwrap();
    repo.write(&rel, &older);
    let show = repo.orch(&["run", "show", "--run", &run]);
    show.ok();
    assert!(!show.stderr.contains("warning"), "{}", show.stderr);
    assert_eq!(repo.read(&rel), older);
    gate_start(&repo, &run, "G3", None).ok();
    let r = repo.run_json(&run);
    assert_eq!(
        r["gates"][1]["status"], "NOT_STARTED",
        "G2's start stays undone"
    );
    assert_eq!(r["gates"][2]["status"], "RUNNING");
}

#[test]
fn a_record_from_another_boot_is_replayed_and_synced() {
    // After a power cut, renames that were not synced may be lost: the
    // journal's entries from the last boot are all checked.
    let repo = TestRepo::shipped();
    let run = busy_run(&repo);
    gate_start(&repo, &run, "G2", None).ok();
    let after = record(&repo, &run);
    let journal = repo
        .path()
        .join(format!("orchestration/runs/{run}/logs/journal"));
    let bytes = std::fs::read(&journal).unwrap();
    // Pretend the journal was written in another boot.
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map_or_else(|_| "0".repeat(36), |s| s.trim().to_string());
    let other = "f".repeat(36);
    let text = String::from_utf8_lossy(&bytes).replace(&boot, &other);
    assert_eq!(text.len(), bytes.len());
    let rel = format!("orchestration/runs/{run}/record");
    std::fs::write(&journal, text.as_bytes()).unwrap();
    // The rename of G2's attempt file never reached the disk.
    std::fs::remove_file(repo.path().join(format!("{rel}/gates/G2/attempt-1.json"))).unwrap();
    let show = repo.orch(&["run", "show", "--run", &run]);
    show.ok()
        .stderr_has("rolled forward: record/gates/G2/attempt-1.json");
    assert_eq!(record(&repo, &run), after);
    assert_eq!(
        std::fs::metadata(&journal).unwrap().len(),
        0,
        "synced, then emptied"
    );
}

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(path);
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mkfifo {}", path.display());
}

/// Runs orch and fails the test if it has not finished within 20 s.
fn orch_in_time(repo: &TestRepo, args: &[&str]) -> Out {
    let mut child = repo
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("orch {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn fifos_are_refused_at_once_everywhere_orch_reads() {
    const FIFO: &str = "is a FIFO (named pipe), not a regular file";
    let agent = ["--agent-cmd", "examples/agents/scripted-essay.sh"];
    // --prompt-file
    let repo = TestRepo::shipped();
    mkfifo(&repo.path().join("prompt.txt"));
    let out = orch_in_time(
        &repo,
        &[
            "run",
            "start",
            "--workflow",
            "visual-essay",
            "--slug",
            "s",
            "--prompt-file",
            "prompt.txt",
        ],
    );
    out.code(2).stderr_has(FIFO);
    let out = orch_in_time(
        &repo,
        &[
            "run",
            "visual-essay",
            "--slug",
            "s",
            "--prompt-file",
            "prompt.txt",
            agent[0],
            agent[1],
        ],
    );
    out.code(2).stderr_has(FIFO);
    // A skill file and a prompt template.
    for fifo in [
        "skills/essay-research/SKILL.md",
        "orchestration/prompts/G2.md",
        "orchestration/gates/contracts/G2.contract.json",
    ] {
        let repo = TestRepo::shipped();
        mkfifo(&repo.path().join(fifo));
        let out = orch_in_time(
            &repo,
            &["run", "visual-essay", "--slug", "s", agent[0], agent[1]],
        );
        out.code(2).stderr_has(FIFO);
    }
    // RUN.json, an attempt file, the lease, the lock and the journal.
    let repo = TestRepo::shipped();
    let run = repo.start_run("s");
    repo.start_gate(&run, "G1", "a").ok();
    let dir = repo.path().join(format!("orchestration/runs/{run}"));
    for (fifo, args) in [
        (
            "record/gates/G1/attempt-1.json",
            vec!["verify", "--run", &run],
        ),
        (
            "logs/lease.json",
            vec![
                "gate", "fail", "--run", &run, "--gate", "G1", "--reason", "r",
            ],
        ),
        (
            "logs/run.lock",
            vec![
                "gate", "fail", "--run", &run, "--gate", "G1", "--reason", "r",
            ],
        ),
        ("logs/journal", vec!["run", "show", "--run", &run]),
        (
            "logs/lease.json",
            vec!["run", "resume", "--run", &run, agent[0], agent[1]],
        ),
        ("record/RUN.json", vec!["run", "show", "--run", &run]),
        (
            "record/RUN.json",
            vec!["run", "resume", "--run", &run, agent[0], agent[1]],
        ),
    ] {
        let path = dir.join(fifo);
        let saved = std::fs::read(&path).ok();
        mkfifo(&path);
        let out = orch_in_time(&repo, &args);
        assert_ne!(out.code, 0, "{fifo}: {args:?}");
        assert!(
            out.stderr.contains(FIFO) || out.stdout.contains(FIFO),
            "{fifo} {args:?}:\n{}{}",
            out.stdout,
            out.stderr
        );
        std::fs::remove_file(&path).unwrap();
        if let Some(bytes) = saved {
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let list = orch_in_time(&repo, &["run", "list"]);
    list.ok();
}

/// A passed run of a one-gate workflow whose notification to `ops` is
/// pending (it ran offline).
fn notified_run() -> (TestRepo, String) {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "gates": [
            {"gate": "A1", "executor": {"command": ["true"]}, "contract": null}]}"#,
    );
    repo.write(
        "orchestration/notify.json",
        r#"{"targets": [{"name": "ops", "format": "json", "url_env": "HOOK_URL"}]}"#,
    );
    repo.orch_env(&["run", "w", "--slug", "s"], &[("ORCH_OFFLINE", "1")])
        .ok();
    let run = repo.orch(&["run", "list", "--json"]).json()[0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    (repo, run)
}

/// The files main's approvals, notifications and quality checks added to
/// what orch reads: as FIFOs, each is refused at once, saying what it is,
/// and never hangs orch or is passed over as if absent.
#[test]
fn fifos_among_approvals_notifications_and_commands_are_refused_at_once() {
    const FIFO: &str = "is a FIFO (named pipe), not a regular file";
    let (repo, run) = notified_run();
    let record = repo.path().join(format!("orchestration/runs/{run}/record"));

    // notifications.json: run show warns and goes on; notify retry stops.
    let notifications = record.join("notifications.json");
    mkfifo(&notifications);
    orch_in_time(&repo, &["run", "show", "--run", &run])
        .ok()
        .stderr_has(&format!("warning: notifications: cannot read `orchestration/runs/{run}/record/notifications.json`: {FIFO}"));
    orch_in_time(&repo, &["notify", "retry", "--run", &run])
        .code(2)
        .stderr_has(FIFO);
    std::fs::remove_file(&notifications).unwrap();

    // A signed approval: verify reports it.
    let approval = record.join("approvals/A1/attempt-1-0123456789ab.json");
    mkfifo(&approval);
    orch_in_time(&repo, &["verify", "--run", &run, "--offline"])
        .code(1)
        .stdout_has(FIFO);
    orch_in_time(&repo, &["run", "show", "--run", &run]).ok();
    std::fs::remove_dir_all(record.join("approvals")).unwrap();

    // The project's commands: lint and run say so.
    mkfifo(&repo.path().join("orchestration/commands.json"));
    orch_in_time(&repo, &["lint"]).code(1).stdout_has(&format!(
        "cannot read `orchestration/commands.json`: {FIFO}"
    ));
    orch_in_time(&repo, &["run", "w", "--slug", "t", "--offline"])
        .code(2)
        .stderr_has(FIFO);
}

/// What `strace OPTIONS orch ARGS` logged, orch given `env` besides the
/// repository's (None, saying why, where strace cannot trace).
fn strace(
    repo: &TestRepo,
    options: &[&str],
    args: &[&str],
    env: &[(&str, &str)],
) -> Option<String> {
    let log = repo.path().join(".strace");
    let mut wrapper = vec!["strace", "-f", "-o", log.to_str().unwrap()];
    wrapper.extend_from_slice(options);
    let status = repo
        .command_via(&wrapper, args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    // The traced command's own exit code does not matter here.
    if status.is_err() || text.is_empty() || text.contains("PTRACE_TRACEME") {
        eprintln!("skipping: strace is missing or cannot trace here");
        return None;
    }
    Some(text)
}

/// fsync/fdatasync calls of a command, counted by strace.
fn fsyncs(repo: &TestRepo, args: &[&str]) -> Option<usize> {
    fsyncs_env(repo, args, &[])
}

/// Like `fsyncs`, with `env` for orch.
fn fsyncs_env(repo: &TestRepo, args: &[&str], env: &[(&str, &str)]) -> Option<usize> {
    let text = strace(
        repo,
        &["-c", "-e", "trace=fsync,fdatasync,syncfs"],
        args,
        env,
    )?;
    Some(
        text.lines()
            .filter_map(|l| {
                let p: Vec<&str> = l.split_whitespace().collect();
                match p.last() {
                    Some(&("fsync" | "fdatasync" | "syncfs")) => p.get(3)?.parse::<usize>().ok(),
                    _ => None,
                }
            })
            .sum(),
    )
}

#[test]
fn a_change_costs_one_fsync_and_a_gate_attempt_at_most_four() {
    let repo = TestRepo::shipped();
    let Some(start) = fsyncs(
        &repo,
        &["run", "start", "--workflow", "visual-essay", "--slug", "s"],
    ) else {
        return;
    };
    // New folders (runs/, the run, record/ and logs/, the journal) once, and the change.
    assert!(start <= 6, "run start: {start} fsyncs");
    let run = repo.orch(&["run", "list", "--json"]).json()[0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let one = |args: &[&str]| fsyncs(&repo, args).unwrap();
    assert_eq!(
        one(&[
            "gate", "start", "--run", &run, "--gate", "G1", "--agent", "a"
        ]),
        1
    );
    assert_eq!(
        one(&[
            "invocation",
            "record",
            "--run",
            &run,
            "--gate",
            "G1",
            "--agent",
            "a"
        ]),
        1
    );
    assert_eq!(one(&["gate", "finish", "--run", &run, "--gate", "G1"]), 1);
    // Whole runs, telling a team (a notification is a change of its own):
    // the shipped workflow with its skills vetted, so G1 and G2 run on
    // their own, and G3 either too or after a signed approval of its start.
    let repo = TestRepo::vetted();
    repo.write(
        "orchestration/notify.json",
        r#"{"targets": [{"name": "team", "format": "json", "url_env": "HOOK_URL"}]}"#,
    );
    let server = Server::start(&[200]);
    repo.set_env("HOOK_URL", &server.url);
    let one = |args: &[&str]| fsyncs(&repo, args).unwrap();
    let run_visual_essay = |slug: &str| {
        let total = one(&[
            "run",
            "visual-essay",
            "--slug",
            slug,
            "--agent-cmd",
            "examples/agents/scripted-essay.sh",
        ]);
        let run = repo.orch(&["run", "list", "--json"]).json()[0]["run_id"]
            .as_str()
            .unwrap()
            .to_string();
        (total, run)
    };
    let attempts = |run: &str| -> usize {
        repo.run_json(run)["gates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["attempts"].as_array().unwrap().len())
            .sum()
    };
    let workflow = "orchestration/workflows/visual-essay.json";
    let shipped = repo.read(workflow);
    repo.write(
        workflow,
        &shipped.replace(
            r#""automation": "human_approval""#,
            r#""automation": "fully_auto""#,
        ),
    );
    let (total, run) = run_visual_essay("auto");
    assert_eq!(repo.run_json(&run)["status"], "PASSED");
    assert_eq!(attempts(&run), 3);
    assert!(
        total <= 6 + 4 * 3,
        "orch run: {total} fsyncs for 3 gate attempts"
    );
    assert_eq!(server.requests().len(), 1, "passed");

    repo.write(workflow, &shipped);
    let (mut total, run) = run_visual_essay("approved");
    assert_eq!(repo.run_json(&run)["status"], "AWAITING_APPROVAL");
    let approve = fsyncs_env(
        &repo,
        &[
            "approve",
            "--run",
            &run,
            "--gate",
            "G3",
            "--key",
            repo.example_key().to_str().unwrap(),
        ],
        &[
            ("GIT_AUTHOR_NAME", "Reviewer"),
            ("GIT_AUTHOR_EMAIL", "example-reviewer@orch.invalid"),
        ],
    )
    .unwrap();
    assert_eq!(approve, 1, "orch approve: one change");
    total += approve + one(&["run", "resume", "--run", &run]);
    assert_eq!(repo.run_json(&run)["status"], "PASSED");
    assert_eq!(attempts(&run), 3);
    assert_eq!(server.requests().len(), 3, "awaiting_approval, then passed");
    // The approval and the resume it allows are state changes of their
    // own, by other commands: one fsync each.
    assert!(
        total <= 6 + 4 * 3 + 2,
        "{total} fsyncs for 3 gate attempts, an approval and a resume"
    );
}

/// The paths a command opened, as strace saw them.
fn opened(repo: &TestRepo, args: &[&str]) -> Option<Vec<String>> {
    let text = strace(repo, &["-e", "trace=openat,open"], args, &[])?;
    Some(
        text.lines()
            .filter_map(|l| Some(l.split('"').nth(1)?.to_string()))
            .collect(),
    )
}

#[test]
fn a_full_run_id_opens_its_folder_without_listing_the_runs() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_run("other");
    let runs = repo.path().join("orchestration/runs").display().to_string();
    let lists = |opened: &[String]| opened.contains(&runs);
    let Some(full) = opened(
        &repo,
        &[
            "gate", "start", "--run", &run, "--gate", "G1", "--agent", "a",
        ],
    ) else {
        return;
    };
    assert!(!lists(&full), "a full id must not list {runs}");
    assert!(full.iter().any(|p| p.contains(&format!("{run}/record"))));
    let prefix = opened(&repo, &["run", "show", "--run", &run[..run.len() - 3]]).unwrap();
    assert!(
        lists(&prefix),
        "a prefix is looked up among the folder names"
    );
}

/// A shipped run (the example's trust set up) waiting for a signed
/// approval to start G3.
fn run_awaiting_approval() -> (TestRepo, String) {
    let repo = TestRepo::vetted();
    let out = repo.orch(&[
        "run",
        "visual-essay",
        "--slug",
        "robot",
        "--agent-cmd",
        "examples/agents/scripted-essay.sh",
    ]);
    out.code(4);
    let run = repo.files_under("orchestration/runs")[0]
        .split('/')
        .nth(2)
        .unwrap()
        .to_string();
    assert_eq!(repo.run_json(&run)["status"], "AWAITING_APPROVAL");
    (repo, run)
}

/// The approval file, the attempt it lets start and RUN.json are one
/// change: a crash at any step of `orch approve` leaves all of them or
/// none (the next command finishes the change, and says so), and a failed
/// write leaves none.
#[test]
fn an_approval_lands_whole_or_not_at_all() {
    for fault in [
        "journal:kill",
        "temp#1:kill",
        "temp#3:kill",
        "rename#1:kill",
        "rename#2:kill",
        "rename#3:kill",
        "journal:enospc",
        "temp#1:enospc",
        "rename#2:eio",
        "rename#3:eacces",
    ] {
        let (repo, run) = run_awaiting_approval();
        let approvals = format!("orchestration/runs/{run}/record/approvals");
        let before = record(&repo, &run);
        repo.set_env("ORCH_FAULT", fault);
        let out = repo.reviewer_decides("approve", &run, "G3", "scope is right");
        repo.set_env("ORCH_FAULT", "");
        let show = repo.orch(&["run", "show", "--run", &run]);
        show.ok();
        if fault == "journal:kill" || !fault.ends_with(":kill") {
            // Nothing was journaled (a crash) or it was undone (a failed write).
            if !fault.ends_with(":kill") {
                out.code(5).stderr_has("hint: nothing was recorded");
            }
            assert_eq!(record(&repo, &run), before, "{fault}");
            assert!(!show.stderr.contains("warning"), "{fault}: {}", show.stderr);
            // The reviewer approves again, and it counts.
            repo.reviewer_decides("approve", &run, "G3", "scope is right")
                .ok();
        } else {
            assert_ne!(out.code, 0, "{fault}: orch was killed");
            show.stderr_has("rolled forward:");
        }
        assert_eq!(repo.files_under(&approvals).len(), 1, "{fault}");
        let r = repo.run_json(&run);
        assert!(
            r["gates"][2]["attempts"][0]["start_approval"]["granted_at"].is_string(),
            "{fault}: {}",
            r["gates"][2]
        );
        no_temp_left(&repo, &run, fault);
        verify_ok(&repo, &run);
    }
}

#[test]
fn a_task_or_event_file_that_is_a_fifo_is_refused_not_waited_on() {
    const FIFO: &str = "is a FIFO (named pipe), not a regular file";
    for (dir, name) in [
        ("orchestration/tasks", "t_fifo0001.json"),
        (
            "orchestration/tasks/events",
            "t_fifo0001-0001-20261122T000000Z-progress-abcd.json",
        ),
    ] {
        let repo = TestRepo::new();
        repo.orch(&["task", "add", "--title", "first"]).ok();
        std::fs::create_dir_all(repo.path().join(dir)).unwrap();
        mkfifo(&repo.path().join(dir).join(name));
        let out = orch_in_time(&repo, &["task", "list"]);
        assert_ne!(out.code, 0, "{name}: {}", out.stderr);
        out.stderr_has(FIFO);
    }
}

/// `notify retry` records how each delivery went in notifications.json, a
/// change RUN.json does not show: the file is renamed into place, then
/// journaled. A failed write leaves it as it was; a crash before the
/// journal holds it loses that command's change whole (the next retry
/// sends again); once journaled it is durable. Never half-changed, never
/// a temporary file left.
#[test]
fn a_notification_record_survives_a_crash_or_a_failed_write() {
    let server = Server::start(&[200]);
    let pending = || {
        let (repo, run) = notified_run();
        repo.set_env("HOOK_URL", &server.url);
        (repo, run)
    };
    let status = |repo: &TestRepo, run: &str| {
        repo.read_json(&format!(
            "orchestration/runs/{run}/record/notifications.json"
        ))["notifications"][0]["status"]
            .clone()
    };
    for fault in [
        "temp#1:erofs",
        "rename#1:eio",
        "journal:enospc",
        "temp#1:kill",
        "rename#1:kill",
        "journal:kill",
    ] {
        let (repo, run) = pending();
        assert_eq!(status(&repo, &run), "pending");
        let before = record(&repo, &run);
        let out = repo.orch_env(
            &["notify", "retry", "--run", &run],
            &[("ORCH_FAULT", fault)],
        );
        assert_ne!(out.code, 0, "{fault}");
        if fault == "journal:kill" {
            // Killed once the file was in place: the change is there, whole.
            assert_eq!(status(&repo, &run), "delivered");
        } else {
            if !fault.ends_with(":kill") {
                out.code(5).stderr_has("hint: nothing was recorded");
            }
            // (A killed writer may leave its temporary file: the next
            // writer in that folder removes it.)
            let mut after = record(&repo, &run);
            after.retain(|f, _| !f.contains(".orch-tmp-"));
            assert_eq!(after, before, "{fault}: nothing changed");
            // The next retry sends again, and records it.
            repo.orch(&["notify", "retry", "--run", &run]).ok();
            assert_eq!(status(&repo, &run), "delivered", "{fault}");
        }
        // Nothing left to finish, and no temporary file left.
        let show = repo.orch(&["run", "show", "--run", &run]);
        assert!(!show.stderr.contains("warning"), "{fault}: {}", show.stderr);
        no_temp_left(&repo, &run, fault);
        repo.orch(&["verify", "--run", &run, "--offline"]).ok();
    }
}
