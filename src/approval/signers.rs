//! git's `allowed_signers` file (ssh-keygen(1), "ALLOWED SIGNERS"): who may
//! sign, with which key, for which namespaces and when. One signer a line:
//!
//! ```text
//! principals [options] keytype base64-key [comment]
//! alice@example.com namespaces="orch-approval,git" ssh-ed25519 AAAAC3Nz… alice's laptop
//! ```
//!
//! Principals are a comma-separated pattern list (`*` and `?` wildcards, a
//! leading `!` negates). Options: `namespaces="…"`, `valid-after="…"`,
//! `valid-before="…"` (YYYYMMDD[HHMM[SS]], a trailing `Z` for UTC, else
//! local time) and `cert-authority` (certificates are not supported: such
//! lines are reported and never match). No crate parses this format, so
//! orch does, strictly: a line it cannot read is a problem it reports, not
//! one it skips silently.

use std::str::FromStr;

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
use ssh_key::public::KeyData;
use ssh_key::{Algorithm, PublicKey};

/// One line of the file.
#[derive(Clone, Debug)]
pub struct Signer {
    /// 1-based line number, for messages.
    pub line: usize,
    pub principals: String,
    pub namespaces: Option<Vec<String>>,
    pub valid_after: Option<DateTime<Utc>>,
    pub valid_before: Option<DateTime<Utc>>,
    pub cert_authority: bool,
    pub key: KeyData,
}

/// A parsed `allowed_signers` file.
#[derive(Clone, Debug, Default)]
pub struct AllowedSigners {
    pub signers: Vec<Signer>,
    /// Lines that could not be read: (line number, why).
    pub problems: Vec<(usize, String)>,
}

/// Why a signature's key and principal are not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No line lists this key.
    KeyNotListed,
    /// The key is listed, but for other principals.
    OtherPrincipal(Vec<String>),
    /// The key and principal are listed, but not for this namespace.
    Namespace(Vec<String>),
    /// Outside the line's `valid-after`/`valid-before` window.
    NotValidAt(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::KeyNotListed => f.write_str("its key is not in allowed_signers"),
            Refusal::OtherPrincipal(p) => write!(
                f,
                "its key is in allowed_signers for {}, not for the approver",
                p.join(", ")
            ),
            Refusal::Namespace(ns) => write!(
                f,
                "its key may only sign for namespaces {} in allowed_signers",
                ns.join(", ")
            ),
            Refusal::NotValidAt(why) => write!(f, "its key is {why}"),
        }
    }
}

impl AllowedSigners {
    pub fn parse(text: &str) -> AllowedSigners {
        let mut out = AllowedSigners::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line, i + 1) {
                Ok(s) => out.signers.push(s),
                Err(why) => out.problems.push((i + 1, why)),
            }
        }
        out
    }

    /// Whether `principal` may sign in `namespace` with `key` at time `at`:
    /// the line that allows it, or why not.
    pub fn check(
        &self,
        principal: &str,
        key: &KeyData,
        namespace: &str,
        at: Option<DateTime<Utc>>,
    ) -> Result<usize, Refusal> {
        let with_key: Vec<&Signer> = self
            .signers
            .iter()
            .filter(|s| !s.cert_authority && s.key == *key)
            .collect();
        if with_key.is_empty() {
            return Err(Refusal::KeyNotListed);
        }
        let mut refusal = None;
        for s in with_key
            .iter()
            .filter(|s| pattern_list_matches(&s.principals, principal))
        {
            if let Some(ns) = &s.namespaces
                && !ns.iter().any(|n| n == namespace)
            {
                refusal.get_or_insert(Refusal::Namespace(ns.clone()));
                continue;
            }
            if let Some(at) = at {
                if s.valid_after.is_some_and(|t| at < t) {
                    refusal.get_or_insert(Refusal::NotValidAt(format!(
                        "valid only after {}",
                        s.valid_after.map(|t| t.to_rfc3339()).unwrap_or_default()
                    )));
                    continue;
                }
                if s.valid_before.is_some_and(|t| at > t) {
                    refusal.get_or_insert(Refusal::NotValidAt(format!(
                        "valid only before {}",
                        s.valid_before.map(|t| t.to_rfc3339()).unwrap_or_default()
                    )));
                    continue;
                }
            }
            return Ok(s.line);
        }
        Err(refusal.unwrap_or_else(|| {
            Refusal::OtherPrincipal(with_key.iter().map(|s| s.principals.clone()).collect())
        }))
    }
}

