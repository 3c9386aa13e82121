//! Attribute files read and written the way sysfs expects (one `write()`, permission bits
//! honoured as sysfs honours them even for root, values cut at the first NUL), and
//! [`Settings`]: values written with the previous ones recorded so they can be put back.
//!
//! This sits below both the local backend (`sysfs/`), which owns every file it touches, and
//! the kernel buffer engine (`buffer/`): the backend configures a buffer through a
//! `Settings` and hands it to the engine, which puts the values back when the buffer
//! closes. Neither reaches into the other.

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// How attribute files are opened. Never through a link: sysfs, debugfs and configfs
/// attributes are regular files, and in a tree served to the network (`ferroio serve -u
/// local:PATH`) a file swapped for a link after the scan must not lead anywhere else.
const ATTR_OPEN_FLAGS: rustix::fs::OFlags =
    rustix::fs::OFlags::CLOEXEC.union(rustix::fs::OFlags::NOFOLLOW);

/// The most an attribute read returns. sysfs attributes are at most a page; debugfs files
/// can be longer, but nothing an attribute holds comes near this.
const MAX_ATTR_BYTES: u64 = 1 << 20;

/// Reads a sysfs attribute file: at most [`MAX_ATTR_BYTES`], cut at the first NUL, one
/// trailing newline removed, UTF-8 required.
///
/// sysfs refuses to read a file that has no read permission bits (the attribute has no
/// `show` method) even to root. A copied tree would let root read it, so the permission bits
/// are checked here too: a captured write-only attribute then fails with `EACCES` as it did
/// on the machine it came from.
pub(crate) fn read_attr_file(path: &Path) -> Result<String> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(ATTR_OPEN_FLAGS.bits() as i32)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_file() && meta.mode() & 0o444 == 0 {
        return Err(Error::io(path, access_denied()));
    }
    let mut bytes = Vec::new();
    (&mut file)
        .take(MAX_ATTR_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > MAX_ATTR_BYTES {
        return Err(Error::Malformed {
            what: path.display().to_string(),
            reason: format!("attribute is larger than {MAX_ATTR_BYTES} bytes"),
        });
    }
    // A value ends at the first NUL: some kernel attributes return their C string with its
    // terminator (`current_timestamp_clock` gives `realtime\n\0`).
    if let Some(nul) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(nul);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    String::from_utf8(bytes).map_err(|_| Error::Malformed {
        what: path.display().to_string(),
        reason: "value is not UTF-8".into(),
    })
}

/// What sysfs answers for a file without the permission bits asked for.
fn access_denied() -> std::io::Error {
    std::io::Error::from_raw_os_error(rustix::io::Errno::ACCESS.raw_os_error())
}

/// Writes a sysfs attribute file in one `write()`, as sysfs wants. Files without write
/// permission bits are refused with `EACCES`, as sysfs does even for root.
pub(crate) fn write_attr_file(path: &Path, value: &str) -> Result<()> {
    // Checked before the open: truncating would empty a read-only file of a copied tree.
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_file() && meta.mode() & 0o222 == 0 {
        return Err(Error::io(path, access_denied()));
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(ATTR_OPEN_FLAGS.bits() as i32)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let n = file
        .write(value.as_bytes())
        .map_err(|e| Error::io(path, e))?;
    if n != value.len() {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                format!("short write: {n} of {} bytes", value.len()),
            ),
        ));
    }
    Ok(())
}

/// Values written to attribute files, each with the value it replaced, to be put back in
/// reverse order (a buffer's scan elements, length, watermark and enable).
#[derive(Debug, Default)]
pub(crate) struct Settings {
    undo: Vec<(PathBuf, String)>,
}

impl Settings {
    /// Nothing recorded yet.
    pub(crate) fn new() -> Settings {
        Settings::default()
    }

    /// Writes `value` to `path` unless it already holds it, recording the old value.
    pub(crate) fn set(&mut self, path: &Path, value: &str) -> Result<()> {
        let old = read_attr_file(path)?;
        if old.trim() == value {
            return Ok(());
        }
        write_attr_file(path, value)?;
        self.undo.push((path.to_path_buf(), old.trim().to_string()));
        Ok(())
    }

    /// Writes the recorded values back, the last one first; returns the first error and
    /// goes on with the rest. Afterwards nothing is recorded.
    pub(crate) fn restore(&mut self) -> Result<()> {
        let mut first = Ok(());
        while let Some((path, value)) = self.undo.pop() {
            if let Err(e) = write_attr_file(&path, &value) {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writing_a_read_only_file_fails_and_leaves_it_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sampling_frequency_available");
        std::fs::write(&path, "100 200\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let err = write_attr_file(&path, "1").unwrap_err();
        assert_eq!(err.errno(), 13, "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "100 200\n");
        assert_eq!(read_attr_file(&path).unwrap(), "100 200");
    }

    #[test]
    fn settings_are_put_back_last_first() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "0\n").unwrap();
        std::fs::write(&b, "128\n").unwrap();
        let mut s = Settings::new();
        s.set(&a, "1").unwrap();
        s.set(&b, "128").unwrap(); // already so: nothing to record
        s.set(&b, "64").unwrap();
        s.set(&a, "0").unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "0");
        s.restore().unwrap();
        assert_eq!(read_attr_file(&a).unwrap(), "0");
        assert_eq!(read_attr_file(&b).unwrap(), "128");
        // A vanished file is reported, the others still put back.
        s.set(&a, "1").unwrap();
        s.set(&b, "32").unwrap();
        std::fs::remove_file(&b).unwrap();
        std::fs::create_dir(&b).unwrap();
        assert!(s.restore().is_err());
        assert_eq!(read_attr_file(&a).unwrap(), "0");
    }

    #[test]
    fn write_only_files_are_written_but_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reset");
        std::fs::write(&path, "0\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o200)).unwrap();
        write_attr_file(&path, "1").unwrap();
        assert_eq!(read_attr_file(&path).unwrap_err().errno(), 13);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "1");
    }
}
