//! What the committed record keeps of an agent's output (the logs
//! themselves are not committed): a short excerpt — the first and last
//! lines of stdout and stderr, capped in bytes, with the values of
//! secret-looking environment variables redacted — and the pull-request
//! (or other) URL the agent printed, recorded as the gate's `outputs_uri`.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use regex::Regex;

use crate::record::LogExcerpt;

/// Lines kept from each end of a stream.
const LINES: usize = 5;
/// Bytes read from each end of a log to find them.
const WINDOW: u64 = 4096;
/// Bytes an excerpt of one stream may take.
const MAX_BYTES: usize = 2048;
/// Variables whose values are never copied into a record: any whose name
/// contains one of these (case-insensitive).
const SECRET_WORDS: &[&str] = &["TOKEN", "KEY", "SECRET", "PASSWORD"];
/// Shorter values are not redacted (they would blank out ordinary text).
const MIN_SECRET_LEN: usize = 4;

/// GitHub pull requests and GitLab merge requests.
pub const DEFAULT_URI_PATTERN: &str = r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/pull/[0-9]+|https://gitlab\.[A-Za-z0-9.-]+/[A-Za-z0-9_./-]+?/-/merge_requests/[0-9]+";

/// The excerpt of an invocation's two logs; `None` when both are empty.
pub fn of_logs(stdout: &Path, stderr: &Path) -> Option<LogExcerpt> {
    let secrets = secrets();
    let excerpt = LogExcerpt {
        stdout: of_file(stdout, &secrets),
        stderr: of_file(stderr, &secrets),
    };
    (!excerpt.stdout.is_empty() || !excerpt.stderr.is_empty()).then_some(excerpt)
}

/// The values to redact, with their variables' names, longest first.
fn secrets() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::env::vars()
        .filter(|(k, v)| {
            let upper = k.to_ascii_uppercase();
            v.len() >= MIN_SECRET_LEN && SECRET_WORDS.iter().any(|w| upper.contains(w))
        })
        .collect();
    out.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    out
}

/// Replaces each secret value in `text` with `[redacted:NAME]`.
pub fn redact(text: &str, secrets: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (name, value) in secrets {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), &format!("[redacted:{name}]"));
        }
    }
    out
}

fn of_file(path: &Path, secrets: &[(String, String)]) -> String {
    let Ok(mut file) = crate::storage::regular::open(path) else {
        return String::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let mut head = Vec::new();
    let _ = (&mut file).take(WINDOW).read_to_end(&mut head);
    let tail = if len > WINDOW {
        let mut tail = Vec::new();
        let from = len.saturating_sub(WINDOW).max(WINDOW);
        if file.seek(SeekFrom::Start(from)).is_ok() {
            let _ = file.read_to_end(&mut tail);
        }
        Some((from > WINDOW, tail))
    } else {
        None
    };
    let head = redact(&String::from_utf8_lossy(&head), secrets);
    let text = match tail {
        None => excerpt_lines(&head),
        Some((gap, tail)) => {
            let tail = redact(&String::from_utf8_lossy(&tail), secrets);
            let first: Vec<&str> = head.lines().take(LINES).collect();
            let mut last: Vec<&str> = tail.lines().collect();
            // After a gap, the tail window starts mid-line.
            if gap && !last.is_empty() {
                last.remove(0);
            }
            let last = &last[last.len().saturating_sub(LINES)..];
            format!("{}\n…\n{}", first.join("\n"), last.join("\n"))
        }
    };
    cap(text.trim_end())
}

/// All lines when there are few, else the first and last few.
fn excerpt_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= 2 * LINES {
        return lines.join("\n");
    }
    format!(
        "{}\n…\n{}",
        lines[..LINES].join("\n"),
        lines[lines.len() - LINES..].join("\n")
    )
}

/// At most `MAX_BYTES`, cut at a character boundary, marked when cut.
fn cap(text: &str) -> String {
    if text.len() <= MAX_BYTES {
        return text.to_string();
    }
    let mut end = MAX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The pattern for a gate: its own, else the workflow's, else the default.
pub fn uri_pattern(gate: Option<&str>, workflow: Option<&str>) -> Regex {
    gate.or(workflow)
        .and_then(|p| Regex::new(p).ok())
        .unwrap_or_else(|| Regex::new(DEFAULT_URI_PATTERN).expect("the default pattern compiles"))
}

/// The last URL matching `pattern` in the texts, in order.
pub fn find_uri(pattern: &Regex, texts: &[&str]) -> Option<String> {
    texts
        .iter()
        .rev()
        .find_map(|t| pattern.find_iter(t).last())
        .map(|m| m.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_logs_are_kept_and_long_ones_cut_in_the_middle() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short.log");
        std::fs::write(&short, "one\ntwo\n").unwrap();
        assert_eq!(of_file(&short, &[]), "one\ntwo");
        let long = dir.path().join("long.log");
        let text = (1..=5000).fold(String::new(), |s, i| s + &format!("line {i}\n"));
        std::fs::write(&long, text).unwrap();
        let e = of_file(&long, &[]);
        assert!(e.starts_with("line 1\nline 2\n"), "{e}");
        assert!(e.ends_with("line 4999\nline 5000"), "{e}");
        assert!(e.contains("\n…\n"), "{e}");
        let many = dir.path().join("many.log");
        let text = (1..=30).fold(String::new(), |s, i| s + &format!("l{i}\n"));
        std::fs::write(&many, text).unwrap();
        assert_eq!(
            of_file(&many, &[]),
            "l1\nl2\nl3\nl4\nl5\n…\nl26\nl27\nl28\nl29\nl30"
        );
    }

    #[test]
    fn secrets_are_redacted_and_excerpts_capped() {
        let secrets = vec![("API_TOKEN".to_string(), "s3cr3t-value".to_string())];
        assert_eq!(
            redact("auth s3cr3t-value ok", &secrets),
            "auth [redacted:API_TOKEN] ok"
        );
        let capped = cap(&"é".repeat(3000));
        assert!(capped.len() <= MAX_BYTES + "…".len(), "{}", capped.len());
        assert!(capped.ends_with('…'));
    }

    #[test]
    fn finds_the_last_pull_request_url() {
        let p = uri_pattern(None, None);
        let out = "see https://github.com/o/r/pull/1\nopened https://github.com/o/r/pull/42 done";
        assert_eq!(
            find_uri(&p, &[out, ""]).as_deref(),
            Some("https://github.com/o/r/pull/42")
        );
        assert_eq!(
            find_uri(&p, &["https://gitlab.com/g/sub/p/-/merge_requests/7"]).as_deref(),
            Some("https://gitlab.com/g/sub/p/-/merge_requests/7")
        );
        assert_eq!(find_uri(&p, &["https://github.com/o/r/issues/3"]), None);
        let custom = uri_pattern(Some(r"https://ci\.example/[0-9]+"), None);
        assert_eq!(
            find_uri(&custom, &["https://ci.example/9"]).as_deref(),
            Some("https://ci.example/9")
        );
    }
}
