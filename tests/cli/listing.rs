//! `run list` reads a derived index in the git directory for speed; these
//! tests show that a stale, damaged or missing index never changes what it
//! prints.

use std::time::Duration;

use crate::common::TestRepo;

const INDEX: &str = ".git/orch/run-index";

/// `run list --json`, after letting fresh records settle (an index entry is
/// only kept for a file that has not changed in the last 50 ms).
fn list(repo: &TestRepo) -> serde_json::Value {
    std::thread::sleep(Duration::from_millis(80));
    let mut v = repo.orch(&["run", "list", "--json"]).ok().json();
    // Idle time moves with the clock; the rest must not.
    for r in v.as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("idle_seconds");
        r.as_object_mut().unwrap().remove("activity");
    }
    v
}

fn three_runs(repo: &TestRepo) -> Vec<String> {
    ["aaaa", "bbbb", "cccc"]
        .iter()
        .map(|slug| repo.start_run(slug))
        .collect()
}

#[test]
fn the_index_is_used_and_a_stale_entry_is_never_believed() {
    let repo = TestRepo::shipped();
    let runs = three_runs(&repo);
    let first = list(&repo);
    assert!(repo.exists(INDEX), "the first listing builds the index");
    assert_eq!(first.as_array().unwrap().len(), 3);
    assert_eq!(list(&repo), first, "served from the index, the same answer");
    assert!(
        repo.read(INDEX).contains(&runs[0]),
        "the index holds the runs"
    );

    // Edit a record in place: same size, modification time put back.
    repo.edit_in_place(
        &format!("orchestration/runs/{}/record/RUN.json", runs[1]),
        |t| t.replace("\"slug\": \"bbbb\"", "\"slug\": \"zzzz\""),
    );
    let after = list(&repo);
    let slugs: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["cccc", "zzzz", "aaaa"]);

    // A run whose folder is gone is gone from the list.
    std::fs::remove_dir_all(repo.path().join(format!("orchestration/runs/{}", runs[0]))).unwrap();
    assert_eq!(list(&repo).as_array().unwrap().len(), 2);

    // A status changed by orch shows at once.
    repo.orch(&["run", "complete", "--run", &runs[2], "--status", "canceled"])
        .ok();
    let v = repo.orch(&["run", "list", "--json"]).ok().json();
    assert_eq!(v[0]["status"], "CANCELED");
}

#[test]
fn a_damaged_index_is_ignored_and_rebuilt() {
    let repo = TestRepo::shipped();
    three_runs(&repo);
    let truth = list(&repo);
    let good = std::fs::read(repo.path().join(INDEX)).unwrap();
    let mut flipped = good.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    let text = String::from_utf8(good.clone()).unwrap();
    for damaged in [
        flipped,
        good[..good.len() - 7].to_vec(),
        b"not an index at all".to_vec(),
        Vec::new(),
        // An index from another version of orch.
        text.replacen(text.lines().next().unwrap(), "orch-run-index 999", 1)
            .into_bytes(),
    ] {
        std::fs::write(repo.path().join(INDEX), &damaged).unwrap();
        assert_eq!(list(&repo), truth);
    }
    std::fs::remove_file(repo.path().join(INDEX)).unwrap();
    assert_eq!(list(&repo), truth);
}

/// `run list` and `run list --json`, as text.
fn both_lists(repo: &TestRepo) -> (String, serde_json::Value) {
    let text = repo.orch(&["run", "list"]).ok().stdout.clone();
    (text, list(repo))
}

#[test]
fn what_the_list_shows_is_the_same_from_the_index_and_from_the_records() {
    // One run with a gate passed with a warning, a skipped gate and a gate
    // awaiting approval; one that failed.
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out/{slug}", "gates": [
            {"gate": "A1", "executor": {"command": ["sh", "agent.sh"]}},
            {"gate": "S1", "executor": {"command": ["true"]}, "contract": null, "when": {"env": "ORCH_TEST_UNSET_VARIABLE"}},
            {"gate": "P1", "executor": {"command": ["sh", "agent.sh"]}, "contract": null, "approval": {"when": "outputs_uri"}}]}"#,
    );
    repo.write(
        "orchestration/gates/contracts/A1.contract.json",
        r#"{"gate": "A1", "required_outputs": {"all_of": [{"path": "{artifact_path}/A1.md"}]},
            "quality_checks": [{"name": "lint", "command": ["sh", "-c", "exit 3"], "on_failure": "warn"}]}"#,
    );
    repo.write(
        "agent.sh",
        "mkdir -p out/$ORCH_SLUG\n[ \"$ORCH_SLUG\" = broken ] && exit 7\necho ok > out/$ORCH_SLUG/A1.md\n[ \"$ORCH_GATE\" = P1 ] && echo 'https://github.com/acme/site/pull/42'\nexit 0\n",
    );
    repo.write(".gitignore", "orchestration/runs/*/logs/\n");
    repo.orch(&["run", "w", "--slug", "waiting"]).code(4);
    repo.orch(&["run", "w", "--slug", "broken"]).code(1);

    let _ = std::fs::remove_file(repo.path().join(INDEX));
    let (text, json) = both_lists(&repo);
    assert!(repo.exists(INDEX), "the listing built the index");
    let waiting = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["slug"] == "waiting")
        .unwrap();
    assert_eq!(waiting["status"], "AWAITING_APPROVAL", "{json}");
    assert_eq!(waiting["warnings"], 1, "{json}");
    assert_eq!(
        (&waiting["gates_passed"], &waiting["gates_total"]),
        (&2.into(), &3.into()),
        "a skipped gate counts as done: {json}"
    );
    assert!(text.contains("w/waiting"), "{text}");
    assert!(text.contains("1 warning"), "{text}");
    assert!(text.contains("2/3"), "{text}");

    // Served from the index: the same, word for word.
    let from_index = both_lists(&repo);
    assert_eq!(from_index, (text.clone(), json.clone()));
    let index = repo.read(INDEX);
    assert!(index.contains("AWAITING_APPROVAL"), "{index}");

    // A damaged index, and none at all: the same again.
    std::fs::write(repo.path().join(INDEX), "orch-run-index 2\ndamaged\n").unwrap();
    assert_eq!(both_lists(&repo), (text.clone(), json.clone()));
    std::fs::remove_file(repo.path().join(INDEX)).unwrap();
    assert_eq!(both_lists(&repo), (text, json));
}
