//! The source-count heuristic of `min_sources` (FORMATS.md): the largest of
//! four ways a research file lists its sources, so that citations written as
//! headings, links, labelled lines or plain bullets all count.

use std::collections::HashSet;

/// How many sources a file lists, by each method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceCount {
    /// `###` headings that are not section headings.
    pub headings: usize,
    /// Distinct `http(s)://` URLs.
    pub urls: usize,
    /// Lines starting `- **URL**:`, `- **Source**:` or `- **Reference**:`.
    pub labelled: usize,
    /// Top-level bullets with at least 11 characters of text.
    pub bullets: usize,
}

impl SourceCount {
    pub fn best(&self) -> usize {
        self.headings
            .max(self.urls)
            .max(self.labelled)
            .max(self.bullets)
    }

    /// Which method gave the count.
    pub fn method(&self) -> &'static str {
        let best = self.best();
        if best == 0 {
            "none"
        } else if self.headings == best {
            "headings"
        } else if self.urls == best {
            "urls"
        } else if self.labelled == best {
            "labelled_lines"
        } else {
            "bullets"
        }
    }
}

const SECTION_WORDS: [&str; 8] = [
    "primary",
    "secondary",
    "tertiary",
    "notes",
    "references",
    "bibliography",
    "sources",
    "overview",
];

fn is_section_heading(title: &str) -> bool {
    let lower = title.trim().to_lowercase();
    if SECTION_WORDS.iter().any(|w| lower.starts_with(w)) {
        return true;
    }
    lower
        .strip_prefix("tier")
        .is_some_and(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_digit()))
}

/// Counts the sources in a research file.
pub fn count(text: &str) -> SourceCount {
    let mut c = SourceCount::default();
    let mut urls: HashSet<&str> = HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("###")
            && (rest.is_empty() || rest.starts_with([' ', '\t']))
            && !is_section_heading(rest)
        {
            c.headings += 1;
        }
        let lower = line.trim_start().to_ascii_lowercase();
        if ["- **url**:", "- **source**:", "- **reference**:"]
            .iter()
            .any(|p| lower.starts_with(p))
        {
            c.labelled += 1;
        }
        if let Some(rest) = line.strip_prefix("- ")
            && rest.trim_end().chars().count() >= 11
        {
            c.bullets += 1;
        }
        let mut rest = line;
        while let Some(i) = find_scheme(rest) {
            let url_start = &rest[i..];
            let end = url_start
                .find(|ch: char| ch.is_whitespace() || matches!(ch, ')' | '>' | ']'))
                .unwrap_or(url_start.len());
            let url = &url_start[..end];
            if url.len() > "https://".len() {
                urls.insert(url);
            }
            rest = &url_start[end.max(1)..];
        }
    }
    c.urls = urls.len();
    c
}

fn find_scheme(s: &str) -> Option<usize> {
    match (s.find("http://"), s.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_skip_section_titles() {
        let text = "### Primary Sources\n### Tier 1\n### Notes\n### Smith, *Robots* (1921)\n#### Sub\n###Nospace\n### Čapek letter\n";
        let c = count(text);
        assert_eq!(c.headings, 2);
        assert_eq!(c.best(), 2);
        assert_eq!(c.method(), "headings");
    }

    #[test]
    fn urls_are_distinct_and_end_at_delimiters() {
        let text = "See [a](https://a.org/x) and <https://b.org/y>, https://a.org/x again\n[c]: http://c.org/z]\n";
        assert_eq!(count(text).urls, 3);
    }

    #[test]
    fn labelled_lines_and_bullets() {
        let text = "- **Source**: Archive A\n- **URL**: none\n  - nested bullet that is long enough\n- short\n- exactly 11c\n";
        let c = count(text);
        assert_eq!(c.labelled, 2);
        assert_eq!(c.bullets, 3);
        assert_eq!(c.best(), 3);
        assert_eq!(c.method(), "bullets");
    }

    #[test]
    fn empty_file_counts_nothing() {
        assert_eq!(count("").best(), 0);
        assert_eq!(count("").method(), "none");
    }
}
