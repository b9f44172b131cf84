//! Recipes: automation levels, steps, on-fail behaviours, recipe
//! validation, and the model an agent is asked to use. Each test builds
//! workflow `w` beside the shipped sources, with the example's trust set
//! up (its reviewer's key is allowed; `vet` vets a skill with it).

use serde_json::Value;

use crate::common::{Out, Server, TestRepo};

const REVIEWER: &str = "example-reviewer@orch.invalid";

/// Workflow `w` (artifact path `out`) with these gates; contract A<n>
/// requires `out/A<n>.md` to contain GOOD; skill `tool` exists (not vetted).
fn repo_with(gates: &str) -> TestRepo {
    let repo = TestRepo::vetted();
    repo.write(
        "orchestration/workflows/w.json",
        &format!(r#"{{"workflow": "w", "default_artifact_path": "out", "gates": [{gates}]}}"#),
    );
    for g in ["A1", "A2"] {
        repo.write(
            &format!("orchestration/gates/contracts/{g}.contract.json"),
            &format!(
                r#"{{"gate": "{g}", "required_outputs": {{"all_of": [{{"path": "{{artifact_path}}/{g}.md"}}]}},
                   "validations": [{{"type": "contains_text", "target": "{{artifact_path}}/{g}.md", "patterns": "GOOD"}}]}}"#
            ),
        );
    }
    repo.write("skills/tool/SKILL.md", "# Tool\n\nDoes one thing well.\n");
    repo.write(".gitignore", "orchestration/runs/*/logs/\n");
    repo
}

/// An agent that writes `out/$ORCH_GATE.md` with `text`.
fn agent(repo: &TestRepo, text: &str) {
    repo.write(
        "agent.sh",
        &format!("mkdir -p out\necho '{text}' > \"out/$ORCH_GATE.md\"\n"),
    );
}

fn vet(repo: &TestRepo, id: &str) {
    repo.orch_env(
        &[
            "skill",
            "vet",
            id,
            "--key",
            repo.example_key().to_str().unwrap(),
        ],
        &[
            ("GIT_AUTHOR_NAME", "Reviewer"),
            ("GIT_AUTHOR_EMAIL", REVIEWER),
        ],
    )
    .ok();
}

fn run_w(repo: &TestRepo, extra: &[&str]) -> Out {
    let mut args = vec!["run", "w", "--slug", "s", "--json"];
    args.extend_from_slice(extra);
    repo.orch(&args)
}

fn run_id(out: &Out) -> String {
    out.json()["run_id"].as_str().unwrap().to_string()
}

const EXEC: &str = r#""executor": {"command": ["sh", "agent.sh"]}"#;

#[test]
fn fully_auto_runs_vetted_skills_and_auto_notify_tells_people() {
    let repo = repo_with(&format!(
        r#"{{"gate": "A1", {EXEC}, "automation": "fully_auto", "steps": [{{"skill": "tool", "params": {{"tone": "dry"}}, "timeout_s": 30}}]}},
           {{"gate": "A2", {EXEC}, "automation": "auto_notify"}}"#
    ));
    repo.write(
        "agent.sh",
        "mkdir -p out\ncat > \"out/$ORCH_GATE.stdin\"\necho \"GOOD $ORCH_STEP $ORCH_SKILL\" > \"out/$ORCH_GATE.md\"\n",
    );
    repo.write(
        "orchestration/notify.json",
        r#"{"targets": [{"name": "team", "format": "json", "url_env": "HOOK_URL", "events": ["gate_passed"]}]}"#,
    );
    vet(&repo, "tool");
    let server = Server::start(&[200]);
    let out = repo.orch_env(
        &["run", "w", "--slug", "s", "--json"],
        &[("HOOK_URL", &server.url)],
    );
    let run = run_id(out.ok());
    let r = repo.run_json(&run);
    assert_eq!(r["gates"][0]["attempts"][0]["automation"], "fully_auto");
    assert_eq!(r["gates"][1]["attempts"][0]["automation"], "auto_notify");
    // The step: one invocation, given the packet, the skill and its params.
    assert_eq!(repo.read("out/A1.md"), "GOOD 1 tool\n");
    let stdin = repo.read("out/A1.stdin");
    assert!(
        stdin.contains("## Step 1 of 1: skill `tool` (skills/tool/SKILL.md)"),
        "{stdin}"
    );
    assert!(stdin.contains("Does one thing well."), "{stdin}");
    assert!(stdin.contains("\"tone\": \"dry\""), "{stdin}");
    assert_eq!(r["invocations"][0]["step"], 1);
    assert_eq!(r["invocations"][0]["skill"], "tool");
    assert!(r["invocations"][1].get("step").is_none());
    // auto_notify: A2 passed and the team was told; A1 (fully_auto) was not.
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let body = requests[0].json();
    assert_eq!(
        (body["event"].as_str(), body["gate"].as_str()),
        (Some("gate_passed"), Some("A2"))
    );
    let notified: Value = repo.read_json(&format!(
        "orchestration/runs/{run}/record/notifications.json"
    ));
    assert_eq!(notified["notifications"][0]["event"], "gate_passed");
}

