//! The queue on PostgreSQL, for teams on many machines. PostgreSQL says
//! who runs what; git keeps what happened (run records stay in each
//! worker's clone, committed as today).
//!
//! The same facts as the file backend, in three tables (`schema.rs`): a
//! task row holds its definition, its highest fence and its current claim;
//! events are rows of their own; the worker registry is a table. Every
//! write to a task locks its row first, so the fence checks of `Backend`
//! hold. A claim is one short transaction: the best candidates `select`
//! ranked, `FOR UPDATE SKIP LOCKED`, the first one still ready taken.
//!
//! One connection per process, behind a mutex (the `postgres` crate is
//! synchronous: no async runtime for one connection). When the server goes
//! away, calls reconnect with backoff for `ORCH_QUEUE_RETRY_S` and retry.

pub mod schema;
mod shortlist;
mod summary;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls, Transaction};

use crate::error::{Error, Result};
use crate::queue::backend::{Backend, Claim, Shortlist, Watch, WorkerRecord, Writer};
use crate::queue::select::Criteria;
use crate::queue::target::redact;
use crate::queue::task::{Event, EventKind, FORMAT_VERSION, StoredTask, TaskDef};
use crate::{clock, env};

pub struct PgBackend {
    config: postgres::Config,
    /// The URL without its password, for messages.
    shown: String,
    conn: Mutex<Option<Client>>,
    retry_for: Duration,
}

/// A failed database call: the connection went away (reconnect and
/// retry), the transaction lost a race (retry), or the database said no
/// (report).
enum Failure {
    Gone(postgres::Error),
    Again,
    Refused(postgres::Error),
}

fn classify(e: postgres::Error) -> Failure {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            // 57P01..03: the server is shutting down or starting; 08: connection.
            if code.starts_with("57P") || code.starts_with("08") {
                Failure::Gone(e)
            // A deadlock (two writers locking tasks that list each other)
            // or a serialization failure: the transaction is run again.
            } else if code == "40P01" || code == "40001" {
                Failure::Again
            } else {
                Failure::Refused(e)
            }
        }
        None => Failure::Gone(e),
    }
}

impl PgBackend {
    /// Connects to the queue at `url`, which must have orch's schema.
    pub fn open(url: &str) -> Result<PgBackend> {
        let backend = PgBackend::connect(url)?;
        let version = backend.with(schema::version)?;
        if version == 0 {
            return Err(Error::input(format!(
                "the database at `{}` has no orch queue yet",
                backend.shown
            ))
            .hint(format!(
                "create it: orch queue init --queue {}",
                backend.shown
            )));
        }
        if version > schema::latest() {
            return Err(Error::conflict(format!(
                "the queue at `{}` has schema version {version}; this orch knows up to {}",
                backend.shown,
                schema::latest()
            ))
            .hint("upgrade orch on this machine"));
        }
        Ok(backend)
    }

