//! Keyset paging for lists that are sorted newest first by `(time, id)`
//! (runs by start time, tasks by creation time). A page ends with a cursor
//! naming its last item's key; the next page starts strictly after it. So
//! paging through a list while items are added yields every item that
//! existed exactly once: a new item sorts before the pages already read
//! (it is newer), and nothing shifts under the cursor the way an offset
//! would.
//!
//! The cursor is opaque to users: base64url of `v1`, the time and the id.

use crate::error::{Error, Result};

/// Where the next page starts (after this key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub at: String,
    pub id: String,
}

/// One page and the cursor for the next (`None`: this was the last).
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// Items left after this page.
    pub remaining: usize,
}

/// What follows a page: the cursor to pass, and how many items are left.
#[derive(Clone, Debug, Default)]
pub struct Next {
    pub cursor: Option<String>,
    pub remaining: usize,
}

impl<T> Page<T> {
    pub fn next(&self) -> Next {
        Next {
            cursor: self.next_cursor.clone(),
            remaining: self.remaining,
        }
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        base64url(format!("v1\n{}\n{}", self.at, self.id).as_bytes())
    }

    /// Reads a cursor given on the command line.
    pub fn decode(text: &str) -> Result<Cursor> {
        let bad = || {
            Error::input(format!("--cursor `{text}` is not a cursor orch gave"))
                .hint("pass the next_cursor of the previous page (or the --cursor in its last line) unchanged")
        };
        let bytes = unbase64url(text.trim()).ok_or_else(bad)?;
        let s = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = s.splitn(3, '\n');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("v1"), Some(at), Some(id)) => Ok(Cursor {
                at: at.to_string(),
                id: id.to_string(),
            }),
            _ => Err(bad()),
        }
    }
}

/// Takes one page from `items` (sorted newest first by `key`): those after
/// `cursor`, at most `limit` of them.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> (&str, &str),
    cursor: Option<&Cursor>,
    limit: Option<usize>,
) -> Page<T> {
    let mut rest: Vec<T> = match cursor {
        None => items,
        Some(c) => items
            .into_iter()
            .filter(|t| key(t) < (c.at.as_str(), c.id.as_str()))
            .collect(),
    };
    let total = rest.len();
    let limit = limit.unwrap_or(usize::MAX).min(total);
    let remaining = total - limit;
    rest.truncate(limit);
    let next_cursor = (remaining > 0).then(|| rest.last()).flatten().map(|last| {
        let (at, id) = key(last);
        Cursor {
            at: at.to_string(),
            id: id.to_string(),
        }
        .encode()
    });
    Page {
        items: rest,
        next_cursor,
        remaining,
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn unbase64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        if chunk.len() < 2 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = ALPHABET.iter().position(|a| a == c)?;
            n |= u32::try_from(v).ok()? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push(u8::try_from((n >> (16 - 8 * i)) & 255).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor {
            at: "2026-01-19T14:30:12.004Z".into(),
            id: "run_x_ab12cd".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in ["", "%%%", "abc", &base64url(b"v2\na\nb")] {
            assert!(Cursor::decode(bad).is_err(), "{bad}");
        }
        for n in 0..10 {
            let bytes: Vec<u8> = (0..n).map(|i: u8| i.wrapping_mul(37)).collect();
            assert_eq!(unbase64url(&base64url(&bytes)).unwrap(), bytes);
        }
    }

    fn key(t: &(String, String)) -> (&str, &str) {
        (t.0.as_str(), t.1.as_str())
    }

    #[test]
    fn pages_follow_the_cursor() {
        let items: Vec<(String, String)> = (0..5)
            .rev()
            .map(|i| (format!("t{i}"), format!("id{i}")))
            .collect();
        let first = page(items.clone(), key, None, Some(2));
        assert_eq!(first.items.len(), 2);
        assert_eq!(first.remaining, 3);
        let c = Cursor::decode(first.next_cursor.as_ref().unwrap()).unwrap();
        let second = page(items.clone(), key, Some(&c), Some(2));
        assert_eq!(second.items[0].1, "id2");
        let c = Cursor::decode(second.next_cursor.as_ref().unwrap()).unwrap();
        let last = page(items, key, Some(&c), Some(2));
        assert_eq!(last.items.len(), 1);
        assert_eq!(last.next_cursor, None);
    }
}
