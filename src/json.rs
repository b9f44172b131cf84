//! JSON the way orch promises it: a file that does not parse is reported
//! with file, line and column; what orch writes is deterministic (2-space
//! indentation, fields in declaration order, trailing newline).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Reads a whole text file; `shown` is how the path appears in messages.
pub fn read_text(path: &Path, shown: &str) -> Result<String> {
    crate::storage::regular::read_to_string(path).map_err(|e| Error::read(shown, e))
}

/// Parses `text` (the content of `shown`) into `T`.
pub fn parse<'a, T: Deserialize<'a>>(text: &'a str, shown: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| from_serde(&e, shown, (1, 1)))
}

/// Turns a serde_json error into an `Error::Json`. `base` is the line and
/// column where the parsed text starts inside the file (for fragments).
pub fn from_serde(err: &serde_json::Error, shown: &str, base: (usize, usize)) -> Error {
    let (line, column) = relocate(base, (err.line(), err.column()));
    let message = describe(err);
    Error::Json {
        path: shown.to_string(),
        line,
        column,
        message,
        hints: Vec::new(),
    }
}

/// What went wrong, in JSON terms and without serde's position suffix.
pub fn describe(err: &serde_json::Error) -> String {
    let mut message = err.to_string();
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    if err.is_syntax() || err.is_eof() {
        format!("invalid JSON: {message}")
    } else {
        in_json_terms(&message)
    }
}

/// serde speaks Rust ("expected struct RunRecord", "expected u32"); people
/// editing a file think in JSON ("expected an object", "expected a whole
/// number from 0 to 4294967295"). Only serde's own words are rewritten: the
/// found kind after "invalid type: " and what follows the last "expected ";
/// a value quoted from the file is left as it is.
fn in_json_terms(message: &str) -> String {
    let Some(at) = message.rfind("expected ") else {
        return message.to_string();
    };
    let (head, expected) = message.split_at(at + "expected ".len());
    let head = match head.strip_prefix("invalid type: ") {
        Some(rest) => {
            let found = ["sequence", "map"]
                .into_iter()
                .find_map(|kind| rest.strip_prefix(kind).map(|tail| (kind, tail)));
            match found {
                Some((kind, tail)) => format!("invalid type: {}{tail}", json_kind(kind)),
                None => head.to_string(),
            }
        }
        None => head.to_string(),
    };
    format!("{head}{}", json_kind(expected))
}

/// A Rust type in a serde message, as a JSON kind.
fn json_kind(rust: &str) -> String {
    let whole = |min: &str, max: &str| format!("a whole number from {min} to {max}");
    match rust {
        "a sequence" => "an array".into(),
        "sequence" => "array".into(),
        "a map" => "an object".into(),
        "map" => "object".into(),
        "u8" => whole("0", &u8::MAX.to_string()),
        "u16" => whole("0", &u16::MAX.to_string()),
        "u32" => whole("0", &u32::MAX.to_string()),
        "u64" | "usize" => whole("0", &u64::MAX.to_string()),
        "i32" => whole(&i32::MIN.to_string(), &i32::MAX.to_string()),
        "i64" | "isize" => whole(&i64::MIN.to_string(), &i64::MAX.to_string()),
        "f32" | "f64" => "a number".into(),
        _ if rust.starts_with("struct ") => "an object".into(),
        _ if rust.starts_with("enum ") => "one of the known values".into(),
        _ => rust.into(),
    }
}

/// A positioned error about a fragment of a JSON file.
pub fn error_at(shown: &str, pos: (usize, usize), message: impl Into<String>) -> Error {
    Error::Json {
        path: shown.to_string(),
        line: pos.0,
        column: pos.1,
        message: message.into(),
        hints: Vec::new(),
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Maps a (line, column) inside a fragment to the file, given where the
/// fragment starts.
pub fn relocate(base: (usize, usize), inner: (usize, usize)) -> (usize, usize) {
    match inner {
        (0, _) => base,
        (1, col) => (base.0, base.1 + col.saturating_sub(1)),
        (line, col) => (base.0 + line - 1, col),
    }
}

/// Where a borrowed fragment (`&RawValue`) starts inside its source text.
pub fn fragment_offset(source: &str, fragment: &str) -> usize {
    (fragment.as_ptr() as usize).saturating_sub(source.as_ptr() as usize)
}

/// Pretty JSON with a trailing newline: the on-disk form of every record.
pub fn to_pretty<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("records serialize");
    bytes.push(b'\n');
    bytes
}

/// Pretty JSON as a string, for `--json` output.
pub fn to_pretty_string<T: Serialize + ?Sized>(value: &T) -> String {
    String::from_utf8(to_pretty(value)).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "{\n  \"é\": 1,\n  x\n}";
        let offset = text.find('x').unwrap();
        assert_eq!(line_col(text, offset), (3, 3));
        assert_eq!(line_col(text, 0), (1, 1));
    }

    #[test]
    fn type_errors_speak_json_not_rust() {
        #[derive(Debug, Deserialize)]
        struct Record {
            #[allow(dead_code)]
            n: u32,
            #[allow(dead_code)]
            items: Vec<String>,
        }
        let message = |text: &str| match parse::<Record>(text, "x.json").unwrap_err() {
            Error::Json { message, .. } => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            message(r#""x""#),
            "invalid type: string \"x\", expected an object"
        );
        assert_eq!(message("[]"), "invalid length 0, expected an object");
        assert_eq!(
            message(r#"{"n": "one", "items": []}"#),
            "invalid type: string \"one\", expected a whole number from 0 to 4294967295"
        );
        assert_eq!(
            message(r#"{"n": 1, "items": {}}"#),
            "invalid type: object, expected an array"
        );
        assert_eq!(message(r#"{"n": 1}"#), "missing field `items`");
        assert_eq!(
            message(r#"{"n": 5000000000, "items": []}"#),
            "invalid value: integer `5000000000`, expected a whole number from 0 to 4294967295"
        );
        // A value quoted from the file is not rewritten.
        assert_eq!(
            message(r#"{"n": "expected u32", "items": []}"#),
            "invalid type: string \"expected u32\", expected a whole number from 0 to 4294967295"
        );
    }

    #[test]
    fn syntax_errors_carry_position() {
        let err = parse::<serde_json::Value>("{\n  \"a\": 1,\n}\n", "x.json").unwrap_err();
        let Error::Json {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*line, *column), (3, 1));
        assert!(
            message.starts_with("invalid JSON: trailing comma"),
            "{message}"
        );
        assert_eq!(err.to_string(), format!("x.json:3:1: {message}"));
    }

    #[test]
    fn fragments_are_relocated() {
        assert_eq!(relocate((10, 5), (1, 3)), (10, 7));
        assert_eq!(relocate((10, 5), (2, 3)), (11, 3));
    }
}
