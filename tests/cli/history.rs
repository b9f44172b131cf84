//! History: `orch run list` paging (every run exactly once, even while runs
//! are added), `--since`, CSV; and `orch stats` from the records.

use serde_json::Value;

use crate::common::TestRepo;
use crate::team::{QUICK, add_w, fixture};

fn start_run(repo: &TestRepo, slug: &str, now: &str) -> String {
    let out = repo.orch_env(
        &["run", "start", "--workflow", "w", "--slug", slug],
        &[("ORCH_NOW", now)],
    );
    out.ok();
    out.stdout.trim().to_string()
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn paging_yields_every_run_exactly_once_while_runs_are_added() {
    let repo = fixture(QUICK);
    let old: Vec<String> = (1..=5)
        .map(|d| start_run(&repo, &format!("s{d}"), &format!("2026-03-0{d}T10:00:00Z")))
        .collect();
    let first = repo
        .orch(&["run", "list", "--json", "--limit", "2"])
        .ok()
        .json();
    let mut seen = ids(&first["items"]);
    let mut cursor = first["next_cursor"].as_str().unwrap().to_string();
    // New runs arrive between pages (newer than anything read so far).
    start_run(&repo, "late1", "2026-03-20T10:00:00Z");
    loop {
        let page = repo
            .orch(&["run", "list", "--json", "--limit", "2", "--cursor", &cursor])
            .ok()
            .json();
        seen.extend(ids(&page["items"]));
        start_run(
            &repo,
            &format!("late{}", seen.len()),
            "2026-03-21T10:00:00Z",
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let mut newest_first = old.clone();
    newest_first.reverse();
    assert_eq!(
        seen, newest_first,
        "each run once, newest first, none of the late ones"
    );
    // Without paging flags, --json is the plain array it always was.
    assert_eq!(
        ids(&repo.orch(&["run", "list", "--json"]).ok().json()).len(),
        8
    );
    let human = repo.orch(&["run", "list", "--limit", "3"]);
    human
        .ok()
        .stderr_has("5 more; next page: orch run list --limit 3 --cursor ");
    assert_eq!(human.stdout.lines().count(), 4, "a header and three runs");
    repo.orch(&["run", "list", "--cursor", "djE"])
        .code(2)
        .one_error();
    repo.orch(&["run", "list", "--limit", "0"]).code(2);
}

#[test]
fn run_list_filters_by_day_and_exports_csv() {
    let repo = fixture(QUICK);
    for d in 1..=4 {
        start_run(&repo, &format!("s{d}"), &format!("2026-03-0{d}T23:30:00Z"));
    }
    // 23:30 UTC is already the next day two hours east.
    let utc = repo
        .orch_env(
            &["run", "list", "--json", "--since", "2026-03-03"],
            &[("TZ", "UTC")],
        )
        .ok()
        .json();
    assert_eq!(ids(&utc).len(), 2);
    let east = repo
        .orch_env(
            &["run", "list", "--json", "--since", "2026-03-03"],
            &[("TZ", "EET-2")],
        )
        .ok()
        .json();
    assert_eq!(ids(&east).len(), 3);
    let exact = repo
        .orch(&["run", "list", "--json", "--since", "2026-03-04T00:00:00Z"])
        .ok()
        .json();
    assert_eq!(ids(&exact).len(), 1);
    let csv = repo
        .orch(&["run", "list", "--format", "csv"])
        .ok()
        .stdout
        .clone();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "run_id,workflow,slug,status,activity,started_at,finished_at,last_activity_at,gates_passed,gates_total"
    );
    assert_eq!(lines.len(), 5);
    assert!(lines[1].contains(",w,s4,RUNNING,"), "{}", lines[1]);
    assert!(lines[1].ends_with(",0,1"), "{}", lines[1]);
    let paged = repo.orch(&["run", "list", "--format", "csv", "--limit", "3"]);
    paged
        .ok()
        .stderr_has("1 more; next page: orch run list --limit 3 --cursor ");
    paged.stderr_has("--format csv");
    repo.orch(&["run", "list", "--since", "yesterday"])
        .code(2)
        .one_error();
    repo.orch(&["run", "list", "--json", "--format", "csv"])
        .code(2);
}

#[test]
fn stats_come_from_the_records_and_keep_unknown_cost_apart() {
    let repo = fixture(
        "mkdir -p \"$ORCH_ARTIFACT_PATH\"\n\
         case \"$ORCH_SLUG\" in\n\
         bad) echo nope > \"$ORCH_ARTIFACT_PATH/A1.md\" ;;\n\
         paid) echo done > \"$ORCH_ARTIFACT_PATH/A1.md\"\n\
               echo '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"ok\",\"session_id\":\"s\",\"total_cost_usd\":0.25,\"usage\":{\"input_tokens\":100,\"output_tokens\":20}}' ;;\n\
         *) echo done > \"$ORCH_ARTIFACT_PATH/A1.md\" ;;\n\
         esac\n",
    );
    for slug in ["paid", "free", "bad"] {
        add_w(&repo, slug, slug, &[]);
    }
    repo.orch_env(
        &["worker", "--id", "w1", "--exit-when-empty"],
        &[("ORCH_POLL_INTERVAL", "0.05")],
    )
    .ok();
    let s = repo.orch(&["stats", "--json"]).ok().json();
    let t = &s["total"];
    assert_eq!(
        (
            t["runs"].as_u64(),
            t["passed"].as_u64(),
            t["failed"].as_u64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(t["success_rate"], 0.667);
    assert_eq!(
        (t["attempts"].as_u64(), t["retries"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(t["first_attempt_pass_rate"], 0.667);
    assert_eq!(
        (t["tasks_done"].as_u64(), t["tasks_failed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(t["task_completion"]["count"], 2);
    assert_eq!(
        t["duration"]["count"], 2,
        "the failed run is still open: no duration"
    );
    let sp = &t["spend"];
    assert_eq!(sp["invocations"], 4);
    assert_eq!(
        (sp["reported_usd"].as_f64(), sp["reported"].as_u64()),
        (Some(0.25), Some(1))
    );
    assert_eq!(
        sp["estimated_usd"],
        Value::Null,
        "nothing estimated is not $0"
    );
    assert_eq!(sp["cost_unknown"], 3);
    assert_eq!(
        (sp["input_tokens"].as_u64(), sp["tokens_unknown"].as_u64()),
        (Some(100), Some(3))
    );
    assert_eq!(s["gates"]["A1"]["retries"], 1);
    assert_eq!(s["tasks"]["DONE"], 2);
    assert_eq!(s["tasks"]["FAILED"], 1);

    let by =
        |what: &str| repo.orch(&["stats", "--by", what, "--json"]).ok().json()["groups"].clone();
    assert_eq!(by("worker")["w1"]["runs"], 3);
    assert_eq!(by("worker")["w1"]["tasks_done"], 2);
    assert_eq!(by("workflow")["w"]["passed"], 2);
    assert_eq!(by("gate")["A1"]["attempts"], 4);
    let agent = by("agent");
    assert_eq!(agent["fake"]["spend"]["invocations"], 4);
    assert_eq!(
        agent["fake"]["first_attempt_pass_rate"], 0.5,
        "2 of the agent's 4 attempts passed"
    );

    let human = repo.orch(&["stats", "--by", "worker"]);
    human
        .ok()
        .stdout_has("cost        $0.2500 reported (1), unknown for 3");
    human.stdout_has("success rate 66.7%").stdout_has("WORKER");
    let none = repo
        .orch(&["stats", "--json", "--since", "2999-01-01"])
        .ok()
        .json();
    assert_eq!(none["total"]["runs"], 0);
    assert_eq!(none["total"]["success_rate"], Value::Null);
    repo.orch(&["stats", "--until", "someday"])
        .code(2)
        .one_error();
    repo.orch(&["stats", "--by", "colour"]).code(2);
}
