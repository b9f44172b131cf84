//! Rendering results for people. Machine output (`--json`) is the record
//! types serialised as they are; this module only makes text.

pub mod csv;
pub mod findings;
pub mod gate;
pub mod progress;
pub mod run;
pub mod task;

/// Pads `s` to `width` characters (not bytes).
pub fn pad(s: &str, width: usize) -> String {
    let len = s.chars().count();
    if len >= width {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(width - len))
    }
}

/// A plain table: a bold header, then one line per row, columns padded to
/// their widest cell. Cells are made safe for a terminal.
pub fn table(ui: &crate::ui::Ui, headers: &[&str], rows: &[Vec<String>]) -> String {
    use std::fmt::Write;
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| crate::ui::sanitize_line(c).into_owned())
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| pad(c, *w))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let head: Vec<String> = headers.iter().map(|h| (*h).to_string()).collect();
    let mut out = String::new();
    let _ = writeln!(out, "{}", ui.paint(crate::ui::Style::Bold, &line(&head)));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    out
}
