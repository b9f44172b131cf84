//! A temporary git repository and a way to run the real `orch` binary in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_orch");

/// The project's own root (for the shipped workflow and examples).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/compat/esy`, when it is there (CI has it beside the clone).
pub fn compat_dir() -> Option<PathBuf> {
    let dir = project_root().join("../shared/compat/esy");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {} is absent (the Node runner's real files live beside the clone in CI)",
            dir.display()
        );
        None
    }
}

pub struct TestRepo {
    /// Owns the directory: it is removed when the test ends.
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// Environment every orch command here gets (see `trust_example`).
    env: std::cell::RefCell<Vec<(String, String)>>,
}

/// What a finished orch command left behind.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn from(output: &Output) -> Out {
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing everything on failure.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Out {
        assert_eq!(
            self.code, expected,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Out {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Out {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Out {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// The error line: exactly one `error:` line, and no panic.
    #[track_caller]
    pub fn one_error(&self) -> &str {
        assert!(
            !self.stderr.contains("panicked"),
            "orch panicked:\n{}",
            self.stderr
        );
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "expected one error line:\n{}", self.stderr);
        errors[0]
    }
}

impl TestRepo {
    /// An empty git repository with a known identity.
    pub fn new() -> TestRepo {
        TestRepo::named(".tmp")
    }

    /// Like `new`, in a folder whose name starts with `prefix` (to test
    /// awkward repository paths).
    pub fn named(prefix: &str) -> TestRepo {
        TestRepo::at(
            tempfile::Builder::new()
                .prefix(prefix)
                .tempdir()
                .expect("temp dir"),
        )
    }

    /// Like `shipped`, in a new folder inside `parent` (a small file
    /// system, say).
    pub fn shipped_in(parent: &Path) -> TestRepo {
        let repo = TestRepo::at(tempfile::tempdir_in(parent).expect("temp dir"));
        repo.add_shipped();
        repo
    }

    fn at(dir: tempfile::TempDir) -> TestRepo {
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let repo = TestRepo {
            _dir: dir,
            root,
            env: std::cell::RefCell::new(Vec::new()),
        };
        repo.git(&["init", "-q"]);
        repo.git(&["config", "user.name", "Test Author"]);
        repo.git(&["config", "user.email", "author@example.com"]);
        repo
    }

    /// A repository with the shipped visual-essay workflow, contracts,
    /// prompts and skills, as a fresh clone of orch has them.
    pub fn shipped() -> TestRepo {
        let repo = TestRepo::new();
        repo.add_shipped();
        repo
    }

    fn add_shipped(&self) {
        for dir in [
            "orchestration/workflows",
            "orchestration/gates/contracts",
            "orchestration/prompts",
            "skills",
            "examples",
        ] {
            copy_dir(&project_root().join(dir), &self.path().join(dir));
        }
        copy_file(
            &project_root().join("orchestration/commands.json"),
            &self.path().join("orchestration/commands.json"),
        );
    }

    /// The shipped sources with the example's trust set up
    /// (examples/trust-example.sh): its reviewer's key is trusted through
    /// `refs/orch/example-trust`, which every later orch command here
    /// trusts, and the shipped skills are vetted.
    pub fn vetted() -> TestRepo {
        let repo = TestRepo::shipped();
        repo.trust_example();
        repo
    }

    /// Runs examples/trust-example.sh; later orch commands trust its ref.
    pub fn trust_example(&self) {
        let out = Command::new("sh")
            .arg("examples/trust-example.sh")
            .current_dir(&self.root)
            .env("ORCH", BIN)
            .env_remove("ORCH_TRUSTED_REV")
            .output()
            .expect("sh runs");
        assert!(
            out.status.success(),
            "trust-example.sh failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(rev, "refs/orch/example-trust");
        self.set_env("ORCH_TRUSTED_REV", &rev);
    }

    /// The example reviewer's key (after `trust_example`).
    pub fn example_key(&self) -> PathBuf {
        self.root.join(".git/orch-example/reviewer")
    }

    /// The example's reviewer (after `trust_example`) signs `orch approve`
    /// (with `text` as the comment) or `orch reject` (`text` the reason).
    pub fn reviewer_decides(&self, verb: &str, run: &str, gate: &str, text: &str) -> Out {
        let flag = if verb == "approve" {
            "--comment"
        } else {
            "--reason"
        };
        let key = self.example_key();
        self.orch_env(
            &[
                verb,
                "--run",
                run,
                "--gate",
                gate,
                "--key",
                key.to_str().unwrap(),
                flag,
                text,
            ],
            &[
                ("GIT_AUTHOR_NAME", "Reviewer"),
                ("GIT_AUTHOR_EMAIL", "example-reviewer@orch.invalid"),
            ],
        )
    }

    /// Sets a variable for every later orch command in this repository.
    pub fn set_env(&self, key: &str, value: &str) {
        let mut env = self.env.borrow_mut();
        env.retain(|(k, _)| k != key);
        env.push((key.to_string(), value.to_string()));
    }

    /// The README's main command (examples/visual-essay.sh), as a newcomer
    /// runs it; returns its output and the run id.
    pub fn example_run(&self, slug: &str) -> (Out, String) {
        let out = Out::from(
            &Command::new("sh")
                .args(["examples/visual-essay.sh", slug])
                .current_dir(&self.root)
                .env("ORCH", BIN)
                .env("NO_COLOR", "1")
                .env_remove("ORCH_TRUSTED_REV")
                .env_remove("GIT_AUTHOR_NAME")
                .env_remove("GIT_AUTHOR_EMAIL")
                .stdin(Stdio::null())
                .output()
                .expect("sh runs"),
        );
        let run = out
            .stdout
            .split_whitespace()
            .skip_while(|w| *w != "PASSED")
            .nth(1)
            .unwrap_or_else(|| panic!("no PASSED line:\n{}\n{}", out.stdout, out.stderr))
            .to_string();
        self.set_env("ORCH_TRUSTED_REV", "refs/orch/example-trust");
        (out, run)
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn write(&self, rel: &str, content: &str) -> &TestRepo {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        self
    }

    /// Rewrites a file in place (same inode) and puts its modification
    /// time back: only its change time says it changed.
    pub fn edit_in_place(&self, rel: &str, edit: impl FnOnce(String) -> String) {
        let path = self.root.join(rel);
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let text = edit(self.read(rel));
        std::fs::write(&path, text).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// The file's text, if it exists.
    pub fn read_opt(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(rel)).ok()
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.root.join(rel).exists()
    }

    pub fn read_json(&self, rel: &str) -> Value {
        serde_json::from_str(&self.read(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
    }

    /// Runs git in the repository, which must succeed; returns its stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(&self.root, args)
    }

    /// A configured command for the orch binary, run in the repository.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_via(&[], args)
    }

    /// Like `command`, with orch run by `wrapper` (`strace -f -o LOG`, say).
    pub fn command_via(&self, wrapper: &[&str], args: &[&str]) -> Command {
        let mut cmd = match wrapper {
            [] => Command::new(BIN),
            [program, rest @ ..] => {
                let mut c = Command::new(program);
                c.args(rest).arg(BIN);
                c
            }
        };
        cmd.args(args)
            .current_dir(&self.root)
            .env("NO_COLOR", "1")
            .env_remove("FORCE_COLOR")
            .env_remove("ORCH_OFFLINE")
            .env_remove("ORCH_NOW")
            .env_remove("ORCH_SEED")
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .env_remove("ORCH_TRUSTED_REV")
            .env_remove("ORCH_MODEL")
            .stdin(Stdio::null());
        for (k, v) in self.env.borrow().iter() {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn orch(&self, args: &[&str]) -> Out {
        Out::from(&self.command(args).output().expect("orch runs"))
    }

    pub fn orch_env(&self, args: &[&str], env: &[(&str, &str)]) -> Out {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Out::from(&cmd.output().expect("orch runs"))
    }

    /// Runs orch on a terminal (a pseudo-terminal made by util-linux
    /// `script`), typing `keys`; stdout and stderr arrive together in
    /// `stdout`. `None`, saying so, where `script` is missing.
    pub fn on_terminal(&self, args: &[&str], keys: &str) -> Option<Out> {
        let mut words = vec![BIN];
        words.extend_from_slice(args);
        self.on_terminal_sh(&shlex::try_join(words).expect("quotable"), keys)
    }

    /// Like `on_terminal`, for a shell command line.
    pub fn on_terminal_sh(&self, line: &str, keys: &str) -> Option<Out> {
        use std::io::Write;
        if Command::new("script").arg("--version").output().is_err() {
            eprintln!("skipping: util-linux `script` is missing, so no terminal can be made");
            return None;
        }
        let mut child = Command::new("script")
            .args(["-q", "-e", "-c", line, "/dev/null"])
            .current_dir(&self.root)
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env_remove("FORCE_COLOR")
            .env_remove("ORCH_NOW")
            .env_remove("ORCH_SEED")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(keys.as_bytes())
            .expect("keys typed");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while child.try_wait().expect("wait").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("orch on a terminal still waits for input after 30 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Some(Out::from(&child.wait_with_output().expect("output")))
    }

    /// `orch gate check --gate G --slug s --artifact-path out EXTRA…`: a
    /// contract checked against the working tree, without a run.
    pub fn check_gate(&self, gate: &str, extra: &[&str]) -> Out {
        self.check_gate_env(gate, extra, &[])
    }

    pub fn check_gate_env(&self, gate: &str, extra: &[&str], env: &[(&str, &str)]) -> Out {
        let mut args = vec![
            "gate",
            "check",
            "--gate",
            gate,
            "--slug",
            "s",
            "--artifact-path",
            "out",
        ];
        args.extend_from_slice(extra);
        self.orch_env(&args, env)
    }

    /// Starts a run of the shipped workflow; returns its id.
    pub fn start_run(&self, slug: &str) -> String {
        let out = self.orch(&["run", "start", "--workflow", "visual-essay", "--slug", slug]);
        out.ok();
        out.stdout.trim().to_string()
    }

    /// `orch gate start --run RUN --gate GATE --agent AGENT`.
    pub fn start_gate(&self, run: &str, gate: &str, agent: &str) -> Out {
        self.orch(&[
            "gate", "start", "--run", run, "--gate", gate, "--agent", agent,
        ])
    }

    /// `orch gate finish --run RUN --gate GATE`.
    pub fn finish_gate(&self, run: &str, gate: &str) -> Out {
        self.orch(&["gate", "finish", "--run", run, "--gate", gate])
    }

    pub fn run_json(&self, run: &str) -> Value {
        self.read_json(&format!("orchestration/runs/{run}/record/RUN.json"))
    }

    pub fn attempt_json(&self, run: &str, gate: &str, n: u32) -> Value {
        self.read_json(&format!(
            "orchestration/runs/{run}/record/gates/{gate}/attempt-{n}.json"
        ))
    }

    /// Copies the example outputs for a gate of the shipped workflow.
    pub fn do_work(&self, gate: &str, slug: &str) {
        let src = project_root().join("examples/the-word-robot");
        let dst = self.root.join(format!("essays/{slug}"));
        match gate {
            "G1" => copy_file(&src.join("INTAKE.md"), &dst.join("INTAKE.md")),
            "G2" => copy_dir(&src.join("research"), &dst.join("research")),
            "G3" => copy_file(&src.join("SPEC.md"), &dst.join("SPEC.md")),
            other => panic!("no example work for {other}"),
        }
    }

    /// `orch verify --format json`, answered with its cache, and checked
    /// against a fresh check (`--no-cache`): the two must say the same.
    /// Files written just before are let settle first, so the cache keeps
    /// what this verify found about each of `runs` (asserted): the next
    /// call answers from it unless something it depended on changed.
    pub fn verify_cached(&self, runs: &[&str]) -> Value {
        settle();
        let cached = self.orch(&["verify", "--format", "json"]);
        let fresh = self.orch(&["verify", "--format", "json", "--no-cache"]);
        assert_eq!(
            (cached.code, &cached.stdout),
            (fresh.code, &fresh.stdout),
            "verify's cache answered differently from a fresh check"
        );
        let cache = self.read(VERIFY_CACHE);
        for run in runs {
            assert!(cache.contains(&format!("@\t{run}\t")), "{run} is cached");
        }
        cached.json()
    }

    /// Every file under `rel`, repo-relative, sorted.
    pub fn files_under(&self, rel: &str) -> Vec<String> {
        let mut out = Vec::new();
        collect(&self.root, &self.root.join(rel), &mut out);
        out.sort();
        out
    }
}

/// verify's cache (see `orch verify --help`).
pub const VERIFY_CACHE: &str = ".git/orch/verify-cache";

/// Lets files written just now settle: verify's cache keeps no finding over
/// a file that changed within the last 50 ms.
pub fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(80));
}

/// The kinds of the error findings in a verify report (`--format json`), in order.
pub fn error_kinds(doc: &Value) -> Vec<String> {
    let mut kinds = Vec::new();
    for g in doc["groups"].as_array().unwrap() {
        for c in g["cases"].as_array().unwrap() {
            for f in c["findings"].as_array().unwrap() {
                if f["level"] == "error" {
                    kinds.push(f["kind"].as_str().unwrap().to_string());
                }
            }
        }
    }
    kinds
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            out.push(
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

pub fn copy_file(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
    std::fs::copy(src, dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src)
        .unwrap_or_else(|e| panic!("read {}: {e}", src.display()))
        .flatten()
    {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &dst.join(e.file_name()));
        } else {
            copy_file(&p, &dst.join(e.file_name()));
        }
    }
}

/// An SSH key made for a test (`ssh-keygen -t ed25519 -N ''`).
pub struct Key {
    pub private: PathBuf,
    /// `ssh-ed25519 AAAA…` (no comment).
    pub public: String,
}

impl TestRepo {
    /// Makes an unprotected ed25519 key outside the repository's tracked files.
    pub fn keygen(&self, name: &str) -> Key {
        let dir = self.root.join(".git/test-keys");
        std::fs::create_dir_all(&dir).expect("key dir");
        let private = dir.join(name);
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&private)
            .stdin(Stdio::null())
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success(), "ssh-keygen failed");
        let public = std::fs::read_to_string(private.with_extension("pub")).expect("public key");
        let public = public
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Key { private, public }
    }

    /// `git add -A && git commit`.
    pub fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }
}

/// A request the test server received.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A small HTTP server on 127.0.0.1 that records every request and answers
/// with the given status codes in turn (the last one repeats).
pub struct Server {
    pub url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<Request>>>,
}

impl Server {
    pub fn start(statuses: &[u16]) -> Server {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = std::sync::Arc::clone(&requests);
        let statuses = statuses.to_vec();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let len = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                seen.lock().unwrap().push(Request {
                    path,
                    headers,
                    body,
                });
                let status = statuses.get(i).or(statuses.last()).copied().unwrap_or(200);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
            }
        });
        Server { url, requests }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

/// The words of the `orch …` command on the first line with `marker`.
pub fn pasted(said: &str, marker: &str) -> Vec<String> {
    let line = said
        .lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no {marker:?} in:\n{said}"));
    let at = line.find(marker).unwrap() + marker.len();
    let cmd = line[at..].trim().trim_end_matches(['`', ')', '.']);
    let words = shlex::split(cmd).unwrap_or_else(|| panic!("cannot split {cmd:?}"));
    assert_eq!(words[0], "orch", "{cmd}");
    words
}

/// Runs git in `dir`, which must succeed; returns its stdout.
pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