fn parse_line(line: &str, number: usize) -> Result<Signer, String> {
    let tokens = tokens(line)?;
    let mut it = tokens.into_iter();
    let principals = it.next().ok_or("no principals")?;
    let mut next = it.next().ok_or("no key")?;
    let mut signer = Signer {
        line: number,
        principals: unquote(&principals),
        namespaces: None,
        valid_after: None,
        valid_before: None,
        cert_authority: false,
        key: KeyData::Ed25519(ssh_key::public::Ed25519PublicKey([0; 32])),
    };
    if Algorithm::from_str(&next).is_err() {
        for option in split_options(&next) {
            let (name, value) = match option.split_once('=') {
                Some((n, v)) => (n.to_ascii_lowercase(), Some(unquote(v))),
                None => (option.to_ascii_lowercase(), None),
            };
            match (name.as_str(), value) {
                ("cert-authority", None) => signer.cert_authority = true,
                ("namespaces", Some(v)) => {
                    signer.namespaces = Some(v.split(',').map(|n| n.trim().to_string()).collect());
                }
                ("valid-after", Some(v)) => signer.valid_after = Some(parse_time(&v)?),
                ("valid-before", Some(v)) => signer.valid_before = Some(parse_time(&v)?),
                (other, _) => return Err(format!("unknown option `{other}`")),
            }
        }
        next = it.next().ok_or("no key type after the options")?;
    }
    let algorithm = Algorithm::from_str(&next).map_err(|_| format!("unknown key type `{next}`"))?;
    let blob = it.next().ok_or("no key after the key type")?;
    let key = PublicKey::from_openssh(&format!("{algorithm} {blob}"))
        .map_err(|e| format!("cannot read the {algorithm} key: {e}"))?;
    signer.key = key.key_data().clone();
    if signer.cert_authority {
        return Err("cert-authority lines (SSH certificates) are not supported".into());
    }
    Ok(signer)
}

/// Whitespace-separated tokens; double quotes keep spaces inside a token.
fn tokens(line: &str) -> Result<Vec<String>, String> {
    let (out, quoted) = split_unquoted(line, char::is_whitespace);
    if quoted {
        return Err("unterminated quote".into());
    }
    Ok(out)
}

/// Options are comma-separated; commas inside quotes belong to the value.
fn split_options(text: &str) -> Vec<String> {
    split_unquoted(text, |c| c == ',').0
}

/// Splits at the characters `sep` accepts outside double quotes (quotes
/// are kept, empty parts dropped); also says whether a quote was left open.
fn split_unquoted(text: &str, sep: impl Fn(char) -> bool) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
            current.push(c);
        } else if sep(c) && !quoted {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    (out, quoted)
}

fn unquote(s: &str) -> String {
    s.replace('"', "")
}

/// `YYYYMMDD[HHMM[SS]][Z]`: UTC with `Z`, else local time.
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let (digits, utc) = match text.strip_suffix(['Z', 'z']) {
        Some(d) => (d, true),
        None => (text, false),
    };
    let bad = || format!("`{text}` is not a time (YYYYMMDD[HHMM[SS]][Z])");
    let naive = match digits.len() {
        8 => NaiveDate::parse_from_str(digits, "%Y%m%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0)),
        12 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M").ok(),
        14 => NaiveDateTime::parse_from_str(digits, "%Y%m%d%H%M%S").ok(),
        _ => None,
    }
    .ok_or_else(bad)?;
    if utc {
        Ok(Utc.from_utc_datetime(&naive))
    } else {
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(bad)
    }
}

