//! Calendar days in the zone of `TZ`: "today" for due dates, and the days
//! `--since` and `--until` name. chrono's `Local` reads `TZ` (an IANA name
//! or a POSIX rule); unset, the system's zone.

use chrono::{DateTime, Duration, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::clock;

/// "Now" and "today" for one decision: every task is judged against the same pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calendar {
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
}

impl Calendar {
    /// Now (`ORCH_NOW` or the clock) and today in `TZ`'s zone.
    pub fn current() -> Calendar {
        let now = clock::now();
        Calendar {
            now,
            today: local_day(now),
        }
    }
}

/// The calendar day of an instant in `TZ`'s zone.
pub fn local_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Local).date_naive()
}

/// The first instant of a calendar day in `TZ`'s zone (a day that starts
/// in a daylight-saving gap starts when the gap ends).
pub fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    local_instant(day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// A wall-clock time in `TZ`'s zone as an instant.
pub fn local_instant(t: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = t;
    for _ in 0..4 {
        if let Some(l) = Local.from_local_datetime(&probe).earliest() {
            return l.with_timezone(&Utc);
        }
        probe += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&t)
}

/// `--since`: a day (from its start, in `TZ`'s zone) or an RFC 3339 time.
pub fn since(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .map(start_of_day)
        .or_else(|| clock::parse(t))
}

/// `--until`: a day (to its end: the next day's start) or an RFC 3339 time.
pub fn until(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .map(|d| start_of_day(d + Duration::days(1)))
        .or_else(|| clock::parse(t))
}

/// The error for a `--since`/`--until` value that is neither a day nor a time.
pub fn bad_day(flag: &str, text: &str) -> crate::error::Error {
    crate::error::Error::input(format!("{flag} `{text}` is not a day or a time"))
        .hint("give a day (2026-03-01, in TZ's zone) or an RFC 3339 time (2026-03-01T09:00:00Z)")
}
