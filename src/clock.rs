//! Time and randomness, injectable (`ORCH_NOW`, `ORCH_SEED`) so records and
//! snapshots can be reproduced exactly.

use std::sync::Mutex;
use std::sync::OnceLock;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::env;

/// The current time, or the fixed time in `ORCH_NOW`.
pub fn now() -> DateTime<Utc> {
    std::env::var(env::NOW)
        .ok()
        .and_then(|v| DateTime::parse_from_rfc3339(v.trim()).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

/// The real time, whatever `ORCH_NOW` says: for liveness (leases) and
/// file-time comparisons (the hash cache), which must follow the world.
pub fn real_now() -> DateTime<Utc> {
    Utc::now()
}

/// The timestamp format of every record: UTC, milliseconds, `Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `now()` formatted as a record timestamp.
pub fn now_timestamp() -> String {
    timestamp(now())
}

/// Parses a record timestamp (any RFC 3339 form).
pub fn parse(ts: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A short human duration: `45s`, `12m`, `3h`, `2d`.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn rng() -> &'static Mutex<u64> {
    static STATE: OnceLock<Mutex<u64>> = OnceLock::new();
    STATE.get_or_init(|| {
        let seed = std::env::var(env::SEED).ok().map_or_else(
            || {
                use std::hash::{BuildHasher, Hasher};
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u128(
                    Utc::now()
                        .timestamp_nanos_opt()
                        .unwrap_or_default()
                        .unsigned_abs()
                        .into(),
                );
                h.write_u32(std::process::id());
                h.finish()
            },
            |s| {
                s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |acc, b| {
                    (acc ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                })
            },
        );
        Mutex::new(seed)
    })
}

/// splitmix64: small, fast, good enough for ids (not for secrets).
fn next_u64() -> u64 {
    let mut state = rng()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `len` random characters from `[a-z0-9]`.
pub fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| {
            let i = usize::try_from(next_u64() % ALPHABET.len() as u64).unwrap_or(0);
            char::from(ALPHABET[i])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds_and_z() {
        let t = DateTime::parse_from_rfc3339("2026-01-19T14:30:12Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(t), "2026-01-19T14:30:12.000Z");
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(125), "2m");
        assert_eq!(human_duration(3 * 86400 + 5), "3d");
    }

    #[test]
    fn tokens_use_the_alphabet() {
        let t = random_token(6);
        assert_eq!(t.len(), 6);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
    }
}
