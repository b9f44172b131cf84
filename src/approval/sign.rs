//! Signing a statement (an approval, a skill vetting): `ssh-keygen -Y sign
//! -n <namespace> -f KEY`, the mechanism git uses for SSH-signed commits. Running ssh-keygen (rather
//! than reading the key in-process) is what lets every kind of key work:
//! passphrase-protected keys prompt on the terminal, keys held by
//! ssh-agent sign through it (give the public key), and hardware `-sk`
//! keys ask for a touch. Only signing needs ssh-keygen; verifying does not.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::repo::Repo;

/// The key to sign with, as ssh-keygen's `-f` takes it.
pub struct SigningKey {
    pub path: PathBuf,
    /// A literal `key::…` public key from git's config, written to a
    /// temporary file for ssh-keygen (the agent holds the private half).
    _literal: Option<tempfile::NamedTempFile>,
}

/// `--key PATH`, else git's `user.signingkey` (a path, or `key::<public key>`).
pub fn signing_key(repo: &Repo, given: Option<&Path>) -> Result<SigningKey> {
    let configured = || {
        Command::new("git")
            .args(["config", "--get", "user.signingkey"])
            .current_dir(repo.root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let spec = match given {
        Some(p) => p.to_string_lossy().into_owned(),
        None => configured().ok_or_else(|| {
            Error::input("no key to sign with")
                .hint("give one: --key ~/.ssh/id_ed25519 (a passphrase-protected or hardware -sk key is best)")
                .hint("or set git's: git config user.signingkey ~/.ssh/id_ed25519.pub")
        })?,
    };
    if let Some(literal) = spec.strip_prefix("key::") {
        let mut file =
            tempfile::NamedTempFile::new().map_err(|e| Error::write("a temporary key file", e))?;
        writeln!(file, "{}", literal.trim())
            .map_err(|e| Error::write("a temporary key file", e))?;
        return Ok(SigningKey {
            path: file.path().to_path_buf(),
            _literal: Some(file),
        });
    }
    let path = expand_home(&spec);
    if !path.is_file() {
        return Err(
            Error::input(format!("signing key `{spec}` does not exist"))
                .hint("give the private key, or the public key of a key held by ssh-agent (--key or git config user.signingkey)"),
        );
    }
    Ok(SigningKey {
        path,
        _literal: None,
    })
}

fn expand_home(spec: &str) -> PathBuf {
    match (spec.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(spec),
    }
}

/// Signs `message` in `namespace`; returns the armored SSHSIG.
/// ssh-keygen's own prompts (passphrase, "confirm user presence") reach
/// the person.
pub fn sign(key: &SigningKey, namespace: &str, message: &[u8]) -> Result<String> {
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", namespace, "-f"])
        .arg(&key.path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::input(format!(
                "cannot run ssh-keygen: {}",
                crate::repo::io_reason(&e)
            ))
            .hint("install OpenSSH (ssh-keygen signs approvals; verifying them needs nothing)")
        })?;
    let stderr = child.stderr.take().map(|err| {
        std::thread::spawn(move || {
            let mut last = String::new();
            for line in BufReader::new(err).lines().map_while(std::io::Result::ok) {
                if line.trim() != "Signing data on standard input" {
                    eprintln!("{line}");
                    last = line;
                }
            }
            last
        })
    });
    if let Some(mut stdin) = child.stdin.take() {
        // A failure shows up as ssh-keygen's exit status.
        let _ = stdin.write_all(message);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::input(format!("ssh-keygen failed: {}", crate::repo::io_reason(&e))))?;
    let last = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    let armored = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() || !armored.contains("BEGIN SSH SIGNATURE") {
        let why = if last.is_empty() {
            out.status.to_string()
        } else {
            last
        };
        return Err(Error::input(format!("ssh-keygen could not sign: {why}"))
            .hint(format!("the key was `{}`", key.path.display())));
    }
    Ok(armored)
}