    /// Connects without looking at the schema (`orch queue init`).
    pub fn connect(url: &str) -> Result<PgBackend> {
        let shown = redact(url);
        let mut config: postgres::Config = url.parse().map_err(|e| {
            Error::input(format!("cannot use the queue URL `{shown}`: {e}")).hint(
                "write postgres://user@host:5432/db (or postgres://user@%2Fpath%2Fto%2Fsocket/db)",
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("orch");
        }
        let client = config
            .connect(NoTls)
            .map_err(|e| connect_error(&shown, &e))?;
        Ok(PgBackend {
            config,
            shown,
            conn: Mutex::new(Some(client)),
            retry_for: env::seconds(env::QUEUE_RETRY_S, 60.0),
        })
    }

    /// The URL without its password.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn lock(&self) -> MutexGuard<'_, Option<Client>> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the connection; when the connection is gone, reconnects
    /// with backoff and runs it again, for up to `retry_for`.
    fn with<T>(&self, mut f: impl FnMut(&mut Client) -> Result<T, postgres::Error>) -> Result<T> {
        let start = Instant::now();
        let mut backoff = Duration::from_millis(50);
        let mut guard = self.lock();
        loop {
            let last = match guard.as_mut() {
                Some(client) => match f(client).map_err(classify) {
                    Ok(v) => return Ok(v),
                    Err(Failure::Refused(e)) => return Err(self.refused(&e)),
                    // Another transaction holds what this one needs next;
                    // PostgreSQL chose this one to give way: run it again.
                    Err(Failure::Again) => "a deadlock or serialization failure".to_string(),
                    Err(Failure::Gone(e)) => {
                        *guard = None;
                        e.to_string()
                    }
                },
                None => match self.config.connect(NoTls) {
                    Ok(c) => {
                        *guard = Some(c);
                        continue;
                    }
                    Err(e) => e.to_string(),
                },
            };
            if start.elapsed() + backoff > self.retry_for {
                return Err(Error::unavailable(format!(
                    "gave up on the queue's database at `{}` after {}s: {last}",
                    self.shown,
                    self.retry_for.as_secs()
                ))
                .hint("check that PostgreSQL is up; ORCH_QUEUE_RETRY_S sets how long orch keeps trying"));
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    /// Runs `f` in a transaction (retried whole when the connection is lost).
    fn tx<T>(&self, f: impl FnMut(&mut Transaction) -> Result<T, postgres::Error>) -> Result<T> {
        self.tx_at("pg-commit", f)
    }

    /// `tx`, whose commit is fault step `step` (test-only, `ORCH_FAULT`:
    /// `<step>-reply` acts as if the reply to the commit never came).
    fn tx_at<T>(
        &self,
        step: &str,
        mut f: impl FnMut(&mut Transaction) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut reply_lost = false;
        let v = self.with(|c| {
            let mut tx = c.transaction()?;
            let v = f(&mut tx)?;
            tx.commit()?;
            reply_lost = crate::storage::fault::at(&format!("{step}-reply")).is_err();
            Ok(v)
        })?;
        if reply_lost {
            // The transaction committed; the connection is dropped and the
            // transaction run again, as when a reply is really lost.
            *self.lock() = None;
            return self.tx_at(step, f);
        }
        Ok(v)
    }

    fn refused(&self, e: &postgres::Error) -> Error {
        Error::conflict(format!(
            "the queue's database at `{}` refused: {}",
            self.shown,
            db_message(e)
        ))
        .hint("`orch queue status` shows the queue; `orch queue init` migrates an old schema")
    }

    /// `orch queue init`: creates or migrates the schema.
    pub fn migrate(&self) -> Result<(i32, i32)> {
        self.with(schema::migrate)
    }

    /// The schema version.
    pub fn version(&self) -> Result<i32> {
        self.with(schema::version)
    }

    /// Runs `f` unless another process holds the advisory lock `key`; false
    /// when one does (it is doing the same thing now).
    pub fn exclusive(&self, key: i64, f: &mut dyn FnMut() -> Result<()>) -> Result<bool> {
        let got: bool = self.with(|c| {
            c.query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .map(|r| r.get(0))
        })?;
        if !got {
            return Ok(false);
        }
        let result = f();
        // A lost connection released the lock already.
        let _ = self.with(|c| c.execute("SELECT pg_advisory_unlock($1)", &[&key]));
        result.map(|()| true)
    }
}

/// A copy of more rows than this is a bulk load (`orch queue import`).
const BULK: usize = 1000;

/// A row's `heartbeat_at` as its age in milliseconds by the server's
/// clock, so machines whose clocks disagree still agree on who is stale.
const AGE: &str = "(extract(epoch FROM now() - heartbeat_at) * 1000)::bigint";

/// The time `age_ms` before `now` on this machine's clock.
fn aged(now: chrono::DateTime<chrono::Utc>, age_ms: i64) -> String {
    clock::timestamp(now - chrono::Duration::milliseconds(age_ms.max(0)))
}

fn db_message(e: &postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |db| db.message().to_string())
}

/// The error for a first connection that failed: the server refused who
/// we are (a wrong URL or password: exit 2), or could not be reached (exit 5).
fn connect_error(shown: &str, e: &postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        // 28: authorization (role, password); 3D: no such database.
        if code.starts_with("28") || code.starts_with("3D") {
            return Error::input(format!(
                "PostgreSQL at `{shown}` refused the connection: {}",
                db.message()
            ))
            .hint("check the user, password and database in the URL (--queue or ORCH_QUEUE_URL)");
        }
    }
    let why = std::error::Error::source(e).map_or_else(|| e.to_string(), ToString::to_string);
    Error::unavailable(format!("cannot reach PostgreSQL at `{shown}`: {why}"))
        .hint(format!(
            "is the server running? `pg_isready -d '{shown}'` checks"
        ))
        .hint("without --queue and ORCH_QUEUE_URL, orch uses the file queue in this repository")
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("queue values serialize")
}

/// Parses a stored JSON value; a row orch cannot read is reported, not skipped.
fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        Error::conflict(format!(
            "the queue's database holds an unreadable {what}: {e}"
        ))
        .hint(
            "it was written by something other than this orch; `orch queue export` shows the rest",
        )
    })
}

