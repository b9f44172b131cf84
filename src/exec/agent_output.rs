//! What an agent said about itself. Recognises `claude -p --output-format
//! json` (one result object; `stream-json` ends with the same object),
//! `codex exec --json` (JSONL events) and plain text, and finds the optional
//! completion status line `{"status": "complete"|"blocked"|"continue", …}`
//! at the end of the agent's final message.

use serde_json::Value;

use crate::record::{Completion, Usage};

/// The facts orch records about one invocation's output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentReport {
    /// `claude-json`, `codex-jsonl` or `text`.
    pub format: &'static str,
    pub session_id: Option<String>,
    pub usage: Option<Usage>,
    /// Cost the agent reported itself.
    pub cost_usd: Option<f64>,
    /// The agent said it failed (claude `is_error`/error subtype, codex `turn.failed`).
    pub error: Option<String>,
    /// The model the agent says it used (claude's `modelUsage`, the model
    /// that wrote the most; or a stream's `init` line).
    pub model: Option<String>,
    pub completion: Option<Completion>,
}

/// Reads an agent's stdout.
pub fn parse(stdout: &str) -> AgentReport {
    if let Some(report) = claude(stdout) {
        return report;
    }
    if let Some(report) = codex(stdout) {
        return report;
    }
    AgentReport {
        format: "text",
        completion: completion(stdout),
        ..AgentReport::default()
    }
}

