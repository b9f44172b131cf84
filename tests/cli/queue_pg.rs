//! The queue on PostgreSQL: `orch queue init/status/import/export`, where
//! the URL comes from, what a wrong or unreachable server does, and the
//! backlog tests of `team` run again on PostgreSQL (one selection rule, two
//! backends).

use crate::common::TestRepo;
use crate::pgserver::{self, PASSWORD, PASSWORD_USER};
use crate::team::{self, QUICK, add, add_w, fixture};
use crate::workers::kinds;

/// The shared server, and the fixture on a fresh queue there
/// (`ORCH_QUEUE_URL` set); the queue's URL.
fn on_postgres() -> Option<(&'static pgserver::PgServer, TestRepo, String)> {
    let url = pgserver::fresh_queue()?;
    let repo = fixture(QUICK);
    repo.set_env("ORCH_QUEUE_URL", &url);
    Some((pgserver::shared()?, repo, url))
}

#[test]
fn init_creates_the_schema_once_even_when_two_run_at_once() {
    let Some(server) = pgserver::shared() else {
        return;
    };
    let url = server.database();
    let repo = TestRepo::new();
    let children: Vec<_> = (0..2)
        .map(|_| {
            repo.command(&["queue", "init", "--queue", &url, "--json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut froms = Vec::new();
    for c in children {
        let out = crate::common::Out::from(&c.wait_with_output().unwrap());
        let v = out.ok().json();
        assert_eq!(v["schema_version"], 1);
        froms.push(v["from_version"].as_i64().unwrap());
    }
    froms.sort_unstable();
    assert_eq!(froms, vec![0, 1], "one created it, the other found it done");
    repo.orch(&["queue", "init", "--queue", &url])
        .ok()
        .stdout_has("is up to date (schema version 1)");
    let mut c = server.client_of(&url);
    let versions: i64 = c
        .query_one("SELECT count(*) FROM orch_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(versions, 1);
}

#[test]
fn status_shows_version_tasks_and_workers() {
    let Some((_, repo, _)) = on_postgres() else {
        return;
    };
    let a = add(&repo, "first", &[]);
    add(&repo, "second", &["--depends-on", &a]);
    repo.orch(&["next", "--claim", "--worker", "w1"]).ok();
    let v = repo.orch(&["queue", "status", "--json"]).ok().json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["tasks"]["IN_PROGRESS"], 1);
    assert_eq!(v["tasks"]["BLOCKED"], 1);
    assert_eq!(v["total"], 2);
    assert_eq!(v["workers"]["live"], 1);
    assert_eq!(v["oldest_heartbeat"]["worker"], "w1");
    repo.orch(&["queue", "status"])
        .ok()
        .stdout_has("schema version 1")
        .stdout_has("tasks: 1 BLOCKED, 1 IN_PROGRESS (2 in all)")
        .stdout_has("workers: 1 live");
    // The tasks are in PostgreSQL, not in the repository.
    assert!(!repo.exists(&format!("orchestration/tasks/{a}.json")));
}

#[test]
fn an_unreachable_server_exits_5_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "postgres://orch:secret@{}/db",
        dir.path().to_str().unwrap().replace('/', "%2F")
    );
    let repo = TestRepo::new();
    let out = repo.orch(&["next", "--queue", &url]);
    out.code(5);
    let err = out.one_error();
    assert!(
        err.contains("cannot reach PostgreSQL at `postgres://orch@"),
        "{err}"
    );
    assert!(!out.stderr.contains("secret"), "{}", out.stderr);
    out.stderr_has("hint: is the server running?");
}

#[test]
fn a_wrong_password_or_database_exits_2_naming_the_url_without_the_password() {
    let Some(server) = pgserver::shared() else {
        return;
    };
    let url = server.database();
    let db = url.rsplit('/').next().unwrap().to_string();
    let repo = TestRepo::new();
    let wrong = server.url_as(PASSWORD_USER, Some("wrong-pw"), &db);
    let out = repo.orch(&["queue", "init", "--queue", &wrong]);
    out.code(2);
    assert!(!out.stderr.contains("wrong-pw"), "{}", out.stderr);
    out.stderr_has(&format!("`{}`", server.url_as(PASSWORD_USER, None, &db)))
        .stderr_has("password authentication failed");
    let right = server.url_as(PASSWORD_USER, Some(PASSWORD), "nosuchdb");
    let out = repo.orch(&["task", "list", "--queue", &right]);
    out.code(2)
        .stderr_has("database \"nosuchdb\" does not exist");
    assert!(!out.stderr.contains(PASSWORD), "{}", out.stderr);
    // Not a PostgreSQL URL at all.
    repo.orch(&["next", "--queue", "mysql://x@y/z"])
        .code(2)
        .stderr_has("is not a PostgreSQL URL");
    // A database without the schema says how to make it.
    repo.orch(&["next", "--queue", &url])
        .code(2)
        .stderr_has("has no orch queue yet")
        .stderr_has("orch queue init");
}

#[test]
fn the_url_comes_from_the_flag_the_environment_or_the_variable_the_config_names() {
    let Some(url) = pgserver::fresh_queue() else {
        return;
    };
    let repo = fixture(QUICK);
    repo.write(
        "orchestration/config.json",
        r#"{"queue": {"url_env": "TEAM_QUEUE"}}"#,
    );
    let out = repo.orch(&["task", "list"]);
    out.code(2).stderr_has(
        "orchestration/config.json says the queue's URL is in $TEAM_QUEUE, which is not set",
    );
    repo.set_env("TEAM_QUEUE", &url);
    let a = add(&repo, "in postgres", &[]);
    assert!(!repo.exists(&format!("orchestration/tasks/{a}.json")));
    // ORCH_QUEUE_URL wins over the config, --queue over both.
    repo.set_env("ORCH_QUEUE_URL", "postgres://x@%2Fnonexistent/db");
    repo.orch(&["task", "list"]).code(5);
    repo.orch(&["task", "list", "--queue", &url])
        .ok()
        .stdout_has(&a);
    // A URL in the committed config is refused: it may hold a password.
    repo.write(
        "orchestration/config.json",
        r#"{"queue": {"url": "postgres://a:pw@h/db"}}"#,
    );
    repo.orch_env(&["task", "list"], &[("ORCH_QUEUE_URL", "")])
        .code(2)
        .stderr_has("orchestration/config.json")
        .stderr_has("url_env");
}

#[test]
fn import_and_export_copy_tasks_both_ways_and_twice_adds_nothing() {
    let Some(url) = pgserver::fresh_queue() else {
        return;
    };
    let repo = fixture(QUICK);
    let a = add(&repo, "committed first", &["--priority", "high"]);
    let b = add_w(&repo, "committed second", "s1", &["--depends-on", &a]);
    repo.orch(&["task", "done", &a]).ok();
    let v = repo
        .orch(&["queue", "import", "--queue", &url, "--json"])
        .ok()
        .json();
    assert_eq!(
        (v["tasks"].as_u64(), v["events"].as_u64()),
        (Some(2), Some(1))
    );
    let v = repo
        .orch(&["queue", "import", "--queue", &url, "--json"])
        .ok()
        .json();
    assert_eq!(
        (v["tasks"].as_u64(), v["events"].as_u64()),
        (Some(0), Some(0))
    );
    // A change committed since is copied after what PostgreSQL has.
    repo.orch(&["task", "edit", &a, "--title", "renamed"]).ok();
    let v = repo
        .orch(&["queue", "import", "--queue", &url, "--json"])
        .ok()
        .json();
    assert_eq!(
        (v["tasks"].as_u64(), v["events"].as_u64()),
        (Some(0), Some(1))
    );
    let shown = repo
        .orch(&["task", "show", &a, "--json", "--queue", &url])
        .ok()
        .json();
    assert_eq!(shown["task"]["title"], "renamed");
    assert_eq!(shown["task"]["status"], "DONE");
    assert_eq!(kinds(&shown), ["done", "edited"]);
    // Work happens in PostgreSQL ...
    repo.set_env("ORCH_QUEUE_URL", &url);
    assert_eq!(team::status(&repo, &b), "TODO");
    let c = add(&repo, "added in postgres", &[]);
    repo.orch(&["task", "fail", &b, "--reason", "no luck"]).ok();
    // ... and comes back as task files to commit.
    let v = repo.orch(&["queue", "export", "--json"]).ok().json();
    assert_eq!(
        (v["tasks"].as_u64(), v["events"].as_u64()),
        (Some(1), Some(1))
    );
    let v = repo.orch(&["queue", "export", "--json"]).ok().json();
    assert_eq!(
        (v["tasks"].as_u64(), v["events"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(repo.exists(&format!("orchestration/tasks/{c}.json")));
    let file = repo.orch_env(&["task", "show", &b, "--json"], &[("ORCH_QUEUE_URL", "")]);
    assert_eq!(file.ok().json()["task"]["status"], "FAILED");
}

#[test]
fn queue_commands_need_a_postgres_url() {
    let repo = TestRepo::new();
    repo.orch(&["queue", "status"])
        .code(2)
        .stderr_has("works on a PostgreSQL queue; none is configured");
}

/// The backlog tests of `team`, run again with the queue on PostgreSQL.
macro_rules! on_postgres {
    ($from:ident: $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                crate::team::on_postgres(crate::$from::$name);
            }
        )*
    };
}

mod team_on_postgres {
    on_postgres!(team:
        weights_boosts_and_ties_decide_what_is_next,
        more_dependents_then_older_then_id_break_ties,
        claims_take_the_task_next_names,
        bad_task_input_is_refused_with_exit_2,
        dependencies_that_would_make_a_cycle_are_refused,
        today_is_a_calendar_day_in_the_zone_of_tz,
        task_list_filters_pages_and_exports_csv,
        changes_print_the_task_state_as_json,
        only_todo_tasks_whose_dependencies_are_done_are_ready,
        nothing_ready_says_why_and_exits_1,
        concurrent_claims_never_hand_out_one_task_twice,
        statuses_change_only_in_the_allowed_ways,
        a_claimed_task_is_written_only_by_its_holder,
    );
}

/// The worker tests (claims, heartbeats, rescue, signals) on PostgreSQL.
mod workers_on_postgres {
    on_postgres!(workers:
        four_workers_run_forty_tasks_exactly_once,
        a_worker_killed_with_sigkill_is_rescued_and_its_run_resumed,
        sigterm_gives_the_work_back_and_exits_130,
        a_stuck_run_is_rescued_and_the_worker_that_lost_it_writes_nothing,
        workers_take_only_tasks_whose_tags_they_have,
        cancelling_a_running_task_stops_its_run,
        a_task_follows_its_run,
        one_worker_runs_several_tasks_at_once,
        a_task_awaiting_approval_says_so_and_the_next_worker_resumes_it_once_approved,
        a_rescue_tells_the_people_who_asked_and_names_the_task,
    );
}

#[test]
fn an_idle_worker_wakes_at_once_when_a_task_is_added() {
    use std::io::BufRead;
    let Some((_, repo, _)) = on_postgres() else {
        return;
    };
    // It looks at the queue every ten minutes: only NOTIFY can wake it in time.
    let mut child = crate::workers::spawn_worker(
        &repo,
        &["--id", "w1", "--once", "--json"],
        &[("ORCH_POLL_INTERVAL", "600")],
    );
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut said = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let idle = line.contains(r#""event":"idle""#);
        said.push(line);
        if idle {
            break;
        }
    }
    assert!(said.last().is_some_and(|l| l.contains("idle")), "{said:?}");
    let a = crate::team::add_w(&repo, "wake up", "s1", &[]);
    let out = crate::workers::finish(child);
    out.ok();
    said.extend(lines.map_while(std::result::Result::ok));
    assert!(
        said.iter()
            .any(|l| l.contains(r#""event":"claimed""#) && l.contains(&a)),
        "{said:?}"
    );
    assert_eq!(team::status(&repo, &a), "DONE");
}

#[test]
fn one_rescuer_at_a_time_holds_the_advisory_lock() {
    let Some((server, repo, url)) = on_postgres() else {
        return;
    };
    let a = add(&repo, "abandoned", &[]);
    repo.orch(&["next", "--claim", "--worker", "gone"]).ok();
    // Its heartbeat is older than the limit at once.
    repo.set_env("ORCH_STALE_AFTER_S", "0.001");
    let mut other = server.client_of(&url);
    other
        .execute("SELECT pg_advisory_lock($1)", &[&RESCUE_LOCK])
        .unwrap();
    repo.orch(&["worker", "rescue"])
        .code(3)
        .stderr_has("another process is rescuing right now");
    assert_eq!(team::status(&repo, &a), "IN_PROGRESS");
    other
        .execute("SELECT pg_advisory_unlock($1)", &[&RESCUE_LOCK])
        .unwrap();
    repo.orch(&["worker", "rescue"])
        .ok()
        .stdout_has(&a)
        .stdout_has("rescued by orch worker rescue: worker `gone`");
    assert_eq!(team::status(&repo, &a), "TODO");
}

/// A claim its live worker no longer beats for (the reply to the claim
/// was lost, say) is rescued once the row's own heartbeat, aged by the
/// server's clock, is older than the limit; the other claims of that
/// worker are left alone.
#[test]
fn a_claim_whose_row_has_no_heartbeat_is_rescued_though_its_worker_lives() {
    let Some((server, repo, url)) = on_postgres() else {
        return;
    };
    let a = add(&repo, "forgotten", &[]);
    let b = add(&repo, "kept", &[]);
    repo.orch(&["next", "--claim", "--worker", "w1"]).ok();
    repo.orch(&["next", "--claim", "--worker", "w1"]).ok();
    repo.set_env("ORCH_STALE_AFTER_S", "60");
    let out = repo.orch(&["worker", "rescue"]);
    out.ok();
    assert!(
        !out.stdout.contains(&a) && !out.stdout.contains(&b),
        "{}",
        out.stdout
    );
    let mut c = server.client_of(&url);
    c.execute(
        "UPDATE orch_tasks SET heartbeat_at = now() - interval '2 minutes' WHERE id = $1",
        &[&a],
    )
    .unwrap();
    let out = repo.orch(&["worker", "rescue"]);
    out.ok()
        .stdout_has(&a)
        .stdout_has("worker `w1` is alive but has not beaten for this claim for 2m");
    assert!(!out.stdout.contains(&b), "{}", out.stdout);
    assert_eq!(team::status(&repo, &a), "TODO");
    assert_eq!(team::status(&repo, &b), "IN_PROGRESS");
}

/// The reply to a write's commit is lost (ORCH_FAULT): orch reconnects and
/// runs the write again, and finds it committed: the event is there once.
#[test]
fn a_write_whose_commit_reply_is_lost_is_recorded_once() {
    let Some((_, repo, _)) = on_postgres() else {
        return;
    };
    let a = add(&repo, "reported", &[]);
    repo.orch_env(
        &[
            "task",
            "progress",
            &a,
            "--percent",
            "40",
            "--message",
            "half",
        ],
        &[("ORCH_FAULT", "pg-append-reply:eio")],
    )
    .ok();
    let v = repo.orch(&["task", "show", &a, "--json"]).ok().json();
    assert_eq!(kinds(&v), ["progress"], "{v}");
}

/// The advisory lock key rescuers take (src/queue/pg/schema.rs).
const RESCUE_LOCK: i64 = 0x6f72_6368_0002;

/// A backlog of 300 tasks (more per priority than a shortlist reads at
/// once), with dates and instants due either side of now in a zone far
/// from UTC, dependencies, ties and done tasks: as tasks are finished one
/// after another, `orch next` on PostgreSQL (which reads a shortlist)
/// names the task `orch next` on the committed files names (which reads
/// every task), every time.
#[test]
fn the_shortlist_picks_what_reading_every_task_picks() {
    let Some(url) = pgserver::fresh_queue() else {
        return;
    };
    let repo = fixture(QUICK);
    let mut seed: u64 = 7;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % n
    };
    // More than summary.rs recounts through the index: the import takes
    // the other path.
    for i in 0..300u64 {
        let priority =
            ["critical", "high", "medium", "medium", "low"][usize::try_from(next(5)).unwrap()];
        let due = match next(4) {
            0 => format!(r#", "due": "2026-03-{:02}""#, 8 + next(8)),
            1 => format!(
                r#", "due": "2026-03-{:02}T{:02}:00:00Z""#,
                8 + next(8),
                next(24)
            ),
            _ => String::new(),
        };
        let deps = if i > 0 && next(3) == 0 {
            format!(r#", "depends_on": ["t_{:04}"]"#, next(i))
        } else {
            String::new()
        };
        repo.write(
            &format!("orchestration/tasks/t_{i:04}.json"),
            &format!(
                r#"{{"format_version": 1, "id": "t_{i:04}", "title": "task {i}", "priority": "{priority}"{due}{deps},
                    "created_at": "2026-03-0{}T00:00:00.000Z"}}"#,
                1 + next(3)
            ),
        );
    }
    let env = [("ORCH_NOW", "2026-03-10T12:00:00Z"), ("TZ", "Etc/GMT+12")];
    let files = |args: &[&str]| repo.orch_env(args, &env);
    let pg = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--queue", &url]);
        repo.orch_env(&all, &env)
    };
    for i in (0..300).step_by(7) {
        files(&["task", "done", &format!("t_{i:04}")]).ok();
    }
    pg(&["queue", "import"]).ok();
    let mut picked = 0;
    while picked < 30 {
        let want = files(&["next", "--json"]).json()["id"].clone();
        let got = pg(&["next", "--json"]).json()["id"].clone();
        assert_eq!(got, want, "after {picked} picks");
        let Some(id) = want.as_str() else {
            break;
        };
        files(&["task", "done", id]).ok();
        pg(&["task", "done", id]).ok();
        picked += 1;
    }
    assert_eq!(picked, 30);
}

/// Twenty tasks due on a day and one due at an instant before that day
/// ends in `TZ`'s zone (UTC−12) but after it ends in others: the database
/// orders them as if the day could end at its earliest (UTC+14), so the
/// first shortlist reads the twenty first. What it read cannot be known
/// to beat what it did not, so it reads on, and picks the instant.
#[test]
fn a_shortlist_reads_on_until_nothing_unread_could_outrank_it() {
    let Some(url) = pgserver::fresh_queue() else {
        return;
    };
    let repo = fixture(QUICK);
    let task = |id: &str, due: &str| {
        repo.write(
            &format!("orchestration/tasks/{id}.json"),
            &format!(
                r#"{{"format_version": 1, "id": "{id}", "title": "{id}", "due": "{due}",
                    "created_at": "2026-03-01T00:00:00.000Z"}}"#
            ),
        );
    };
    for i in 0..20 {
        task(&format!("t_day{i:02}"), "2026-03-11");
    }
    // 2026-03-11 ends at 2026-03-12T12:00Z in UTC−12.
    task("t_instant", "2026-03-12T06:00:00Z");
    let env = [("ORCH_NOW", "2026-03-10T12:00:00Z"), ("TZ", "Etc/GMT+12")];
    repo.orch_env(&["queue", "import", "--queue", &url], &env)
        .ok();
    for queue in [&[][..], &["--queue", url.as_str()][..]] {
        let mut args = vec!["next", "--json"];
        args.extend_from_slice(queue);
        let v = repo.orch_env(&args, &env).ok().json();
        assert_eq!(v["id"], "t_instant", "{queue:?}");
    }
}

#[test]
fn a_write_that_postgres_picks_to_break_a_deadlock_runs_again() {
    let Some((server, repo, url)) = on_postgres() else {
        return;
    };
    let a = add(&repo, "first", &[]);
    let b = add(&repo, "second", &["--depends-on", &a]);
    // Another session holds `a`, and never gives way itself.
    let mut other = server.client_of(&url);
    let mut tx = other.transaction().unwrap();
    tx.batch_execute("SET LOCAL deadlock_timeout = '60s'")
        .unwrap();
    tx.execute("SELECT 1 FROM orch_tasks WHERE id = $1 FOR UPDATE", &[&a])
        .unwrap();
    // orch locks `b`, then waits for `a` (b's dependency, whose count of
    // open dependents changes).
    let mut child = repo
        .command(&["task", "cancel", &b, "--reason", "not needed"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut watch = server.client_of(&url);
    let mut waiting = || {
        watch
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = 'orch' AND wait_event_type = 'Lock'",
                &[],
            )
            .unwrap()
            .get::<_, i64>(0)
    };
    let start = std::time::Instant::now();
    while waiting() == 0 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("orch did not wait for the lock: {status}");
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "orch never waited for the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Now this session wants `b`: a deadlock, which PostgreSQL breaks by
    // failing orch's transaction (its deadlock_timeout is the shorter).
    tx.execute("SELECT 1 FROM orch_tasks WHERE id = $1 FOR UPDATE", &[&b])
        .unwrap();
    tx.commit().unwrap();
    let out = crate::common::Out::from(&child.wait_with_output().unwrap());
    out.ok();
    let v = repo.orch(&["task", "show", &b, "--json"]).ok().json();
    assert_eq!(v["task"]["status"], "CANCELLED", "{v}");
}

/// On PostgreSQL too, a dependent's packet tells its agent about the
/// dependency (read from the worker's queue, not from files).
#[test]
fn a_dependencys_run_appears_in_its_dependents_packet_on_postgres() {
    let Some((_, repo, _)) = on_postgres() else {
        return;
    };
    let base = add_w(&repo, "write the base", "base", &[]);
    let top = add_w(&repo, "build on it", "top", &["--depends-on", &base]);
    repo.orch(&["task", "run", &base]).ok();
    repo.orch(&["task", "run", &top]).ok();
    let run = |id: &str| {
        team::show(&repo, id)["runs"][0]["run_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let packet = repo.read(&format!(
        "orchestration/runs/{}/logs/gates/A1/attempt-1/prompt.txt",
        run(&top)
    ));
    for needle in [
        format!("## Task {top}: build on it"),
        format!("- {base} DONE: write the base"),
        format!("  - run {} PASSED", run(&base)),
        "    - out/base/A1.md (gate A1".to_string(),
    ] {
        assert!(
            packet.contains(&needle),
            "packet lacks {needle:?}:\n{packet}"
        );
    }
}
