//! Every error class: one `error:` line with a hint, a documented exit code,
//! no panic, and nothing half-written.

use crate::common::TestRepo;

#[test]
fn broken_json_names_file_line_and_column() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        "{\n  \"gate\": \"G1\",\n  \"validations\": [],\n}\n",
    );
    let out = repo.check_gate("G1", &[]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/gates/contracts/G1.contract.json:4:1: invalid JSON: trailing comma"
    );
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        "{\"gate\": \"G1\", \"blocking\": \"yes\"}",
    );
    let out = repo.check_gate("G1", &[]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/gates/contracts/G1.contract.json:1:32: invalid type: string \"yes\", expected a boolean"
    );
}

#[test]
fn broken_workflow_json_is_positioned_too() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        "{\"workflow\": \"w\",\n \"gates\": [\n  {\"gate\": \"G1\" \"name\": \"x\"}]}",
    );
    let out = repo.orch(&[
        "run",
        "start",
        "--workflow",
        "w",
        "--slug",
        "s",
        "--artifact-path",
        "out",
    ]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/workflows/w.json:3:17: invalid JSON: expected `,` or `}`"
    );
}

#[test]
fn unknown_validation_types_are_errors_not_skips() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        "{\"gate\": \"G1\", \"validations\": [\n  {\"type\": \"viz_tech_match\", \"severity\": \"error\"}\n]}",
    );
    let out = repo.check_gate("G1", &[]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/gates/contracts/G1.contract.json:2:3: unknown validation type `viz_tech_match`"
    );
    out.stderr_has("hint: known types: file_exists, dir_exists")
        .stderr_has(
            "hint: to add a type, provide an executable `orchestration/validators/viz_tech_match`",
        );
}

#[test]
fn unknown_template_variables_are_errors() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "required_outputs": {"all_of": [{"path": "{artifact_dir}/x.md"}]}}"#,
    );
    let out = repo.check_gate("G1", &[]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/gates/contracts/G1.contract.json:1:57: unknown template variable `{artifact_dir}` in required_outputs path `{artifact_dir}/x.md`"
    );
    out.stderr_has("hint: known variables: {slug}, {artifact_path}, {client_component}");
}