/// The claude result object: the whole output, or the last `"type": "result"` line of a stream.
fn claude(stdout: &str) -> Option<AgentReport> {
    let whole = serde_json::from_str::<Value>(stdout.trim())
        .ok()
        .filter(is_claude_result);
    let result = whole.or_else(|| {
        stdout
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .find(is_claude_result)
    })?;
    let subtype = result
        .get("subtype")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let is_error = result
        .get("is_error")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || subtype.starts_with("error");
    let text = result
        .get("result")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let usage = result.get("usage").map(|u| Usage {
        input_tokens: number(u, "input_tokens"),
        output_tokens: number(u, "output_tokens"),
        cache_read_input_tokens: number(u, "cache_read_input_tokens"),
        cache_creation_input_tokens: number(u, "cache_creation_input_tokens"),
    });
    let model = main_model(&result).or_else(|| {
        stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .find(|v| v.get("type").and_then(Value::as_str) == Some("system"))
            .and_then(|v| v.get("model").and_then(Value::as_str).map(str::to_string))
    });
    Some(AgentReport {
        format: "claude-json",
        model,
        session_id: result
            .get("session_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        usage,
        cost_usd: result
            .get("total_cost_usd")
            .and_then(Value::as_f64)
            .filter(|c| (0.0..=1e9).contains(c)),
        error: is_error.then(|| {
            let what = if subtype.is_empty() {
                "is_error".to_string()
            } else {
                subtype.to_string()
            };
            let detail = text.lines().next().unwrap_or_default();
            if detail.is_empty() {
                format!("agent reported an error ({what})")
            } else {
                format!("agent reported an error ({what}): {}", clip(detail, 200))
            }
        }),
        completion: completion(text),
    })
}

/// The model in claude's `modelUsage` that produced the most output.
fn main_model(result: &Value) -> Option<String> {
    let usage = result.get("modelUsage")?.as_object()?;
    usage
        .iter()
        .max_by_key(|(_, u)| {
            u.get("outputTokens")
                .or_else(|| u.get("output_tokens"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        })
        .map(|(name, _)| name.clone())
        .or_else(|| {
            result
                .get("model")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
}

fn is_claude_result(v: &Value) -> bool {
    v.is_object()
        && (v.get("type").and_then(Value::as_str) == Some("result")
            || (v.get("is_error").is_some() && v.get("session_id").is_some()))
}

/// Codex JSONL: thread id, usage summed over turns, failures, last agent message.
fn codex(stdout: &str) -> Option<AgentReport> {
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .filter(|v| {
            v.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.contains('.'))
        })
        .collect();
    if events.is_empty() {
        return None;
    }
    let mut report = AgentReport {
        format: "codex-jsonl",
        ..AgentReport::default()
    };
    let mut last_message: Option<String> = None;
    for e in &events {
        match e.get("type").and_then(Value::as_str).unwrap_or_default() {
            "thread.started" => {
                report.session_id = e
                    .get("thread_id")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            "turn.completed" => {
                if let Some(u) = e.get("usage") {
                    let usage = report.usage.get_or_insert_with(Usage::default);
                    // codex counts cached input inside input_tokens; orch records uncached input.
                    let cached = number(u, "cached_input_tokens");
                    usage.add(&Usage {
                        input_tokens: number(u, "input_tokens").saturating_sub(cached),
                        output_tokens: number(u, "output_tokens"),
                        cache_read_input_tokens: cached,
                        cache_creation_input_tokens: 0,
                    });
                }
            }
            "turn.failed" | "error" => {
                let msg = e
                    .pointer("/error/message")
                    .or_else(|| e.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("turn failed");
                report.error = Some(format!("agent reported an error: {}", clip(msg, 200)));
            }
            "item.completed" => {
                let item = e.get("item");
                let kind = item
                    .and_then(|i| i.get("type").or_else(|| i.get("item_type")))
                    .and_then(Value::as_str);
                if kind == Some("agent_message") {
                    last_message = item
                        .and_then(|i| i.get("text"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                }
            }
            _ => {}
        }
    }
    report.completion = last_message.as_deref().and_then(completion);
    Some(report)
}

fn number(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// The completion status line: the last non-empty line, if it is
/// `{"status": "complete"|"blocked"|"continue", "reason": "…"}`.
pub fn completion(text: &str) -> Option<Completion> {
    let line = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    let line = line.trim_matches('`');
    let v: Value = serde_json::from_str(line).ok()?;
    let status = v.get("status")?.as_str()?;
    if !matches!(status, "complete" | "blocked" | "continue") {
        return None;
    }
    Some(Completion {
        status: status.to_string(),
        reason: v
            .get("reason")
            .and_then(Value::as_str)
            .map(|r| clip(r, 500)),
    })
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_result_object() {
        let out = r#"{"type":"result","subtype":"success","is_error":false,"duration_ms":1200,"num_turns":3,
            "result":"Wrote the intake.\n{\"status\": \"complete\", \"reason\": \"done\"}","session_id":"abc-123",
            "total_cost_usd":0.0421,"usage":{"input_tokens":1200,"cache_creation_input_tokens":10,"cache_read_input_tokens":300,"output_tokens":450}}"#;
        let r = parse(out);
        assert_eq!(r.format, "claude-json");
        assert_eq!(r.session_id.as_deref(), Some("abc-123"));
        assert_eq!(r.cost_usd, Some(0.0421));
        assert_eq!(r.usage.unwrap().input_tokens, 1200);
        assert_eq!(r.usage.unwrap().cache_read_input_tokens, 300);
        assert_eq!(r.error, None);
        assert_eq!(r.model, None);
        assert_eq!(r.completion.unwrap().status, "complete");
    }

    #[test]
    fn claude_reports_the_model_that_wrote_most() {
        let r = parse(
            r#"{"type":"result","subtype":"success","is_error":false,"session_id":"s","result":"ok",
               "modelUsage":{"claude-haiku-4-5":{"inputTokens":10,"outputTokens":5},
                             "claude-sonnet-4-5":{"inputTokens":900,"outputTokens":700}}}"#,
        );
        assert_eq!(r.model.as_deref(), Some("claude-sonnet-4-5"));
        let stream = "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s1\",\"model\":\"claude-opus-4-1\"}\n{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"session_id\":\"s1\",\"result\":\"ok\"}\n";
        assert_eq!(parse(stream).model.as_deref(), Some("claude-opus-4-1"));
    }

    #[test]
    fn claude_errors_count_even_with_exit_zero() {
        let r = parse(
            r#"{"type":"result","subtype":"error_max_turns","is_error":true,"session_id":"s","result":""}"#,
        );
        assert_eq!(
            r.error.as_deref(),
            Some("agent reported an error (error_max_turns)")
        );
        let r = parse(
            r#"{"type":"result","subtype":"success","is_error":true,"session_id":"s","result":"API Error: 529 overloaded"}"#,
        );
        assert_eq!(
            r.error.as_deref(),
            Some("agent reported an error (success): API Error: 529 overloaded")
        );
    }

    #[test]
    fn claude_stream_json_uses_the_final_result_line() {
        let out = "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s1\"}\n{\"type\":\"assistant\",\"message\":{}}\n{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"session_id\":\"s1\",\"result\":\"ok\",\"total_cost_usd\":0.5}\n";
        let r = parse(out);
        assert_eq!((r.format, r.cost_usd), ("claude-json", Some(0.5)));
    }

    #[test]
    fn codex_jsonl_events() {
        let out = [
            r#"{"type":"thread.started","thread_id":"th_9"}"#,
            r#"{"type":"turn.started"}"#,
            r#"{"type":"item.completed","item":{"id":"i1","type":"agent_message","text":"first"}}"#,
            r#"{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":40,"output_tokens":20}}"#,
            r#"{"type":"item.completed","item":{"id":"i2","type":"agent_message","text":"All done.\n{\"status\": \"blocked\", \"reason\": \"need API key\"}"}}"#,
            r#"{"type":"turn.completed","usage":{"input_tokens":50,"cached_input_tokens":0,"output_tokens":5}}"#,
        ]
        .join("\n");
        let r = parse(&out);
        assert_eq!(r.format, "codex-jsonl");
        assert_eq!(r.session_id.as_deref(), Some("th_9"));
        let u = r.usage.unwrap();
        assert_eq!(
            (u.input_tokens, u.output_tokens, u.cache_read_input_tokens),
            (110, 25, 40)
        );
        assert_eq!(r.cost_usd, None);
        let c = r.completion.unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_deref()),
            ("blocked", Some("need API key"))
        );
        let failed = parse(
            "{\"type\":\"thread.started\",\"thread_id\":\"t\"}\n{\"type\":\"turn.failed\",\"error\":{\"message\":\"rate limited\"}}\n",
        );
        assert_eq!(
            failed.error.as_deref(),
            Some("agent reported an error: rate limited")
        );
    }

    #[test]
    fn plain_text_with_and_without_a_status_line() {
        let r = parse("working…\n{\"status\": \"continue\", \"reason\": \"half way\"}\n\n");
        assert_eq!(r.format, "text");
        assert_eq!(r.completion.unwrap().status, "continue");
        assert_eq!(parse("just text\n").completion, None);
        assert_eq!(parse("{\"status\": \"maybe\"}").completion, None);
    }
}
