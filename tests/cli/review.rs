//! `orch run diff` (what a change did to run records) and `orch hooks install`.

use std::process::Command;

use crate::common::{BIN, TestRepo};

/// git, with an old `orch` first on PATH that knows no command at all: the
/// hook must run the orch that installed it.
fn git(repo: &TestRepo, args: &[&str]) -> std::process::Output {
    let old = repo.path().join(".git/old-bin");
    if !old.exists() {
        std::fs::create_dir_all(&old).unwrap();
        let fake = old.join("orch");
        std::fs::write(&fake, "#!/bin/sh\necho \"old orch: $*\" >&2\nexit 2\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let path = format!(
        "{}:{}",
        old.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(repo.path())
        .env("PATH", path)
        .env_remove("ORCH")
        .env_remove("ORCH_TRUSTED_REV");
    // The hook's orch trusts what the example trusts (see `example_run`).
    if repo.exists(".git/refs/orch/example-trust") {
        cmd.env("ORCH_TRUSTED_REV", "refs/orch/example-trust");
    }
    cmd.output().unwrap()
}

/// Everything a command printed (git passes a hook's output on to stderr).
fn printed(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn commit_all(repo: &TestRepo, message: &str) -> std::process::Output {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message])
}

#[test]
fn diff_shows_what_changed_since_a_revision() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    repo.start_gate(&run, "G1", "editor").ok();
    repo.do_work("G1", "robot");
    repo.finish_gate(&run, "G1").ok();
    assert!(commit_all(&repo, "G1").status.success());
    repo.orch(&["run", "diff"])
        .ok()
        .stdout_has("no run records changed since HEAD");

    repo.start_gate(&run, "G2", "researcher").ok();
    repo.finish_gate(&run, "G2").code(1);
    repo.start_gate(&run, "G2", "researcher").ok();
    repo.do_work("G2", "robot");
    repo.orch(&[
        "invocation",
        "record",
        "--run",
        &run,
        "--gate",
        "G2",
        "--agent",
        "claude",
        "--cost-usd",
        "0.5",
    ])
    .ok();
    repo.finish_gate(&run, "G2").ok();
    repo.write(
        "essays/robot/INTAKE.md",
        &repo
            .read("essays/robot/INTAKE.md")
            .replace("Standard", "Standard, with care"),
    );
    repo.start_gate(&run, "G1", "editor").ok();
    repo.finish_gate(&run, "G1").ok();

    let out = repo.orch(&["run", "diff"]);
    out.ok()
        .stdout_has(&format!("{run} (visual-essay/robot) [changed]"))
        .stdout_has("  G2 Research Complete: NOT_STARTED → PASS")
        .stdout_has("    + attempt 1 FAIL by researcher: file_exists: missing essays/robot/research/SOURCES.md")
        .stdout_has("    + attempt 2 PASS by researcher")
        .stdout_has("  G1 Intake Approval\n    + attempt 2 PASS by editor")
        .stdout_has("  + essays/robot/research/SOURCES.md ")
        .stdout_has("  ~ essays/robot/INTAKE.md ")
        .stdout_has("  + 1 invocation(s), $0.5000");
    let v = repo
        .orch(&["run", "diff", "--run", &run, "--json"])
        .ok()
        .json();
    let r = &v["runs"][0];
    assert_eq!(r["change"], "changed");
    let g2 = r["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "G2")
        .unwrap()
        .clone();
    assert_eq!(
        g2["status"],
        serde_json::json!({"from": "NOT_STARTED", "to": "PASS"})
    );
    assert_eq!(g2["new_attempts"].as_array().unwrap().len(), 2);
    let intake = r["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == "essays/robot/INTAKE.md")
        .unwrap()
        .clone();
    assert_ne!(intake["from"], intake["to"]);
    assert_eq!(r["invocations_added"], 1);

    let since_start = repo
        .orch(&["run", "diff", "--since", "HEAD~0", "--json"])
        .ok()
        .json();
    assert_eq!(since_start["runs"].as_array().unwrap().len(), 1);
    let out = repo.orch(&["run", "diff", "--since", "no-such-branch"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: `no-such-branch` is not a commit in this repository"
    );
}

#[test]
fn diff_in_a_repository_without_commits_lists_runs_as_added() {
    let repo = TestRepo::shipped();
    let run = repo.start_run("robot");
    let v = repo.orch(&["run", "diff", "--json"]).ok().json();
    assert_eq!(v["runs"][0]["run_id"], run.as_str());
    assert_eq!(v["runs"][0]["change"], "added");
    assert_eq!(
        v["runs"][0]["gates"].as_array().unwrap().len(),
        0,
        "untouched gates are not listed"
    );
}

#[cfg(unix)]
#[test]
fn the_pre_commit_hook_lints_and_verifies_staged_runs() {
    let repo = TestRepo::shipped();
    repo.orch(&["hooks", "install"])
        .ok()
        .stdout_has("installed .git/hooks/pre-commit");
    let hook = repo.read(".git/hooks/pre-commit");
    assert!(hook.contains("installed by `orch hooks install`"));
    assert!(
        hook.contains(BIN),
        "the hook runs the orch that installed it"
    );
    let meta = std::fs::metadata(repo.path().join(".git/hooks/pre-commit")).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
    assert_ne!(mode & 0o111, 0, "the hook is executable");
    repo.orch(&["hooks", "install"])
        .ok()
        .stdout_has("updated .git/hooks/pre-commit");

    // A good run commits.
    let (out, run) = repo.example_run("robot");
    out.ok();
    let committed = commit_all(&repo, "essay and its run");
    assert!(committed.status.success(), "{}", printed(&committed));

    // An output a committed run recorded, edited and staged, does not either.
    repo.write("essays/robot/SPEC.md", "quietly rewritten\n");
    let refused = commit_all(&repo, "edit an output");
    assert!(!refused.status.success());
    assert!(
        printed(&refused).contains("essays/robot/SPEC.md changed since G3 passed"),
        "{}",
        printed(&refused)
    );
    git(&repo, &["reset", "-q"]);
    git(&repo, &["checkout", "--", "essays/robot/SPEC.md"]);

    // A broken contract does not.
    let contract = "orchestration/gates/contracts/G3.contract.json";
    let good = repo.read(contract);
    repo.write(
        contract,
        &good.replace("\"regex_match\"", "\"regex_matches\""),
    );
    let refused = commit_all(&repo, "typo");
    assert!(!refused.status.success());
    assert!(
        printed(&refused).contains("unknown validation type `regex_matches`"),
        "{}",
        printed(&refused)
    );
    repo.write(contract, &good);
    git(&repo, &["add", "-A"]);

    // A staged record whose outputs changed does not either; other runs are not verified.
    let run_json = format!("orchestration/runs/{run}/record/RUN.json");
    repo.write(&run_json, &format!("{}\n", repo.read(&run_json)));
    repo.write("essays/robot/SPEC.md", "rewritten\n");
    git(&repo, &["add", &format!("orchestration/runs/{run}")]);
    let refused = git(&repo, &["commit", "-q", "-m", "record only"]);
    assert!(!refused.status.success());
    let out = printed(&refused);
    assert!(
        out.contains("essays/robot/SPEC.md changed since G3 passed"),
        "{out}"
    );
    // Restored, the same commit goes through.
    git(&repo, &["checkout", "--", "essays/robot/SPEC.md"]);
    let ok = git(&repo, &["commit", "-q", "-m", "record only"]);
    assert!(ok.status.success(), "{}", printed(&ok));
}

#[cfg(unix)]
#[test]
fn the_pre_commit_hook_refuses_logs_locks_and_temporary_files() {
    let repo = TestRepo::shipped();
    repo.orch(&["hooks", "install"]).ok();
    let (_, run) = repo.example_run("robot");
    let lock = format!("orchestration/runs/{run}/logs/run.lock");
    let temp = format!("orchestration/runs/{run}/record/.orch-tmp-RUN.json.1");
    repo.write(&temp, "{\"half\": ");
    // `git add -A` leaves the logs alone (they ignore themselves); forced in,
    // the hook refuses them, and a temporary file, naming each.
    git(&repo, &["add", "-A"]);
    git(&repo, &["add", "-f", &lock]);
    let refused = git(&repo, &["commit", "-q", "-m", "with logs"]);
    assert!(!refused.status.success());
    let said = printed(&refused);
    assert!(
        said.contains(&format!("✗ {lock}\n      error: staged, but it is in a run's logs/ folder, which stays out of git")),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "✗ {temp}\n      error: staged, but it is a temporary file"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!("git rm --cached -- {lock}")),
        "{said}"
    );
    // The same from verify itself, as JSON.
    let v: serde_json::Value = serde_json::from_slice(
        &Command::new(BIN)
            .args(["verify", "--staged", "--json"])
            .current_dir(repo.path())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(v["groups"][0]["name"], "staged files");
    // Unstaged, the commit goes through.
    git(&repo, &["rm", "-q", "--cached", "--", &lock, &temp]);
    std::fs::remove_file(repo.path().join(&temp)).unwrap();
    let ok = git(&repo, &["commit", "-q", "-m", "the run"]);
    assert!(ok.status.success(), "{}", printed(&ok));
}

#[test]
fn a_foreign_hook_is_left_alone_unless_forced() {
    let repo = TestRepo::new();
    repo.write(".git/hooks/pre-commit", "#!/bin/sh\necho mine\n");
    let out = repo.orch(&["hooks", "install"]);
    let line = out.code(3).one_error().to_string();
    assert!(
        line.contains(".git/hooks/pre-commit already exists and was not written by orch"),
        "{line}"
    );
    assert_eq!(repo.read(".git/hooks/pre-commit"), "#!/bin/sh\necho mine\n");
    repo.orch(&["hooks", "install", "--force"])
        .ok()
        .stdout_has("updated");
    assert!(
        repo.read(".git/hooks/pre-commit")
            .contains("orch hooks install")
    );
}
