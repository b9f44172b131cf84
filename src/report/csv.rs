//! CSV exports (`--format csv`): a header row, RFC 4180 quoting by the
//! `csv` crate, and spreadsheet-formula escaping. A cell that a spreadsheet
//! would run as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a
//! carriage return) gets a leading `'`, so a task titled `=HYPERLINK(…)`
//! stays text when the export is opened.

use std::borrow::Cow;

/// At most this many rows unless `--limit` says otherwise.
pub const MAX_ROWS: usize = 10_000;

/// A cell made safe to open in a spreadsheet.
pub fn cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A JSON value as one cell: text as it is, numbers and booleans written
/// out, null empty, a list space-separated.
pub fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}

/// The whole document: `headers`, then one line per row.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail; a row of the wrong length is a bug the tests catch.
    w.write_record(headers).expect("csv header");
    for row in rows {
        w.write_record(row.iter().map(|c| cell(c).into_owned()))
            .expect("csv row");
    }
    String::from_utf8(w.into_inner().expect("csv buffer")).expect("csv is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes() {
        let out = render(
            &["id", "title"],
            &[
                vec!["t_1".into(), "=1+2".into()],
                vec!["t_2".into(), "a, \"b\"\nc".into()],
                vec!["t_3".into(), "-x".into()],
                vec!["t_4".into(), "@SUM(A1)".into()],
                vec!["t_5".into(), String::new()],
            ],
        );
        assert_eq!(
            out,
            "id,title\nt_1,'=1+2\nt_2,\"a, \"\"b\"\"\nc\"\nt_3,'-x\nt_4,'@SUM(A1)\nt_5,\n"
        );
    }
}