#[test]
fn paths_that_leave_the_repository_are_refused() {
    let repo = TestRepo::new();
    for (target, message) in [
        (
            "../outside.md",
            "error: unsafe validation target: `../outside.md` leaves the repository",
        ),
        (
            "{artifact_path}/../../x",
            "error: unsafe validation target: `out/../../x` leaves the repository",
        ),
        (
            "/etc/passwd",
            "error: unsafe validation target: `/etc/passwd` is an absolute path; paths must be relative to the repository root",
        ),
    ] {
        repo.write(
            "orchestration/gates/contracts/G1.contract.json",
            &format!(r#"{{"gate": "G1", "validations": [{{"type": "contains_text", "target": "{target}", "patterns": "root"}}]}}"#),
        );
        let out = repo.check_gate("G1", &[]);
        assert_eq!(out.code(2).one_error(), message);
        out.stderr_has("hint: orch only reads, hashes and writes files inside the repository");
    }
    let out = repo.orch(&[
        "gate",
        "check",
        "--gate",
        "G1",
        "--slug",
        "s",
        "--artifact-path",
        "../elsewhere",
    ]);
    assert_eq!(
        out.code(2).one_error(),
        "error: unsafe artifact path: `../elsewhere` leaves the repository"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_pointing_outside_are_never_followed() {
    let repo = TestRepo::shipped();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("SOURCES.md"), "### secret\n").unwrap();
    std::fs::create_dir_all(repo.path().join("essays/robot")).unwrap();
    std::os::unix::fs::symlink(outside.path(), repo.path().join("essays/robot/research")).unwrap();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G2", "a").ok();
    let before = repo.read(&format!("orchestration/runs/{run}/record/RUN.json"));
    let out = repo.finish_gate(&run, "G2");
    let line = out.code(2).one_error();
    assert!(
        line.starts_with("error: unsafe required output: `essays/robot/research/SOURCES.md` goes through symlink `essays/robot/research`"),
        "{line}"
    );
    // Nothing recorded: the attempt is still in progress and RUN.json is untouched.
    assert_eq!(
        repo.read(&format!("orchestration/runs/{run}/record/RUN.json")),
        before
    );
    assert_eq!(repo.attempt_json(&run, "G2", 1)["status"], "RUNNING");
    assert!(!before.contains("secret"));
}

#[test]
fn a_slug_must_be_a_safe_path_component() {
    let repo = TestRepo::shipped();
    for slug in ["../x", "a/b", ".hidden", "with space"] {
        let out = repo.orch(&["run", "start", "--workflow", "visual-essay", "--slug", slug]);
        assert_eq!(
            out.code(2).one_error(),
            format!("error: slug `{slug}` is not a safe path component")
        );
    }
    assert!(repo.files_under("orchestration/runs").is_empty());
}

#[test]
fn a_missing_run_workflow_or_contract_is_a_usage_error() {
    let repo = TestRepo::shipped();
    let out = repo.start_gate("run_nope", "G1", "a");
    assert_eq!(
        out.code(2).one_error(),
        "error: no run matches `run_nope`: there are no runs yet"
    );
    let out = repo.orch(&["run", "start", "--workflow", "nope", "--slug", "s"]);
    assert_eq!(out.code(2).one_error(), "error: no workflow named `nope`");
    out.stderr_has("hint: available workflows: nightly, visual-essay");
    let out = repo.check_gate("G7", &[]);
    assert_eq!(
        out.code(2).one_error(),
        "error: gate G7: contract `orchestration/gates/contracts/G7.contract.json` does not exist"
    );
}

#[test]
fn outside_a_git_repository_orch_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::common::BIN)
        .args(["run", "list"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not inside a git repository"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: orch keeps its records in a git work tree"),
        "{stderr}"
    );
}

#[test]
fn a_record_written_by_a_newer_orch_is_read_only() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    let path = format!("orchestration/runs/{run}/record/RUN.json");
    let newer = repo
        .read(&path)
        .replace("\"format_version\": 1", "\"format_version\": 99");
    repo.write(&path, &newer);
    let out = repo.start_gate(&run, "G1", "a");
    let line = out.code(3).one_error();
    assert!(
        line.contains("was written by a newer orch (record format 99)"),
        "{line}"
    );
    out.stderr_has("hint: upgrade orch");
    assert_eq!(repo.read(&path), newer);
    repo.orch(&["run", "show", "--run", &run]).ok();
}

#[test]
fn corrupt_records_are_errors_not_panics() {
    let repo = TestRepo::shipped();
    for content in ["", "null", "[]", "{\"run_id\": 5}", "\u{0}\u{1}binary"] {
        repo.write("orchestration/runs/run_bad/record/RUN.json", content);
        let out = repo.orch(&["run", "show", "--run", "run_bad"]);
        let line = out.code(2).one_error();
        assert!(
            line.starts_with("error: orchestration/runs/run_bad/record/RUN.json:"),
            "{line}"
        );
        repo.start_gate("run_bad", "G1", "a").code(2);
        assert_eq!(
            repo.read("orchestration/runs/run_bad/record/RUN.json"),
            content
        );
    }
    let out = repo.orch(&["run", "show", "--run", "run_"]);
    out.code(2);
    std::fs::create_dir_all(repo.path().join("orchestration/runs/run_empty")).unwrap();
    let out = repo.orch(&["run", "show", "--run", "run_empty"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: run `run_empty` has no record: `orchestration/runs/run_empty/record/RUN.json` is missing"
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let repo = TestRepo::shipped();
    let out = repo.orch(&["run", "start", "--workflow", "visual-essay"]);
    out.code(2).stderr_has("--slug <SLUG>");
    repo.orch(&[
        "gate",
        "check",
        "--gate",
        "G1",
        "--slug",
        "s",
        "--artifact-path",
        "a",
        "--depth",
        "extreme",
    ])
    .code(2)
    .stderr_has("invalid value 'extreme'");
    repo.orch(&["frobnicate"]).code(2);
    repo.orch(&["--help"]).ok().stdout_has("Exit codes:");
    repo.orch(&["--version"]).ok().stdout_has("orch ");
}

#[test]
fn untrusted_text_is_sanitised_before_reaching_the_terminal() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "validations": [{"type": "regex_match", "target": "out/a.md", "regex": "evil.*", "must_not_match": true}]}"#,
    )
    .write("out/a.md", "evil\u{1b}[2J\u{1b}]0;pwned\u{7}\n");
    let out = repo.check_gate("G1", &[]);
    out.code(1);
    assert!(
        !out.stdout.contains('\u{1b}'),
        "escape sequence reached the terminal: {:?}",
        out.stdout
    );
    out.stdout_has("matched `evil");
}