#[test]
fn human_approval_waits_before_the_agent_starts() {
    let repo = repo_with(&format!(
        r#"{{"gate": "A1", {EXEC}, "automation": "human_approval"}}"#
    ));
    agent(&repo, "GOOD");
    let out = run_w(&repo, &[]);
    let v = out.code(4).json();
    assert_eq!(v["outcome"], "awaiting_approval");
    out.stderr_has("A1 waits for a signed approval before its agent starts: A1 is human_approval");
    let run = v["run_id"].as_str().unwrap().to_string();
    assert!(!repo.exists("out/A1.md"), "the agent did not run");
    assert_eq!(repo.run_json(&run)["invocations"], serde_json::json!([]));

    // A rejection fails the attempt; resume asks again, with a new packet.
    repo.reviewer_decides("reject", &run, "A1", "not this week")
        .ok()
        .stdout_has("rejected A1 attempt 1 (its start)");
    let r = repo.run_json(&run);
    assert_eq!(r["gates"][0]["attempts"][0]["status"], "FAIL");
    assert!(
        r["gates"][0]["attempts"][0]["failure_reason"]
            .as_str()
            .unwrap()
            .starts_with(
                "start rejected by Reviewer <example-reviewer@orch.invalid>: not this week"
            )
    );
    repo.orch(&["run", "resume", "--run", &run]).code(4);
    let packet = repo.read(&format!(
        "orchestration/runs/{run}/logs/gates/A1/attempt-2/prompt.txt"
    ));
    assert!(packet.contains("start rejected by Reviewer"), "{packet}");

    // An approval lets it start; the approval binds the packet, not outputs.
    repo.reviewer_decides("approve", &run, "A1", "go")
        .ok()
        .stderr_has("A1 may start (approved by example-reviewer@orch.invalid)");
    assert!(!repo.exists("out/A1.md"), "approving does not run anything");
    repo.orch(&["run", "resume", "--run", &run])
        .ok()
        .stdout_has("PASSED");
    let r = repo.run_json(&run);
    let a2 = &r["gates"][0]["attempts"][1];
    assert_eq!(a2["status"], "PASS");
    assert!(a2["start_approval"]["granted_at"].is_string());
    let files = repo.files_under(&format!("orchestration/runs/{run}/record/approvals/A1"));
    let start: Value = repo.read_json(files.iter().find(|f| f.contains("attempt-2")).unwrap());
    assert_eq!(start["payload"]["scope"], "start");
    assert_eq!(start["payload"]["prompt_sha256"], a2["prompt_sha256"]);
    repo.orch(&["verify", "--run", &run]).ok();
    // An edited packet hash in the record breaks the start approval.
    let rel = format!("orchestration/runs/{run}/record/RUN.json");
    let mut tampered = repo.read_json(&rel);
    tampered["gates"][0]["attempts"][1]["prompt_sha256"] = "0".repeat(64).into();
    repo.write(&rel, &serde_json::to_string_pretty(&tampered).unwrap());
    repo.orch(&["verify", "--run", &run, "--format", "json"])
        .code(1)
        .stdout_has("the prompt packet changed since the start was approved");
}

