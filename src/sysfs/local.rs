//! The local backend: where the IIO files of a machine (or of a captured tree) are, and
//! reading and writing attribute files the way sysfs expects.

use crate::backend::{AttrLoc, Backend};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The most an attribute read returns. sysfs attributes are at most a page; debugfs files
/// can be longer, but nothing an attribute holds comes near this.
const MAX_ATTR_BYTES: u64 = 1 << 20;

/// Where a local context finds its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPaths {
    /// The sysfs root (`/sys`); devices are in `<sysfs>/bus/iio/devices`.
    pub sysfs: PathBuf,
    /// The debugfs root (`/sys/kernel/debug`); debug attributes are in `<debugfs>/iio/<id>`.
    pub debugfs: PathBuf,
    /// The configfs root (`/sys/kernel/config`), for software triggers and devices.
    pub configfs: PathBuf,
    /// Where device nodes are (`/dev`).
    pub dev: PathBuf,
    /// The URI the context reports (`local:` or `local:PATH`).
    pub uri: String,
}

impl LocalPaths {
    /// This machine's paths.
    pub fn system() -> LocalPaths {
        LocalPaths {
            sysfs: PathBuf::from("/sys"),
            debugfs: PathBuf::from("/sys/kernel/debug"),
            configfs: PathBuf::from("/sys/kernel/config"),
            dev: PathBuf::from("/dev"),
            uri: "local:".into(),
        }
    }

    /// Paths under another sysfs root, e.g. a captured fixture: `<root>/bus/iio/devices`,
    /// `<root>/kernel/debug`, `<root>/kernel/config`, and device nodes in `<root>/dev`.
    pub fn under(root: &Path) -> LocalPaths {
        LocalPaths {
            sysfs: root.to_path_buf(),
            debugfs: root.join("kernel/debug"),
            configfs: root.join("kernel/config"),
            dev: root.join("dev"),
            uri: format!("local:{}", root.display()),
        }
    }

    /// `<sysfs>/bus/iio/devices`.
    pub fn devices_dir(&self) -> PathBuf {
        self.sysfs.join("bus/iio/devices")
    }

    /// The directory of one device.
    pub fn device_dir(&self, id: &str) -> PathBuf {
        self.devices_dir().join(id)
    }
}

/// Reads a sysfs attribute file: at most [`MAX_ATTR_BYTES`], cut at the first NUL, one
/// trailing newline removed, UTF-8 required.
///
/// sysfs refuses to read a file that has no read permission bits (the attribute has no
/// `show` method) even to root. A copied tree would let root read it, so the permission bits
/// are checked here too: a captured write-only attribute then fails with `EACCES` as it did
/// on the machine it came from.
pub(crate) fn read_attr_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_file() && meta.mode() & 0o444 == 0 {
        return Err(Error::io(path, std::io::Error::from_raw_os_error(13)));
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

/// Writes a sysfs attribute file in one `write()`, as sysfs wants. Files without write
/// permission bits are refused with `EACCES`, as sysfs does even for root.
pub(crate) fn write_attr_file(path: &Path, value: &str) -> Result<()> {
    // Checked before the open: truncating would empty a read-only file of a copied tree.
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_file() && meta.mode() & 0o222 == 0 {
        return Err(Error::io(path, std::io::Error::from_raw_os_error(13)));
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(rustix::fs::OFlags::CLOEXEC.bits() as i32)
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

/// The backend of local contexts.
#[derive(Debug, Clone)]
pub(crate) struct LocalBackend {
    pub(crate) paths: LocalPaths,
    /// Per device: the directory holding buffer 0's attributes (`buffer` or `buffer0`).
    pub(crate) buffer_dirs: Arc<HashMap<String, String>>,
}

impl LocalBackend {
    fn path_of(&self, loc: &AttrLoc<'_>) -> PathBuf {
        match *loc {
            AttrLoc::Device { dev, name } => self.paths.device_dir(dev).join(name),
            AttrLoc::Buffer { dev, name } => {
                let dir = self
                    .buffer_dirs
                    .get(dev)
                    .map(String::as_str)
                    .unwrap_or("buffer");
                self.paths.device_dir(dev).join(dir).join(name)
            }
            AttrLoc::Debug { dev, name } => self.paths.debugfs.join("iio").join(dev).join(name),
            AttrLoc::Channel { dev, filename, .. } => self.paths.device_dir(dev).join(filename),
        }
    }
}

impl Backend for LocalBackend {
    fn read_attr(&self, loc: &AttrLoc<'_>) -> Result<String> {
        read_attr_file(&self.path_of(loc))
    }

    fn write_attr(&self, loc: &AttrLoc<'_>, value: &str) -> Result<()> {
        write_attr_file(&self.path_of(loc), value)
    }

    fn current_trigger(&self, dev: &str) -> Result<Option<String>> {
        let path = self.paths.device_dir(dev).join("trigger/current_trigger");
        let name = read_attr_file(&path)?;
        let name = name.trim();
        Ok((!name.is_empty()).then(|| name.to_string()))
    }

    fn set_trigger(&self, dev: &str, trigger: Option<&str>) -> Result<()> {
        let path = self.paths.device_dir(dev).join("trigger/current_trigger");
        // An empty write never reaches a sysfs store method; a lone newline clears it.
        write_attr_file(&path, trigger.unwrap_or("\n"))
    }

    fn try_clone(&self) -> Result<Arc<dyn Backend>> {
        Ok(Arc::new(self.clone()))
    }

    fn open_buffer(
        &self,
        spec: &crate::backend::BufferSpec<'_>,
    ) -> Result<Box<dyn crate::backend::BufferStream>> {
        let buffer0 = self.buffer_dirs.get(&spec.dev.id).map(String::as_str);
        crate::buffer::local::open(&self.paths, buffer0, spec)
    }

    fn local_paths(&self) -> Option<&LocalPaths> {
        Some(&self.paths)
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
