//! The README, run as a newcomer would: its main command, then its manual
//! quick start in the same clone, then "Use orch in your own repository" in
//! a brand-new one. Each command in those blocks is run as written (`orch`,
//! and `$ORCH` in the example script, are this build); a line whose comment
//! says it fails must exit 1, every other line 0.

use std::fmt::Write;
use std::process::Command;

use crate::common::{BIN, Out, TestRepo, project_root};

/// The first ```sh block after `heading`, line by line.
fn block(heading: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(project_root().join("README.md")).unwrap();
    let at = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
    let rest = &readme[at..];
    let start = rest.find("```sh\n").unwrap() + "```sh\n".len();
    let end = start + rest[start..].find("```").unwrap();
    rest[start..end].lines().map(str::to_string).collect()
}

/// Runs the lines as one shell script in `repo`, checking each line's exit code.
fn run_lines(repo: &TestRepo, lines: &[String]) {
    let mut script = String::from("set -u\norch() { \"$ORCH_BIN\" \"$@\"; }\n");
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim();
        if code.is_empty() || code.starts_with('#') || code.starts_with("cd ") {
            continue;
        }
        let expected = u8::from(
            line.split_once('#')
                .is_some_and(|(_, c)| c.contains("fails")),
        );
        let _ = writeln!(
            script,
            "{line}\nrc=$?; [ $rc -eq {expected} ] || {{ echo \"README line {}: exit $rc, not {expected}: {}\" >&2; exit 1; }}",
            i + 1,
            code.replace(['"', '$', '`'], "'")
        );
    }
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(repo.path())
        .env("ORCH_BIN", BIN)
        .env("NO_COLOR", "1")
        .env_remove("ORCH_NOW")
        .env_remove("ORCH_SEED")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        script,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_main_command_then_the_quick_start_work_in_one_clone() {
    let repo = TestRepo::shipped();
    let setup: Vec<String> = block("## Set up")
        .into_iter()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    assert_eq!(
        setup.len(),
        2,
        "two commands: the main job, then the tests: {setup:?}"
    );
    assert_eq!(setup[1], "cargo test");
    // The main command as written, with ORCH naming this build (the example
    // script builds target/release/orch otherwise), on a terminal when one
    // can be made, as a newcomer runs it: it must not wait for an answer
    // (stdin gives none).
    let line = format!("ORCH={} {}", shlex::try_quote(BIN).unwrap(), setup[0]);
    let out = repo.on_terminal_sh(&line, "").unwrap_or_else(|| {
        let out = Command::new("sh")
            .args(["-c", &line])
            .current_dir(repo.path())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        Out::from(&out)
    });
    out.ok().stdout_has("PASSED run_");
    assert!(
        out.stdout.lines().all(|l| !l.contains("[Y/n]")),
        "{}",
        out.stdout
    );
    assert!(repo.exists("essays/the-word-robot/SPEC.md"));

    run_lines(&repo, &block("## Quick start: a run by hand (manual mode)"));
    let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
    assert!(!status.contains("/logs/"), "{status}");
    assert!(status.contains("essays/robot-by-hand/SPEC.md"), "{status}");
    let runs: Vec<_> = std::fs::read_dir(repo.path().join("orchestration/runs"))
        .unwrap()
        .collect();
    assert_eq!(runs.len(), 2, "the main run and the quick start's");
    // Checked as the README says: trusting the example's reviewer.
    repo.set_env("ORCH_TRUSTED_REV", "refs/orch/example-trust");
    repo.orch(&["verify"]).ok();
}

#[test]
fn use_orch_in_your_own_repository_works_as_written() {
    let repo = TestRepo::new();
    run_lines(&repo, &block("## Use orch in your own repository"));
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "everything committed, no logs left over"
    );
}

#[test]
fn the_team_example_runs_every_task_to_done() {
    let repo = TestRepo::shipped();
    assert!(
        block("## Team work: a backlog, workers and statistics")
            .iter()
            .any(|l| l.starts_with("sh examples/team.sh")),
        "the README's team block starts with the example script"
    );
    let out = Out::from(
        &Command::new("sh")
            .arg("examples/team.sh")
            .current_dir(repo.path())
            .env("ORCH", BIN)
            .env("NO_COLOR", "1")
            .env("ORCH_POLL_INTERVAL", "0.05")
            .env("ORCH_HEARTBEAT_S", "0.2")
            .env_remove("ORCH_TRUSTED_REV")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap(),
    );
    out.ok().stdout_has("backlog     12 DONE");
    // Each essay's G3 waited for the lead's signed approval, and got it.
    repo.set_env("ORCH_TRUSTED_REV", "refs/orch/example-trust");
    let approvals = repo.files_under("orchestration/runs");
    let signed = approvals
        .iter()
        .filter(|p| p.contains("/record/approvals/"))
        .count();
    assert!(signed >= 12, "{approvals:?}");
    repo.orch(&["verify"]).ok();
}