#[test]
fn a_record_cannot_name_files_outside_its_folder() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    let path = format!("orchestration/runs/{run}/record/RUN.json");
    let good = repo.read(&path);
    // A run_id that is not the folder's name (a copied folder, or worse).
    repo.write(
        &path,
        &good.replace(
            &format!("\"run_id\": \"{run}\""),
            "\"run_id\": \"../../../../escaped\"",
        ),
    );
    let out = repo.start_gate(&run, "G1", "a");
    let line = out.code(2).one_error().to_string();
    assert!(
        line.contains("the record says its run_id is `../../../../escaped`"),
        "{line}"
    );
    assert!(!repo.path().join("../../../escaped").exists());
    // A gate code that is not a path component.
    repo.write(
        &path,
        &good.replace("\"gate\": \"G1\"", "\"gate\": \"../../G1\""),
    );
    let out = repo.orch(&["run", "complete", "--run", &run]);
    assert!(
        out.code(2)
            .one_error()
            .contains("gate code `../../G1` cannot be a folder name")
    );
    assert_eq!(
        repo.read(&path),
        good.replace("\"gate\": \"G1\"", "\"gate\": \"../../G1\""),
        "nothing written"
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_record_folder_pointing_outside_is_refused() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    let outside = tempfile::tempdir().unwrap();
    let record = repo.path().join(format!("orchestration/runs/{run}/record"));
    copy_dir_into(&record, outside.path());
    std::fs::remove_dir_all(&record).unwrap();
    std::os::unix::fs::symlink(outside.path(), &record).unwrap();
    let before = std::fs::read_to_string(outside.path().join("RUN.json")).unwrap();
    let out = repo.start_gate(&run, "G1", "a");
    let line = out.code(2).one_error().to_string();
    assert!(
        line.starts_with("error: unsafe run path:")
            && line.contains("points outside the repository"),
        "{line}"
    );
    assert_eq!(
        std::fs::read_to_string(outside.path().join("RUN.json")).unwrap(),
        before
    );
    repo.orch(&["run", "show", "--run", &run]).code(2);
}

#[cfg(unix)]
fn copy_dir_into(src: &std::path::Path, dst: &std::path::Path) {
    crate::common::copy_dir(src, dst);
}