#[test]
fn manual_gates_are_a_persons_even_with_an_agent_command() {
    let repo = repo_with(&format!(
        r#"{{"gate": "A1", {EXEC}, "automation": "manual"}}"#
    ));
    agent(&repo, "GOOD");
    let v = repo
        .orch(&[
            "run",
            "w",
            "--slug",
            "s",
            "--agent-cmd",
            "sh agent.sh",
            "--json",
        ])
        .code(4)
        .json();
    assert_eq!(
        (v["outcome"].as_str(), v["gate"].as_str()),
        (Some("awaiting_input"), Some("A1"))
    );
    assert!(!repo.exists("out/A1.md"));
    let run = v["run_id"].as_str().unwrap();
    assert_eq!(
        repo.run_json(run)["gates"][0]["attempts"][0]["automation"],
        "manual"
    );
}

#[test]
fn on_fail_stay_retries_then_stops() {
    let repo = repo_with(&format!(r#"{{"gate": "A1", {EXEC}, "on_fail": "stay"}}"#));
    agent(&repo, "bad");
    let out = run_w(&repo, &[]);
    let r = repo.run_json(&run_id(out.code(1)));
    assert_eq!(r["gates"][0]["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(r["status"], "FAILED");
    assert!(
        repo.exists("out/A1.md"),
        "stay leaves the outputs as they are"
    );
}

#[test]
fn on_fail_revert_puts_the_outputs_back() {
    let repo = repo_with(&format!(
        r#"{{"gate": "A1", {EXEC}, "retries": 0, "on_fail": "revert"}}"#
    ));
    repo.write(
        "orchestration/gates/contracts/A1.contract.json",
        r#"{"gate": "A1", "required_outputs": {"all_of": [{"path": "{artifact_path}/A1.md"}, {"path": "{artifact_path}/notes"}]},
            "validations": [{"type": "contains_text", "target": "{artifact_path}/A1.md", "patterns": "GOOD"}]}"#,
    );
    repo.write("out/notes/keep.md", "original\n");
    repo.write(
        "agent.sh",
        "echo bad > out/A1.md\necho changed > out/notes/keep.md\nmkdir -p out/notes/new\necho new > out/notes/new/n.md\necho scratch > out/other.txt\n",
    );
    let out = run_w(&repo, &[]);
    let run = run_id(out.code(1));
    assert!(!repo.exists("out/A1.md"), "created by the attempt: removed");
    assert_eq!(repo.read("out/notes/keep.md"), "original\n", "restored");
    assert!(
        !repo.exists("out/notes/new"),
        "an emptied folder the attempt made goes too"
    );
    assert_eq!(
        repo.read("out/other.txt"),
        "scratch\n",
        "not an output: untouched"
    );
    let a = &repo.run_json(&run)["gates"][0]["attempts"][0];
    assert_eq!(a["status"], "FAIL");
    assert_eq!(
        a["reverted"],
        serde_json::json!([
            {"path": "out/A1.md", "action": "removed"},
            {"path": "out/notes/keep.md", "action": "restored"},
            {"path": "out/notes/new/n.md", "action": "removed"}
        ])
    );
    // The failed attempt's hashes still say what it produced.
    assert_eq!(a["artifacts"].as_array().unwrap().len(), 3);
}

#[test]
fn on_fail_create_questions_pauses_for_a_persons_answers() {
    let repo = repo_with(&format!(
        r#"{{"gate": "A1", {EXEC}, "on_fail": "create_questions"}}"#
    ));
    agent(&repo, "bad");
    let out = run_w(&repo, &[]);
    let v = out.code(4).json();
    assert_eq!(
        (v["outcome"].as_str(), v["packet"].as_str()),
        (Some("awaiting_answers"), Some("out/QUESTIONS.md"))
    );
    let run = v["run_id"].as_str().unwrap().to_string();
    let r = repo.run_json(&run);
    assert_eq!(r["status"], "AWAITING_INPUT");
    assert_eq!(
        r["gates"][0]["attempts"].as_array().unwrap().len(),
        1,
        "no retry behind the person's back"
    );
    assert_eq!(
        r["gates"][0]["attempts"][0]["questions"],
        "out/QUESTIONS.md"
    );
    let q = repo.read("out/QUESTIONS.md");
    assert!(q.contains(&format!("## A1 attempt 1 ({run})")), "{q}");
    assert!(
        q.contains("1. `contains_text` `out/A1.md` failed: missing `GOOD`"),
        "{q}"
    );
    repo.write(
        "out/QUESTIONS.md",
        &q.replace("Answer: ", "Answer: write GOOD, in capitals"),
    );
    repo.write(
        "agent.sh",
        "mkdir -p out\ncat > out/packet.txt\necho GOOD > out/A1.md\n",
    );
    repo.orch(&["run", "resume", "--run", &run]).ok();
    let packet = repo.read("out/packet.txt");
    assert!(
        packet.contains("### Questions and a person's answers (out/QUESTIONS.md)"),
        "{packet}"
    );
    assert!(
        packet.contains("Answer: write GOOD, in capitals"),
        "{packet}"
    );
}

#[test]
fn on_fail_review_required_waits_for_an_override_or_a_rejection() {
    let gates = format!(r#"{{"gate": "A1", {EXEC}, "on_fail": "review_required"}}"#);
    let repo = repo_with(&gates);
    agent(&repo, "bad");
    let out = run_w(&repo, &[]);
    let v = out.code(4).json();
    assert_eq!(v["outcome"], "awaiting_approval");
    let run = v["run_id"].as_str().unwrap().to_string();
    let a = &repo.run_json(&run)["gates"][0]["attempts"][0];
    assert_eq!(a["status"], "AWAITING_APPROVAL");
    assert!(
        a["review"]["reason"]
            .as_str()
            .unwrap()
            .contains("missing `GOOD`")
    );
    // The person who ran it cannot override their own failure.
    repo.orch(&[
        "approve",
        "--run",
        &run,
        "--gate",
        "A1",
        "--key",
        repo.example_key().to_str().unwrap(),
    ])
    .code(3)
    .stderr_has("does not allow approving one's own work");
    repo.reviewer_decides("approve", &run, "A1", "the wording is fine as it is")
        .ok()
        .stdout_has("approved A1 attempt 1 (an override of its failure)");
    repo.orch(&["run", "resume", "--run", &run])
        .ok()
        .stdout_has("PASSED");
    let report = repo
        .orch(&["verify", "--run", &run, "--format", "json"])
        .ok()
        .stdout
        .clone();
    assert!(report.contains("contract_overridden"), "{report}");

    // Rejected: the gate fails, with both reasons.
    let repo = repo_with(&gates);
    agent(&repo, "bad");
    let run = run_id(run_w(&repo, &[]).code(4));
    repo.reviewer_decides("reject", &run, "A1", "it has to say GOOD")
        .ok();
    let a = &repo.run_json(&run)["gates"][0]["attempts"][0];
    assert_eq!(a["status"], "FAIL");
    let why = a["failure_reason"].as_str().unwrap();
    assert!(
        why.contains("missing `GOOD`") && why.contains("the override was rejected by Reviewer"),
        "{why}"
    );
}

#[test]
fn recipe_validate_reports_errors_warnings_and_skills() {
    let repo = repo_with(&format!(
        r#"{{"gate": "A1", {EXEC}, "steps": [{{"skill": "missing", "timeout_s": 5}}]}},
           {{"gate": "A2", {EXEC}, "automation": "fully_auto", "steps": [{{"skill": "tool", "timeout_s": 5}}]}},
           {{"gate": "A3", "automation": "auto_notify", "steps": [{{"skill": "vague"}}]}}"#
    ));
    repo.write("skills/vague/SKILL.md", "# Vague\n");
    for g in ["A1", "A2", "A3"] {
        repo.write(
            &format!("orchestration/gates/contracts/{g}.contract.json"),
            &format!(r#"{{"gate": "{g}", "blocking": false}}"#),
        );
    }
    let v = repo
        .orch(&["recipe", "validate", "w", "--json"])
        .code(1)
        .json();
    assert_eq!(v["valid"], false);
    let errors: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(
        errors[0],
        "A1: no skill `missing`: skills/missing/SKILL.md does not exist"
    );
    assert!(errors[1].starts_with("A2: fully_auto, but only vetted skills run without a person (skill `tool` is experimental: no vetting;"), "{}", errors[1]);
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(
        warnings,
        [
            "skill `vague` has no description in its SKILL.md",
            "A3: auto_notify, but it will wait for a person's approval to start: skill `vague` is experimental: no vetting; experimental (nothing declares a level)",
            "A3: step 1 (vague) has no timeout_s (the executor's limit, or 1800 s, applies)",
            "no gate is blocking: a failure would never stop the run",
        ]
    );
    assert_eq!(
        v["skills"],
        serde_json::json!([
            {"id": "missing", "found": false, "trust": null, "source": ""},
            {"id": "tool", "found": true, "trust": "experimental", "source": "local"},
            {"id": "vague", "found": true, "trust": "experimental", "source": "local"}
        ])
    );
    // lint says the same, with the rest of its checks.
    repo.orch(&["lint", "orchestration/workflows/w.json"])
        .code(1)
        .stdout_has("A2: fully_auto, but only vetted skills run without a person");
    // Vetting `tool` clears A2.
    vet(&repo, "tool");
    let v = repo
        .orch(&["recipe", "validate", "w", "--json"])
        .code(1)
        .json();
    assert_eq!(v["errors"].as_array().unwrap().len(), 1);

    // Unknown levels and on-fail values, by name.
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "gates": [{"gate": "A1", "automation": "semi_auto", "on_fail": "explode"}]}"#,
    );
    let v = repo
        .orch(&["recipe", "validate", "w", "--json"])
        .code(1)
        .json();
    assert_eq!(
        v["errors"],
        serde_json::json!([
            "A1: unknown automation level \"semi_auto\" (known: fully_auto, auto_notify, human_approval, manual)",
            "A1: unknown on_fail value \"explode\" (known: stay, revert, create_questions, review_required)"
        ])
    );
    repo.orch(&["run", "w", "--slug", "s"])
        .code(2)
        .stderr_has("unknown variant `semi_auto`, expected one of `manual`, `human_approval`, `auto_notify`, `fully_auto`");
    // Every workflow at once.
    let all = repo.orch(&["recipe", "validate", "--json"]).code(1).json();
    assert_eq!(
        all["workflows"],
        serde_json::json!(["nightly", "visual-essay", "w"])
    );
}

#[test]
fn resume_asks_agents_for_the_model_the_run_was_started_with() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "model": "wf-model", "gates": [
            {"gate": "A1", "executor": {"command": ["sh", "agent.sh", "{model}"]}, "contract": null, "retries": 0}]}"#,
    );
    repo.write("agent.sh", "test -f go && echo \"$1\" > model.txt\n");
    let out = repo.orch(&["run", "w", "--slug", "s", "--model", "flag-model", "--json"]);
    let run = run_id(out.code(1));
    assert_eq!(
        repo.run_json(&run)["options"],
        serde_json::json!({"model": "flag-model"})
    );
    repo.write("go", "");
    repo.orch(&["run", "resume", "--run", &run]).ok();
    assert_eq!(repo.read("model.txt"), "flag-model\n", "not the workflow's");
    let r = repo.run_json(&run);
    assert_eq!(r["invocations"][1]["model"], "flag-model");
}

