//! `--limit`, `--cursor`, `--since`, `--json` and `--format csv`: how
//! `orch run list` and `orch task list` page and print their items.

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::error::Result;
use crate::paging::{Cursor, Next};
use crate::ui::Ui;
use crate::{calendar, json, report};

/// How a list is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    #[default]
    Table,
    /// A header row and one row per item (at most 10,000 unless --limit).
    Csv,
}

/// Paging and output options shared by `task list` and `run list`.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// At most N items (then the next page's --cursor is given).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Continue after the previous page (its next_cursor, unchanged).
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
    /// Only items from this day (in TZ's zone) or time (RFC 3339) on.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Print as JSON (with --limit or --cursor: {"items": [...], "next_cursor": ...}).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// table (default) or csv.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<ListFormat>,
}

impl PageArgs {
    pub fn cursor(&self) -> Result<Option<Cursor>> {
        self.cursor.as_deref().map(Cursor::decode).transpose()
    }

    pub fn since(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        self.since
            .as_deref()
            .map(|s| calendar::since(s).ok_or_else(|| calendar::bad_day("--since", s)))
            .transpose()
    }

    pub fn csv(&self) -> bool {
        self.format == Some(ListFormat::Csv)
    }

    /// The page size: --limit, else 10,000 rows for CSV, else everything.
    pub fn limit(&self) -> Option<usize> {
        self.limit
            .map(|n| n as usize)
            .or_else(|| self.csv().then_some(report::csv::MAX_ROWS))
    }

    /// Whether JSON is paged (an object with next_cursor) or a plain array.
    pub fn paged(&self) -> bool {
        self.limit.is_some() || self.cursor.is_some()
    }

    /// Prints one page of items as JSON (an array, or with --limit or
    /// --cursor `{"items": [...], "next_cursor": ...}`) or as CSV (the
    /// `headers` fields of each item).
    pub fn print_data(
        &self,
        ui: &Ui,
        items: &[Value],
        next: &Next,
        headers: &[&str],
        command: &str,
    ) {
        if self.json {
            if self.paged() {
                ui.out(&json::to_pretty_string(&json!({
                    "items": items,
                    "next_cursor": next.cursor,
                })));
            } else {
                ui.out(&json::to_pretty_string(&items));
            }
            return;
        }
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|item| {
                headers
                    .iter()
                    .map(|h| report::csv::text(&item[*h]))
                    .collect()
            })
            .collect();
        ui.out(&report::csv::render(headers, &rows));
        self.next_page_note(ui, next, command);
    }

    /// On stderr, after a page that is not the last: the command for the next.
    pub fn next_page_note(&self, ui: &Ui, next: &Next, command: &str) {
        let Some(c) = &next.cursor else { return };
        let limit = self
            .limit()
            .map_or(String::new(), |l| format!(" --limit {l}"));
        let format = if self.csv() { " --format csv" } else { "" };
        ui.note(&format!(
            "{} more; next page: {command}{limit} --cursor {c}{format}",
            next.remaining
        ));
    }
}
