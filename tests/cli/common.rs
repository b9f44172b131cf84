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
}

/// What a finished orch command left behind.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    fn from(output: &Output) -> Out {
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
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .args(args)
                .current_dir(&root)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("git runs");
            assert!(status.success(), "git {args:?} failed");
        };
        git(&["init", "-q"]);
        git(&["config", "user.name", "Test Author"]);
        git(&["config", "user.email", "author@example.com"]);
        TestRepo { _dir: dir, root }
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

    /// A configured command for the orch binary, run in the repository.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(&self.root)
            .env("NO_COLOR", "1")
            .env_remove("FORCE_COLOR")
            .env_remove("ORCH_OFFLINE")
            .env_remove("ORCH_NOW")
            .env_remove("ORCH_SEED")
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .stdin(Stdio::null());
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

    /// Every file under `rel`, repo-relative, sorted.
    pub fn files_under(&self, rel: &str) -> Vec<String> {
        let mut out = Vec::new();
        collect(&self.root, &self.root.join(rel), &mut out);
        out.sort();
        out
    }
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