#[test]
fn the_model_follows_flag_env_gate_workflow() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "model": "wf-model", "gates": [
            {"gate": "A1", "executor": {"command": ["sh", "agent.sh", "--model", "{model}"]}, "contract": null, "model": "gate-model"},
            {"gate": "A2", "executor": {"command": ["sh", "agent.sh", "--model", "{model}"]}, "contract": null}]}"#,
    );
    repo.write(
        "agent.sh",
        "mkdir -p out\necho \"$2 $ORCH_MODEL\" > \"out/$ORCH_GATE.txt\"\necho '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"session_id\":\"s\",\"result\":\"ok\",\"modelUsage\":{\"claude-reported\":{\"outputTokens\":9}}}'\n",
    );
    let models = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["run", "w", "--slug", "s"];
        args.extend_from_slice(extra);
        repo.orch_env(&args, env).ok();
        (repo.read("out/A1.txt"), repo.read("out/A2.txt"))
    };
    assert_eq!(
        models(&[], &[]),
        (
            "gate-model gate-model\n".into(),
            "wf-model wf-model\n".into()
        )
    );
    assert_eq!(
        models(&[("ORCH_MODEL", "env-model")], &[]),
        (
            "env-model env-model\n".into(),
            "env-model env-model\n".into()
        )
    );
    assert_eq!(
        models(&[("ORCH_MODEL", "env-model")], &["--model", "flag-model"]),
        (
            "flag-model flag-model\n".into(),
            "flag-model flag-model\n".into()
        )
    );
    let runs = repo.files_under("orchestration/runs");
    let last = runs
        .iter()
        .filter(|f| f.ends_with("record/RUN.json"))
        .max()
        .unwrap();
    let r = repo.read_json(last);
    let inv = &r["invocations"][0];
    assert_eq!(inv["model"], "flag-model");
    assert_eq!(inv["reported_model"], "claude-reported");
    assert_eq!(
        inv["command"],
        serde_json::json!(["sh", "agent.sh", "--model", "flag-model"])
    );

    // `{model}` with no model anywhere is refused before a run exists.
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "gates": [{"gate": "A1", "executor": {"command": ["sh", "agent.sh", "{model}"]}, "contract": null}]}"#,
    );
    let before = repo.files_under("orchestration/runs").len();
    let out = repo.orch(&["run", "w", "--slug", "t"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: gate A1: its command uses `{model}`, and no model is set"
    );
    assert_eq!(repo.files_under("orchestration/runs").len(), before);
}

