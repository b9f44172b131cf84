//! Notifications: a local HTTP server captures what orch sends, checks the
//! Standard Webhooks signatures, answers 500 to see the retries, or is not
//! there at all — and the run's outcome never changes.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::common::{Out, Request, Server, TestRepo};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TOKEN: &str = "tok-1234567890";

/// Workflow `w`: one command gate with no contract, running `agent.sh`,
/// which prints a token and exits with `code`; notify.json as given.
fn fixture(code: i32, notify: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "gates": [
            {"gate": "A1", "executor": {"command": ["sh", "agent.sh"]}, "contract": null, "retries": 0}]}"#,
    );
    repo.write(
        "agent.sh",
        &format!("echo \"checking with $API_TOKEN\"\necho 'all done' >&2\nexit {code}\n"),
    );
    repo.write("orchestration/notify.json", notify);
    repo
}

const JSON_TARGET: &str = r#"{"targets": [{"name": "ops", "format": "json", "url_env": "HOOK_URL", "secret_env": "HOOK_SECRET"}]}"#;

fn run(repo: &TestRepo, url: &str, extra: &[(&str, &str)]) -> Out {
    let mut env = vec![
        ("HOOK_URL", url),
        ("HOOK_SECRET", SECRET),
        ("API_TOKEN", TOKEN),
        ("ORCH_NOTIFY_BACKOFF", "0.01"),
    ];
    env.extend_from_slice(extra);
    repo.orch_env(&["run", "w", "--slug", "s"], &env)
}

fn run_id(repo: &TestRepo) -> String {
    let files = repo.files_under("orchestration/runs");
    files[0].split('/').nth(2).unwrap().to_string()
}

fn notifications(repo: &TestRepo) -> Value {
    repo.read_json(&format!(
        "orchestration/runs/{}/record/notifications.json",
        run_id(repo)
    ))["notifications"]
        .clone()
}

/// Checks a request's Standard Webhooks signature the way a receiver does.
fn assert_signed(r: &Request) {
    let id = r.header("webhook-id").expect("webhook-id");
    let ts = r.header("webhook-timestamp").expect("webhook-timestamp");
    let sig = r.header("webhook-signature").expect("webhook-signature");
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&r.body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(sig, format!("v1,{expected}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ts: u64 = ts.parse().unwrap();
    assert!(now.abs_diff(ts) < 300, "timestamp {ts} is not now ({now})");
}

#[test]
fn a_failed_run_notifies_with_a_signed_json_payload() {
    let repo = fixture(3, JSON_TARGET);
    let server = Server::start(&[200]);
    run(&repo, &server.url, &[])
        .code(1)
        .stderr_has(" (1 gate)\n")
        .stderr_has("notified ops (failed): HTTP 200");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, "/hook");
    assert_signed(r);
    let body = r.json();
    let id = run_id(&repo);
    assert_eq!(body["event"], "failed");
    assert_eq!(body["type"], "orch.failed");
    assert_eq!(body["run_id"], id.as_str());
    assert_eq!(body["workflow"], "w");
    assert_eq!(body["gate"], "A1");
    assert_eq!(body["status"], "FAILED");
    assert_eq!(body["command"], format!("orch run resume --run {id}"));
    let excerpt = body["log_excerpt"].as_str().unwrap();
    assert!(
        excerpt.contains("checking with [redacted:API_TOKEN]"),
        "{excerpt}"
    );
    assert!(excerpt.contains("all done"), "{excerpt}");
    assert!(!String::from_utf8_lossy(&r.body).contains(TOKEN));

    let n = notifications(&repo);
    assert_eq!(n[0]["event"], "failed");
    assert_eq!(n[0]["target"], "ops");
    assert_eq!(n[0]["status"], "delivered");
    assert_eq!(n[0]["status_code"], 200);
    assert_eq!(n[0]["attempts"], 1);
    assert_eq!(n[0]["id"], r.header("webhook-id").unwrap());
    assert!(n[0]["notified_at"].is_string());
    let record = repo.read(&format!(
        "orchestration/runs/{id}/record/notifications.json"
    ));
    assert!(!record.contains(&server.url), "the URL is never recorded");
    // The invocation keeps the same redacted excerpt.
    let run = repo.run_json(&id);
    let stdout = run["invocations"][0]["log_excerpt"]["stdout"]
        .as_str()
        .unwrap();
    assert_eq!(stdout, "checking with [redacted:API_TOKEN]");
    assert!(
        !repo
            .read(&format!("orchestration/runs/{id}/record/RUN.json"))
            .contains(TOKEN)
    );
    repo.orch(&["run", "show", "--run", &id])
        .ok()
        .stdout_has("failed A1 → ops  delivered (HTTP 200)");
    repo.orch(&["verify"]).stdout_has("✓ record");
}

#[test]
fn a_500_is_retried_and_the_same_message_id_is_kept() {
    let repo = fixture(0, JSON_TARGET);
    let server = Server::start(&[500, 200]);
    run(&repo, &server.url, &[]).ok();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].header("webhook-id"),
        requests[1].header("webhook-id")
    );
    assert_eq!(requests[1].json()["event"], "passed");
    assert_signed(&requests[1]);
    let n = notifications(&repo);
    assert_eq!(n[0]["status"], "delivered");
    assert_eq!(n[0]["attempts"], 2);
}

