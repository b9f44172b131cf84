//! Rendering results for people. Machine output (`--json`) is the record
//! types serialised as they are; this module only makes text.

pub mod approval;
pub mod findings;
pub mod gate;
pub mod progress;
pub mod run;

/// Pads `s` to `width` characters (not bytes).
pub fn pad(s: &str, width: usize) -> String {
    let len = s.chars().count();
    if len >= width {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(width - len))
    }
}
