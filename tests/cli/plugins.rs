//! Validator plugins: `orchestration/validators/<type>` provides a type orch
//! does not know, over JSON on stdin and stdout.

use crate::common::TestRepo;

#[cfg(unix)]
fn executable(repo: &TestRepo, rel: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    repo.write(rel, script);
    std::fs::set_permissions(
        repo.path().join(rel),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

#[cfg(unix)]
#[test]
fn a_plugin_provides_an_unknown_type() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "validations": [{"type": "word_count", "target": "{artifact_path}/essay.md", "min_words": 3, "note": "{slug}"}]}"#,
    );
    // The plugin echoes what it received so the test can see the protocol.
    executable(
        &repo,
        "orchestration/validators/word_count",
        r#"#!/usr/bin/env python3
import json, sys
req = json.load(sys.stdin)
v = req["validation"]
words = len(open(v["target"]).read().split())
ok = words >= v["min_words"]
print("some log line")
print(json.dumps({"pass": ok, "reason": f"{words} words (min {v['min_words']})", "path": v["target"],
                  "details": {"words": words, "note": v["note"], "depth": req["context"]["depth"], "protocol": req["protocol"]}}))
"#,
    );
    repo.write("out/essay.md", "two words");
    let out = repo.check_gate("G1", &["--json"]);
    let v = out.code(1).json();
    let r = &v["validations"][0];
    assert_eq!(r["type"], "word_count");
    assert_eq!(r["pass"], false);
    assert_eq!(r["reason"], "2 words (min 3)");
    assert_eq!(r["path"], "out/essay.md");
    assert_eq!(r["words"], 2);
    assert_eq!(r["note"], "s");
    assert_eq!(r["depth"], "standard");
    assert_eq!(r["protocol"], 1);
    repo.write("out/essay.md", "now three words");
    repo.check_gate("G1", &[])
        .ok()
        .stdout_has("✓ word_count")
        .stdout_has("3 words (min 3)");
}

#[cfg(unix)]
#[test]
fn a_plugin_that_misbehaves_fails_the_check_with_the_reason() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "validations": [{"type": "flaky"}]}"#,
    );
    for (script, reason) in [
        (
            "#!/bin/sh\necho 'not json'\n",
            "validator `flaky` gave no JSON answer on stdout (exit code 0)",
        ),
        (
            "#!/bin/sh\necho 'boom' >&2\nexit 4\n",
            "validator `flaky` gave no JSON answer on stdout (exit code 4): boom",
        ),
        (
            "#!/bin/sh\necho '{\"pass\": true}'\nexit 2\n",
            "failed (exit code 2)",
        ),
        (
            "#!/bin/sh\necho '{\"pass\": \"yes\"}'\n",
            "validator `flaky` answered JSON that is not {\"pass\": true|false, \"reason\": \"…\"}: \
             invalid type: string \"yes\", expected a boolean",
        ),
        (
            // A crash after echoing its input: the exit and stderr explain it.
            "#!/bin/sh\necho '{\"gate\": \"G1\"}'\necho Traceback >&2\nexit 3\n",
            "validator `flaky` gave no JSON answer on stdout (exit code 3): Traceback",
        ),
    ] {
        executable(&repo, "orchestration/validators/flaky", script);
        let v = repo.check_gate("G1", &["--json"]).code(1).json();
        assert_eq!(v["validations"][0]["pass"], false);
        assert_eq!(v["validations"][0]["reason"], reason);
    }
}

#[cfg(unix)]
#[test]
fn a_plugin_that_is_not_executable_is_named_in_the_error() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "validations": [{"type": "lazy"}]}"#,
    )
    .write("orchestration/validators/lazy", "#!/bin/sh\n");
    let out = repo.check_gate("G1", &[]);
    assert!(
        out.code(2)
            .one_error()
            .ends_with("unknown validation type `lazy`")
    );
    out.stderr_has("hint: `orchestration/validators/lazy` exists but is not executable: run `chmod +x orchestration/validators/lazy`");
}

#[cfg(unix)]
#[test]
fn details_and_reason_may_be_any_json_value_and_are_shown() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "validations": [{"type": "lenient"}]}"#,
    );
    let answer = |json: &str| {
        executable(
            &repo,
            "orchestration/validators/lenient",
            &format!("#!/bin/sh\necho '{json}'\n"),
        );
    };
    // A string: recorded whole under `details`, and shown.
    answer(r#"{"pass": false, "reason": "claims r3f", "details": "imports three, not r3f"}"#);
    let v = repo.check_gate("G1", &["--json"]).code(1).json();
    let r = &v["validations"][0];
    assert_eq!(
        (r["reason"].as_str(), r["details"].as_str()),
        (Some("claims r3f"), Some("imports three, not r3f"))
    );
    repo.check_gate("G1", &[])
        .code(1)
        .stdout_has("✗ lenient")
        .stdout_has("details: imports three, not r3f");
    // A number, and a reason that is not a string.
    answer(r#"{"pass": true, "reason": 42, "details": 0.5, "path": 7}"#);
    let v = repo.check_gate("G1", &["--json"]).ok().json();
    let r = &v["validations"][0];
    assert_eq!(r["reason"], "42");
    assert_eq!(r["details"], 0.5);
    assert_eq!(r["answer_path"], 7);
    assert!(r.get("path").is_none());
    repo.check_gate("G1", &[])
        .ok()
        .stdout_has(r#"details: {"details":0.5,"answer_path":7}"#);
    // An object whose keys clash with the result's own is kept whole, so the
    // record still reads back.
    answer(r#"{"pass": true, "details": {"pass": "maybe", "score": 9}}"#);
    let v = repo.check_gate("G1", &["--json"]).ok().json();
    let r = &v["validations"][0];
    assert_eq!(r["pass"], true);
    assert_eq!(
        r["details"],
        serde_json::json!({"pass": "maybe", "score": 9})
    );
    // Only a missing or non-boolean `pass` is a protocol error.
    for bad in [r#"{"reason": "fine"}"#, r#"{"pass": 1}"#] {
        answer(bad);
        let v = repo.check_gate("G1", &["--json"]).code(1).json();
        let reason = v["validations"][0]["reason"].as_str().unwrap().to_string();
        assert!(
            reason
                .starts_with("validator `lenient` answered JSON that is not {\"pass\": true|false"),
            "{bad}: {reason}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_gate_judged_by_a_plugin_with_odd_details_records_and_reads_back() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "gates": [{"gate": "G1"}]}"#,
    )
    .write(
        "orchestration/gates/contracts/G1.contract.json",
        r#"{"gate": "G1", "validations": [{"type": "lenient"}]}"#,
    );
    executable(
        &repo,
        "orchestration/validators/lenient",
        "#!/bin/sh\necho '{\"pass\": true, \"details\": {\"type\": [1, 2]}}'\n",
    );
    let run = repo
        .orch(&["run", "start", "--workflow", "w", "--slug", "s"])
        .ok()
        .stdout
        .trim()
        .to_string();
    repo.start_gate(&run, "G1", "a").ok();
    repo.finish_gate(&run, "G1").ok();
    repo.orch(&["run", "show", "--run", &run]).ok();
    assert_eq!(
        repo.attempt_json(&run, "G1", 1)["validations"][0]["details"],
        serde_json::json!({"type": [1, 2]})
    );
}
