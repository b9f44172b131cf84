//! Sending one notification: a POST with a time limit (10 s,
//! `ORCH_NOTIFY_TIMEOUT`), up to three tries with a doubling pause between
//! them (1 s first, `ORCH_NOTIFY_BACKOFF`), each signed afresh when the
//! target has a secret. What happened is returned, never raised: a
//! notification that cannot be sent stays pending; it never fails a run.

use std::time::Duration;

use super::config::Target;
use super::sign;
use crate::env;

/// Tries per delivery.
pub const TRIES: u32 = 3;

/// How a delivery went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub delivered: bool,
    pub status_code: Option<u16>,
    pub attempts: u32,
    pub error: Option<String>,
}

/// POSTs `body` to `target` as message `id`.
pub fn send(target: &Target, id: &str, body: &[u8]) -> Sent {
    let not_sent = |error: String| Sent {
        delivered: false,
        status_code: None,
        attempts: 0,
        error: Some(error),
    };
    let Some(url) = var(&target.url_env) else {
        return not_sent(format!("{} is not set", target.url_env));
    };
    let key = match &target.secret_env {
        Some(name) => match var(name) {
            Some(secret) => Some(sign::key(&secret)),
            None => return not_sent(format!("{name} (the signing secret) is not set")),
        },
        None => None,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(env::seconds(env::NOTIFY_TIMEOUT, 10.0)))
        .http_status_as_error(false)
        .user_agent(concat!("orch/", env!("CARGO_PKG_VERSION"), " (notify)"))
        .build()
        .into();
    let mut pause = env::seconds(env::NOTIFY_BACKOFF, 1.0);
    let mut last = not_sent(String::new());
    for attempt in 1..=TRIES {
        let timestamp = crate::clock::real_now().timestamp();
        let mut request = agent
            .post(&url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", &timestamp.to_string());
        if let Some(key) = &key {
            request = request.header(
                "webhook-signature",
                &sign::signature(key, id, timestamp, body),
            );
        }
        last = match request.send(body) {
            Ok(resp) => {
                let code = resp.status().as_u16();
                Sent {
                    delivered: (200..300).contains(&code),
                    status_code: Some(code),
                    attempts: attempt,
                    error: (!(200..300).contains(&code)).then(|| format!("HTTP {code}")),
                }
            }
            Err(e) => Sent {
                delivered: false,
                status_code: None,
                attempts: attempt,
                // The URL is a secret of sorts: never in a record.
                error: Some(crate::validate::url::reason(&e).replace(&url, "<url>")),
            },
        };
        if last.delivered || attempt == TRIES {
            break;
        }
        std::thread::sleep(pause);
        pause = pause.saturating_mul(2).min(Duration::from_secs(60));
    }
    last
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