fn no_task(id: &str) -> Error {
    Error::input(format!("there is no task `{id}`")).hint("`orch task list` shows the tasks")
}

/// What a task row says, read under its lock.
struct Row {
    def: String,
    fence: i64,
    claim: Option<String>,
}

fn lock_row(tx: &mut Transaction, id: &str) -> Result<Option<Row>, postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT def, fence, claim FROM orch_tasks WHERE id = $1 FOR UPDATE",
            &[&id],
        )?
        .map(|r| Row {
            def: r.get(0),
            fence: r.get(1),
            claim: r.get(2),
        }))
}

fn events_of(tx: &mut Transaction, ids: &[&str]) -> Result<Vec<(String, String)>, postgres::Error> {
    Ok(tx
        .query(
            "SELECT task, body FROM orch_events WHERE task = ANY($1) ORDER BY task, seq",
            &[&ids],
        )?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Whether task `id` has an event whose JSON is exactly `body`.
fn has_event(tx: &mut Transaction, id: &str, body: &str) -> Result<bool, postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM orch_events WHERE task = $1 AND body = $2 LIMIT 1",
            &[&id, &body],
        )?
        .is_some())
}

/// Appends an event; `wake`: it may make work ready, so idle workers are
/// told (at commit) rather than left to poll.
fn insert_event(
    tx: &mut Transaction,
    id: &str,
    body: &str,
    wake: bool,
) -> Result<(), postgres::Error> {
    tx.execute(
        "INSERT INTO orch_events (task, seq, body)
         SELECT $1, coalesce(max(seq), 0) + 1, $2 FROM orch_events WHERE task = $1",
        &[&id, &body],
    )?;
    if wake {
        notify(tx, id)?;
    }
    Ok(())
}

/// Wakes the workers that `LISTEN` (delivered when the transaction commits).
fn notify(tx: &mut Transaction, id: &str) -> Result<(), postgres::Error> {
    tx.execute("SELECT pg_notify($1, $2)", &[&schema::CHANNEL, &id])
        .map(|_| ())
}

/// Whether an event may make work ready: not a run starting or reporting
/// progress (those only keep a claimed task busy).
fn wakes(event: &Event) -> bool {
    !matches!(event.kind, EventKind::Started | EventKind::Progress)
}

/// `Backend::watch` on PostgreSQL: a connection of its own that `LISTEN`s
/// on the queue's channel. It reconnects when the server goes away (and
/// says "changed" then: what happened meanwhile was not heard).
pub struct PgWatch {
    config: postgres::Config,
    client: Option<Client>,
}

impl PgWatch {
    fn listen(config: &postgres::Config) -> Option<Client> {
        let mut c = config.connect(NoTls).ok()?;
        c.batch_execute(&format!("LISTEN {}", schema::CHANNEL))
            .ok()?;
        Some(c)
    }
}

impl Watch for PgWatch {
    fn wait(&mut self, timeout: Duration) -> bool {
        let Some(client) = self.client.as_mut() else {
            self.client = PgWatch::listen(&self.config);
            if self.client.is_none() {
                std::thread::sleep(timeout);
            }
            return self.client.is_some();
        };
        let heard = {
            let mut n = client.notifications();
            let first = n.timeout_iter(timeout).next();
            // Many changes at once wake once.
            if matches!(first, Ok(Some(_))) {
                while let Ok(Some(_)) = n.iter().next() {}
            }
            first
        };
        let lost = heard.is_err() || client.is_closed();
        if lost {
            self.client = None;
        }
        matches!(heard, Ok(Some(_)))
    }
}

/// A task from its stored definition and event bodies (oldest first).
fn stored<'a>(def: &str, bodies: impl IntoIterator<Item = &'a str>) -> Result<StoredTask> {
    let def: TaskDef = from_json(def, "task")?;
    let events = bodies
        .into_iter()
        .map(|body| from_json(body, "task event"))
        .collect::<Result<Vec<Event>>>()?;
    Ok(StoredTask { def, events })
}

/// The bodies of `(task, body)` rows.
fn bodies(rows: &[(String, String)]) -> impl Iterator<Item = &str> {
    rows.iter().map(|(_, b)| b.as_str())
}

