//! `orch run logs`: an invocation's output as its agent writes it. Logs
//! live in `logs/invocations/<id>/` (outside the committed record); an
//! invocation has ended once the run's record lists it, or once nobody
//! holds the run's lease any more (its owner stopped or died), so
//! following one never waits forever.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::record::store::Store;
use crate::repo::Repo;
use crate::storage::layout;
use crate::{env, lease};

/// Written beside an invocation's logs when it starts, so its gate is known
/// before the record lists it.
pub const META_FILE: &str = "invocation.json";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    pub gate: String,
    pub attempt: u32,
}

/// Which stream to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn file(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout.log",
            Stream::Stderr => "stderr.log",
        }
    }
}

/// One invocation whose logs are on this machine.
#[derive(Clone, Debug)]
pub struct Logged {
    pub run_id: String,
    pub id: String,
    pub gate: Option<String>,
    pub dir: PathBuf,
}

/// The folder of an invocation's logs, repo-relative.
pub fn dir_rel(run_id: &str, invocation: &str) -> String {
    format!("{}/invocations/{invocation}", layout::logs_dir(run_id))
}

/// Writes the meta file of an invocation that is starting. It is a log
/// (never committed), so it is replaced atomically but never synced.
pub fn write_meta(repo: &Repo, run_id: &str, invocation: &str, meta: &Meta) -> Result<()> {
    let rel = format!("{}/{META_FILE}", dir_rel(run_id, invocation));
    crate::storage::atomic::replace(
        &repo.join(&rel),
        crate::json::to_pretty_string(meta).as_bytes(),
    )
    .map_err(|e| Error::write(&rel, e))
}

/// The invocation to show: `invocation` (an id, or a unique prefix or
/// suffix of one), else the latest of `gate`, else the run's latest.
pub fn select(
    repo: &Repo,
    run_query: &str,
    gate: Option<&str>,
    invocation: Option<&str>,
) -> Result<Logged> {
    let store = Store::new(repo);
    let run_id = store.resolve(run_query)?;
    let run = store.load(&run_id)?;
    let root = repo.join(&format!("{}/invocations", layout::logs_dir(&run_id)));
    let mut ids: Vec<String> = std::fs::read_dir(&root)
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    let gate_of = |id: &str| -> Option<String> {
        run.invocations
            .iter()
            .find(|i| i.id == id)
            .map(|i| i.gate.clone())
            .or_else(|| {
                let text =
                    crate::storage::regular::read_to_string(&root.join(id).join(META_FILE)).ok()?;
                Some(serde_json::from_str::<Meta>(&text).ok()?.gate)
            })
    };
    let id = match invocation {
        Some(q) => {
            let found: Vec<&String> = ids
                .iter()
                .filter(|id| *id == q || id.starts_with(q) || id.ends_with(q))
                .collect();
            match found.as_slice() {
                [one] => (*one).clone(),
                [] => {
                    return Err(Error::input(format!(
                        "run {run_id} has no logs of invocation `{q}`"
                    ))
                    .hint(format!(
                        "`orch run show --run {run_id}` lists its invocations; logs stay on the machine that ran them"
                    )));
                }
                many => {
                    return Err(Error::input(format!(
                        "`{q}` matches {} invocations of run {run_id}",
                        many.len()
                    ))
                    .hint("give more of the id"));
                }
            }
        }
        None => ids
            .iter()
            .rev()
            .find(|id| gate.is_none_or(|g| gate_of(id).as_deref() == Some(g)))
            .cloned()
            .ok_or_else(|| {
                let what = gate.map_or_else(String::new, |g| format!(" of gate {g}"));
                Error::input(format!("run {run_id} has no invocation logs{what} yet"))
                    .hint("logs appear when an agent starts; they stay on the machine that ran it")
            })?,
    };
    Ok(Logged {
        gate: gate_of(&id),
        dir: root.join(&id),
        run_id,
        id,
    })
}

/// True once the invocation has ended: its record lists it, or nobody
/// drives the run any more.
pub fn ended(repo: &Repo, l: &Logged) -> bool {
    let recorded = match Store::new(repo).load(&l.run_id) {
        Ok(r) => r.invocations.iter().any(|i| i.id == l.id),
        Err(_) => true, // the run is gone: nothing will be written
    };
    recorded || !matches!(lease::state(repo, &l.run_id), lease::State::Live(_))
}

/// Copies the log to `out`; with `follow`, keeps copying what is appended
/// until the invocation ends, looking every `ORCH_POLL_INTERVAL` (at most
/// 0.2 s).
pub fn print(
    repo: &Repo,
    l: &Logged,
    stream: Stream,
    follow: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let path = l.dir.join(stream.file());
    let shown = repo
        .relative(&path)
        .unwrap_or_else(|| path.display().to_string());
    let every = env::seconds(env::POLL_INTERVAL, 0.2).min(Duration::from_millis(200));
    let mut at = 0u64;
    loop {
        // Decide before reading, so the last bytes are read after the end.
        let done = !follow || ended(repo, l);
        match crate::storage::regular::open(&path) {
            Ok(mut f) => {
                f.seek(SeekFrom::Start(at))
                    .map_err(|e| Error::read(&shown, e))?;
                let mut buf = Vec::new();
                f.read_to_end(&mut buf)
                    .map_err(|e| Error::read(&shown, e))?;
                at += buf.len() as u64;
                if out.write_all(&buf).and_then(|()| out.flush()).is_err() {
                    return Ok(()); // the reader went away (a closed pipe)
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::read(&shown, e)),
        }
        if done {
            return Ok(());
        }
        std::thread::sleep(every);
    }
}
