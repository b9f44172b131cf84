//! SHA-256 of outputs, as fast as the machine allows: files are streamed
//! through a fixed buffer (memory stays flat however large they are) and
//! many files are spread over all cores. sha2 uses the CPU's SHA
//! extensions where present.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const BUFFER: usize = 256 * 1024;

/// Lowercase hex SHA-256 of a file's content.
pub fn file(path: &Path) -> io::Result<String> {
    let mut buf = vec![0u8; BUFFER];
    file_with(path, &mut buf)
}

fn file_with(path: &Path, buf: &mut [u8]) -> io::Result<String> {
    let mut f = crate::storage::regular::open(path)?;
    let mut hasher = Sha256::new();
    loop {
        match f.read(buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hex(&hasher.finalize()))
}

/// Lowercase hex SHA-256 of bytes.
pub fn bytes(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Hashes many files, spread over all cores; results are in the order of
/// `paths`.
pub fn files(paths: &[PathBuf]) -> Vec<io::Result<String>> {
    crate::par::map_with(
        paths,
        || vec![0u8; BUFFER],
        |buf, path| file_with(path, buf),
    )
}

/// Hashes many files one after another on this thread (for callers that
/// are already spread over the cores); results are in the order of `paths`.
pub fn files_in_turn(paths: &[PathBuf]) -> Vec<io::Result<String>> {
    let mut buf = vec![0u8; BUFFER];
    paths.iter().map(|p| file_with(p, &mut buf)).collect()
}

/// Lowercase hex of bytes.
pub fn hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            bytes(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parallel_results_keep_order_and_match_streaming() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..9)
            .map(|i| {
                let p = dir.path().join(format!("f{i}"));
                std::fs::write(&p, vec![b"abcdefghi"[i]; 300_000 + i * 7]).unwrap();
                p
            })
            .collect();
        let mut with_missing = paths.clone();
        with_missing.push(dir.path().join("missing"));
        let results = files(&with_missing);
        assert_eq!(
            files_in_turn(&with_missing)
                .into_iter()
                .map(Result::ok)
                .collect::<Vec<_>>(),
            results
                .iter()
                .map(|r| r.as_ref().ok().cloned())
                .collect::<Vec<_>>()
        );
        for (p, r) in paths.iter().zip(&results) {
            assert_eq!(r.as_ref().unwrap(), &bytes(&std::fs::read(p).unwrap()));
        }
        assert!(results.last().unwrap().is_err());
    }
}