#[test]
fn undeliverable_notifications_stay_pending_and_never_fail_the_run() {
    let repo = fixture(0, JSON_TARGET);
    let server = Server::start(&[500, 500, 500, 200]);
    run(&repo, &server.url, &[])
        .ok()
        .stdout_has("PASSED")
        .stderr_has("is pending: HTTP 500");
    assert_eq!(server.requests().len(), 3);
    let n = notifications(&repo);
    assert_eq!(n[0]["status"], "pending");
    assert_eq!(n[0]["attempts"], 3);
    assert_eq!(n[0]["status_code"], 500);

    let retry = repo.orch_env(
        &["notify", "retry"],
        &[("HOOK_URL", &server.url), ("HOOK_SECRET", SECRET)],
    );
    retry.ok().stdout_has("passed → ops: delivered (HTTP 200)");
    assert_eq!(server.requests().len(), 4);
    assert_signed(&server.requests()[3]);
    let n = notifications(&repo);
    assert_eq!(n[0]["status"], "delivered");
    assert_eq!(n[0]["attempts"], 4);
    repo.orch(&["notify", "retry"])
        .ok()
        .stderr_has("no notification is pending");

    // Nobody listening: the run still passes.
    let repo = fixture(0, JSON_TARGET);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    run(&repo, &closed, &[]).ok().stderr_has("is pending");
    assert_eq!(notifications(&repo)[0]["status"], "pending");
    // The URL variable not set: pending, saying which variable.
    let repo = fixture(0, JSON_TARGET);
    repo.orch_env(&["run", "w", "--slug", "s"], &[])
        .ok()
        .stderr_has("HOOK_URL is not set");
}

#[test]
fn offline_records_without_sending() {
    let repo = fixture(0, JSON_TARGET);
    let server = Server::start(&[200]);
    run(&repo, &server.url, &[("ORCH_OFFLINE", "1")]).ok();
    assert!(server.requests().is_empty());
    let n = notifications(&repo);
    assert_eq!(n[0]["status"], "pending");
    assert_eq!(n[0]["attempts"], 0);
    assert!(n[0]["error"].as_str().unwrap().contains("offline"));
}

#[test]
fn slack_targets_get_text_for_the_events_they_want() {
    let notify = r#"{"targets": [{"name": "team", "format": "slack", "url_env": "HOOK_URL", "events": ["passed"]}]}"#;
    let repo = fixture(0, notify);
    let server = Server::start(&[200]);
    run(&repo, &server.url, &[]).ok();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].header("webhook-signature").is_none());
    let body = requests[0].json();
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("orch: w/s passed"), "{text}");
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    // A failure is not an event this target wants.
    let repo = fixture(1, notify);
    run(&repo, &server.url, &[]).code(1);
    assert_eq!(server.requests().len(), 1);
    assert!(!repo.exists(&format!(
        "orchestration/runs/{}/record/notifications.json",
        run_id(&repo)
    )));
}

#[test]
fn notify_test_sends_a_sample_to_one_target() {
    let repo = fixture(0, JSON_TARGET);
    let server = Server::start(&[200]);
    repo.orch_env(
        &["notify", "test", "ops"],
        &[("HOOK_URL", &server.url), ("HOOK_SECRET", SECRET)],
    )
    .ok()
    .stdout_has("delivered to ops (HTTP 200)");
    let r = &server.requests()[0];
    assert_signed(r);
    assert_eq!(r.json()["event"], "test");
    let out = repo.orch(&["notify", "test", "nobody"]);
    out.code(2);
    assert!(out.one_error().contains("has no target `nobody`"));
    out.stderr_has("its targets are: ops");
    repo.write(
        "orchestration/notify.json",
        "{\"targets\": [\n  {\"name\": 1}]}",
    );
    let out = repo.orch(&["notify", "test", "ops"]);
    out.code(2);
    assert!(
        out.one_error().contains("orchestration/notify.json:2:"),
        "{}",
        out.stderr
    );
    repo.orch(&["lint"])
        .code(1)
        .stdout_has("orchestration/notify.json:2:");
}

#[test]
fn a_gate_awaiting_approval_notifies_with_the_approve_command() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "gates": [
            {"gate": "A1", "executor": {"command": ["sh", "-c", "echo https://github.com/o/r/pull/9"]},
             "contract": null, "approval": {"when": "outputs_uri"}}]}"#,
    );
    repo.write("orchestration/notify.json", JSON_TARGET);
    let server = Server::start(&[200]);
    run(&repo, &server.url, &[]).code(4);
    let body = server.requests()[0].json();
    let id = run_id(&repo);
    assert_eq!(body["event"], "awaiting_approval");
    assert_eq!(body["outputs_uri"], "https://github.com/o/r/pull/9");
    assert_eq!(
        body["command"],
        format!("orch approve --run {id} --gate A1")
    );
}

#[test]
fn a_gate_finished_by_hand_that_needs_approval_tells_the_approvers() {
    let repo = TestRepo::new();
    repo.write(
        "orchestration/workflows/w.json",
        r#"{"workflow": "w", "default_artifact_path": "out", "gates": [
            {"gate": "A1", "contract": null, "approval": {"required": true}}]}"#,
    );
    repo.write("orchestration/notify.json", JSON_TARGET);
    let server = Server::start(&[200]);
    let env = [("HOOK_URL", server.url.as_str()), ("HOOK_SECRET", SECRET)];
    let out = repo.orch(&["run", "start", "--workflow", "w", "--slug", "s"]);
    let id = out.ok().stdout.trim().to_string();
    repo.start_gate(&id, "A1", "editor").ok();
    let out = repo.orch_env(&["gate", "finish", "--run", &id, "--gate", "A1"], &env);
    out.code(4)
        .stdout_has("AWAITING_APPROVAL A1")
        .stderr_has("notified ops (awaiting_approval): HTTP 200");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_signed(&requests[0]);
    let body = requests[0].json();
    assert_eq!(body["event"], "awaiting_approval");
    assert_eq!(body["gate"], "A1");
    assert_eq!(body["run_id"], id.as_str());
    assert_eq!(notifications(&repo)[0]["event"], "awaiting_approval");
}
