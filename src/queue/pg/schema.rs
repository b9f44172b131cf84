//! The queue's tables, as numbered migrations applied in order. `orch
//! queue init` applies the ones a database lacks, in one transaction under
//! an advisory lock, so two machines that run it at once apply each once.
//! A migration, once released, is never edited: a change is a new one.

use postgres::GenericClient;

/// Advisory lock keys ("orch" and a number), one per thing they guard.
pub const LOCK_MIGRATE: i64 = 0x6f72_6368_0001;
pub const LOCK_RESCUE: i64 = 0x6f72_6368_0002;

/// The channel `NOTIFY` wakes idle workers on.
pub const CHANNEL: &str = "orch_queue";

/// (version, SQL), oldest first.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    r#"
CREATE TABLE orch_tasks (
    id           text COLLATE "C" PRIMARY KEY,
    def          text NOT NULL,         -- the task as added (JSON, as committed)
    fence        bigint NOT NULL DEFAULT 0, -- the highest fence claimed so far
    claim        text,                  -- the current claim (JSON); NULL: none
    heartbeat_at timestamptz,           -- the current claim's last heartbeat
    -- What orch's fold of the task's events says, rewritten with every
    -- write to the task (summary.rs), so the best candidates can be found
    -- by index without reading every task. NULL status: unreadable.
    status       text,
    weight       bigint,
    due_from     timestamptz,           -- the earliest its deadline can be, in any zone
    deps         text[] NOT NULL DEFAULT '{}',
    tags         text[] NOT NULL DEFAULT '{}',
    runnable     boolean NOT NULL DEFAULT false,
    created_at   text COLLATE "C" NOT NULL DEFAULT '',
    dependents   bigint NOT NULL DEFAULT 0 -- open tasks that list it
);
CREATE TABLE orch_events (
    task text COLLATE "C" NOT NULL REFERENCES orch_tasks (id),
    seq  integer NOT NULL,
    body text NOT NULL,                 -- the event (JSON, as committed)
    PRIMARY KEY (task, seq)
);
CREATE INDEX orch_tasks_claimed ON orch_tasks (id) WHERE claim IS NOT NULL;
-- Candidates in the order `select` ranks them within one priority.
CREATE INDEX orch_tasks_todo ON orch_tasks
    (weight, due_from, dependents DESC, created_at, id)
    WHERE status = 'TODO' AND claim IS NULL;
-- Tasks a shortlist always reads: a status that may follow a run, or none.
CREATE INDEX orch_tasks_unsettled ON orch_tasks (id)
    WHERE status IS NULL OR status NOT IN ('TODO', 'DONE', 'CANCELLED', 'FAILED');
CREATE INDEX orch_tasks_deps ON orch_tasks USING gin (deps);
CREATE TABLE orch_workers (
    id           text PRIMARY KEY,
    body         text NOT NULL,         -- the registry entry (JSON)
    heartbeat_at timestamptz NOT NULL
);
"#,
)];

/// The schema version this orch writes.
pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// The database's schema version (0: none yet).
pub fn version(client: &mut impl GenericClient) -> Result<i32, postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('orch_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    client
        .query_one("SELECT coalesce(max(version), 0) FROM orch_schema", &[])
        .map(|r| r.get(0))
}

/// Applies what is missing; the versions before and after.
pub fn migrate(client: &mut postgres::Client) -> Result<(i32, i32), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_MIGRATE])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS orch_schema (
            version    integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )?;
    let from = version(&mut tx)?;
    for (v, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > from) {
        tx.batch_execute(sql)?;
        tx.execute("INSERT INTO orch_schema (version) VALUES ($1)", &[v])?;
    }
    tx.commit()?;
    Ok((from, latest().max(from)))
}
