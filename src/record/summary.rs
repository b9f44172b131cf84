//! What `run list` shows of each run, read as cheaply as possible: from a
//! derived index in the git directory (`.git/orch/run-index`, never
//! committed) for every run whose `RUN.json` has not changed since it was
//! indexed, and from `RUN.json` itself (only the fields shown; attempts and
//! validations are skipped by the parser, many records on all cores) for
//! the rest. The index can only save time, never change the answer: an
//! entry is used only while `RUN.json` has exactly the stamp it had when it
//! was read (inode, size, modification and change time: no edit, copy or
//! checkout keeps all four), entries for files changed too recently to
//! tell (`Stamp::settled`) are not kept, and an index that is damaged in any way (it carries a
//! checksum) or from another version is ignored and rebuilt.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{Deserializer, SeqAccess, Visitor};

use crate::error::{Error, Result};
use crate::record::store::Store;
use crate::record::{GateStatus, RunStatus};
use crate::storage::lines::{escape, unescape};
use crate::storage::stamp::{self, Dir, Stamp};
use crate::storage::{atomic, layout, regular};
use crate::{hash, par};

/// One run as `run list` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummary {
    pub run_id: String,
    pub workflow: SummaryWorkflow,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Gates done (passed or skipped).
    pub gates_passed: usize,
    pub gates_total: usize,
    /// Warnings the done gates passed with.
    pub warnings: u32,
    /// Whether a gate finished (passing or not), so the run recorded
    /// outputs under its artifact path.
    pub outputs_recorded: bool,
    /// The timestamp of the last event, if any.
    pub last_event_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SummaryWorkflow {
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub artifact_path: String,
}

impl RunSummary {
    /// (done, total) gates.
    pub fn gate_counts(&self) -> (usize, usize) {
        (self.gates_passed, self.gates_total)
    }

    /// Warnings the run's done gates passed with.
    pub fn warnings(&self) -> u32 {
        self.warnings
    }

    pub fn last_activity(&self) -> &str {
        self.last_event_at.as_deref().unwrap_or(&self.started_at)
    }
}

/// The fields of RUN.json the summary needs; serde skips the rest.
#[derive(Deserialize)]
struct Raw {
    run_id: String,
    workflow: SummaryWorkflow,
    status: RunStatus,
    started_at: String,
    #[serde(default)]
    finished_at: Option<String>,
    gates: Vec<RawGate>,
    #[serde(default)]
    events: LastEvent,
}

#[derive(Deserialize)]
struct RawGate {
    status: GateStatus,
    #[serde(default)]
    warnings: Option<u32>,
}

/// The timestamp of the last event, read from the events array without
/// keeping the rest.
#[derive(Default)]
struct LastEvent(Option<String>);

impl<'de> Deserialize<'de> for LastEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Stamp {
            #[serde(default)]
            timestamp: Option<String>,
        }
        struct Last;
        impl<'de> Visitor<'de> for Last {
            type Value = LastEvent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of events")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<LastEvent, A::Error> {
                let mut last = None;
                while let Some(stamp) = seq.next_element::<Stamp>()? {
                    if stamp.timestamp.is_some() {
                        last = stamp.timestamp;
                    }
                }
                Ok(LastEvent(last))
            }
        }
        d.deserialize_seq(Last)
    }
}

impl From<Raw> for RunSummary {
    fn from(r: Raw) -> Self {
        RunSummary {
            run_id: r.run_id,
            workflow: r.workflow,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            gates_passed: r.gates.iter().filter(|g| g.status.is_done()).count(),
            gates_total: r.gates.len(),
            warnings: r
                .gates
                .iter()
                .filter(|g| g.status.is_done())
                .filter_map(|g| g.warnings)
                .fold(0, u32::saturating_add),
            outputs_recorded: r
                .gates
                .iter()
                .any(|g| matches!(g.status, GateStatus::Pass | GateStatus::Fail)),
            last_event_at: r.events.0,
        }
    }
}

/// A run's summary, or why it could not be read.
pub type Listed = std::result::Result<RunSummary, (String, Error)>;

