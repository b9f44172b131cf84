//! Signed approvals: keys made here with ssh-keygen, allowed_signers
//! committed in the test repository, and every way an approval can fail to
//! count reported by `orch verify`.

use serde_json::Value;

use crate::common::{Key, Out, TestRepo, error_kinds};

const AGENT: &str = "mkdir -p out\necho done > out/A1.md\n";

struct Fixture {
    repo: TestRepo,
    run: String,
    reviewer: Key,
    author: Key,
}

/// Workflow `w`: A1 (an agent writes out/A1.md) with `approval`, then A2
/// (a command with no contract). allowed_signers lists the reviewer and
/// the author; the run is started and waits at A1.
fn waiting(approval: &str) -> Fixture {
    let f = started(approval);
    assert_eq!(f.run_json()["status"], "AWAITING_APPROVAL");
    f
}

/// As `waiting`, whatever the run's outcome.
fn started(approval: &str) -> Fixture {
    started_with(
        approval,
        r#", {"gate": "A2", "executor": {"command": ["true"]}, "contract": null}"#,
    )
}

/// As `started`, with these gates after A1 (`, {...}`) instead of A2.
fn started_with(approval: &str, more_gates: &str) -> Fixture {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        &format!(
            r#"{{"workflow": "w", "default_artifact_path": "out", "gates": [
                {{"gate": "A1", "executor": {{"command": ["sh", "agent.sh"]}}, "approval": {approval}}}{more_gates}]}}"#
        ),
    );
    repo.write(
        "orchestration/gates/contracts/A1.contract.json",
        r#"{"gate": "A1", "required_outputs": {"all_of": [{"path": "{artifact_path}/A1.md"}]}}"#,
    );
    repo.write("agent.sh", AGENT);
    repo.write(".gitignore", "orchestration/runs/*/logs/\n");
    let reviewer = repo.keygen("reviewer");
    let author = repo.keygen("author");
    repo.write(
        "orchestration/allowed_signers",
        &format!(
            "# who may approve\nreviewer@example.com namespaces=\"orch-approval\" {}\nauthor@example.com {}\n",
            reviewer.public, author.public
        ),
    );
    repo.commit("setup");
    let out = repo.orch(&["run", "w", "--slug", "s"]);
    let run = out
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("run_"))
        .expect("run id")
        .to_string();
    Fixture {
        repo,
        run,
        reviewer,
        author,
    }
}

impl Fixture {
    fn approve_as(&self, email: &str, key: &Key, extra: &[&str]) -> Out {
        self.approve_run_as(&self.run, email, key, extra)
    }

    /// Approves A1 of `run` (any run of workflow `w` in this repository).
    fn approve_run_as(&self, run: &str, email: &str, key: &Key, extra: &[&str]) -> Out {
        let key = key.private.to_str().unwrap();
        let mut args = vec!["approve", "--run", run, "--gate", "A1", "--key", key];
        args.extend_from_slice(extra);
        self.repo.orch_env(
            &args,
            &[("GIT_AUTHOR_NAME", "Someone"), ("GIT_AUTHOR_EMAIL", email)],
        )
    }

    fn approve(&self) -> Out {
        self.approve_as(
            "reviewer@example.com",
            &self.reviewer,
            &["--comment", "looks right"],
        )
    }

    fn resume(&self) -> Out {
        self.repo.orch(&["run", "resume", "--run", &self.run])
    }

    fn run_json(&self) -> Value {
        self.repo.run_json(&self.run)
    }

    fn verify(&self) -> Out {
        self.repo.orch(&["verify", "--format", "json"])
    }

    fn approval_files(&self) -> Vec<String> {
        self.repo
            .files_under(&format!("orchestration/runs/{}/record/approvals", self.run))
    }

    /// What an agent that forges records would do: mark A1 passed.
    fn forge_pass(&self) {
        let rel = format!("orchestration/runs/{}/record/RUN.json", self.run);
        let mut run = self.repo.read_json(&rel);
        run["gates"][0]["status"] = "PASS".into();
        run["gates"][0]["attempts"][0]["status"] = "PASS".into();
        run["status"] = "RUNNING".into();
        self.repo
            .write(&rel, &serde_json::to_string_pretty(&run).unwrap());
        let attempt = format!(
            "orchestration/runs/{}/record/gates/A1/attempt-1.json",
            self.run
        );
        let mut a = self.repo.read_json(&attempt);
        a["status"] = "PASS".into();
        self.repo
            .write(&attempt, &serde_json::to_string_pretty(&a).unwrap());
    }
}

