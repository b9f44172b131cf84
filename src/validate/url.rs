//! `url_reachable`: HTTP HEAD requests, in parallel, each with its own time
//! limit and at most five redirects. A server that refuses HEAD (405, 501)
//! is asked again with GET, whose body is not read.

use std::time::Duration;

/// How one URL answered.
#[derive(Clone, Debug)]
pub struct UrlOutcome {
    pub url: String,
    pub ok: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl UrlOutcome {
    /// `https://x (404)` / `https://x (timeout)`.
    pub fn describe(&self) -> String {
        match (&self.status, &self.error) {
            (_, Some(e)) => format!("{} ({e})", self.url),
            (Some(s), None) => format!("{} ({s})", self.url),
            (None, None) => self.url.clone(),
        }
    }
}

/// URLs checked at the same time.
const CONCURRENCY: usize = 8;
const MAX_REDIRECTS: u32 = 5;

/// Checks every URL; results are in the order given.
pub fn check_all(urls: &[String], timeout: Duration) -> Vec<UrlOutcome> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(MAX_REDIRECTS)
        .http_status_as_error(false)
        .user_agent(concat!(
            "orch/",
            env!("CARGO_PKG_VERSION"),
            " (url_reachable)"
        ))
        .build()
        .into();
    crate::par::map_workers(urls, CONCURRENCY, || (), |(), url| check_one(&agent, url))
}

fn check_one(agent: &ureq::Agent, url: &str) -> UrlOutcome {
    let mut result = agent.head(url).call();
    if let Ok(resp) = &result
        && matches!(resp.status().as_u16(), 405 | 501)
    {
        result = agent.get(url).call();
    }
    match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            UrlOutcome {
                url: url.to_string(),
                ok: (200..300).contains(&status),
                status: Some(status),
                error: None,
            }
        }
        Err(e) => UrlOutcome {
            url: url.to_string(),
            ok: false,
            status: None,
            error: Some(reason(&e)),
        },
    }
}

/// A one-line reason for a failed request.
pub fn reason(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timeout".to_string(),
        ureq::Error::TooManyRedirects => format!("more than {MAX_REDIRECTS} redirects"),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::Io(io) => crate::repo::io_reason(io),
        other => other.to_string(),
    }
}
