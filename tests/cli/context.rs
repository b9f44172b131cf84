//! Task context: a packet for a task's run tells the agent about the task
//! and about the work it depends on (statuses, runs, recorded outputs with
//! their hashes and first lines); `orch task context` prints the same.

use crate::team::{add_w, at, fixture, show};

/// Writes the gate's output with a line naming the slug.
const AGENT: &str = "mkdir -p \"$ORCH_ARTIFACT_PATH\"\nprintf 'done\\nmade for %s\\n' \"$ORCH_SLUG\" > \"$ORCH_ARTIFACT_PATH/A1.md\"\n";

#[test]
fn a_dependencys_outputs_appear_in_its_dependents_packet() {
    let repo = fixture(AGENT);
    repo.write("desc.md", "Lay the foundation.\nKeep it short.\n");
    let base = add_w(
        &repo,
        "write the base",
        "base",
        &["--description", "@desc.md"],
    );
    let top = add_w(
        &repo,
        "build on it",
        "top",
        &[
            "--depends-on",
            &base,
            "--description",
            "Use the base.",
            "--tag",
            "docs",
        ],
    );
    assert_eq!(
        show(&repo, &base)["definition"]["description"],
        "Lay the foundation.\nKeep it short."
    );
    at(&repo, &["task", "run", &base]).ok();
    at(&repo, &["task", "run", &top]).ok();
    let base_run = show(&repo, &base)["runs"][0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let top_run = show(&repo, &top)["runs"][0]["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let sha = repo.run_json(&base_run)["artifacts_index"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let packet = repo.read(&format!(
        "orchestration/runs/{top_run}/logs/gates/A1/attempt-1/prompt.txt"
    ));
    for needle in [
        format!("## Task {top}: build on it"),
        "Use the base.".to_string(),
        "- tags: docs".to_string(),
        format!("- {base} DONE: write the base"),
        format!("  - run {base_run} PASSED"),
        format!("    - out/base/A1.md (gate A1, sha256 {sha})"),
        "      > made for base".to_string(),
    ] {
        assert!(
            packet.contains(&needle),
            "packet lacks {needle:?}:\n{packet}"
        );
    }
    // The base's own packet names its task and description, and no dependencies.
    let base_packet = repo.read(&format!(
        "orchestration/runs/{base_run}/logs/gates/A1/attempt-1/prompt.txt"
    ));
    assert!(
        base_packet.contains("Lay the foundation.\nKeep it short."),
        "{base_packet}"
    );
    assert!(!base_packet.contains("depends on"), "{base_packet}");
    // `task context` prints exactly what the agent was told.
    let text = at(&repo, &["task", "context", &top]).ok().stdout.clone();
    assert!(
        packet.contains(text.trim_end()),
        "context:\n{text}\npacket:\n{packet}"
    );
    let v = at(&repo, &["task", "context", &top, "--json"]).ok().json();
    let out = &v["dependencies"][0]["runs"][0]["outputs"][0];
    assert_eq!(out["path"], "out/base/A1.md");
    assert_eq!(out["sha256"], sha.as_str());
    assert_eq!(out["head"][1], "made for base");
    // Once the output changes, its lines are no longer shown as the run's.
    repo.write("out/base/A1.md", "rewritten\n");
    at(&repo, &["task", "context", &top])
        .ok()
        .stdout_has("(changed since it was recorded)");
}

#[test]
fn a_missing_description_file_is_a_clear_error() {
    let repo = fixture(AGENT);
    let out = at(
        &repo,
        &["task", "add", "--title", "x", "--description", "@nope.md"],
    );
    assert_ne!(out.code, 0);
    out.stderr_has("nope.md").stderr_has("hint:");
    at(&repo, &["task", "list", "--json"]).ok().stdout_has("[]");
}