/// The kinds of verify's error findings.
fn errors(out: &Out) -> Vec<String> {
    error_kinds(&out.json())
}

#[test]
fn an_approved_gate_passes_and_verifies() {
    let f = waiting(r#"{"required": true}"#);
    f.repo
        .orch(&["run", "show", "--run", &f.run])
        .ok()
        .stdout_has("AWAITING_APPROVAL");
    let run = f.run_json();
    assert_eq!(run["gates"][0]["status"], "AWAITING_APPROVAL");
    assert_eq!(
        run["gates"][0]["attempts"][0]["approval"]["min_approvals"],
        1
    );
    assert_eq!(run["gates"][1]["status"], "NOT_STARTED");
    // Nothing to approve yet: resume keeps waiting, and says so.
    f.resume().code(4).stdout_has("AWAITING_APPROVAL");

    f.approve()
        .ok()
        .stdout_has("approved A1 attempt 1")
        .stderr_has("A1 passed");
    let files = f.approval_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let approval = f.repo.read_json(&files[0]);
    let p = &approval["payload"];
    assert_eq!(p["decision"], "approved");
    assert_eq!(p["comment"], "looks right");
    assert_eq!(p["approver"]["email"], "reviewer@example.com");
    assert_eq!(p["outputs"][0]["path"], "out/A1.md");
    assert_eq!(p["attempt"], 1);
    assert!(
        approval["signature"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN SSH SIGNATURE-----")
    );
    assert_eq!(f.run_json()["gates"][0]["status"], "PASS");

    f.resume().ok().stdout_has("PASSED");
    let out = f.verify();
    out.ok();
    assert_eq!(errors(&out), Vec::<String>::new());
    f.repo
        .orch(&["run", "show", "--run", &f.run])
        .ok()
        .stdout_has("approved by Someone <reviewer@example.com>")
        .stdout_has("verified: ssh-ed25519, key file or agent SHA256:")
        .stdout_has("\"looks right\"");
    // A line of allowed_signers orch cannot read is reported, never skipped.
    let signers = f.repo.read("orchestration/allowed_signers");
    f.repo.write(
        "orchestration/allowed_signers",
        &format!("{signers}broken@example.com ssh-ed25519 not-a-key\n"),
    );
    f.repo
        .orch(&["lint"])
        .code(1)
        .stdout_has("orchestration/allowed_signers:4:1: cannot read the ssh-ed25519 key");
    f.repo.commit("a broken signer line");
    f.repo
        .orch(&["verify"])
        .ok()
        .stdout_has("orchestration/allowed_signers at HEAD, line 4: cannot read");
    let list = f.repo.orch(&["approvals", "--json"]);
    list.ok();
    let items = list.json();
    assert_eq!(items[0]["approved_by"][0], "reviewer@example.com");
    assert_eq!(items[0]["approval_state"], "approved");
    assert_eq!(items[0]["approvals"][0]["verified"], true);
    assert_eq!(items[0]["approvals"][0]["key_type"], "ssh-ed25519");
}

#[test]
fn approving_ones_own_work_is_refused_and_reported() {
    let f = waiting(r#"{"required": true}"#);
    let out = f.approve_as("author@example.com", &f.author, &[]);
    out.code(3);
    assert!(
        out.one_error()
            .contains("does not allow approving one's own work")
    );
    assert!(f.approval_files().is_empty());

    // Where the workflow allowed it at the time, then stopped allowing it,
    // verify reports the self-approval.
    let f = waiting(r#"{"required": true, "allow_self_approval": true}"#);
    f.approve_as("author@example.com", &f.author, &[]).ok();
    f.resume().ok();
    f.verify().ok();
    let wf = f.repo.read("orchestration/workflows/w.json");
    f.repo.write(
        "orchestration/workflows/w.json",
        &wf.replace(
            r#""allow_self_approval": true"#,
            r#""allow_self_approval": false"#,
        ),
    );
    let out = f.verify();
    out.code(1);
    assert!(
        errors(&out).contains(&"approval_self".to_string()),
        "{}",
        out.stdout
    );
}

#[test]
fn a_signer_not_in_the_trusted_allowed_signers_does_not_count() {
    let f = waiting(r#"{"required": true}"#);
    let mallory = f.repo.keygen("mallory");
    // Listing the key in the working tree (not committed) gains nothing:
    // allowed_signers is read from a trusted revision.
    let signers = f.repo.read("orchestration/allowed_signers");
    f.repo.write(
        "orchestration/allowed_signers",
        &format!("{signers}mallory@example.com {}\n", mallory.public),
    );
    f.approve_as("mallory@example.com", &mallory, &[])
        .ok()
        .stderr_has("will not count")
        .stderr_has("not in allowed_signers")
        .stderr_has("0 of 1 verified");
    f.resume().code(4).stderr_has("an approval does not count");
    assert_eq!(f.run_json()["gates"][0]["status"], "AWAITING_APPROVAL");

    // An agent that forges the gate's status is caught by verify.
    f.forge_pass();
    let out = f.verify();
    out.code(1);
    let kinds = errors(&out);
    assert!(
        kinds.contains(&"approval_signer_not_allowed".to_string()),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"approval_too_few".to_string()), "{kinds:?}");
    // Committing the key on the branch under review gains nothing either
    // once there is a remote default branch: that is what is trusted.
    f.repo
        .git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    f.repo.git(&[
        "symbolic-ref",
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
    ]);
    f.repo.commit("mallory joins");
    let out = f.verify();
    assert!(
        errors(&out).contains(&"approval_signer_not_allowed".to_string()),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("approval_trust"),
        "no weak-trust warning: {}",
        out.stdout
    );
    // Named explicitly, a trusted revision that has mallory's key accepts it.
    let out = f
        .repo
        .orch(&["verify", "--format", "json", "--trusted-rev", "HEAD"]);
    assert!(
        !errors(&out).contains(&"approval_signer_not_allowed".to_string()),
        "{}",
        out.stdout
    );
}

#[test]
fn a_forged_pass_without_approval_is_reported() {
    let f = waiting(r#"{"required": true}"#);
    f.forge_pass();
    let out = f.verify();
    out.code(1);
    assert!(
        errors(&out).contains(&"approval_missing".to_string()),
        "{}",
        out.stdout
    );
    // Removing the requirement from the working tree's workflow and the
    // record does not help: the workflow at the trusted revision still asks.
    let wf = f.repo.read("orchestration/workflows/w.json");
    f.repo.write(
        "orchestration/workflows/w.json",
        &wf.replace(r#", "approval": {"required": true}"#, ""),
    );
    for rel in [
        format!("orchestration/runs/{}/record/RUN.json", f.run),
        format!(
            "orchestration/runs/{}/record/gates/A1/attempt-1.json",
            f.run
        ),
    ] {
        let mut v = f.repo.read_json(&rel);
        let a = if v.get("gates").is_some() {
            &mut v["gates"][0]["attempts"][0]
        } else {
            &mut v
        };
        a.as_object_mut().unwrap().remove("approval");
        f.repo
            .write(&rel, &serde_json::to_string_pretty(&v).unwrap());
    }
    let out = f.verify();
    assert!(
        errors(&out).contains(&"approval_missing".to_string()),
        "{}",
        out.stdout
    );
}

#[test]
fn tampered_approvals_and_changed_outputs_are_reported() {
    let f = waiting(r#"{"required": true}"#);
    f.approve().ok();
    f.resume().ok();
    f.verify().ok();
    let file = f.approval_files().remove(0);
    let original = f.repo.read(&file);
    f.repo
        .write(&file, &original.replace("looks right", "looks great"));
    let out = f.verify();
    out.code(1);
    let kinds = errors(&out);
    assert!(
        kinds.contains(&"approval_bad_signature".to_string()),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"approval_too_few".to_string()), "{kinds:?}");
    f.repo.write(&file, &original);
    f.verify().ok();

    f.repo.write("out/A1.md", "done, then edited\n");
    let out = f.verify();
    out.code(1);
    let kinds = errors(&out);
    assert!(
        kinds.contains(&"approval_outputs_changed".to_string()),
        "{kinds:?}"
    );
    assert!(
        out.stdout
            .contains("approved bytes changed since: out/A1.md")
    );
}

#[test]
fn a_rejection_fails_the_attempt_and_the_retry_hears_why() {
    let f = waiting(r#"{"required": true}"#);
    let key = f.reviewer.private.to_str().unwrap().to_string();
    let out = f.repo.orch_env(
        &[
            "reject",
            "--run",
            &f.run,
            "--gate",
            "A1",
            "--reason",
            "the summary is wrong",
            "--key",
            &key,
        ],
        &[
            ("GIT_AUTHOR_NAME", "Rita"),
            ("GIT_AUTHOR_EMAIL", "reviewer@example.com"),
        ],
    );
    out.ok().stderr_has("A1 failed");
    let run = f.run_json();
    assert_eq!(run["gates"][0]["status"], "FAIL");
    assert_eq!(run["status"], "FAILED");
    let reason = run["gates"][0]["attempts"][0]["failure_reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("rejected by Rita <reviewer@example.com>: the summary is wrong"),
        "{reason}"
    );
    // A retry is a new attempt, whose packet says why, and needs approval again.
    f.resume().code(4);
    let packet = f.repo.read(&format!(
        "orchestration/runs/{}/logs/gates/A1/attempt-2/prompt.txt",
        f.run
    ));
    assert!(packet.contains("the summary is wrong"), "{packet}");
    assert_eq!(f.run_json()["gates"][0]["status"], "AWAITING_APPROVAL");
}

#[test]
fn agents_cannot_approve_and_get_no_signing_socket() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "gates": [
            {"gate": "A1", "executor": {"command": ["sh", "agent.sh"]}, "contract": null, "retries": 0}]}"#,
    );
    repo.write(
        "agent.sh",
        &format!(
            "\"{}\" approve --run \"$ORCH_RUN_ID\" --gate A1 > approve.out 2>&1; echo \"exit $?\" >> approve.out\n\
             echo \"sock=${{SSH_AUTH_SOCK:-none}}\" >> approve.out\n",
            crate::common::BIN
        ),
    );
    repo.orch_env(
        &["run", "w", "--slug", "s"],
        &[("SSH_AUTH_SOCK", "/tmp/agent.sock")],
    )
    .ok();
    let out = repo.read("approve.out");
    assert!(out.contains("refuses to run inside an agent"), "{out}");
    assert!(out.contains("exit 3"), "{out}");
    assert!(out.contains("sock=none"), "{out}");
}

#[test]
fn approval_only_when_the_agent_opens_a_pull_request() {
    let f = started(r#"{"when": "outputs_uri"}"#);
    // No URL printed: the gate did not need approval and the run went on.
    let run = f.run_json();
    assert_eq!(run["gates"][0]["status"], "PASS", "{run}");
    assert_eq!(run["status"], "PASSED");

    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "gates": [
            {"gate": "A1", "executor": {"command": ["sh", "agent.sh"]}, "contract": null, "approval": {"when": "outputs_uri"}}]}"#,
    );
    repo.write(
        "agent.sh",
        "echo 'Creating pull request'\necho 'https://github.com/acme/site/pull/42'\n",
    );
    repo.orch(&["run", "w", "--slug", "s"]).code(4);
    let ids = repo.files_under("orchestration/runs");
    let id = ids[0].split('/').nth(2).unwrap();
    let run = repo.run_json(id);
    assert_eq!(run["gates"][0]["status"], "AWAITING_APPROVAL");
    assert_eq!(
        run["gates"][0]["outputs_uri"],
        "https://github.com/acme/site/pull/42"
    );
    assert_eq!(
        run["invocations"][0]["outputs_uri"],
        "https://github.com/acme/site/pull/42"
    );
    let pending = repo.orch(&["approvals", "--pending"]);
    pending
        .ok()
        .stdout_has("pending 0/1")
        .stdout_has("https://github.com/acme/site/pull/42");
}

#[test]
fn two_approvals_means_two_people() {
    let f = waiting(r#"{"min_approvals": 2}"#);
    f.approve().ok().stderr_has("1 of 2 verified approval(s)");
    // The same person again does not count twice.
    f.approve().ok().stderr_has("1 of 2 verified approval(s)");
    f.resume().code(4).stdout_has("AWAITING_APPROVAL");
    let run = f.run_json();
    assert_eq!(run["gates"][0]["status"], "AWAITING_APPROVAL");
    assert_eq!(
        run["gates"][0]["attempts"][0]["approval"]["min_approvals"],
        2
    );
    let second = f.repo.keygen("second");
    let signers = f.repo.read("orchestration/allowed_signers");
    f.repo.write(
        "orchestration/allowed_signers",
        &format!("{signers}second@example.com {}\n", second.public),
    );
    f.repo.commit("a second reviewer");
    f.approve_as("second@example.com", &second, &[])
        .ok()
        .stderr_has("A1 passed (approved by reviewer@example.com, second@example.com)");
    f.resume().ok();
    f.verify().ok();
    assert_eq!(f.approval_files().len(), 3);
}

#[test]
fn by_hand_gate_finish_waits_for_approval_too() {
    let f = started(r#"{"required": true}"#);
    let out = f
        .repo
        .orch(&["run", "start", "--workflow", "w", "--slug", "by-hand"]);
    out.ok();
    let run = out.stdout.trim().to_string();
    f.repo.start_gate(&run, "A1", "alice").ok();
    f.repo
        .finish_gate(&run, "A1")
        .code(4)
        .stdout_has("AWAITING_APPROVAL A1: 1 signed approval(s) needed")
        .stderr_has(&format!("orch approve --run {run} --gate A1"));
    let key = f.reviewer.private.to_str().unwrap().to_string();
    f.repo
        .orch_env(
            &[
                "approve", "--run", &run, "--gate", "A1", "--key", &key, "--json",
            ],
            &[("GIT_AUTHOR_EMAIL", "reviewer@example.com")],
        )
        .ok()
        .stdout_has("\"gate_status\": \"PASS\"");
    assert_eq!(f.repo.run_json(&run)["gates"][0]["status"], "PASS");
    // Approving again: the gate no longer waits.
    let out = f.repo.orch_env(
        &["approve", "--run", &run, "--gate", "A1", "--key", &key],
        &[("GIT_AUTHOR_EMAIL", "reviewer@example.com")],
    );
    out.code(3);
    assert!(
        out.one_error()
            .contains("A1 is not awaiting approval (it is PASS)")
    );
}

/// An ssh-agent started for one test, stopped when dropped.
struct Agent {
    socket: std::path::PathBuf,
    pid: String,
}

impl Agent {
    fn start(dir: &std::path::Path) -> Agent {
        let socket = dir.join("agent.sock");
        let out = std::process::Command::new("ssh-agent")
            .arg("-a")
            .arg(&socket)
            .arg("-s")
            .output()
            .expect("ssh-agent runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let pid = text
            .split(';')
            .find_map(|p| p.trim().strip_prefix("SSH_AGENT_PID="))
            .expect("the agent's pid")
            .to_string();
        Agent { socket, pid }
    }

    fn add(&self, key: &Key) {
        let status = std::process::Command::new("ssh-add")
            .arg("-q")
            .arg(&key.private)
            .env("SSH_AUTH_SOCK", &self.socket)
            .status()
            .expect("ssh-add runs");
        assert!(status.success());
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").arg(&self.pid).status();
    }
}

#[test]
fn a_key_held_by_ssh_agent_signs_through_gits_signingkey() {
    let f = waiting(r#"{"required": true}"#);
    let agent = Agent::start(&f.repo.path().join(".git"));
    agent.add(&f.reviewer);
    // Only the agent has the private key now; git's config names the public one.
    std::fs::remove_file(&f.reviewer.private).unwrap();
    f.repo.git(&[
        "config",
        "user.signingkey",
        &format!("key::{}", f.reviewer.public),
    ]);
    let socket = agent.socket.to_str().unwrap().to_string();
    f.repo
        .orch_env(
            &["approve", "--run", &f.run, "--gate", "A1"],
            &[
                ("GIT_AUTHOR_EMAIL", "reviewer@example.com"),
                ("SSH_AUTH_SOCK", &socket),
            ],
        )
        .ok()
        .stderr_has("A1 passed");
    f.resume().ok();
    f.verify().ok();
}

#[test]
fn the_commands_around_an_approval_work_pasted_from_another_folder() {
    let f = waiting(r#"{"required": true}"#);
    let root = f.repo.path().display().to_string();
    let elsewhere = tempfile::tempdir().unwrap();
    let orch = |args: &[String], env: &[(&str, &str)]| {
        Out::from(
            &std::process::Command::new(crate::common::BIN)
                .args(args)
                .envs(env.iter().copied())
                .env("NO_COLOR", "1")
                .current_dir(elsewhere.path())
                .output()
                .unwrap(),
        )
    };
    // The command after `marker` on the first line that has it, pasted
    // (with `extra` after it): it names the repository with -C.
    let paste = |said: &str, marker: &str, extra: &[&str], env: &[(&str, &str)]| {
        let mut words = crate::common::pasted(said, marker);
        assert_eq!(words[..3], ["orch", "-C", root.as_str()], "{said}");
        words.extend(extra.iter().map(ToString::to_string));
        orch(&words[1..], env)
    };
    let waits = orch(
        &["-C", &root, "run", "resume", "--run", &f.run].map(String::from),
        &[],
    );
    waits.code(4);
    let key = f.reviewer.private.to_str().unwrap();
    let approved = paste(
        &waits.stderr,
        "a reviewer approves with: ",
        &["--key", key],
        &[
            ("GIT_AUTHOR_NAME", "Someone"),
            ("GIT_AUTHOR_EMAIL", "reviewer@example.com"),
        ],
    );
    approved.ok().stderr_has("A1 passed");
    paste(&approved.stderr, "continue with: ", &[], &[])
        .ok()
        .stdout_has("PASSED");
}

/// verify's cache answers only for what has not changed: an approval
/// removed or added, `allowed_signers` at the trusted revision, and the
/// workflow's approval policy each change the answer at once, for every
/// run (not only the first one verify looked at).
#[test]
fn the_verify_cache_sees_approvals_signers_and_policies_change() {
    // A1 only: each run's gates recorded their contracts, so nothing but
    // the approval checks reads the workflow.
    let f = started_with(r#"{"required": true}"#, "");
    f.approve().ok();
    f.resume().ok();
    let out = f.repo.orch(&["run", "w", "--slug", "t"]);
    out.code(4);
    let other = f.repo.orch(&["run", "list", "--json"]).json()[0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(other, f.run);
    f.approve_run_as(&other, "reviewer@example.com", &f.reviewer, &[])
        .ok();
    f.repo.orch(&["run", "resume", "--run", &other]).ok();
    let runs = [f.run.as_str(), other.as_str()];
    let clean = |doc: &Value| assert_eq!(error_kinds(doc), Vec::<String>::new(), "{doc:#}");
    clean(&f.repo.verify_cached(&runs));

    // An approval removed, then added back.
    let approvals = format!("orchestration/runs/{other}/record/approvals/A1");
    let file = f.repo.files_under(&approvals)[0].clone();
    let bytes = f.repo.read(&file);
    std::fs::remove_file(f.repo.path().join(&file)).unwrap();
    let doc = f.repo.verify_cached(&runs);
    assert_eq!(error_kinds(&doc), ["approval_missing"], "{doc:#}");
    f.repo.write(&file, &bytes);
    clean(&f.repo.verify_cached(&runs));

    // The reviewer leaves allowed_signers at the trusted revision (HEAD
    // here), and comes back.
    let signers = f.repo.read("orchestration/allowed_signers");
    let mut without: String = signers
        .lines()
        .filter(|l| !l.starts_with("reviewer@"))
        .collect::<Vec<_>>()
        .join("\n");
    without.push('\n');
    f.repo.write("orchestration/allowed_signers", &without);
    f.repo.commit("the reviewer leaves");
    let doc = f.repo.verify_cached(&runs);
    let kinds = error_kinds(&doc);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "approval_signer_not_allowed")
            .count(),
        2,
        "{kinds:?}"
    );
    f.repo.write("orchestration/allowed_signers", &signers);
    f.repo.commit("the reviewer is back");
    clean(&f.repo.verify_cached(&runs));

    // The workflow in the working tree asks for two approvals: both runs
    // have too few.
    let wf = f.repo.read("orchestration/workflows/w.json");
    f.repo.write(
        "orchestration/workflows/w.json",
        &wf.replace(
            r#""required": true"#,
            r#""required": true, "min_approvals": 2"#,
        ),
    );
    let doc = f.repo.verify_cached(&runs);
    assert_eq!(
        error_kinds(&doc),
        ["approval_too_few", "approval_too_few"],
        "{doc:#}"
    );
    f.repo.write("orchestration/workflows/w.json", &wf);
    clean(&f.repo.verify_cached(&runs));
}