/// Summaries of every run, newest first (by `started_at`, then id).
/// Records that cannot be read are returned as errors next to their id, so
/// one bad file does not hide the rest.
pub fn list(store: &Store) -> Result<Vec<Listed>> {
    let repo = store.repo();
    let started = stamp::now_ns();
    // The index is read while the runs folder is listed.
    let (ids, index) = std::thread::scope(|scope| {
        let index =
            scope.spawn(|| Index::load(repo.git_dir().map(|d| d.join("orch").join("run-index"))));
        let ids = store.ids();
        (ids, index.join())
    });
    let ids = ids?;
    let index = index.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let indexed = index.entries.len();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One stat per run decides whether the index can answer for it.
    let runs = Dir::open(&store.runs_dir()).map_err(|e| Error::read(layout::RUNS_DIR, e))?;
    let stats = par::map_with(
        &ids,
        || (),
        |(), id| match runs.stat(&format!("{id}/{}", layout::RUN_JSON_IN_RUN)) {
            Ok(stat) => Some(Ok(stat)),
            // A folder with no record (leftover logs) is not a run.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => Some(Err(e)),
        },
    );
    // Both lists are sorted by id: walk them together.
    let mut from_index = index.entries.into_iter().peekable();
    let mut rows: Vec<Row> = Vec::with_capacity(ids.len());
    for (id, stat) in ids.iter().zip(stats) {
        while from_index
            .peek()
            .is_some_and(|(_, s)| s.run_id.as_str() < id.as_str())
        {
            from_index.next();
        }
        let cached = from_index.next_if(|(_, s)| s.run_id == *id);
        rows.push(match stat {
            None => continue,
            Some(Err(e)) => Row::Failed(id.clone(), Error::read(layout::run_json(id), e)),
            Some(Ok((stamp, true))) if cached.as_ref().is_some_and(|(s, _)| *s == stamp) => {
                Row::Indexed(stamp, cached.map(|(_, s)| s).expect("checked"))
            }
            Some(Ok(_)) => Row::Unread(id.clone()),
        });
    }
    // The rest are read, on all cores.
    let unread: Vec<(usize, String)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Row::Unread(id) => Some((i, id.clone())),
            _ => None,
        })
        .collect();
    let read = par::map_with(
        &unread,
        || (),
        |(), (_, id)| read_summary(repo, id, started),
    );
    for ((i, _), row) in unread.iter().zip(read) {
        rows[*i] = row;
    }
    let fresh = rows.iter().filter(|r| matches!(r, Row::Read(..))).count();
    let kept = rows
        .iter()
        .filter(|r| matches!(r, Row::Indexed(..)))
        .count();
    if let Some(path) = index
        .path
        .as_deref()
        .filter(|_| fresh > 0 || kept != indexed)
    {
        save_index(path, &rows);
    }
    let mut out: Vec<Listed> = rows
        .into_iter()
        .map(|r| match r {
            Row::Indexed(_, s) | Row::Read(_, s) | Row::Racy(s) => Ok(s),
            Row::Failed(id, e) => Err((id, e)),
            Row::Unread(id) => unreachable!("run {id} was read"),
        })
        .collect();
    out.sort_by(|a, b| key(b).cmp(&key(a)));
    Ok(out)
}

/// A run on its way into the listing.
enum Row {
    /// The index answered (RUN.json has the stamp it was indexed with).
    Indexed(Stamp, RunSummary),
    /// Still to be read.
    Unread(String),
    /// Read from RUN.json, settled enough to index.
    Read(Stamp, RunSummary),
    /// Read from RUN.json, changed too recently to index.
    Racy(RunSummary),
    Failed(String, Error),
}

