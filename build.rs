//! Build script. It stamps `orch --version` with the commit orch was built
//! from (when built from a git checkout; a source tarball builds without
//! it), and notes whether the Node runner's files sit beside the clone
//! (`../shared/compat/esy`), so the tests that read them are reported as
//! ignored, not as passes, where they are absent.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Re-runs this script when `git_path` (a file in the git directory) changes.
fn watch(git_path: &str) {
    if let Some(path) =
        git(&["rev-parse", "--git-path", git_path]).filter(|p| Path::new(p).exists())
    {
        println!("cargo::rerun-if-changed={path}");
    }
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let suffix = match (
        git(&["rev-parse", "--short=12", "HEAD"]),
        git(&["log", "-1", "--format=%cs"]),
    ) {
        (Some(commit), Some(date)) => format!(" ({commit} {date})"),
        (Some(commit), None) => format!(" ({commit})"),
        _ => String::new(),
    };
    println!("cargo::rustc-env=ORCH_VERSION_SUFFIX={suffix}");
    // A new commit moves HEAD, or the branch it points at.
    watch("HEAD");
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(&branch);
    }
    watch("packed-refs");

    println!("cargo::rustc-check-cfg=cfg(orch_no_compat)");
    if !Path::new("../shared/compat/esy").is_dir() {
        println!("cargo::rustc-cfg=orch_no_compat");
    }
}
