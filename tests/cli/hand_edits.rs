//! Records and workflows edited by hand into something orch must not carry
//! forward: each is refused with a clear message, and nothing is rewritten.

use crate::common::TestRepo;

fn edit_run_json(repo: &TestRepo, run: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let rel = format!("orchestration/runs/{run}/record/RUN.json");
    let mut v = repo.read_json(&rel);
    edit(&mut v);
    repo.write(&rel, &serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn attempt_numbers_never_wrap_around() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "a").ok();
    repo.orch(&[
        "gate", "fail", "--run", &run, "--gate", "G1", "--reason", "r",
    ])
    .ok();
    edit_run_json(&repo, &run, |v| {
        v["gates"][0]["attempts"][0]["attempt"] = u32::MAX.into();
    });
    let before = repo.read(&format!("orchestration/runs/{run}/record/RUN.json"));
    for out in [
        repo.start_gate(&run, "G1", "a"),
        repo.orch(&[
            "gate", "fail", "--run", &run, "--gate", "G1", "--reason", "r",
        ]),
    ] {
        assert_eq!(
            out.code(3).one_error(),
            "error: gate G1 already has attempt 4294967295, the largest attempt number there is"
        );
        out.stderr_has("hint: start a new run for this work");
    }
    assert_eq!(
        repo.read(&format!("orchestration/runs/{run}/record/RUN.json")),
        before
    );
    assert!(!repo.exists(&format!(
        "orchestration/runs/{run}/record/gates/G1/attempt-0.json"
    )));
}

#[test]
fn unknown_statuses_are_errors_not_rewritten() {
    for (what, edit) in [
        (
            "unknown run status `PAUSED`",
            (|v: &mut serde_json::Value| v["status"] = "PAUSED".into())
                as fn(&mut serde_json::Value),
        ),
        ("unknown gate status `DONE`", |v| {
            v["gates"][0]["status"] = "DONE".into();
        }),
        ("unknown attempt status `DONE`", |v| {
            v["gates"][0]["attempts"][0]["status"] = "DONE".into();
        }),
    ] {
        let repo = TestRepo::shipped();
        let run = repo.start_run("robot");
        repo.start_gate(&run, "G1", "a").ok();
        edit_run_json(&repo, &run, edit);
        let rel = format!("orchestration/runs/{run}/record/RUN.json");
        let before = repo.read(&rel);
        let show = repo.orch(&["run", "show", "--run", &run]);
        let line = show.code(2).one_error().to_string();
        assert!(line.starts_with(&format!("error: {rel}:")), "{line}");
        assert!(line.contains(what), "{line}");
        assert!(line.contains("expected one of"), "{line}");
        repo.start_gate(&run, "G2", "a").code(2);
        repo.orch(&["run", "complete", "--run", &run]).code(2);
        assert_eq!(repo.read(&rel), before, "{what}: not rewritten");
        // `run list` reads only what it shows (not attempts).
        if !what.contains("attempt") {
            repo.orch(&["run", "list"]).ok().stderr_has(what);
        }
        repo.orch(&["verify", "--run", &run])
            .code(1)
            .stdout_has(what);
    }
}

fn workflow_repo(workflow: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("orchestration/workflows/w.json", workflow);
    for g in ["G1", "G2"] {
        repo.write(
            &format!("orchestration/gates/contracts/{g}.contract.json"),
            &format!(r#"{{"gate": "{g}"}}"#),
        );
    }
    repo
}

#[test]
fn retry_from_itself_and_a_zero_attempt_budget_are_refused() {
    let repo = workflow_repo(
        r#"{"workflow": "w", "default_artifact_path": "out",
  "gates": [{"gate": "G1"}, {"gate": "G2", "retry_from": "G2", "executor": {"command": ["true"]}}]}"#,
    );
    let out = repo.orch(&["run", "w", "--slug", "s"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/workflows/w.json:2:29: gate `G2`: retry_from names the gate itself"
    );
    out.stderr_has("hint: retry_from names an earlier gate to go back to; to try this gate again, give it `retries`");
    assert!(!repo.exists("orchestration/runs"));
    repo.orch(&["lint"])
        .code(1)
        .stdout_has("retry_from names the gate itself");

    let repo = workflow_repo(
        r#"{"workflow": "w", "default_artifact_path": "out",
  "max_attempts": 0, "gates": [{"gate": "G1"}]}"#,
    );
    let out = repo.orch(&["run", "w", "--slug", "s"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/workflows/w.json:2:3: max_attempts is 0: no gate could ever be attempted"
    );
    assert!(!repo.exists("orchestration/runs"));
}

#[cfg(target_os = "linux")]
#[test]
fn a_glob_never_passes_over_a_name_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    for (pattern, bad) in [
        ("{artifact_path}/data/*.txt", &b"data/bad\xff.txt"[..]),
        ("{artifact_path}/*/report.md", &b"sec\xfftion/report.md"[..]),
        ("{artifact_path}/**/*.md", &b"a/b/n\xffte.md"[..]),
    ] {
        let repo = TestRepo::new();
        repo.write("out/data/good.txt", "g")
            .write("out/good/report.md", "g")
            .write("out/a/b/good.md", "g");
        let bad = repo
            .path()
            .join("out")
            .join(std::ffi::OsStr::from_bytes(bad));
        std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
        std::fs::write(&bad, "b").unwrap();
        repo.write(
            "orchestration/gates/contracts/G1.contract.json",
            &format!(
                r#"{{"gate": "G1", "required_outputs": {{"all_of": [{{"path": "{pattern}"}}]}}}}"#
            ),
        );
        let out = repo.check_gate("G1", &[]);
        let line = out.code(2).one_error().to_string();
        assert!(
            line.contains("holds a file whose name is not UTF-8"),
            "{pattern}: {line}"
        );
        out.stderr_has("hint: orch records paths as text: rename the file");
    }
    // A name that is not UTF-8 but does not match is none of the output's business.
    let repo = TestRepo::new();
    repo.write("out/data/good.txt", "g");
    std::fs::write(
        repo.path()
            .join("out/data")
            .join(std::ffi::OsStr::from_bytes(b"other\xff.bin")),
        "b",
    )
    .unwrap();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "required_outputs": {"all_of": [{"path": "{artifact_path}/data/*.txt"}]}}"#,
    );
    repo.check_gate("G1", &[]).ok();
}

#[test]
fn a_contract_path_that_is_a_directory_says_so() {
    let repo = TestRepo::new();
    std::fs::create_dir_all(
        repo.path()
            .join("orchestration/gates/contracts/G1.contract.json"),
    )
    .unwrap();
    let out = repo.check_gate("G1", &[]);
    assert_eq!(
        out.code(2).one_error(),
        "error: gate G1: contract `orchestration/gates/contracts/G1.contract.json` is a directory, not a contract file"
    );
    out.stderr_has("hint: point the workflow gate's `contract` at a .contract.json file");
}