/// What a write under a task's lock decided (errors are built outside the
/// transaction, which only speaks `postgres::Error`).
enum Decision<T> {
    Done(T),
    NoTask,
    Refused(Error),
}

impl<T> Decision<T> {
    fn into_result(self, id: &str) -> Result<T> {
        match self {
            Decision::Done(v) => Ok(v),
            Decision::NoTask => Err(no_task(id)),
            Decision::Refused(e) => Err(e),
        }
    }
}

impl Backend for PgBackend {
    fn ids(&self) -> Result<Vec<String>> {
        self.with(|c| {
            Ok(c.query("SELECT id FROM orch_tasks ORDER BY id", &[])?
                .into_iter()
                .map(|r| r.get(0))
                .collect())
        })
    }

    fn tasks(&self) -> Result<Vec<StoredTask>> {
        let (defs, events) = self.tx(|tx| {
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", &[])?;
            let defs: Vec<(String, String)> = tx
                .query("SELECT id, def FROM orch_tasks ORDER BY id", &[])?
                .into_iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let events: Vec<(String, String)> = tx
                .query("SELECT task, body FROM orch_events ORDER BY task, seq", &[])?
                .into_iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            Ok((defs, events))
        })?;
        let mut out = Vec::with_capacity(defs.len());
        let mut rest = events.as_slice();
        for (id, def) in &defs {
            // Both lists are sorted by task id.
            let skip = rest.iter().take_while(|(t, _)| t < id).count();
            rest = &rest[skip..];
            let n = rest.iter().take_while(|(t, _)| t == id).count();
            out.push(stored(def, bodies(&rest[..n]))?);
            rest = &rest[n..];
        }
        Ok(out)
    }

    fn task(&self, id: &str) -> Result<StoredTask> {
        let found = self.with(|c| {
            let Some(row) = c.query_opt("SELECT def FROM orch_tasks WHERE id = $1", &[&id])? else {
                return Ok(None);
            };
            let events: Vec<(String, String)> = c
                .query(
                    "SELECT task, body FROM orch_events WHERE task = $1 ORDER BY seq",
                    &[&id],
                )?
                .into_iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            Ok(Some((row.get::<_, String>(0), events)))
        })?;
        let (def, events) = found.ok_or_else(|| no_task(id))?;
        stored(&def, bodies(&events))
    }

    fn create(&self, def: &TaskDef) -> Result<bool> {
        let body = to_json(def);
        self.tx(|tx| {
            let n = tx.execute(
                "INSERT INTO orch_tasks (id, def) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                &[&def.id, &body],
            )?;
            if n == 1 {
                summary::refresh(tx, &[def.id.as_str()])?;
                notify(tx, &def.id)?;
            }
            Ok(n == 1)
        })
    }

    fn append(&self, id: &str, event: &Event, writer: Writer) -> Result<()> {
        let body = to_json(event);
        let wake = wakes(event);
        let mut again = false;
        self.tx_at("pg-append", |tx| {
            let Some(row) = lock_row(tx, id)? else {
                return Ok(Decision::NoTask);
            };
            // Run again after the connection was lost: the first try may
            // have committed before the reply was lost. An event carries
            // its time to the millisecond and its author, so finding the
            // very same one means it did; it is not written twice.
            if std::mem::replace(&mut again, true) && has_event(tx, id, &body)? {
                return Ok(Decision::Done(()));
            }
            let current = row
                .claim
                .as_deref()
                .and_then(|c| serde_json::from_str::<Claim>(c).ok());
            match writer {
                Writer::Anyone => {}
                Writer::Unclaimed(still) => {
                    if let Some(c) = current {
                        return Ok(Decision::Refused(
                            Error::conflict(format!(
                                "task `{id}` is claimed by worker `{}` (fence {})",
                                c.worker, c.fence
                            ))
                            .hint(
                                "wait for it, or stop it: `orch task cancel` takes the claim back",
                            ),
                        ));
                    }
                    let events = events_of(tx, &[id])?;
                    let ok = stored(&row.def, bodies(&events)).is_ok_and(|t| still(&t));
                    if !ok {
                        return Ok(Decision::Refused(crate::queue::file::changed(id)));
                    }
                }
                Writer::Holder(claim) => {
                    if current.as_ref().map(|c| c.fence) != Some(claim.fence) {
                        return Ok(Decision::Refused(crate::queue::file::lost(
                            claim,
                            current.as_ref(),
                        )));
                    }
                }
            }
            if serde_json::from_str::<TaskDef>(&row.def)
                .is_ok_and(|d| d.format_version > FORMAT_VERSION)
            {
                return Ok(Decision::Refused(
                    Error::conflict(format!(
                        "task `{id}` was written by a newer orch; this orch will not change it"
                    ))
                    .hint("upgrade orch to change this task"),
                ));
            }
            insert_event(tx, id, &body, wake)?;
            summary::refresh(tx, &[id])?;
            Ok(Decision::Done(()))
        })?
        .into_result(id)
    }