/// A run's summary from its RUN.json.
fn read_summary(repo: &crate::repo::Repo, id: &str, started: i128) -> Row {
    let rel = layout::run_json(id);
    let fail = |e| Row::Failed(id.to_string(), e);
    let mut file = match regular::open(&repo.join(&rel)) {
        Ok(f) => f,
        Err(e) => return fail(Error::read(&rel, e)),
    };
    // Stamped before reading: a change while reading moves it past this.
    let stamp = match file.metadata() {
        Ok(m) => Stamp::of(&m),
        Err(e) => return fail(Error::read(&rel, e)),
    };
    let mut bytes = Vec::new();
    if let Err(e) = std::io::Read::read_to_end(&mut file, &mut bytes) {
        return fail(Error::read(&rel, e));
    }
    match serde_json::from_slice::<Raw>(&bytes) {
        Ok(raw) if stamp.settled(started) => Row::Read(stamp, raw.into()),
        Ok(raw) => Row::Racy(raw.into()),
        // Reparse as text for the position (or a UTF-8 error) of the problem.
        Err(_) => fail(match std::str::from_utf8(&bytes) {
            Ok(text) => crate::json::parse::<Raw>(text, &rel)
                .err()
                .unwrap_or_else(|| Error::input(format!("{rel}: not a run record"))),
            Err(_) => Error::read(
                &rel,
                std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
            ),
        }),
    }
}

fn key(r: &Listed) -> (&str, &str) {
    match r {
        Ok(s) => (s.started_at.as_str(), s.run_id.as_str()),
        Err((id, _)) => ("", id.as_str()),
    }
}

const INDEX_HEADER: &str = "orch-run-index 2";

/// The derived index: (stamp of RUN.json, summary) by run id, sorted.
struct Index {
    path: Option<PathBuf>,
    entries: Vec<(Stamp, RunSummary)>,
}

impl Index {
    /// The index at `path`; empty when missing, damaged or of another version.
    fn load(path: Option<PathBuf>) -> Index {
        let entries = path
            .as_deref()
            .and_then(|p| regular::read(p).ok())
            .and_then(|bytes| parse_index(&bytes))
            .unwrap_or_default();
        Index { path, entries }
    }
}

/// Replaces the index with the rows that can be trusted later (best
/// effort: an index that cannot be written only costs time next listing).
fn save_index(path: &std::path::Path, rows: &[Row]) {
    let mut body = String::with_capacity(rows.len() * 200);
    for row in rows {
        let (Row::Indexed(s, r) | Row::Read(s, r)) = row else {
            continue;
        };
        let fields = [
            r.run_id.as_str(),
            &s.ino.to_string(),
            &s.size.to_string(),
            &s.mtime_ns.to_string(),
            &s.ctime_ns.to_string(),
            r.status.as_str(),
            &r.started_at,
            &opt(r.finished_at.as_deref()),
            &r.workflow.name,
            &r.workflow.slug,
            &r.workflow.artifact_path,
            &r.gates_passed.to_string(),
            &r.gates_total.to_string(),
            &r.warnings.to_string(),
            if r.outputs_recorded { "1" } else { "0" },
            &opt(r.last_event_at.as_deref()),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                body.push('\t');
            }
            body.push_str(&escape(f));
        }
        body.push('\n');
    }
    let text = format!("{INDEX_HEADER} {}\n{body}", hash::bytes(body.as_bytes()));
    let _ = atomic::replace(path, text.as_bytes());
}

/// An optional value: `-` for none, `=` before a value.
fn opt(v: Option<&str>) -> String {
    v.map_or_else(|| "-".to_string(), |s| format!("={s}"))
}

/// A field written by `opt`: `Err` when it is neither.
fn parse_opt(v: &str) -> std::result::Result<Option<String>, ()> {
    match v {
        "-" => Ok(None),
        _ => v.strip_prefix('=').map(|s| Some(s.to_string())).ok_or(()),
    }
}

