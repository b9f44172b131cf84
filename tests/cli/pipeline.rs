//! `orch run <workflow>` and `orch run resume`, with fake agents written by
//! the tests: scripts that write files, fail, hang, spew output, or print
//! claude- and codex-shaped results. No test needs a real LLM.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{Out, TestRepo, pasted};

/// A two-gate workflow `w` (artifact path `out`): gate A1 and A2 each need
/// `out/<gate>.md` containing "done". Both run `sh agent.sh` unless
/// `gates` says otherwise.
fn fixture(executor: &str, gate_extra: [&str; 2], agent: &str) -> TestRepo {
    let repo = TestRepo::new();
    let gate = |code: &str, extra: &str| {
        format!(
            r#"{{"gate": "{code}", "name": "Gate {code}", "agent": "fake-{code}", "executor": {executor}{extra}}}"#
        )
    };
    repo.write(
        "orchestration/workflows/w.json",
        &format!(
            r#"{{"workflow": "w", "default_artifact_path": "out", "gates": [{}, {}]}}"#,
            gate("A1", gate_extra[0]),
            gate("A2", gate_extra[1])
        ),
    );
    for code in ["A1", "A2"] {
        repo.write(
            &format!("orchestration/gates/contracts/{code}.contract.json"),
            &format!(
                r#"{{"gate": "{code}", "required_outputs": {{"all_of": [{{"path": "{{artifact_path}}/{code}.md"}}]}},
                    "validations": [{{"type": "contains_text", "target": "{{artifact_path}}/{code}.md", "patterns": ["done"]}}]}}"#
            ),
        );
    }
    repo.write("agent.sh", agent);
    repo
}

const SH: &str = r#"{"command": ["sh", "agent.sh"]}"#;

/// An agent that does each gate properly.
const GOOD: &str = "mkdir -p out\necho done > \"out/$ORCH_GATE.md\"\necho '{\"status\": \"complete\", \"reason\": \"ok\"}'\n";

fn run_w(repo: &TestRepo, extra: &[&str]) -> Out {
    let mut args = vec!["run", "w", "--slug", "s"];
    args.extend_from_slice(extra);
    repo.orch(&args)
}

