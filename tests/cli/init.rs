//! `orch init` in a brand-new repository: each example works as it comes,
//! its printed next commands work when pasted, logs never reach git, and
//! nothing is overwritten without --force.

use std::process::Command;

use crate::common::{BIN, Out, TestRepo};

/// Runs a printed command as a newcomer pastes it into a shell, with this
/// build as the `orch` on PATH.
fn paste(repo: &TestRepo, cmd: &str) -> Out {
    let bin = std::path::Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Out::from(
        &Command::new("sh")
            .args(["-c", cmd])
            .current_dir(repo.path())
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env_remove("ORCH")
            .env_remove("ORCH_TRUSTED_REV")
            .env_remove("ORCH_NOW")
            .env_remove("ORCH_SEED")
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap(),
    )
}

#[cfg(unix)]
#[test]
fn each_example_works_in_a_brand_new_repository_and_its_next_commands_paste() {
    for example in ["minimal", "visual-essay", "nightly"] {
        let repo = TestRepo::new();
        let v = repo
            .orch(&["init", "--example", example, "--json"])
            .ok()
            .json();
        let next: Vec<String> = v["next"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(next.len(), 3, "{example}: {next:?}");
        repo.orch(&["hooks", "install"]).ok();
        // 1. Try the example: `orch run` (with its stand-in agent, if it
        // needs one), or for the recipe its script (trust setup, run,
        // approval, resume).
        if example == "visual-essay" {
            // Its fully automatic gates run skills nobody has vetted yet:
            // lint says so, and the note says how a team vets its own.
            repo.orch(&["lint"])
                .code(1)
                .stdout_has("only vetted skills run without a person");
            let note = v["note"].as_str().unwrap();
            assert!(note.contains("orchestration/allowed_signers"), "{note}");
            assert!(note.contains("orch skill vet essay-intake --key"), "{note}");
            assert_eq!(next[0], "sh examples/visual-essay.sh");
        } else {
            repo.orch(&["lint"]).ok();
            assert!(next[0].starts_with(&format!(
                "orch run {} --slug ",
                v["workflow"].as_str().unwrap()
            )));
        }
        let out = paste(&repo, &next[0]);
        let run = out
            .ok()
            .stdout
            .split_whitespace()
            .skip_while(|w| *w != "PASSED")
            .nth(1)
            .unwrap()
            .to_string();
        if example == "nightly" {
            // Contract-less command gates; with no project to find, the
            // tests gate says so in the record.
            let wf = repo.read_json("orchestration/workflows/nightly.json");
            let gates = wf["gates"].as_array().unwrap();
            assert!(
                gates
                    .iter()
                    .all(|g| g.get("contract") == Some(&serde_json::Value::Null)),
                "{wf}"
            );
            assert!(repo.files_under("orchestration/gates/contracts").is_empty());
            let r = repo.run_json(&run);
            assert!(
                r["invocations"][1]["log_excerpt"]["stdout"]
                    .as_str()
                    .unwrap()
                    .starts_with("no tests found"),
                "{r}"
            );
        }
        // No log file shows up in git, even with no rule for it in .gitignore.
        repo.write(".gitignore", "");
        let status = repo.git(&["status", "--porcelain", "--untracked-files=all"]);
        assert!(!status.contains("/logs/"), "{example}: {status}");
        assert!(status.contains("/record/RUN.json"), "{example}: {status}");
        // 2. Verify it.
        paste(&repo, &next[1]).ok().stdout_has("verify: ok");
        // 3. Commit it (the pre-commit hook lints and verifies).
        paste(&repo, &next[2]).ok();
        let committed = repo.git(&["show", "--name-only", "--format=", "HEAD"]);
        assert!(committed.contains("/record/RUN.json"), "{committed}");
        assert!(!committed.contains("/logs/"), "{committed}");
        assert_eq!(
            repo.git(&["status", "--porcelain"]),
            "",
            "{example}: all committed"
        );
    }
}

#[test]
fn init_says_what_it_created_and_never_overwrites_without_force() {
    let repo = TestRepo::new();
    repo.write(".gitignore", "target/");
    let out = repo.orch(&["init"]);
    out.ok()
        .stdout_has("created   orchestration/workflows/minimal.json")
        .stdout_has("created   orchestration/schemas/contract.schema.json")
        .stdout_has("updated   .gitignore")
        .stderr_has(
            "orch run minimal --slug hello --agent-cmd orchestration/agents/minimal-agent.sh --yes",
        );
    assert_eq!(
        repo.read(".gitignore"),
        "target/\n\n# orch: a run's logs and a crashed writer's temporary files stay out of git\norchestration/runs/*/logs/\norchestration/runs/**/.orch-tmp-*\n"
    );
    for kind in ["contract", "workflow", "run", "attempt"] {
        assert_eq!(
            repo.read(&format!("orchestration/schemas/{kind}.schema.json")),
            repo.orch(&["schema", kind]).ok().stdout,
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(repo.path().join("orchestration/agents/minimal-agent.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_ne!(mode & 0o111, 0, "the stand-in agent is executable");
    }
    // Again: everything is in place, nothing changes.
    let out = repo.orch(&["init"]);
    assert!(!out.ok().stdout.contains("created"), "{}", out.stdout);
    out.stdout_has("unchanged .gitignore");
    // A file of the user's is never overwritten, and nothing else is written.
    let mine = "# my own notes prompt\n";
    repo.write("orchestration/prompts/NOTE.md", mine);
    std::fs::remove_file(repo.path().join("orchestration/workflows/minimal.json")).unwrap();
    let out = repo.orch(&["init"]);
    assert_eq!(
        out.code(3).one_error(),
        "error: 1 file(s) exist with other content: orchestration/prompts/NOTE.md"
    );
    out.stderr_has("hint: nothing was written; `orch init --force` replaces them");
    assert_eq!(repo.read("orchestration/prompts/NOTE.md"), mine);
    assert!(!repo.exists("orchestration/workflows/minimal.json"));
    // With --force it is replaced, and says so.
    repo.orch(&["init", "--force"])
        .ok()
        .stdout_has("replaced  orchestration/prompts/NOTE.md")
        .stdout_has("created   orchestration/workflows/minimal.json");
    assert_ne!(repo.read("orchestration/prompts/NOTE.md"), mine);
}

#[test]
fn init_needs_a_git_repository_and_a_known_example() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("init")
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
        stderr.contains("hint: orch keeps its records in a git work tree: run `git init`"),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
    TestRepo::new()
        .orch(&["init", "--example", "minimla"])
        .code(2)
        .stderr_has("hint: did you mean `minimal`?");
}
