//! What a newcomer meets first: `--version`, completions and manual pages,
//! `--json` wherever data is printed, paths in the user's terms, and a
//! warning before two runs share their outputs.

use std::process::Command;

use crate::common::{TestRepo, project_root};

#[test]
fn version_names_the_commit_it_was_built_from() {
    let repo = TestRepo::new();
    repo.orch(&["--help"])
        .ok()
        .stdout_has("Run agent-driven, multi-gate workflows");
    let out = repo.orch(&["--version"]);
    let version = out.ok().stdout.trim().to_string();
    assert!(version.starts_with("orch 0."), "{version}");
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(project_root())
        .output()
        .ok()
        .filter(|o| o.status.success());
    match head {
        // Built from a git checkout: the commit is named.
        Some(o) => {
            let commit = String::from_utf8_lossy(&o.stdout).trim().to_string();
            assert!(
                version.contains(&format!("({commit} ")),
                "{version} lacks {commit}"
            );
        }
        // A source tarball: just the version.
        None => assert!(!version.contains('('), "{version}"),
    }
}

#[test]
fn completions_and_man_pages_come_from_the_command_definitions() {
    let repo = TestRepo::new();
    for (shell, needle) in [
        ("bash", "complete -F _orch"),
        ("zsh", "#compdef orch"),
        ("fish", "complete -c orch"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = repo.orch(&["completions", shell]);
        out.ok().stdout_has(needle).stdout_has("resume");
    }
    repo.orch(&["completions", "tcsh"])
        .code(2)
        .stderr_has("invalid value 'tcsh'");
    repo.orch(&["man"])
        .ok()
        .stdout_has(".TH orch 1")
        .stdout_has("completions");
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man1");
    repo.orch(&["man", "--out-dir", out_dir.to_str().unwrap()])
        .ok();
    for page in [
        "orch.1",
        "orch-init.1",
        "orch-run-resume.1",
        "orch-gate-finish.1",
    ] {
        let text = std::fs::read_to_string(out_dir.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    let resume = std::fs::read_to_string(out_dir.join("orch-run-resume.1")).unwrap();
    assert!(resume.contains("agent\\-cmd"), "{resume}");
}

/// Every leaf command, from the help texts (`orch run start`, …).
fn leaf_commands(repo: &TestRepo, path: &[String], out: &mut Vec<Vec<String>>) {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let help = repo.orch(&args).ok().stdout.clone();
    let subs: Vec<String> = help
        .split("Commands:\n")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .take_while(|l| l.starts_with("  "))
                .filter(|l| !l.starts_with("   "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|name| *name != "help")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if subs.is_empty() || path.len() == 1 && path[0] == "run" {
        out.push(path.to_vec());
    }
    for sub in subs {
        let mut next = path.to_vec();
        next.push(sub);
        leaf_commands(repo, &next, out);
    }
}

#[test]
fn every_command_that_prints_data_takes_json() {
    let repo = TestRepo::new();
    let mut commands = Vec::new();
    leaf_commands(&repo, &[], &mut commands);
    assert!(commands.len() > 15, "{commands:?}");
    for cmd in &commands {
        // Scripts for a shell and roff pages are not data.
        if matches!(cmd[0].as_str(), "completions" | "man") {
            continue;
        }
        let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        args.push("--help");
        let help = repo.orch(&args).ok().stdout.clone();
        assert!(
            help.contains("--json"),
            "`orch {}` takes no --json",
            cmd.join(" ")
        );
    }
    // verify and lint: --json is --format json; the others print JSON too.
    let repo = TestRepo::vetted();
    for args in [
        vec!["verify", "--json"],
        vec!["lint", "--json"],
        vec!["schema", "run", "--json"],
        vec!["hooks", "install", "--json"],
        vec!["run", "list", "--json"],
    ] {
        repo.orch(&args).ok().json();
    }
    assert_eq!(repo.orch(&["lint", "--json"]).json()["tool"], "lint");
    repo.orch(&["verify", "--json", "--format", "human"])
        .code(2)
        .stderr_has("cannot be used with");
}

#[test]
fn paths_on_the_command_line_are_relative_to_the_current_directory() {
    let repo = TestRepo::shipped();
    repo.write("essays/prompts/robot.md", "Write about the word robot.\n");
    std::fs::create_dir_all(repo.path().join("essays/robot")).unwrap();
    // From essays/: `.`-relative paths, as a shell completes them.
    let out = repo
        .command(&[
            "run",
            "start",
            "--workflow",
            "visual-essay",
            "--slug",
            "robot",
            "--artifact-path",
            "robot",
            "--prompt-file",
            "prompts/robot.md",
            "--json",
        ])
        .current_dir(repo.path().join("essays"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let record = repo.run_json(v["run_id"].as_str().unwrap());
    assert_eq!(record["workflow"]["artifact_path"], "essays/robot");
    assert_eq!(record["prompt"]["file"], "essays/prompts/robot.md");
    // `.` in a folder is that folder; at the root it is explained.
    let out = repo
        .command(&[
            "gate",
            "check",
            "--gate",
            "G1",
            "--slug",
            "robot",
            "--artifact-path",
            ".",
            "--json",
        ])
        .current_dir(repo.path().join("essays/robot"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["validations"][1]["path"], "essays/robot/INTAKE.md", "{v}");
    let help = repo.orch(&["run", "start", "--help"]).ok().stdout.clone();
    assert!(help.contains("Relative to the current directory"), "{help}");
}

#[test]
fn a_second_run_over_the_same_outputs_is_warned_about_by_name() {
    let repo = TestRepo::shipped();
    let (_, first) = repo.example_run("the-word-robot");
    let out = repo.orch(&[
        "run",
        "start",
        "--workflow",
        "visual-essay",
        "--slug",
        "the-word-robot",
    ]);
    out.ok().stderr_has(&format!(
        "warning: run {first} (visual-essay/the-word-robot, PASSED) already recorded outputs under essays/the-word-robot; this run will check and hash the same files"
    ));
    // A run of its own, or one nested inside, is told apart.
    let out = repo.orch(&[
        "run",
        "start",
        "--workflow",
        "visual-essay",
        "--slug",
        "robot-by-hand",
    ]);
    assert!(!out.ok().stderr.contains("warning"), "{}", out.stderr);
    repo.orch(&[
        "run",
        "start",
        "--workflow",
        "visual-essay",
        "--slug",
        "x",
        "--artifact-path",
        "essays/the-word-robot/research",
    ])
    .ok()
    .stderr_has(&format!("warning: run {first}"));
    // `orch run` says it too, before it starts.
    repo.orch(&["run", "visual-essay", "--slug", "the-word-robot", "--json"])
        .code(4)
        .stderr_has(&format!("warning: run {first}"));
}

#[test]
fn a_misspelled_validation_type_suggests_the_nearest_before_the_plugin_hint() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "validations": [{"type": "contains_heading", "target": "a", "required_headings": ["A"]}]}"#,
    );
    let out = repo.check_gate("G1", &[]);
    out.code(2);
    let hints: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("hint:"))
        .collect();
    assert_eq!(
        hints[0], "hint: did you mean `contains_headings`?",
        "{hints:?}"
    );
    assert!(
        hints[2].contains("orchestration/validators/contains_heading"),
        "{hints:?}"
    );
}
