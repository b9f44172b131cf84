//! The one way orch opens a file it reads or locks. A path can name a FIFO,
//! a socket or a device as easily as a file, and opening a FIFO blocks until
//! a writer comes (a signal handler that restarts system calls keeps it
//! blocked, so even SIGTERM would not help). Every open here is
//! non-blocking, and the opened file is checked to be a regular file before
//! a byte is read; anything else is refused with an error that says what
//! the path is.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Opens a regular file for reading.
pub fn open(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    nonblocking(&mut options);
    checked(options.open(path)?)
}

/// Opens (creating it when missing) a regular file for reading and writing:
/// lock files and journals.
pub fn open_or_create(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    nonblocking(&mut options);
    checked(
        options
            .open(path)
            .map_err(|e| explain_open_error(path, e))?,
    )
}

/// Opens an existing regular file for reading and writing.
pub fn open_rw(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    nonblocking(&mut options);
    checked(
        options
            .open(path)
            .map_err(|e| explain_open_error(path, e))?,
    )
}

/// The whole content of a regular file.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let (mut file, size) = open_sized(path)?;
    let mut bytes = Vec::with_capacity(size);
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The whole content of a regular file, as UTF-8 text.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    let (mut file, size) = open_sized(path)?;
    let mut text = String::with_capacity(size);
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// `open`, and the file's size (room to read it in one go).
fn open_sized(path: &Path) -> io::Result<(File, usize)> {
    let file = open(path)?;
    let size = file.metadata().map_or(0, |m| m.len());
    Ok((file, usize::try_from(size).unwrap_or(0)))
}

#[cfg(unix)]
fn nonblocking(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC);
}

#[cfg(not(unix))]
fn nonblocking(_: &mut OpenOptions) {}

/// The file, if it is a regular one. (O_NONBLOCK changes nothing for reads
/// and writes of a regular file.)
fn checked(file: File) -> io::Result<File> {
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    if kind.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        ));
    }
    Err(not_regular(kind))
}

/// Opening a socket fails (ENXIO) before its type can be checked: say what it is.
fn explain_open_error(path: &Path, e: io::Error) -> io::Error {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => not_regular(meta.file_type()),
        _ => e,
    }
}

fn not_regular(kind: std::fs::FileType) -> io::Error {
    #[cfg(unix)]
    let what = {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            "is a FIFO (named pipe), not a regular file"
        } else if kind.is_socket() {
            "is a socket, not a regular file"
        } else if kind.is_char_device() || kind.is_block_device() {
            "is a device, not a regular file"
        } else {
            "is not a regular file"
        }
    };
    #[cfg(not(unix))]
    let what = {
        let _ = kind;
        "is not a regular file"
    };
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_read_and_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "text").unwrap();
        assert_eq!(read_to_string(&file).unwrap(), "text");
        let err = read(dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
        assert_eq!(
            read(&dir.path().join("missing")).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        for err in [read(&fifo).unwrap_err(), open_or_create(&fifo).unwrap_err()] {
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            assert_eq!(
                err.to_string(),
                "is a FIFO (named pipe), not a regular file"
            );
        }
        let dev = read(Path::new("/dev/null")).unwrap_err();
        assert_eq!(dev.to_string(), "is a device, not a regular file");
    }
}