fn only_run(repo: &TestRepo) -> String {
    let ids: Vec<String> = std::fs::read_dir(repo.path().join("orchestration/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

fn attempts(run: &Value, gate: usize) -> Vec<Value> {
    run["gates"][gate]["attempts"].as_array().unwrap().clone()
}

fn sha256(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Whether a process has ended (gone, or a zombie waiting to be reaped).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(") ")
            .next()
            .is_some_and(|rest| rest.starts_with('Z')),
    }
}

/// The pid a process wrote to `rel` (waits until the line is complete).
fn pid_in(repo: &TestRepo, rel: &str) -> u32 {
    eventually(&format!("a pid in {rel}"), || {
        repo.read_opt(rel).is_some_and(|t| t.ends_with('\n'))
    });
    repo.read(rel).trim().parse().unwrap()
}

/// Sends SIGINT to a spawned orch, as Ctrl-C would, and checks it exits 130.
fn interrupt(child: Child) -> std::process::Output {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Polls for a condition that another process brings about.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < until, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The README's main command: `sh examples/visual-essay.sh` makes the
/// example's key, trusts it, vets the shipped skills, runs G1 and G2 fully
/// automatically, has G3's start approved, and resumes to PASSED.
#[test]
fn a_full_run_with_a_command_agent_passes() {
    let repo = TestRepo::shipped();
    let (out, run) = repo.example_run("the-word-robot");
    // The first `orch run` prints JSON (the script reads the run id from
    // it), so its gate reports are on stderr.
    out.ok()
        .stderr_has("PASS G1 (4 checks)")
        .stderr_has("PASS G2 (8 checks)")
        .stdout_has("PASS G3 (7 checks)")
        .stdout_has("approved G3 attempt 1 (its start)")
        .stdout_has(&format!("PASSED {run}"))
        .stderr_has("▸ G2 Research Complete · attempt 1 · research-agent (`examples/agents/scripted-essay.sh`)")
        .stderr_has("G3 waits for a signed approval before its agent starts: G3 is human_approval");
    assert_eq!(only_run(&repo), run);
    let r = repo.run_json(&run);
    // Recipes: vetted skills for the fully automatic gates, a start approval for G3.
    for (i, (level, skill)) in [
        ("fully_auto", "essay-intake"),
        ("fully_auto", "essay-research"),
        ("human_approval", "essay-spec"),
    ]
    .into_iter()
    .enumerate()
    {
        let a = &r["gates"][i]["attempts"][0];
        assert_eq!(a["automation"], level, "{a}");
        assert_eq!(a["skills"][0]["id"], skill);
        assert_eq!(a["skills"][0]["trust"], "vetted");
        assert_eq!(a["skills"][0]["sha256"].as_str().unwrap().len(), 64);
    }
    assert!(r["gates"][0]["attempts"][0].get("start_approval").is_none());
    let start = &r["gates"][2]["attempts"][0]["start_approval"];
    assert_eq!(start["min_approvals"], 1);
    assert!(start["granted_at"].is_string(), "{start}");
    let approvals = repo.files_under(&format!("orchestration/runs/{run}/record/approvals/G3"));
    assert_eq!(approvals.len(), 1);
    let approval = repo.read_json(&approvals[0]);
    assert_eq!(approval["payload"]["scope"], "start");
    assert_eq!(
        approval["payload"]["prompt_sha256"],
        r["gates"][2]["attempts"][0]["prompt_sha256"]
    );
    assert_eq!(approval["payload"]["outputs"], serde_json::json!([]));
    assert_eq!(
        repo.files_under("orchestration/skills/vettings").len(),
        3,
        "the example vetted the three shipped skills"
    );
    // Quality checks ran after the agent and are in the attempts.
    let q2 = &r["gates"][1]["attempts"][0]["quality_checks"][0];
    assert_eq!(
        (q2["name"].as_str(), q2["status"].as_str()),
        (Some("sources-linked"), Some("passed"))
    );
    let q3 = &r["gates"][2]["attempts"][0]["quality_checks"][0];
    assert_eq!(
        (
            q3["name"].as_str(),
            q3["status"].as_str(),
            q3["exit_code"].as_i64()
        ),
        (Some("essay-lint"), Some("passed"), Some(0))
    );
    assert!(
        q3["output_excerpt"]["stdout"]
            .as_str()
            .unwrap()
            .contains("is clean")
    );

    assert_eq!(r["status"], "PASSED");
    assert!(r["finished_at"].is_string());
    let invs = r["invocations"].as_array().unwrap();
    assert_eq!(invs.len(), 3);
    for (i, inv) in invs.iter().enumerate() {
        assert_eq!(inv["status"], "SUCCESS");
        assert_eq!(inv["exit_code"], 0);
        assert_eq!(inv["ended_by"], "exited");
        assert_eq!(
            inv["command"],
            serde_json::json!(["examples/agents/scripted-essay.sh"])
        );
        assert_eq!(inv["step"], 1);
        assert_eq!(
            inv["skill"],
            ["essay-intake", "essay-research", "essay-spec"][i]
        );
        assert_eq!(inv["reported"]["status"], "complete");
        assert_eq!(
            inv["cost"],
            serde_json::json!({"source": "unknown"}),
            "unknown cost is never 0"
        );
        let gate = &r["gates"][i];
        assert_eq!(
            gate["attempts"][0]["invocation_ids"],
            serde_json::json!([inv["id"]])
        );
        let log = inv["output"]["log_dir"].as_str().unwrap();
        assert!(
            repo.read(&format!("{log}/stdout.log"))
                .contains("scripted-essay:")
        );
    }
    // The packet's hash is in the attempt.
    let packet = repo.read(&format!(
        "orchestration/runs/{run}/logs/gates/G2/attempt-1/prompt.txt"
    ));
    assert_eq!(
        r["gates"][1]["attempts"][0]["prompt_sha256"],
        sha256(packet.as_bytes())
    );
    let intake = &r["gates"][0]["attempts"][0]["artifacts"][0];
    let g1_output = format!(
        "- {} (sha256 {})",
        intake["path"].as_str().unwrap(),
        intake["sha256"].as_str().unwrap()
    );
    for part in [
        &format!("- run: {run}"),
        "## Instructions (orchestration/prompts/G2.md)",
        "Research the visual essay `the-word-robot` at depth `standard`",
        &format!("the approved intake sets:\n\n{g1_output}\n"),
        &format!("## Outputs of earlier gates\n\nG1:\n{g1_output}\n"),
        "1. skill `essay-research` with {\"min_primary_sources\":2}",
        "- `essays/the-word-robot/research/SOURCES.md` (required)",
        "min_sources: `essays/the-word-robot/research/SOURCES.md` lists at least 6 sources",
        "{\"status\": \"complete\", \"reason\": \"…\"}",
    ] {
        assert!(packet.contains(part), "packet lacks {part:?}:\n{packet}");
    }
    // The step's input is the packet and the skill (the agent's stdin).
    assert_eq!(r["totals"]["invocations"], 3);
    assert_eq!(r["totals"]["cost_source"], "unknown");
    assert!(r["totals"].get("cost_usd").is_none());
    // The lease is gone and only the record is in the committed folder.
    assert!(!repo.exists(&format!("orchestration/runs/{run}/logs/lease.json")));
    let files = repo.files_under(&format!("orchestration/runs/{run}/record"));
    assert_eq!(files.len(), 5, "{files:?}");
    // With the example's trust, the sources are clean and the run verifies.
    repo.orch(&["lint"]).ok().stdout_has("0 errors, 0 warnings");
    repo.orch(&["verify"])
        .ok()
        .stdout_has("0 errors, 0 warnings");
    // A record that claims vetted skills the vettings do not back is caught.
    std::fs::remove_dir_all(
        repo.path()
            .join("orchestration/skills/vettings/essay-research"),
    )
    .unwrap();
    repo.orch(&["verify"]).code(1).stdout_has(
        "G2 ran at fully_auto with skill `essay-research` recorded as vetted, and no vetting of its content",
    );
}

#[test]
fn the_agent_gets_the_packet_on_stdin_and_its_environment() {
    let agent = "mkdir -p out\ncat > out/packet.txt\nenv | grep '^ORCH_' | sort > out/env.txt\necho done > \"out/$ORCH_GATE.md\"\n";
    let repo = fixture(SH, ["", ""], agent);
    run_w(&repo, &[]).ok();
    let run = only_run(&repo);
    let env = repo.read("out/env.txt");
    for line in [
        &format!("ORCH_RUN_ID={run}"),
        "ORCH_GATE=A2",
        "ORCH_ATTEMPT=1",
        "ORCH_ARTIFACT_PATH=out",
        "ORCH_SLUG=s",
        "ORCH_DEPTH=standard",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing from\n{env}");
    }
    let root = format!("ORCH_REPO_ROOT={}", repo.path().display());
    assert!(env.lines().any(|l| l == root), "{env}");
    let prompt_file = env
        .lines()
        .find_map(|l| l.strip_prefix("ORCH_PROMPT_FILE="))
        .unwrap();
    assert!(prompt_file.ends_with(&format!(
        "orchestration/runs/{run}/logs/gates/A2/attempt-1/prompt.txt"
    )));
    assert_eq!(
        repo.read("out/packet.txt"),
        std::fs::read_to_string(prompt_file).unwrap()
    );
}

#[test]
fn a_failing_gate_retries_with_the_failure_reason_in_the_next_packet() {
    let agent = "mkdir -p out\ncount=$(cat out/count 2>/dev/null || echo 0)\necho $((count + 1)) > out/count\n\
                 if [ \"$ORCH_GATE\" = A1 ] && [ \"$count\" = 0 ]; then echo 'not yet' > out/A1.md; else echo done > \"out/$ORCH_GATE.md\"; fi\n";
    let repo = fixture(SH, ["", ""], agent);
    let out = run_w(&repo, &[]);
    out.ok()
        .stderr_has("↻ retrying A1: contains_text: missing `done`");
    let run = only_run(&repo);
    let r = repo.run_json(&run);
    let a1 = attempts(&r, 0);
    assert_eq!(a1.len(), 2);
    assert_eq!(
        (a1[0]["status"].as_str(), a1[1]["status"].as_str()),
        (Some("FAIL"), Some("PASS"))
    );
    assert_eq!(a1[0]["failure_reason"], "contains_text: missing `done`");
    let second = repo.read(&format!(
        "orchestration/runs/{run}/logs/gates/A1/attempt-2/prompt.txt"
    ));
    assert!(
        second.contains("## Why attempt 1 failed\n\ncontains_text: missing `done`"),
        "{second}"
    );
    assert!(
        second.contains("- contains_text `out/A1.md`: missing `done`"),
        "{second}"
    );
    let first = repo.read(&format!(
        "orchestration/runs/{run}/logs/gates/A1/attempt-1/prompt.txt"
    ));
    assert!(
        !first.contains("Why attempt"),
        "a first attempt has no failure to explain"
    );
}

#[test]
fn retry_from_rewinds_to_an_earlier_gate_and_keeps_history() {
    let agent = "mkdir -p out\nif [ \"$ORCH_GATE\" = A1 ]; then echo run >> out/a1-runs; echo done > out/A1.md; \
                 elif [ \"$(wc -l < out/a1-runs)\" -ge 2 ]; then echo done > out/A2.md; else echo 'needs a fresh A1' > out/A2.md; fi\n";
    let repo = fixture(SH, ["", r#", "retry_from": "A1", "retries": 1"#], agent);
    let out = run_w(&repo, &[]);
    out.ok()
        .stderr_has("↺ A2 failed; going back to A1 (retry_from)");
    let run = only_run(&repo);
    let r = repo.run_json(&run);
    let statuses = |g: usize| {
        attempts(&r, g)
            .iter()
            .map(|a| a["status"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        statuses(0),
        vec!["PASS", "PASS"],
        "A1 ran again; its first attempt is kept"
    );
    assert_eq!(statuses(1), vec!["FAIL", "PASS"]);
    let packet = repo.read(&format!(
        "orchestration/runs/{run}/logs/gates/A1/attempt-2/prompt.txt"
    ));
    assert!(
        packet
            .contains("Gate A2 failed and sends the run back here: contains_text: missing `done`"),
        "{packet}"
    );
    assert!(repo.exists(&format!(
        "orchestration/runs/{run}/record/gates/A1/attempt-1.json"
    )));
}

#[test]
fn out_of_retries_a_blocking_gate_stops_the_run() {
    let agent = "mkdir -p out\necho 'not yet' > \"out/$ORCH_GATE.md\"\n";
    let repo = fixture(SH, ["", ""], agent);
    let out = run_w(&repo, &[]);
    out.code(1)
        .stdout_has("FAILED run_")
        .stderr_has("A1 failed: contains_text: missing `done`")
        .stderr_has("orch run resume --run");
    let r = repo.run_json(&only_run(&repo));
    assert_eq!(r["status"], "FAILED");
    assert_eq!(
        r["finished_at"],
        Value::Null,
        "a failed run stays resumable"
    );
    assert_eq!(attempts(&r, 0).len(), 2, "agents get one retry by default");
    assert_eq!(r["gates"][1]["status"], "NOT_STARTED");
}

#[test]
fn a_hung_agent_is_killed_at_its_timeout_with_its_children() {
    let agent = "mkdir -p out\nsleep 300 &\necho $! > out/child.pid\necho $$ > out/agent.pid\necho started\nsleep 300\n";
    let repo = fixture(
        r#"{"command": ["sh", "agent.sh"], "timeout_s": 1}"#,
        [r#", "retries": 0"#, ""],
        agent,
    );
    let out = repo.orch_env(&["run", "w", "--slug", "s"], &[("ORCH_KILL_GRACE", "0.2")]);
    out.code(1).stderr_has("agent failed: timed out after 1s");
    let r = repo.run_json(&only_run(&repo));
    let inv = &r["invocations"][0];
    assert_eq!(inv["status"], "FAIL");
    assert_eq!(inv["ended_by"], "timeout");
    assert_eq!(inv["error"], "timed out after 1s");
    let reason = attempts(&r, 0)[0]["failure_reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.starts_with("agent fake-A1: timed out after 1s (logs: orchestration/runs/"),
        "{reason}"
    );
    for file in ["out/agent.pid", "out/child.pid"] {
        let pid: u32 = repo.read(file).trim().parse().unwrap();
        eventually(&format!("{file} ({pid}) to end"), || gone(pid));
    }
}

#[test]
fn an_agent_that_goes_quiet_is_stopped_at_its_idle_timeout() {
    let agent = "mkdir -p out\necho done > \"out/$ORCH_GATE.md\"\necho working\nsleep 300\n";
    let repo = fixture(SH, [r#", "retries": 0"#, ""], agent);
    let out = repo.orch_env(
        &["run", "w", "--slug", "s", "--idle-timeout", "0.5"],
        &[("ORCH_KILL_GRACE", "0.2")],
    );
    out.code(1)
        .stderr_has("agent failed: printed nothing for 0.5s");
    let r = repo.run_json(&only_run(&repo));
    assert_eq!(r["invocations"][0]["ended_by"], "idle_timeout");
    assert_eq!(
        attempts(&r, 0)[0]["status"],
        "FAIL",
        "a killed agent fails the attempt even if its outputs pass"
    );
}

#[test]
fn huge_output_is_capped_and_noted() {
    let agent = "mkdir -p out\necho done > \"out/$ORCH_GATE.md\"\nhead -c 20000000 /dev/zero | tr '\\0' y\n";
    let repo = fixture(
        r#"{"command": ["sh", "agent.sh"], "max_output_bytes": 65536}"#,
        ["", ""],
        agent,
    );
    run_w(&repo, &[])
        .ok()
        .stderr_has("agent output was larger than the limit");
    let r = repo.run_json(&only_run(&repo));
    let output = &r["invocations"][0]["output"];
    assert_eq!(output["stdout_bytes"], 20_000_000);
    assert_eq!(output["truncated"], true);
    let log_path = repo.path().join(format!(
        "{}/stdout.log",
        output["log_dir"].as_str().unwrap()
    ));
    let size = std::fs::metadata(&log_path).unwrap().len();
    assert!(
        size < 66_000,
        "the log holds the cap and a note, not 20 MB ({size} bytes)"
    );
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.ends_with(
        "[orch: output truncated: kept the first 65536 bytes, dropped 19934464 more]\n"
    ));
}

#[test]
fn claude_is_error_fails_the_invocation_even_with_exit_zero() {
    let agent = r#"mkdir -p out
echo done > "out/$ORCH_GATE.md"
echo '{"type":"result","subtype":"success","is_error":true,"result":"API Error: overloaded","session_id":"sess-1","total_cost_usd":0.0125,"usage":{"input_tokens":10,"output_tokens":2,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}'
"#;
    let repo = fixture(SH, [r#", "retries": 0"#, ""], agent);
    run_w(&repo, &[])
        .code(1)
        .stderr_has("agent failed: agent reported an error (success): API Error: overloaded");
    let r = repo.run_json(&only_run(&repo));
    let inv = &r["invocations"][0];
    assert_eq!(inv["status"], "FAIL");
    assert_eq!(inv["exit_code"], 0);
    assert_eq!(inv["output_format"], "claude-json");
    assert_eq!(inv["session_id"], "sess-1");
    assert_eq!(
        inv["cost"],
        serde_json::json!({"usd": 0.0125, "source": "reported"})
    );
    let a = &attempts(&r, 0)[0];
    assert_eq!(a["status"], "FAIL");
    assert_eq!(
        a["validations"][1]["pass"], true,
        "the checks are recorded all the same"
    );
}

#[test]
fn claude_success_records_session_tokens_and_reported_cost() {
    let agent = r#"mkdir -p out
echo done > "out/$ORCH_GATE.md"
printf '%s\n' '{"type":"result","subtype":"success","is_error":false,"result":"Done.\n{\"status\": \"complete\", \"reason\": \"wrote it\"}","session_id":"sess-ok","total_cost_usd":0.5,"usage":{"input_tokens":1000,"output_tokens":200,"cache_read_input_tokens":50,"cache_creation_input_tokens":5}}'
"#;
    let repo = fixture(SH, ["", ""], agent);
    run_w(&repo, &[]).ok();
    let r = repo.run_json(&only_run(&repo));
    let inv = &r["invocations"][1];
    assert_eq!(inv["status"], "SUCCESS");
    assert_eq!(
        inv["usage"],
        serde_json::json!({"input_tokens": 1000, "output_tokens": 200, "cache_read_input_tokens": 50, "cache_creation_input_tokens": 5})
    );
    assert_eq!(
        inv["reported"],
        serde_json::json!({"status": "complete", "reason": "wrote it"})
    );
    assert_eq!(r["totals"]["cost_usd"], 1.0);
    assert_eq!(r["totals"]["cost_source"], "reported");
    assert_eq!(r["totals"]["usage"]["input_tokens"], 2000);
}

#[test]
fn codex_usage_is_recorded_and_cost_is_estimated_only_from_prices() {
    let agent = r#"mkdir -p out
echo done > "out/$ORCH_GATE.md"
echo '{"type":"thread.started","thread_id":"thread-7"}'
echo '{"type":"turn.started"}'
echo '{"type":"item.completed","item":{"id":"1","type":"agent_message","text":"Finished."}}'
echo '{"type":"turn.completed","usage":{"input_tokens":1200,"cached_input_tokens":200,"output_tokens":300}}'
"#;
    let priced = r#"{"command": ["sh", "agent.sh"], "pricing": {"input_per_mtok": 2.0, "output_per_mtok": 10.0, "cached_input_per_mtok": 0.5}}"#;
    let repo = fixture(SH, ["", ""], agent);
    run_w(&repo, &[]).ok();
    let r = repo.run_json(&only_run(&repo));
    let inv = &r["invocations"][0];
    assert_eq!(inv["output_format"], "codex-jsonl");
    assert_eq!(inv["session_id"], "thread-7");
    assert_eq!(
        inv["usage"],
        serde_json::json!({"input_tokens": 1000, "output_tokens": 300, "cache_read_input_tokens": 200, "cache_creation_input_tokens": 0})
    );
    assert_eq!(
        inv["cost"],
        serde_json::json!({"source": "unknown"}),
        "codex reports no cost: unknown, never 0"
    );
    assert_eq!(r["totals"]["cost_source"], "unknown");

    let repo = fixture(priced, ["", ""], agent);
    run_w(&repo, &[]).ok();
    let r = repo.run_json(&only_run(&repo));
    // 1000 × 2 + 200 × 0.5 + 300 × 10 = 5100 per million tokens.
    assert_eq!(
        r["invocations"][0]["cost"],
        serde_json::json!({"usd": 0.0051, "source": "estimated"})
    );
    assert_eq!(r["totals"]["cost_usd"], 0.0102);
    assert_eq!(r["totals"]["cost_source"], "estimated");
}

#[test]
fn a_blocked_agent_stops_the_gate_with_its_reason() {
    let agent =
        "echo 'I need a key'\necho '{\"status\": \"blocked\", \"reason\": \"needs an API key\"}'\n";
    let repo = fixture(SH, ["", ""], agent);
    let out = run_w(&repo, &[]);
    out.code(1)
        .stdout_has("BLOCKED run_")
        .stdout_has("at A1")
        .stderr_has("the agent needs help: needs an API key");
    let r = repo.run_json(&only_run(&repo));
    assert_eq!(r["gates"][0]["status"], "BLOCKED");
    let a = attempts(&r, 0);
    assert_eq!(a.len(), 1, "a blocked gate is not retried");
    assert_eq!(a[0]["status"], "BLOCKED");
    assert_eq!(
        a[0]["failure_reason"],
        "agent reported blocked: needs an API key"
    );
    assert_eq!(r["status"], "FAILED");
}

#[test]
fn continue_runs_the_agent_again_within_the_same_attempt() {
    let agent = "mkdir -p out\nif [ -f \"out/turned-$ORCH_GATE\" ]; then cat > \"out/second-input-$ORCH_GATE.txt\"; echo done > \"out/$ORCH_GATE.md\"; \
                 else touch \"out/turned-$ORCH_GATE\"; echo '{\"status\": \"continue\", \"reason\": \"half way\"}'; fi\n";
    let repo = fixture(SH, ["", ""], agent);
    run_w(&repo, &[])
        .ok()
        .stderr_has("A1: the agent asked to continue (half way)");
    let r = repo.run_json(&only_run(&repo));
    let a1 = attempts(&r, 0);
    assert_eq!(a1.len(), 1);
    assert_eq!(a1[0]["invocation_ids"].as_array().unwrap().len(), 2);
    assert!(
        repo.read("out/second-input-A1.txt")
            .contains("## Continue (1 of 3)")
    );
}

#[test]
fn without_a_terminal_a_persons_gate_pauses_and_exits_cleanly() {
    let repo = TestRepo::shipped();
    let out = repo.orch(&["run", "visual-essay", "--slug", "robot"]);
    out.code(4)
        .stdout_has("AWAITING_INPUT run_")
        .stdout_has("at G1")
        .stderr_has("G1 is done by a person. The prompt packet: orchestration/runs/");
    let run = only_run(&repo);
    out.stderr_has(&format!("orch run resume --run {run}"));
    let r = repo.run_json(&run);
    assert_eq!(r["status"], "AWAITING_INPUT");
    assert_eq!(attempts(&r, 0)[0]["status"], "RUNNING");
    assert_eq!(
        r["events"].as_array().unwrap().last().unwrap()["type"],
        "RUN_PAUSED"
    );
    let packet = repo.read(&format!(
        "orchestration/runs/{run}/logs/gates/G1/attempt-1/prompt.txt"
    ));
    assert!(
        packet.contains(&format!("`orch run resume --run {run}`")),
        "{packet}"
    );
    assert!(!repo.exists(&format!("orchestration/runs/{run}/logs/lease.json")));
    // Resuming validates the person's work: none yet, so G1 fails (people get
    // no retries by default) and the run is FAILED, still resumable.
    let v = paste(&repo, &out.stderr, "validate it and go on: ", &["--json"])
        .code(1)
        .json();
    assert_eq!(
        (v["outcome"].as_str(), v["gate"].as_str()),
        (Some("failed"), Some("G1"))
    );
    // The person fixes the work; the next resume validates it at once, in a
    // new attempt whose packet says why the last one failed.
    repo.do_work("G1", "robot");
    let v = repo
        .orch(&["run", "resume", "--run", &run, "--json"])
        .code(4)
        .json();
    assert_eq!(
        (v["outcome"].as_str(), v["gate"].as_str()),
        (Some("awaiting_input"), Some("G2")),
        "G1 passed on resume and G2 is handed out: {v}"
    );
    let r = repo.run_json(&run);
    let g1 = attempts(&r, 0);
    assert_eq!(
        g1.iter()
            .map(|a| a["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["FAIL", "PASS"]
    );
    let packet = repo.read(&format!(
        "orchestration/runs/{run}/logs/gates/G1/attempt-2/prompt.txt"
    ));
    assert!(packet.contains("## Why attempt 1 failed"), "{packet}");
}

/// Runs the `orch …` command a message told the user to paste (on the
/// first line of `said` that contains `marker`), split as a shell would,
/// with `extra` arguments after it.
fn paste(repo: &TestRepo, said: &str, marker: &str, extra: &[&str]) -> Out {
    let words = pasted(said, marker);
    let mut args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    repo.orch(&args)
}

#[test]
fn resume_goes_on_with_the_agent_and_time_limits_the_run_started_with() {
    let repo = TestRepo::vetted();
    let quiet = [("ORCH_KILL_GRACE", "0.1")];
    let out = repo.orch_env(
        &[
            "run",
            "visual-essay",
            "--slug",
            "robot",
            "--agent-cmd",
            "sh -c 'sleep 30'",
            "--idle-timeout",
            "0.3",
        ],
        &quiet,
    );
    out.code(1)
        .stderr_has("agent failed: printed nothing for 0.3s");
    let run = only_run(&repo);
    assert_eq!(
        repo.run_json(&run)["options"],
        serde_json::json!({"agent_cmd": "sh -c 'sleep 30'", "idle_timeout_s": 0.3})
    );
    // The hint, pasted as printed, runs the same agent with the same limits:
    // never a person's gate, never the default 30-minute limit.
    let words = pasted(&out.stderr, "continue with: ");
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let again = repo.orch_env(&args, &quiet);
    again
        .code(1)
        .stderr_has("agent failed: printed nothing for 0.3s");
    let r = repo.run_json(&run);
    assert_eq!(attempts(&r, 0).len(), 4, "two more attempts by the agent");
    let invocations = r["invocations"].as_array().unwrap();
    assert_eq!(invocations.len(), 4);
    assert!(
        invocations
            .iter()
            .all(|i| i["command"] == serde_json::json!(["sh", "-c", "sleep 30"])),
        "{invocations:?}"
    );
    // --agent-cmd on resume overrides the recorded one, and says so in the
    // record; it does G1 and G2, and G3 waits for a person's approval.
    let waits = paste(
        &repo,
        &again.stderr,
        "continue with: ",
        &["--agent-cmd", "examples/agents/scripted-essay.sh"],
    );
    waits
        .code(4)
        .stderr_has("G3 needs signed approvals before its agent starts");
    repo.reviewer_decides("approve", &run, "G3", "go").ok();
    // Resumed as printed, G3 is done by the agent the run now records.
    paste(&repo, &waits.stderr, "then continue with: ", &[])
        .ok()
        .stdout_has("PASSED");
    let r = repo.run_json(&run);
    let last = r["invocations"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["gate"].as_str(), &last["command"]),
        (
            Some("G3"),
            &serde_json::json!(["examples/agents/scripted-essay.sh"])
        )
    );
    let r = repo.run_json(&run);
    assert_eq!(
        r["options"],
        serde_json::json!({"agent_cmd": "examples/agents/scripted-essay.sh", "idle_timeout_s": 0.3})
    );
    let resumed: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "RUN_RESUMED")
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        resumed,
        [
            "Run resumed",
            "Run resumed with --agent-cmd `examples/agents/scripted-essay.sh` (was `sh -c 'sleep 30'`)",
            "Run resumed"
        ]
    );
}

#[test]
fn a_gate_an_agent_was_doing_never_silently_becomes_a_persons() {
    let repo = TestRepo::vetted();
    let out = repo.orch(&[
        "run",
        "visual-essay",
        "--slug",
        "robot",
        "--agent-cmd",
        "sh -c 'exit 1'",
        "--json",
    ]);
    let run = out.code(1).json()["run_id"].as_str().unwrap().to_string();
    // A record from before orch kept its options: resuming without an agent
    // would hand G1 to a person behind their back. Refused, with the way on.
    let path = format!("orchestration/runs/{run}/record/RUN.json");
    let mut record = repo.run_json(&run);
    record.as_object_mut().unwrap().remove("options");
    repo.write(
        &path,
        &format!("{}\n", serde_json::to_string_pretty(&record).unwrap()),
    );
    let before = repo.read(&path);
    // Run from another folder with -C: what orch prints to paste names it too.
    let elsewhere = tempfile::tempdir().unwrap();
    let from_elsewhere = |words: &[String]| {
        Out::from(
            &std::process::Command::new(crate::common::BIN)
                .args(words)
                .current_dir(elsewhere.path())
                .env("ORCH_TRUSTED_REV", "refs/orch/example-trust")
                .output()
                .unwrap(),
        )
    };
    let root = repo.path().display().to_string();
    let args = ["-C", &root, "run", "resume", "--run", &run].map(String::from);
    let out = from_elsewhere(&args);
    assert_eq!(
        out.code(2).one_error(),
        "error: G1 was being done by an agent (`sh -c 'exit 1'`), but the run has no agent command recorded to continue with"
    );
    assert_eq!(repo.read(&path), before, "nothing changed");
    // The hint works as pasted, and so does the one the resumed run prints.
    let words = pasted(&out.stderr, "continue with the agent: ");
    assert_eq!(words[1..3], ["-C".to_string(), root.clone()]);
    let out = from_elsewhere(&words[1..]);
    out.code(1);
    let r = repo.run_json(&run);
    assert_eq!(attempts(&r, 0).len(), 4);
    assert_eq!(r["options"]["agent_cmd"], "sh -c 'exit 1'");
    let words = pasted(&out.stderr, "continue with: ");
    assert_eq!(words[1..3], ["-C".to_string(), root]);
    from_elsewhere(&words[1..]).code(1);
    assert_eq!(attempts(&repo.run_json(&run), 0).len(), 6);
}

#[cfg(target_os = "linux")]
#[test]
fn a_stray_enter_at_a_persons_gate_shows_the_packet_and_never_fails_it() {
    let repo = TestRepo::shipped();
    // Enter (the menu's default), then `q` to leave the menu.
    let Some(out) = repo.on_terminal(&["run", "visual-essay", "--slug", "robot"], "\nq") else {
        return;
    };
    out.code(4)
        .stdout_has("> Show the prompt packet")
        .stdout_has("## When you are done")
        .stdout_has("AWAITING_INPUT run_");
    let r = repo.run_json(&only_run(&repo));
    let g1 = attempts(&r, 0);
    assert_eq!(g1.len(), 1);
    assert_eq!(g1[0]["status"], "RUNNING", "nothing was validated");
}

#[test]
fn resume_validates_the_persons_work_and_finishes_the_run() {
    let repo = TestRepo::shipped();
    repo.orch(&["run", "visual-essay", "--slug", "robot"])
        .code(4);
    let run = only_run(&repo);
    for gate in ["G1", "G2"] {
        repo.do_work(gate, "robot");
        let out = repo.orch(&["run", "resume", "--run", &run]);
        out.code(4).stdout_has(&format!("PASS {gate}"));
    }
    repo.do_work("G3", "robot");
    repo.orch(&["run", "resume", "--run", &run])
        .ok()
        .stdout_has("PASS G3")
        .stdout_has("PASSED");
    let r = repo.run_json(&run);
    assert_eq!(r["status"], "PASSED");
    for g in 0..3 {
        assert_eq!(
            attempts(&r, g).len(),
            1,
            "each gate passed on its first attempt"
        );
    }
    let kinds: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "RUN_RESUMED").count(), 3);
    repo.orch(&["run", "resume", "--run", &run]).code(3);
}

fn spawn_run(repo: &TestRepo, args: &[&str]) -> Child {
    repo.command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

const SLEEPY: &str = "mkdir -p out\necho $$ > out/agent.pid\necho working\nsleep 300\n";

#[test]
fn sigint_leaves_a_resumable_run() {
    let repo = fixture(SH, ["", ""], SLEEPY);
    let child = spawn_run(&repo, &["run", "w", "--slug", "s"]);
    let agent_pid = pid_in(&repo, "out/agent.pid");
    let out = interrupt(child);
    assert!(String::from_utf8_lossy(&out.stdout).contains("INTERRUPTED run_"));
    eventually("the agent to be stopped", || gone(agent_pid));
    let run = only_run(&repo);
    let r = repo.run_json(&run);
    assert_eq!(r["status"], "INTERRUPTED");
    assert_eq!(r["finished_at"], Value::Null);
    assert_eq!(attempts(&r, 0)[0]["status"], "INTERRUPTED");
    assert_eq!(r["invocations"][0]["ended_by"], "interrupted");
    assert!(!repo.exists(&format!("orchestration/runs/{run}/logs/lease.json")));

    repo.write("good.sh", GOOD);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let out = paste(
        &repo,
        &said,
        "the run is resumable: ",
        &["--agent-cmd", "sh good.sh"],
    );
    out.ok().stdout_has("PASSED");
    let r = repo.run_json(&run);
    assert_eq!(
        attempts(&r, 0).len(),
        2,
        "the interrupted attempt is kept; a new one passed"
    );
}

#[test]
fn a_run_whose_owner_died_is_shown_stale_and_taken_over() {
    let repo = fixture(SH, ["", ""], SLEEPY);
    let mut child = spawn_run(&repo, &["run", "w", "--slug", "s"]);
    let agent_pid = pid_in(&repo, "out/agent.pid");
    let run = only_run(&repo);
    eventually("the lease to name the agent", || {
        std::fs::read_to_string(
            repo.path()
                .join(format!("orchestration/runs/{run}/logs/lease.json")),
        )
        .is_ok_and(|t| t.contains("agent_pgid"))
    });
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    assert!(!gone(agent_pid), "the agent outlives its owner");

    repo.orch(&["run", "list"])
        .ok()
        .stdout_has("running, stale");
    let v = repo.orch(&["run", "list", "--json"]).ok().json();
    let stale = v[0]["stale"].as_str().unwrap();
    assert!(stale.contains("is no longer running"), "{stale}");
    repo.orch(&["run", "show", "--run", &run])
        .ok()
        .stdout_has("stale      its owner (pid");

    repo.write("good.sh", GOOD);
    repo.write(
        "orchestration/notify.json",
        r#"{"targets": [{"name": "ops", "format": "json", "url_env": "OPS_HOOK"}]}"#,
    );
    let out = repo.orch_env(
        &["run", "resume", "--run", &run, "--agent-cmd", "sh good.sh"],
        &[("ORCH_OFFLINE", "1")],
    );
    out.ok()
        .stderr_has("warning: took the run over: its owner (pid")
        .stdout_has("PASSED");
    eventually("the orphaned agent to be stopped", || gone(agent_pid));
    let r = repo.run_json(&run);
    assert_eq!(attempts(&r, 0)[0]["status"], "INTERRUPTED");
    assert_eq!(attempts(&r, 0)[1]["status"], "PASS");
    // Taking a run over is news: the `rescued` notification, then `passed`.
    let n = repo.read_json(&format!(
        "orchestration/runs/{run}/record/notifications.json"
    ));
    let events: Vec<&str> = n["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["rescued", "passed"]);
}

#[test]
fn a_live_run_cannot_be_resumed_twice() {
    let repo = fixture(SH, ["", ""], SLEEPY);
    let child = spawn_run(&repo, &["run", "w", "--slug", "s"]);
    eventually("the agent to start", || repo.exists("out/agent.pid"));
    let run = only_run(&repo);
    let out = repo.orch(&["run", "resume", "--run", &run]);
    let line = out.code(3).one_error().to_string();
    assert!(line.contains("is being executed by pid"), "{line}");
    repo.orch(&["run", "list"])
        .ok()
        .stdout_has("running")
        .stdout_has("0/2")
        .stdout_has(&run);
    // Nor can anyone else change it by hand while it is driven.
    let before = repo.read(&format!("orchestration/runs/{run}/record/RUN.json"));
    for args in [
        vec!["gate", "finish", "--run", &run, "--gate", "A1"],
        vec!["run", "complete", "--run", &run],
        vec![
            "invocation",
            "record",
            "--run",
            &run,
            "--gate",
            "A1",
            "--agent",
            "x",
        ],
    ] {
        let out = repo.orch(&args);
        let line = out.code(3).one_error().to_string();
        assert!(
            line.contains("is being driven by another orch (pid"),
            "{args:?}: {line}"
        );
    }
    assert_eq!(
        repo.read(&format!("orchestration/runs/{run}/record/RUN.json")),
        before
    );
    interrupt(child);
}

#[test]
fn start_from_validates_earlier_gates_without_running_them() {
    let repo = TestRepo::vetted();
    let scripted = ["--agent-cmd", "examples/agents/scripted-essay.sh"];
    let out = repo.orch(&[
        "run",
        "visual-essay",
        "--slug",
        "robot",
        "--start-from",
        "G2",
        scripted[0],
        scripted[1],
    ]);
    out.code(1)
        .stderr_has("G1 validated without running it (--start-from): does not pass");
    let r = repo.run_json(&only_run(&repo));
    assert_eq!(attempts(&r, 0)[0]["mode"], "validate_only");
    assert_eq!(
        r["invocations"].as_array().unwrap().len(),
        0,
        "nothing was executed"
    );
    assert_eq!(r["gates"][1]["status"], "NOT_STARTED");

    let repo = TestRepo::vetted();
    repo.do_work("G1", "robot");
    // G3 is human_approval: the run stops before its agent starts.
    repo.orch(&[
        "run",
        "visual-essay",
        "--slug",
        "robot",
        "--start-from",
        "G2",
        scripted[0],
        scripted[1],
    ])
    .code(4);
    let r = repo.run_json(&only_run(&repo));
    let g1 = &attempts(&r, 0)[0];
    assert_eq!(
        (
            g1["mode"].as_str(),
            g1["agent"].as_str(),
            g1["status"].as_str()
        ),
        (Some("validate_only"), Some("orch"), Some("PASS"))
    );
    let gates: Vec<&str> = r["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["gate"].as_str().unwrap())
        .collect();
    assert_eq!(gates, vec!["G2"]);
    assert_eq!(r["gates"][2]["status"], "AWAITING_APPROVAL");
}

#[test]
fn problems_found_before_a_run_starts_create_no_run() {
    let repo = TestRepo::shipped();
    let out = repo.orch(&[
        "run",
        "visual-essay",
        "--slug",
        "robot",
        "--agent-cmd",
        "no-such-agent --flag",
    ]);
    assert_eq!(
        out.code(2).one_error(),
        "error: agent command `no-such-agent` was not found"
    );
    let out = repo.orch(&[
        "run",
        "visual-essay",
        "--slug",
        "robot",
        "--start-from",
        "G7",
    ]);
    assert_eq!(
        out.code(2).one_error(),
        "error: workflow `visual-essay` has no gate `G7`"
    );
    repo.write(
        "orchestration/prompts/G2.md",
        "Research {slug}\nfor {audience}\n",
    );
    let out = repo.orch(&["run", "visual-essay", "--slug", "robot"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/prompts/G2.md:2:5: unknown template variable `{audience}`"
    );
    out.stderr_has("write {{audience}} for a literal {audience}");
    let out = repo.orch(&[
        "run",
        "visual-essay",
        "--slug",
        "robot",
        "--agent-cmd",
        "sh 'unclosed",
    ]);
    assert_eq!(
        out.code(2).one_error(),
        "error: cannot split --agent-cmd `sh 'unclosed` into words"
    );
    let out = repo.orch(&["run", "visual-essay", "--slug", "robot", "--agent-cmd", " "]);
    assert_eq!(out.code(2).one_error(), "error: --agent-cmd is empty");
    assert!(
        !Path::new(&repo.path().join("orchestration/runs")).exists()
            || repo.files_under("orchestration/runs").is_empty()
    );
    let out = repo.orch(&["run"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: `orch run` needs a workflow to run, or a subcommand"
    );
    let out = repo.orch(&["run", "visual-essay"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: --slug is required to run a workflow"
    );
}

#[test]
fn sigint_stops_a_pre_script_too() {
    // A manual `gate finish`: nothing is recorded, the script's group is stopped.
    let repo = fixture(SH, ["", ""], GOOD);
    let contract = "orchestration/gates/contracts/A1.contract.json";
    let with_script = repo.read(contract).replacen(
        "{\"gate\": \"A1\",",
        "{\"gate\": \"A1\", \"pre_scripts\": [{\"path\": \"slow.sh\"}],",
        1,
    );
    repo.write(contract, &with_script);
    repo.write("slow.sh", "echo $$ > pre.pid\nsleep 300\n");
    let run = repo
        .orch(&["run", "start", "--workflow", "w", "--slug", "s"])
        .ok()
        .stdout
        .trim()
        .to_string();
    repo.start_gate(&run, "A1", "a").ok();
    let child = spawn_run(&repo, &["gate", "finish", "--run", &run, "--gate", "A1"]);
    let pid = pid_in(&repo, "pre.pid");
    let out = interrupt(child);
    assert!(String::from_utf8_lossy(&out.stderr).contains("error: interrupted"));
    eventually("the pre-script to be stopped", || gone(pid));
    assert_eq!(
        attempts(&repo.run_json(&run), 0)[0]["status"],
        "RUNNING",
        "nothing recorded"
    );

    // In `orch run`, the attempt is recorded as interrupted.
    std::fs::remove_file(repo.path().join("pre.pid")).unwrap();
    let child = spawn_run(&repo, &["run", "w", "--slug", "s2"]);
    let pid = pid_in(&repo, "pre.pid");
    interrupt(child);
    eventually("the pre-script to be stopped", || gone(pid));
    let runs: Vec<String> = std::fs::read_dir(repo.path().join("orchestration/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("_s2_"))
        .collect();
    let r = repo.run_json(&runs[0]);
    assert_eq!(r["status"], "INTERRUPTED");
    assert_eq!(attempts(&r, 0)[0]["status"], "INTERRUPTED");
}

#[test]
fn absurd_time_limits_are_refused_not_a_panic() {
    let repo = fixture(SH, ["", ""], GOOD);
    let out = run_w(&repo, &["--timeout", "1e20"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: --timeout must be a positive number of seconds, at most 1e9"
    );
    let out = repo.orch_env(
        &["run", "w", "--slug", "s"],
        &[
            ("ORCH_LOCK_TIMEOUT", "1e20"),
            ("ORCH_SCRIPT_TIMEOUT", "1e19"),
        ],
    );
    out.ok();
    let repo = fixture(
        r#"{"command": ["sh", "agent.sh"], "timeout_s": 1e20}"#,
        ["", ""],
        GOOD,
    );
    let out = run_w(&repo, &[]);
    assert!(
        out.code(2)
            .one_error()
            .contains("executor.timeout_s must be a positive number of seconds, at most 1e9")
    );
}

#[test]
fn records_hold_no_absolute_path_of_the_machine() {
    let repo = fixture(SH, ["", ""], GOOD);
    let agent = repo.path().join("agent.sh");
    let root = repo.path().display().to_string();
    let cmd = format!("sh {} --config={root}/conf.toml", agent.display());
    run_w(&repo, &["--agent-cmd", &cmd]).ok();
    let run = only_run(&repo);
    let r = repo.run_json(&run);
    assert_eq!(
        r["invocations"][0]["command"],
        serde_json::json!(["sh", "agent.sh", "--config=conf.toml"])
    );
    for f in repo.files_under(&format!("orchestration/runs/{run}/record")) {
        assert!(!repo.read(&f).contains(&root), "{f} holds {root}");
    }
}