    fn copy_in(&self, new: &[&TaskDef], events: &[(&str, &Event)]) -> Result<usize> {
        let ids: Vec<&str> = new.iter().map(|d| d.id.as_str()).collect();
        let defs: Vec<String> = new.iter().map(to_json).collect();
        let tasks: Vec<&str> = events.iter().map(|(id, _)| *id).collect();
        let bodies: Vec<String> = events.iter().map(|(_, e)| to_json(e)).collect();
        let created = self.tx(|tx| {
            let created = tx.execute(
                "INSERT INTO orch_tasks (id, def) SELECT * FROM unnest($1::text[], $2::text[])
                 ON CONFLICT (id) DO NOTHING",
                &[&ids, &defs],
            )?;
            // Each task's events after those it has, in the order given.
            tx.execute(
                "INSERT INTO orch_events (task, seq, body)
                 SELECT u.task,
                        coalesce(m.top, 0) + row_number() OVER (PARTITION BY u.task ORDER BY u.n),
                        u.body
                 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u (task, body, n)
                 LEFT JOIN (SELECT task, max(seq) AS top FROM orch_events
                            WHERE task = ANY($1) GROUP BY task) m USING (task)",
                &[&tasks, &bodies],
            )?;
            let mut changed: Vec<&str> = ids.clone();
            changed.extend(&tasks);
            changed.sort_unstable();
            changed.dedup();
            summary::refresh(tx, &changed)?;
            if !changed.is_empty() {
                notify(tx, "")?;
            }
            Ok(created)
        })?;
        if new.len() + events.len() > BULK {
            // The planner's statistics, fresh after a bulk load, so the
            // shortlist's queries use their indexes from the first `next`.
            self.with(|c| c.batch_execute("ANALYZE orch_tasks, orch_events"))?;
        }
        Ok(usize::try_from(created).unwrap_or(usize::MAX))
    }

