//! A throwaway PostgreSQL server for the queue tests: `initdb` into a
//! temporary folder, `pg_ctl start` listening only on a Unix socket in
//! it. A watchdog shell stops the server and removes the folder when the
//! test process ends, however it ends (a panic, a kill); an owned server
//! (`PgServer::start`) is also stopped when dropped.
//!
//! Without the server binaries the tests skip, saying why; under `CI=true`
//! they fail instead (`.ci/run` installs the server package first).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The superuser (trusted on the socket) and a second role that must give
/// a password.
pub const USER: &str = "orch";
pub const PASSWORD_USER: &str = "ann";
pub const PASSWORD: &str = "right-pw";

pub struct PgServer {
    /// Owned: removed when dropped (the shared server's, by its watchdog).
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    bin: PathBuf,
    /// Who runs the server (root may not).
    run_as: Option<String>,
}

static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// Where `initdb` and `pg_ctl` are: on PATH, or Debian's versioned folder.
fn bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    });
    on_path.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").is_file())
            .collect();
        found.sort();
        found.pop()
    })
}

/// Whether the PostgreSQL tests must run (CI) rather than skip.
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn skip(why: &str) -> Option<PgServer> {
    assert!(
        !required(),
        "CI=true but the PostgreSQL tests cannot run: {why} (.ci/run installs the server package)"
    );
    eprintln!("skipping: {why}");
    None
}

/// The server this test process shares (one database per test).
pub fn shared() -> Option<&'static PgServer> {
    static SERVER: OnceLock<Option<PgServer>> = OnceLock::new();
    SERVER
        .get_or_init(|| PgServer::start_in(None))
        .as_ref()
        .or_else(|| {
            skip("no PostgreSQL server (see the first skip above)");
            None
        })
}

/// A fresh, initialised database on the shared server; its URL.
pub fn fresh_queue() -> Option<String> {
    let server = shared()?;
    let url = server.database();
    let out = Command::new(env!("CARGO_BIN_EXE_orch"))
        .args(["queue", "init", "--queue", &url])
        .output()
        .expect("orch runs");
    assert!(
        out.status.success(),
        "queue init: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(url)
}

impl PgServer {
    /// A server of the test's own (stopped when dropped).
    pub fn start() -> Option<PgServer> {
        let dir = tempfile::Builder::new()
            .prefix("pg")
            .tempdir_in("/tmp")
            .expect("temp dir");
        PgServer::start_in(Some(dir))
    }

    fn start_in(dir: Option<tempfile::TempDir>) -> Option<PgServer> {
        let Some(bin) = bin_dir() else {
            return skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed");
        };
        let root = if let Some(d) = &dir {
            d.path().to_path_buf()
        } else {
            // Shared: the watchdog removes it.
            tempfile::Builder::new()
                .prefix("pg")
                .tempdir_in("/tmp")
                .expect("temp dir")
                .keep()
        };
        let run_as = is_root().then(|| {
            let user = if user_exists("postgres") {
                "postgres"
            } else {
                "nobody"
            };
            let ok = Command::new("chown")
                .args(["-R", user, root.to_str().unwrap()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown {} to {user}", root.display());
            user.to_string()
        });
        let server = PgServer {
            dir,
            root,
            bin,
            run_as,
        };
        let pwfile = server.root.join("pw");
        std::fs::write(&pwfile, "unused\n").expect("pw file");
        server.chown(&pwfile);
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                USER,
                "--auth-local=trust",
                "--auth-host=reject",
                "--no-sync",
                "--no-instructions",
                "-E",
                "UTF8",
            ],
        );
        // `ann` must give her password (md5: cheap for debug builds).
        std::fs::write(
            data.join("pg_hba.conf"),
            format!("local all {PASSWORD_USER} md5\nlocal all all trust\n"),
        )
        .expect("pg_hba.conf");
        server.spawn_watchdog();
        server.start_server();
        let mut c = server.client("postgres");
        c.batch_execute(&format!(
            "SET password_encryption = 'md5'; CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{PASSWORD}'"
        ))
        .expect("create role");
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn chown(&self, path: &Path) {
        if let Some(user) = &self.run_as {
            let _ = Command::new("chown")
                .args([user, path.to_str().unwrap()])
                .status();
        }
    }

    /// Runs a server binary (as the server's user), which must succeed.
    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts (or starts again) the server on the socket in its folder.
    pub fn start_server(&self) {
        let opts = format!(
            "-k {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            self.root.display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-l",
                self.root.join("log").to_str().unwrap(),
                "-o",
                &opts,
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server (fast shutdown: sessions are cut off).
    pub fn stop_server(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    fn spawn_watchdog(&self) {
        let script = format!(
            "(while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             p=$(head -1 '{data}/postmaster.pid' 2>/dev/null) && kill -QUIT \"$p\"; \
             sleep 1; rm -rf '{root}') &",
            pid = std::process::id(),
            data = self.data().display(),
            root = self.root.display()
        );
        // Backgrounded by the shell: it outlives this process, to clean up after it.
        let started = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(started, "the watchdog starts");
    }

    /// The URL of database `db` as `user` (with `password`, if any).
    pub fn url_as(&self, user: &str, password: Option<&str>, db: &str) -> String {
        let host = self.root.to_str().unwrap().replace('/', "%2F");
        match password {
            Some(pw) => format!("postgres://{user}:{pw}@{host}/{db}"),
            None => format!("postgres://{user}@{host}/{db}"),
        }
    }

    pub fn url(&self, db: &str) -> String {
        self.url_as(USER, None, db)
    }

    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(db), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the test server: {e}"))
    }

    /// A client of the database `url` (one of `database`'s) names.
    pub fn client_of(&self, url: &str) -> postgres::Client {
        self.client(url.rsplit('/').next().unwrap_or(url))
    }

    /// A new empty database; its URL.
    pub fn database(&self) -> String {
        let name = format!("q{}", NEXT_DB.fetch_add(1, Ordering::SeqCst));
        self.client("postgres")
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        self.url(&name)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.dir.is_some() {
            let pid = std::fs::read_to_string(self.data().join("postmaster.pid")).ok();
            if let Some(pid) = pid.as_deref().and_then(|t| t.lines().next()) {
                let _ = Command::new("kill").args(["-QUIT", pid]).status();
            }
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn user_exists(name: &str) -> bool {
    Command::new("id")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
