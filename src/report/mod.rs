//! Rendering results for people. Machine output (`--json`) is the record
//! types serialised as they are; this module only makes text.

pub mod approval;
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
pub fn table<C: AsRef<str>>(ui: &crate::ui::Ui, headers: &[&str], rows: &[Vec<C>]) -> String {
    use std::fmt::Write;
    fn cell<C: AsRef<str>>(r: &[C], i: usize) -> std::borrow::Cow<'_, str> {
        r.get(i).map_or(std::borrow::Cow::Borrowed(""), |c| {
            crate::ui::sanitize_line(c.as_ref())
        })
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, w) in widths.iter_mut().enumerate() {
            *w = (*w).max(cell(r, i).chars().count());
        }
    }
    let last = headers.len().saturating_sub(1);
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = std::borrow::Cow<'_, str>>| {
        let start = out.len();
        for (i, c) in cells.enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            if i == last {
                out.push_str(&c);
            } else {
                let _ = write!(out, "{c:<width$}", width = widths[i]);
            }
        }
        out.truncate(start + out[start..].trim_end().len());
        out.push('\n');
    };
    let mut head = String::new();
    line(
        &mut head,
        &mut headers.iter().map(|h| std::borrow::Cow::Borrowed(*h)),
    );
    let mut out = format!(
        "{}\n",
        ui.paint(crate::ui::Style::Bold, head.trim_end_matches('\n'))
    );
    out.reserve(rows.len() * widths.iter().sum::<usize>());
    for r in rows {
        line(&mut out, &mut (0..headers.len()).map(|i| cell(r, i)));
    }
    out
}