    fn claims(&self) -> Result<Vec<Claim>> {
        let rows: Vec<(String, Option<i64>)> = self.with(|c| {
            Ok(c.query(
                &format!("SELECT claim, {AGE} FROM orch_tasks WHERE claim IS NOT NULL ORDER BY id"),
                &[],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
        })?;
        let now = clock::real_now();
        rows.iter()
            .map(|(body, age)| {
                let mut c: Claim = from_json(body, "claim")?;
                c.heartbeat_at = age.map(|a| aged(now, a));
                Ok(c)
            })
            .collect()
    }

    fn claim_of(&self, id: &str) -> Result<Option<Claim>> {
        let row: Option<String> = self.with(|c| {
            Ok(
                c.query_opt("SELECT claim FROM orch_tasks WHERE id = $1", &[&id])?
                    .and_then(|r| r.get(0)),
            )
        })?;
        row.map(|r| from_json(&r, "claim")).transpose()
    }

    fn claim(
        &self,
        id: &str,
        worker: &WorkerRecord,
        still_ready: &dyn Fn(&StoredTask) -> bool,
    ) -> Result<Option<Claim>> {
        if let Some(c) = self.claim_of(id)? {
            return Ok((c.worker == worker.id).then_some(c));
        }
        self.claim_first(&[id], worker, still_ready)
    }

    fn claim_first(
        &self,
        ids: &[&str],
        worker: &WorkerRecord,
        still_ready: &dyn Fn(&StoredTask) -> bool,
    ) -> Result<Option<Claim>> {
        self.tx(|tx| {
            let mut tried: Vec<&str> = Vec::new();
            loop {
                // The best candidate that is free and that no other
                // transaction is claiming right now (those rows are locked
                // and skipped): one row locked at a time.
                let Some(row) = tx.query_opt(
                    "SELECT id, def, fence FROM orch_tasks
                     WHERE id = ANY($1) AND NOT (id = ANY($2)) AND claim IS NULL
                     ORDER BY array_position($1, id)
                     LIMIT 1
                     FOR UPDATE SKIP LOCKED",
                    &[&ids, &tried],
                )?
                else {
                    return Ok(None);
                };
                let (id, def, fence): (String, String, i64) = (row.get(0), row.get(1), row.get(2));
                let events = events_of(tx, &[id.as_str()])?;
                if !stored(&def, bodies(&events)).is_ok_and(|t| still_ready(&t)) {
                    tried.extend(ids.iter().find(|c| **c == id));
                    continue;
                }
                let claim = Claim {
                    task: id.clone(),
                    fence: u64::try_from(fence).unwrap_or_default() + 1,
                    worker: worker.id.clone(),
                    host: worker.host.clone(),
                    pid: worker.pid,
                    claimed_at: clock::timestamp(clock::real_now()),
                    heartbeat_at: None,
                };
                tx.execute(
                    "UPDATE orch_tasks SET fence = fence + 1, claim = $2, heartbeat_at = now()
                     WHERE id = $1",
                    &[&id, &to_json(&claim)],
                )?;
                return Ok(Some(claim));
            }
        })
    }

    fn shortlist(&self, criteria: &Criteria, per_priority: usize) -> Result<Option<Shortlist>> {
        self.tx(|tx| {
            tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", &[])?;
            shortlist::shortlist(tx, criteria, per_priority)
        })?
        .map(Some)
    }

    fn watch(&self) -> Option<Box<dyn Watch>> {
        let client = PgWatch::listen(&self.config)?;
        Some(Box::new(PgWatch {
            config: self.config.clone(),
            client: Some(client),
        }))
    }

    fn while_rescuing(&self, f: &mut dyn FnMut() -> Result<()>) -> Result<bool> {
        self.exclusive(schema::LOCK_RESCUE, f)
    }

    fn release(&self, claim: &Claim, event: Option<&Event>) -> Result<bool> {
        let body = event.map(to_json);
        let fence = i64::try_from(claim.fence).unwrap_or(i64::MAX);
        self.tx(|tx| {
            let Some(row) = lock_row(tx, &claim.task)? else {
                return Ok(false);
            };
            if row.claim.is_none() || row.fence != fence {
                return Ok(false);
            }
            // A released task is ready again, or its dependents may be.
            match &body {
                Some(body) => {
                    insert_event(tx, &claim.task, body, true)?;
                    summary::refresh(tx, &[claim.task.as_str()])?;
                }
                None => notify(tx, &claim.task)?,
            }
            tx.execute(
                "UPDATE orch_tasks SET claim = NULL, heartbeat_at = NULL WHERE id = $1",
                &[&claim.task],
            )?;
            Ok(true)
        })
    }

    fn beat(&self, worker: &WorkerRecord, claims: &[Claim]) -> Result<Vec<bool>> {
        let body = to_json(worker);
        self.tx(|tx| {
            tx.execute(
                "INSERT INTO orch_workers (id, body, heartbeat_at) VALUES ($1, $2, now())
                 ON CONFLICT (id) DO UPDATE SET body = $2, heartbeat_at = now()",
                &[&worker.id, &body],
            )?;
            let mut out = Vec::with_capacity(claims.len());
            for c in claims {
                // Only while the fence still matches: zero rows, the claim is lost.
                let fence = i64::try_from(c.fence).unwrap_or(i64::MAX);
                let n = tx.execute(
                    "UPDATE orch_tasks SET heartbeat_at = now()
                     WHERE id = $1 AND fence = $2 AND claim IS NOT NULL",
                    &[&c.task, &fence],
                )?;
                out.push(n == 1);
            }
            Ok(out)
        })
    }

    fn workers(&self) -> Result<Vec<WorkerRecord>> {
        let rows: Vec<(String, i64)> = self.with(|c| {
            Ok(c.query(
                &format!("SELECT body, {AGE} FROM orch_workers ORDER BY id"),
                &[],
            )?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
        })?;
        let now = clock::real_now();
        Ok(rows
            .iter()
            .filter_map(|(body, age)| {
                let mut w: WorkerRecord = serde_json::from_str(body).ok()?;
                w.heartbeat_at = aged(now, *age);
                Some(w)
            })
            .collect())
    }

    fn forget_worker(&self, id: &str) -> Result<()> {
        self.with(|c| c.execute("DELETE FROM orch_workers WHERE id = $1", &[&id]))
            .map(|_| ())
    }
}
