//! The one interface local sysfs, XML and network contexts share: reading and writing
//! attributes and the current trigger. The context/device/channel API in
//! [`crate::context`] is written once on top of it.

use crate::error::Result;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Which attribute of which object an operation addresses, with everything any backend needs
/// to find it (the local backend uses file names, the network protocol uses names).
#[derive(Debug, Clone, Copy)]
pub(crate) enum AttrLoc<'a> {
    /// A device attribute: `<device dir>/<name>`.
    Device { dev: &'a str, name: &'a str },
    /// A buffer attribute: `<device dir>/buffer/<name>`.
    Buffer { dev: &'a str, name: &'a str },
    /// A debug attribute: `<debugfs>/iio/<device>/<name>`.
    Debug { dev: &'a str, name: &'a str },
    /// A channel attribute living in `<device dir>/<filename>`.
    Channel {
        dev: &'a str,
        channel: &'a str,
        output: bool,
        name: &'a str,
        filename: &'a str,
    },
}

impl AttrLoc<'_> {
    /// Describes the owner for error messages, e.g. `channel voltage0 (input) of iio:device0`.
    pub(crate) fn owner(&self) -> String {
        match self {
            AttrLoc::Device { dev, .. } => format!("device {dev}"),
            AttrLoc::Buffer { dev, .. } => format!("buffer of device {dev}"),
            AttrLoc::Debug { dev, .. } => format!("debug attributes of device {dev}"),
            AttrLoc::Channel {
                dev,
                channel,
                output,
                ..
            } => format!(
                "channel {channel} ({}) of device {dev}",
                if *output { "output" } else { "input" }
            ),
        }
    }

    /// The attribute name.
    pub(crate) fn name(&self) -> &str {
        match self {
            AttrLoc::Device { name, .. }
            | AttrLoc::Buffer { name, .. }
            | AttrLoc::Debug { name, .. }
            | AttrLoc::Channel { name, .. } => name,
        }
    }
}

/// What a backend does for the shared API. Implementations must be thread-safe: one
/// [`crate::Context`] may be used from several threads at once.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    /// Reads an attribute's value (one trailing newline removed).
    fn read_attr(&self, loc: &AttrLoc<'_>) -> Result<String>;
    /// Writes an attribute's value.
    fn write_attr(&self, loc: &AttrLoc<'_>, value: &str) -> Result<()>;
    /// The name of the device's current trigger, `None` when it has none.
    fn current_trigger(&self, dev: &str) -> Result<Option<String>>;
    /// Sets (or with `None`, clears) the device's current trigger, by trigger name.
    fn set_trigger(&self, dev: &str, trigger: Option<&str>) -> Result<()>;
    /// Sets the timeout of blocking operations.
    fn set_timeout(&self, _timeout: Duration) -> Result<()> {
        Ok(())
    }
    /// An independent backend for the same source (a new connection for the network).
    fn try_clone(&self) -> Result<Arc<dyn Backend>>;
}
