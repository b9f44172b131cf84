//! `url_reachable` against a local HTTP server: status codes, redirects,
//! redirect loops, HEAD refused, timeouts, `max_failures` and `sample_size`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use crate::common::TestRepo;

/// Serves a few fixed routes on 127.0.0.1; returns the base URL.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                let mut parts = request.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let path = parts.next().unwrap_or_default().to_string();
                let (status, extra) = match path.as_str() {
                    "/ok" | "/ok2" | "/ok3" | "/gethonly"
                        if method != "HEAD" || path != "/gethonly" =>
                    {
                        ("200 OK", String::new())
                    }
                    "/missing" => ("404 Not Found", String::new()),
                    "/redirect" => ("301 Moved Permanently", "Location: /ok\r\n".to_string()),
                    "/loop" => ("302 Found", "Location: /loop\r\n".to_string()),
                    "/gethonly" => ("405 Method Not Allowed", String::new()),
                    "/slow" => {
                        std::thread::sleep(Duration::from_secs(3));
                        ("200 OK", String::new())
                    }
                    _ => ("500 Internal Server Error", String::new()),
                };
                let mut stream = stream;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
                );
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn contract(repo: &TestRepo, extra: &str) {
    repo.write(
        "orchestration/gates/contracts/G1.contract.json",
        &format!(
            r#"{{"gate": "G1", "validations": [{{"type": "url_reachable", "target": "{{artifact_path}}/links.md", "url_pattern": "http://127\\.0\\.0\\.1:\\d+/\\w+"{extra}}}]}}"#
        ),
    );
}

fn check(repo: &TestRepo) -> (i32, serde_json::Value) {
    let out = repo.check_gate_env("G1", &["--json"], &[("ORCH_URL_TIMEOUT", "1")]);
    (out.code, out.json())
}

#[test]
fn reachable_urls_pass_and_failures_name_each_url() {
    let base = serve();
    let repo = TestRepo::new();
    repo.write(
        "out/links.md",
        &format!("[a]({base}/ok) [b]({base}/redirect) [c]({base}/gethonly) again {base}/ok\n"),
    );
    contract(&repo, "");
    let (code, v) = check(&repo);
    let r = &v["validations"][0];
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        (
            r["total_urls"].as_u64(),
            r["checked"].as_u64(),
            r["ok"].as_u64()
        ),
        (Some(3), Some(3), Some(3))
    );

    repo.write(
        "out/links.md",
        &format!("{base}/ok\n{base}/missing\n{base}/loop\n{base}/slow\n{base}/broken\n"),
    );
    let (code, v) = check(&repo);
    assert_eq!(code, 1);
    let r = &v["validations"][0];
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("4 of 5 URLs failed (max 0): "),
        "{reason}"
    );
    assert!(
        reason.contains(&format!("{base}/missing (404)")),
        "{reason}"
    );
    assert!(
        reason.contains(&format!("{base}/loop (more than 5 redirects)")),
        "{reason}"
    );
    assert!(
        reason.contains(&format!("{base}/slow (timeout)")),
        "{reason}"
    );
    assert!(reason.contains(&format!("{base}/broken (500)")), "{reason}");
    let failed = r["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 4);
    assert_eq!(failed[0]["status"], 404);
}

#[test]
fn max_failures_and_sample_size() {
    let base = serve();
    let repo = TestRepo::new();
    repo.write(
        "out/links.md",
        &format!("{base}/ok {base}/ok2 {base}/missing {base}/ok3\n"),
    );
    contract(&repo, r#", "max_failures": 1"#);
    assert_eq!(check(&repo).0, 0, "one failure is allowed");
    contract(&repo, r#", "sample_size": 2"#);
    let (code, v) = check(&repo);
    assert_eq!(code, 0, "only the first two distinct URLs are checked");
    assert_eq!(
        (
            v["validations"][0]["total_urls"].as_u64(),
            v["validations"][0]["checked"].as_u64()
        ),
        (Some(4), Some(2))
    );
}
