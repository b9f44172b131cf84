//! Due dates and "today". A task is due on a calendar day (`2026-03-01`:
//! by the end of that day) or at an instant (`2026-03-01T17:00`). "Today"
//! is a calendar day in the zone of `TZ` (`calendar`), so a deadline means
//! the same day to everyone who reads it in that zone. Resolving a due date
//! against the zone happens here; scoring (`select`) only sees the resolved
//! `Deadline`.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

pub use crate::calendar::Calendar;
use crate::calendar::{local_day, local_instant, start_of_day};
use crate::clock;

/// When a task is due, as the user gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Due {
    /// By the end of this calendar day.
    Day(NaiveDate),
    /// By this instant.
    At(DateTime<Utc>),
}

/// A due date resolved in the zone: the instant after which the task is
/// overdue, and the calendar day it falls on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline {
    pub at: DateTime<Utc>,
    pub day: NaiveDate,
}

impl Due {
    /// Reads a due date from the command line: `2026-03-01`,
    /// `2026-03-01T17:00` (in `TZ`'s zone), an RFC 3339 time,
    /// `today`, `tomorrow` or `+3d` (three days from today).
    pub fn parse_arg(text: &str, cal: &Calendar) -> Option<Due> {
        let t = text.trim();
        match t {
            "today" => return Some(Due::Day(cal.today)),
            "tomorrow" => return Some(Due::Day(cal.today + Duration::days(1))),
            _ => {}
        }
        if let Some(days) = t
            .strip_prefix('+')
            .and_then(|d| d.strip_suffix('d'))
            .and_then(|d| d.parse::<i64>().ok())
            .filter(|d| (0..=36_500).contains(d))
        {
            return Some(Due::Day(cal.today + Duration::days(days)));
        }
        if let Some(d) = Due::parse_stored(t) {
            return Some(d);
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(local) = NaiveDateTime::parse_from_str(t, format) {
                return Some(Due::At(local_instant(local)));
            }
        }
        None
    }

    /// Reads a due date as `task.json` stores it: a date, or an RFC 3339 time.
    pub fn parse_stored(text: &str) -> Option<Due> {
        if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Some(Due::Day(d));
        }
        clock::parse(text).map(Due::At)
    }

    /// Resolves the due date in `TZ`'s zone.
    pub fn deadline(self) -> Deadline {
        match self {
            Due::Day(day) => Deadline {
                at: start_of_day(day + Duration::days(1)),
                day,
            },
            Due::At(at) => Deadline {
                at,
                day: local_day(at),
            },
        }
    }
}

impl Due {
    /// The earliest `deadline().at` can be in any zone (a day ends at
    /// midnight UTC−14:00 at the earliest): a bound that needs no zone.
    pub fn earliest_deadline(self) -> DateTime<Utc> {
        match self {
            Due::Day(day) => {
                (day + Duration::days(1))
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc()
                    - Duration::hours(14)
            }
            Due::At(at) => at,
        }
    }
}

impl fmt::Display for Due {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Due::Day(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Due::At(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%SZ")),
        }
    }
}

impl serde::Serialize for Due {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Due {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Due::parse_stored(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a due date (YYYY-MM-DD or an RFC 3339 time)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> Calendar {
        Calendar {
            now: clock::parse("2026-03-10T12:00:00Z").unwrap(),
            today: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
        }
    }

    #[test]
    fn arguments() {
        let c = cal();
        let day = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            Due::parse_arg("today", &c),
            Some(Due::Day(day("2026-03-10")))
        );
        assert_eq!(
            Due::parse_arg("tomorrow", &c),
            Some(Due::Day(day("2026-03-11")))
        );
        assert_eq!(Due::parse_arg("+3d", &c), Some(Due::Day(day("2026-03-13"))));
        assert_eq!(
            Due::parse_arg("2026-04-01", &c),
            Some(Due::Day(day("2026-04-01")))
        );
        assert_eq!(
            Due::parse_arg("2026-04-01T10:00:00+02:00", &c),
            Some(Due::At(clock::parse("2026-04-01T08:00:00Z").unwrap()))
        );
        assert!(matches!(
            Due::parse_arg("2026-04-01T10:00", &c),
            Some(Due::At(_))
        ));
        for bad in ["", "soon", "2026-13-01", "+d", "-3d", "2026-04-01T25:00"] {
            assert_eq!(Due::parse_arg(bad, &c), None, "{bad}");
        }
    }

    #[test]
    fn stored_form_round_trips() {
        for text in ["2026-03-01", "2026-03-01T17:00:00Z"] {
            let due = Due::parse_stored(text).unwrap();
            assert_eq!(due.to_string(), text);
        }
    }
}