#[test]
fn paths_are_checked_before_anything_runs_or_is_created() {
    let repo = TestRepo::shipped();
    // An artifact path inside orch's or git's own folders.
    for bad in [".git", "orchestration/runs/x"] {
        let out = repo.orch(&[
            "run",
            "start",
            "--workflow",
            "visual-essay",
            "--slug",
            "s",
            "--artifact-path",
            bad,
        ]);
        assert!(
            out.code(2)
                .one_error()
                .contains("is inside orch's or git's own folders"),
            "{bad}"
        );
    }
    // A folder where a file is expected is the user's input (exit 2), not an I/O failure.
    let out = repo.orch(&[
        "run",
        "start",
        "--workflow",
        "visual-essay",
        "--slug",
        "s",
        "--prompt-file",
        "skills",
    ]);
    out.code(2);
    // A workflow outside the repository is refused before it is read.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("w.json"), "not json at all").unwrap();
    let path = outside.path().join("w.json");
    let out = repo.orch(&[
        "run",
        "start",
        "--workflow",
        path.to_str().unwrap(),
        "--slug",
        "s",
    ]);
    assert!(
        out.code(2)
            .one_error()
            .ends_with("is outside the repository")
    );
    // A skill a gate runs that does not exist stops `orch run` before a run exists.
    let workflow = "orchestration/workflows/visual-essay.json";
    repo.write(
        workflow,
        &repo
            .read(workflow)
            .replace("\"skill\": \"essay-research\"", "\"skill\": \"nope\""),
    );
    let out = repo.orch(&["run", "visual-essay", "--slug", "s"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: gate G2: no skill `nope`: skills/nope/SKILL.md does not exist"
    );
    assert!(repo.files_under("orchestration/runs").is_empty());
}

#[cfg(unix)]
#[test]
fn every_pre_script_path_is_checked_before_any_runs() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "gates": [{"gate": "G1"}]}"#,
    )
    .write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "pre_scripts": [{"path": "first.sh"}, {"path": "/bin/true"}]}"#,
    )
    .write("first.sh", "touch ran\n");
    let run = repo
        .orch(&["run", "start", "--workflow", "w", "--slug", "s"])
        .ok()
        .stdout
        .trim()
        .to_string();
    repo.start_gate(&run, "G1", "a").ok();
    let out = repo.finish_gate(&run, "G1");
    assert!(
        out.code(2)
            .one_error()
            .starts_with("error: pre-script `/bin/true`: `/bin/true` is an absolute path"),
        "{}",
        out.stderr
    );
    out.stderr_has("hint: pre-scripts are repository files");
    assert!(!repo.exists("ran"), "nothing ran");
}

#[test]
fn globs_work_in_a_repository_whose_path_has_pattern_characters() {
    let repo = TestRepo::named("orch[1]*?");
    repo.write("out/a.md", "a").write("out/b.md", "b");
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "required_outputs": {"all_of": [{"path": "{artifact_path}/*.md"}]}}"#,
    );
    let out = repo.check_gate("G1", &["--json"]);
    let v = out.ok().json();
    let paths: Vec<&str> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["out/a.md", "out/b.md"]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_name_that_is_not_utf8_is_an_error_not_a_silent_omission() {
    use std::os::unix::ffi::OsStrExt;
    let repo = TestRepo::new();
    repo.write("out/data/good.txt", "g");
    let bad = repo
        .path()
        .join("out/data")
        .join(std::ffi::OsStr::from_bytes(b"bad\xff.txt"));
    std::fs::write(bad, "b").unwrap();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "required_outputs": {"all_of": [{"path": "{artifact_path}/data"}]}}"#,
    );
    let out = repo.check_gate("G1", &[]);
    let line = out.code(2).one_error().to_string();
    assert!(
        line.contains("holds a file whose name is not UTF-8"),
        "{line}"
    );
}

#[test]
fn unusable_environment_values_are_named_not_silently_ignored() {
    let repo = TestRepo::shipped();
    let out = repo.orch_env(
        &[
            "run",
            "start",
            "--workflow",
            "visual-essay",
            "--slug",
            "robot",
        ],
        &[("ORCH_NOW", "yesterday"), ("ORCH_LOCK_TIMEOUT", "-3")],
    );
    out.ok()
        .stderr_has("warning: ORCH_NOW=\"yesterday\" is not an RFC 3339 time")
        .stderr_has("warning: ORCH_LOCK_TIMEOUT=\"-3\" is not a positive number of seconds");
    // The run still starts, stamped with the real clock.
    let run = out.stdout.trim();
    let started = repo.run_json(run)["started_at"]
        .as_str()
        .unwrap()
        .to_string();
    let age = chrono::Utc::now()
        - chrono::DateTime::parse_from_rfc3339(&started)
            .unwrap()
            .to_utc();
    assert!(age.num_minutes().abs() < 60, "{started} is not now");
    let quiet = repo.orch(&["run", "list"]);
    assert!(!quiet.stderr.contains("warning:"), "{}", quiet.stderr);
}