/// ssh's pattern lists: any negated match refuses, else any match accepts.
fn pattern_list_matches(list: &str, name: &str) -> bool {
    let mut matched = false;
    for pattern in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match pattern.strip_prefix('!') {
            Some(p) if wildcard(p, name) => return false,
            Some(_) => {}
            None => matched |= wildcard(pattern, name),
        }
    }
    matched
}

/// `*` matches any run of characters, `?` any one.
fn wildcard(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOhn/XMF7BVlM+P7ZsWkIaUlO84f2L8Xb5K0hA172h2H";

    fn key() -> KeyData {
        PublicKey::from_openssh(&format!("ssh-ed25519 {KEY}"))
            .unwrap()
            .key_data()
            .clone()
    }

    #[test]
    fn reads_principals_options_and_keys() {
        let text = format!(
            "# reviewers\n\nalice@example.com,bob@* namespaces=\"orch-approval,git\" ssh-ed25519 {KEY} laptop\n\
             carol@example.com valid-after=\"20200101Z\",valid-before=\"20300101Z\" ssh-ed25519 {KEY}\n\
             dave@example.com ssh-ed25519 not-base64\n\
             erin@example.com cert-authority ssh-ed25519 {KEY}\n\
             frank@example.com frobnicate ssh-ed25519 {KEY}\n"
        );
        let s = AllowedSigners::parse(&text);
        assert_eq!(s.signers.len(), 2, "{:?}", s.problems);
        assert_eq!(s.problems.len(), 3, "{:?}", s.problems);
        assert!(
            s.problems[0].0 == 5 && s.problems[0].1.starts_with("cannot read"),
            "{:?}",
            s.problems
        );
        assert!(
            s.problems[1].1.contains("cert-authority"),
            "{:?}",
            s.problems
        );
        assert!(
            s.problems[2].1.contains("unknown option `frobnicate`"),
            "{:?}",
            s.problems
        );
        assert_eq!(s.signers[0].line, 3);
        assert_eq!(
            s.signers[0].namespaces.as_deref(),
            Some(&["orch-approval".to_string(), "git".to_string()][..])
        );
    }

    #[test]
    fn checks_principal_namespace_and_validity() {
        let text = format!(
            "alice@example.com,!mallory@example.com,*@team.example namespaces=\"orch-approval\" ssh-ed25519 {KEY}\n\
             old@example.com valid-before=\"20000101Z\" ssh-ed25519 {KEY}\n"
        );
        let s = AllowedSigners::parse(&text);
        let k = key();
        let now = Some(Utc::now());
        assert_eq!(
            s.check("alice@example.com", &k, "orch-approval", now),
            Ok(1)
        );
        assert_eq!(s.check("zed@team.example", &k, "orch-approval", now), Ok(1));
        assert!(matches!(
            s.check("mallory@example.com", &k, "orch-approval", now),
            Err(Refusal::OtherPrincipal(_))
        ));
        assert!(matches!(
            s.check("alice@example.com", &k, "git", now),
            Err(Refusal::Namespace(_))
        ));
        assert!(matches!(
            s.check("old@example.com", &k, "orch-approval", now),
            Err(Refusal::NotValidAt(_))
        ));
        let other = AllowedSigners::parse(&format!("x@y ssh-ed25519 {KEY}"));
        let mut bytes = [0u8; 32];
        bytes[0] = 1;
        let stranger = KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(bytes));
        assert_eq!(
            other.check("x@y", &stranger, "orch-approval", now),
            Err(Refusal::KeyNotListed)
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*@example.com", "a@example.com"));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "abbc"));
        assert!(wildcard("*", ""));
        assert!(!pattern_list_matches("*,!bad", "bad"));
    }
}
