//! Which backend holds the queue: `--queue URL`, else `ORCH_QUEUE_URL`,
//! else the variable that `orchestration/config.json` names
//! (`{"queue": {"url_env": "TEAM_QUEUE_URL"}}`), else the file queue. The
//! URL itself is never read from a committed file: it may carry a password.

use crate::config::{self, FILE as CONFIG_FILE};
use crate::env;
use crate::error::{Error, Result};
use crate::repo::Repo;

/// Where the queue lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Files in the repository and its git directory (one machine).
    File,
    /// A PostgreSQL database (many machines).
    Postgres(String),
}

/// Resolves the queue's backend. `flag` is `--queue` (or `ORCH_QUEUE_URL`,
/// which clap reads for it).
pub fn resolve(repo: &Repo, flag: Option<&str>) -> Result<Target> {
    if let Some(url) = flag.map(str::trim).filter(|u| !u.is_empty()) {
        return target(url, "--queue");
    }
    if let Some(url) = std::env::var(env::QUEUE_URL)
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        return target(url.trim(), env::QUEUE_URL);
    }
    let Some(queue) = config::load(repo)?.queue else {
        return Ok(Target::File);
    };
    let var = queue.url_env.trim();
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => target(url.trim(), var),
        _ => Err(Error::input(format!(
            "{CONFIG_FILE} says the queue's URL is in ${var}, which is not set"
        ))
        .hint(format!(
            "set it on this machine: export {var}=postgres://user@host:5432/db"
        ))
        .hint("or give the URL for this command: --queue URL")),
    }
}

fn target(url: &str, from: &str) -> Result<Target> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Target::Postgres(url.to_string()))
    } else {
        Err(
            Error::input(format!("{from}: `{}` is not a PostgreSQL URL", redact(url))).hint(
                "write postgres://user@host:5432/db (or postgres://user@%2Fpath%2Fto%2Fsocket/db)",
            ),
        )
    }
}

/// The URL as it may be shown: without its password.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.to_ascii_lowercase().starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    match scheme {
        Some(s) => format!("{s}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://ann:s3cret@db.example:5432/orch"),
            "postgres://ann@db.example:5432/orch"
        );
        assert_eq!(
            redact("postgres://ann@db/orch?password=x&sslmode=disable"),
            "postgres://ann@db/orch?sslmode=disable"
        );
        assert_eq!(
            redact("postgresql://ann:p%40ss@%2Ftmp%2Fpg/orch"),
            "postgresql://ann@%2Ftmp%2Fpg/orch"
        );
        assert_eq!(redact("postgres://db/orch"), "postgres://db/orch");
    }
}