/// Asserts orch's error shape: the exit code, exactly one `error:` line
/// (containing `says`), at least one `hint:` line, no panic.
#[track_caller]
fn error_with_hint(out: &crate::common::Out, code: i32, says: &str) {
    let line = out.code(code).one_error();
    assert!(line.contains(says), "{line:?} lacks {says:?}");
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("hint: ") && l.len() > 8),
        "no hint for {line:?}:\n{}",
        out.stderr
    );
}

#[test]
fn every_error_has_one_error_line_and_a_hint() {
    let repo = TestRepo::shipped();
    let contract = "orchestration/gates/contracts/G1.contract.json";
    let good_contract = repo.read(contract);
    let workflow = "orchestration/workflows/visual-essay.json";
    let good_workflow = repo.read(workflow);
    let check = |r: &TestRepo| r.check_gate("G1", &[]);

    // Contracts: JSON syntax, JSON types, regexes, globs, a mistyped type.
    for (text, says) in [
        ("{\"gate\": \"G1\",}", "invalid JSON: trailing comma"),
        (
            "{\"gate\": 1}",
            "invalid type: integer `1`, expected a string",
        ),
        (
            "{\"gate\": \"G1\", \"validations\": 3}",
            "expected an array",
        ),
        (
            r#"{"gate": "G1", "validations": [{"type": "regex_match", "target": "a", "regex": "(a"}]}"#,
            "`regex` does not compile",
        ),
        (
            r#"{"gate": "G1", "validations": [{"type": "min_file_count", "target": "a", "pattern": "[", "thresholds": {}}]}"#,
            "is not a valid glob",
        ),
        (
            r#"{"gate": "G1", "validations": [{"type": "contains_heading", "target": "a"}]}"#,
            "unknown validation type `contains_heading`",
        ),
        (
            r#"{"gate": "G1", "validations": ["x"]}"#,
            "a validation must be a JSON object",
        ),
        (
            r#"{"gate": "G1", "validations": [{"type": "frontmatter_status", "target": "a", "checks": {"s": []}}]}"#,
            "frontmatter check `s` is not understood",
        ),
    ] {
        repo.write(contract, text);
        error_with_hint(&check(&repo), 2, says);
    }
    repo.write(contract, &good_contract);

    // Workflows: JSON syntax and types, and the workflow checks.
    let start =
        |r: &TestRepo| r.orch(&["run", "start", "--workflow", "visual-essay", "--slug", "s"]);
    for (text, says) in [
        (
            "{\"workflow\": \"visual-essay\" \"gates\": []}",
            "invalid JSON",
        ),
        (
            "{\"workflow\": \"visual-essay\", \"gates\": 5}",
            "expected an array",
        ),
        (
            "{\"workflow\": \"visual-essay\", \"gates\": []}",
            "workflow has no gates",
        ),
        (
            r#"{"workflow": "visual-essay", "gates": [{"gate": "G1"}, {"gate": "G1"}]}"#,
            "gate `G1` appears twice",
        ),
        (
            r#"{"workflow": "visual-essay", "gates": [{"gate": "G1", "executor": {"command": ["x"], "timeout_s": -5}}]}"#,
            "executor.timeout_s must be a positive number of seconds",
        ),
        (
            r#"{"workflow": "visual-essay", "gates": [{"gate": "G1", "retry_from": "G9"}]}"#,
            "retry_from `G9` is not an earlier gate",
        ),
    ] {
        repo.write(workflow, text);
        error_with_hint(&start(&repo), 2, says);
    }
    repo.write(workflow, &good_workflow);

    // RUN.json: syntax, types, and a missing `gates` or `run_id` named as such.
    let run = repo.start_run("robot");
    let run_json = format!("orchestration/runs/{run}/record/RUN.json");
    let good_run = repo.read(&run_json);
    let without = |field: &str| {
        let mut v: serde_json::Value = serde_json::from_str(&good_run).unwrap();
        v.as_object_mut().unwrap().remove(field);
        serde_json::to_string_pretty(&v).unwrap()
    };
    for (text, says) in [
        ("{".to_string(), "invalid JSON: EOF while parsing an object"),
        (
            good_run.replace("\"RUNNING\"", "5"),
            "invalid type: integer `5`, expected a string",
        ),
        (without("gates"), "missing field `gates`"),
        (without("run_id"), "missing field `run_id`"),
    ] {
        repo.write(&run_json, &text);
        for args in [
            vec!["run", "show", "--run", run.as_str()],
            vec![
                "gate",
                "start",
                "--run",
                run.as_str(),
                "--gate",
                "G1",
                "--agent",
                "a",
            ],
        ] {
            error_with_hint(&repo.orch(&args), 2, says);
        }
    }
    repo.write(&run_json, &good_run);

    // The command line: clap's errors, typos, values out of range, paths.
    for (args, code, says) in [
        (
            vec!["run", "list", "--bogus"],
            2,
            "unexpected argument '--bogus' found",
        ),
        (
            vec!["run", "start", "--workflow", "visual-essay"],
            2,
            "--slug <SLUG>",
        ),
        (
            vec![
                "gate",
                "check",
                "--gate",
                "G1",
                "--slug",
                "s",
                "--artifact-path",
                "a",
                "--depth",
                "x",
            ],
            2,
            "invalid value 'x'",
        ),
        (vec!["lsit"], 2, "unrecognized subcommand 'lsit'"),
        (vec!["run", "lsit"], 2, "unrecognized subcommand `lsit`"),
        (
            vec!["run", "resmue", "--run", "x"],
            2,
            "unrecognized subcommand `resmue`",
        ),
        (
            vec!["run", "show", "--run", "nope"],
            2,
            "no run matches `nope`",
        ),
        (
            vec!["run", "nope", "--slug", "s"],
            2,
            "no workflow named `nope`",
        ),
        (
            vec![
                "invocation",
                "record",
                "--run",
                &run,
                "--gate",
                "G1",
                "--agent",
                "a",
                "--cost-usd",
                "1e12",
            ],
            2,
            "--cost-usd must be a number of US dollars",
        ),
        (
            vec![
                "run",
                "start",
                "--workflow",
                "visual-essay",
                "--slug",
                "s",
                "--prompt-file",
                "skills",
            ],
            2,
            "cannot read `skills`: it is a folder, not a file",
        ),
        (
            vec![
                "run",
                "start",
                "--workflow",
                "visual-essay",
                "--slug",
                "s",
                "--artifact-path",
                ".",
            ],
            2,
            "is the repository root itself",
        ),
        (
            vec![
                "run",
                "start",
                "--workflow",
                "visual-essay",
                "--slug",
                "s",
                "--artifact-path",
                "/etc",
            ],
            2,
            "--artifact-path `/etc` is outside the repository",
        ),
        (
            vec!["run", "visual-essay", "--slug", "s", "--timeout", "-1"],
            2,
            "--timeout must be a positive number of seconds",
        ),
        (
            vec!["gate", "finish", "--run", &run, "--gate", "G1"],
            3,
            "G1 has not been started",
        ),
        (
            vec![
                "verify",
                "--output",
                "skills/essay-spec/SKILL.md/report.txt",
            ],
            5,
            "cannot write",
        ),
        (
            vec!["-C", "README-that-is-not-here", "run", "list"],
            2,
            "cannot read `README-that-is-not-here`",
        ),
    ] {
        error_with_hint(&repo.orch(&args), code, says);
    }
    repo.orch(&["run", "complete", "--run", &run]).ok();
    error_with_hint(&repo.start_gate(&run, "G1", "a"), 3, "was completed");
}
