//! The local backend: where the IIO files of a machine (or of a captured tree) are, and the
//! backend operations on them: attributes, triggers, buffers (`super::buffer`) and event
//! streams, each file reached through the paths here.

use crate::attr_io::{read_attr_file, write_attr_file};
use crate::attr_loc::AttrLoc;
use crate::backend::{Backend, BufferSpec, BufferStream, EventSource};
use crate::buffer::event_fd::FdEvents;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

    /// The paths a local context URI names: `local:` (this machine) or `local:PATH` (a tree
    /// under PATH); `None` for any other URI.
    pub fn from_uri(uri: &str) -> Option<LocalPaths> {
        match uri.strip_prefix("local:")? {
            "" => Some(LocalPaths::system()),
            root => Some(LocalPaths::under(Path::new(root))),
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
            AttrLoc::Event { dev, name } => self.paths.device_dir(dev).join("events").join(name),
            AttrLoc::Channel { dev, filename, .. } => self.paths.device_dir(dev).join(filename),
        }
    }
}

impl Backend for LocalBackend {
    fn kind(&self) -> &'static str {
        "local"
    }

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

    fn open_buffer(&self, spec: &BufferSpec<'_>) -> Result<Box<dyn BufferStream>> {
        let buffer0 = self.buffer_dirs.get(&spec.dev.id).map(String::as_str);
        super::buffer::open(&self.paths, buffer0, spec)
    }

    fn open_events(&self, dev: &str) -> Result<Box<dyn EventSource>> {
        let node = self.paths.dev.join(dev);
        // Non-blocking: a node that is not the character device (a captured tree's FIFO)
        // must not hang the open; the ioctl below then refuses it.
        let chardev = rustix::fs::open(
            &node,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC | rustix::fs::OFlags::NONBLOCK,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| Error::io(&node, e.into()))?;
        let fd = crate::buffer::uapi::get_event_fd(&chardev).map_err(|e| Error::Ioctl {
            path: node.clone(),
            ioctl: "IIO_GET_EVENT_FD_IOCTL",
            source: e.into(),
        })?;
        // The node is free again for a buffer (one open at a time per device).
        drop(chardev);
        Ok(Box::new(FdEvents::new(
            fd,
            node,
            format!("events of {dev}"),
        )?))
    }

    fn event_attrs(&self, dev: &str) -> Result<Vec<String>> {
        let dir = self.paths.device_dir(dev).join("events");
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(|err| Error::io(&dir, err))?;
            if let Some(name) = e.file_name().to_str() {
                out.push(name.to_string());
            }
        }
        out.sort();
        Ok(out)
    }
}