/// One line of the index.
fn parse_index_line(line: &str) -> Option<(Stamp, RunSummary)> {
    let mut f = line.split('\t');
    let mut next = || f.next();
    let (id, ino, size, mtime, ctime) = (next()?, next()?, next()?, next()?, next()?);
    let (status, started, finished, name, slug) = (next()?, next()?, next()?, next()?, next()?);
    let artifact_path = next()?;
    let (passed, total, warnings, recorded, last) = (next()?, next()?, next()?, next()?, next()?);
    if next().is_some() {
        return None;
    }
    let stamp = Stamp {
        ino: ino.parse().ok()?,
        size: size.parse().ok()?,
        mtime_ns: mtime.parse().ok()?,
        ctime_ns: ctime.parse().ok()?,
    };
    let summary = RunSummary {
        run_id: unescape(id)?,
        workflow: SummaryWorkflow {
            name: unescape(name)?,
            slug: unescape(slug)?,
            artifact_path: unescape(artifact_path)?,
        },
        status: RunStatus::try_from(status.to_string()).ok()?,
        started_at: unescape(started)?,
        finished_at: parse_opt(&unescape(finished)?).ok()?,
        gates_passed: passed.parse().ok()?,
        gates_total: total.parse().ok()?,
        warnings: warnings.parse().ok()?,
        outputs_recorded: match recorded {
            "1" => true,
            "0" => false,
            _ => return None,
        },
        last_event_at: parse_opt(&unescape(last)?).ok()?,
    };
    Some((stamp, summary))
}

/// The entries of an index file, or None if any part of it is damaged.
fn parse_index(bytes: &[u8]) -> Option<Vec<(Stamp, RunSummary)>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (header, body) = text.split_once('\n')?;
    let sha = header.strip_prefix(INDEX_HEADER)?.strip_prefix(' ')?;
    if hash::bytes(body.as_bytes()) != sha {
        return None;
    }
    // Parsed on all cores, in pieces cut at line ends.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut pieces: Vec<&str> = Vec::with_capacity(cores);
    let mut rest = body;
    while !rest.is_empty() {
        let at = (body.len() / cores).max(1).min(rest.len());
        let end = rest.as_bytes()[at..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(rest.len(), |i| at + i + 1);
        let (piece, tail) = rest.split_at(end);
        pieces.push(piece);
        rest = tail;
    }
    let parsed = par::map_with(
        &pieces,
        || (),
        |(), piece| {
            piece
                .lines()
                .map(parse_index_line)
                .collect::<Option<Vec<_>>>()
        },
    );
    let mut out: Vec<(Stamp, RunSummary)> = Vec::with_capacity(body.len() / 200);
    for piece in parsed {
        out.extend(piece?);
    }
    // Written sorted by id; anything else is not an index orch wrote.
    out.windows(2)
        .all(|w| w[0].1.run_id < w[1].1.run_id)
        .then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, odd: &str) -> RunSummary {
        RunSummary {
            run_id: id.into(),
            workflow: SummaryWorkflow {
                name: format!("w{odd}"),
                slug: "s".into(),
                artifact_path: format!("essays/{odd}"),
            },
            status: RunStatus::Failed,
            started_at: "2026-01-01T00:00:00.000Z".into(),
            finished_at: None,
            gates_passed: 1,
            gates_total: 3,
            warnings: 2,
            outputs_recorded: true,
            last_event_at: Some(odd.into()),
        }
    }

    #[test]
    fn the_index_round_trips_and_any_damage_discards_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run-index");
        let stamp = Stamp {
            ino: 7,
            size: 9,
            mtime_ns: 1,
            ctime_ns: -2,
        };
        let (a, b) = (summary("a", "tab\there\\n"), summary("b", ""));
        let rows = [
            Row::Indexed(stamp, a.clone()),
            Row::Racy(summary("r", "")),
            Row::Read(stamp, b.clone()),
        ];
        save_index(&path, &rows);
        let loaded = Index::load(Some(path.clone()));
        assert_eq!(loaded.entries, vec![(stamp, a), (stamp, b)]);
        let bytes = std::fs::read(&path).unwrap();
        for at in [0, 20, bytes.len() / 2, bytes.len() - 2] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x20;
            std::fs::write(&path, &damaged).unwrap();
            assert!(
                Index::load(Some(path.clone())).entries.is_empty(),
                "byte {at}"
            );
        }
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        assert!(Index::load(Some(path)).entries.is_empty(), "truncated");
    }
}
