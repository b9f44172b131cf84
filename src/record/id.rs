//! Run and invocation ids: sortable by time, readable, unique enough to
//! create without coordination (`run_<UTC>_<slug>_<6 random>`).

use chrono::{DateTime, Utc};

use crate::clock;

/// `run_20260119T143012000Z_the-word-robot_ab12cd`.
pub fn new_run_id(now: DateTime<Utc>, slug: &str) -> String {
    format!(
        "run_{}_{}_{}",
        now.format("%Y%m%dT%H%M%S%3fZ"),
        slug,
        clock::random_token(6)
    )
}

/// `inv_1768861428652_b1g2`, like the Node runner's.
pub fn new_invocation_id(now: DateTime<Utc>) -> String {
    format!("inv_{}_{}", now.timestamp_millis(), clock::random_token(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_follow_the_format() {
        let t = clock::parse("2026-01-19T14:30:12.004Z").unwrap();
        let id = new_run_id(t, "robot");
        assert!(id.starts_with("run_20260119T143012004Z_robot_"), "{id}");
        assert_eq!(id.len(), "run_20260119T143012004Z_robot_".len() + 6);
    }
}