#[test]
fn outputs_of_an_unknown_or_later_gate_are_refused_before_a_run() {
    let repo = TestRepo::shipped();
    repo.write(
        "orchestration/prompts/G2.md",
        "Build on {outputs.G1}, not on {outputs.G3}.\n",
    );
    let out = repo.orch(&["run", "visual-essay", "--slug", "s"]);
    assert_eq!(
        out.code(2).one_error(),
        "error: orchestration/prompts/G2.md:1:31: unknown template variable `{outputs.G3}`"
    );
    out.stderr_has("`{outputs.<gate>}` names a gate before this one");
    assert!(repo.files_under("orchestration/runs").is_empty());
    // lint, which does not know which workflow uses a template, lets it be.
    repo.orch(&["lint", "orchestration/prompts/G2.md"]).ok();
}

/// verify's cache and skills: a vetting removed or added changes the
/// answer at once for every run that ran the skill (not only the first
/// one verify looked at). An edit of the skill's files does not: a run is
/// judged by the bytes it recorded, whose vetting still stands, and the
/// cache says so as a fresh check does.
#[test]
fn the_verify_cache_sees_skill_vettings_change() {
    let repo = repo_with(&format!(
        r#"{{"gate": "A1", {EXEC}, "automation": "fully_auto", "steps": [{{"skill": "tool"}}]}}"#
    ));
    agent(&repo, "GOOD");
    vet(&repo, "tool");
    let runs: Vec<String> = ["s", "t"]
        .iter()
        .map(|slug| run_id(repo.orch(&["run", "w", "--slug", slug, "--json"]).ok()))
        .collect();
    let runs: Vec<&str> = runs.iter().map(String::as_str).collect();
    for run in &runs {
        assert_eq!(
            repo.run_json(run)["gates"][0]["attempts"][0]["skills"][0]["trust"],
            "vetted"
        );
    }
    let clean = |doc: &Value| {
        assert_eq!(
            crate::common::error_kinds(doc),
            Vec::<String>::new(),
            "{doc:#}"
        );
    };
    clean(&repo.verify_cached(&runs));

    let vetting = repo.files_under("orchestration/skills/vettings/tool")[0].clone();
    let bytes = repo.read(&vetting);
    std::fs::remove_file(repo.path().join(&vetting)).unwrap();
    let doc = repo.verify_cached(&runs);
    assert_eq!(
        crate::common::error_kinds(&doc),
        ["skill_not_vetted", "skill_not_vetted"],
        "{doc:#}"
    );
    repo.write(&vetting, &bytes);
    clean(&repo.verify_cached(&runs));

    repo.write("skills/tool/SKILL.md", "# Tool\n\nDoes two things.\n");
    clean(&repo.verify_cached(&runs));
}
