//! [`AttrLoc`]: which attribute of which object an operation addresses, as plain data that
//! every layer names attributes with: the context API builds it, the backends (sysfs files,
//! iiod commands) and the iiod codecs read it.

/// Which attribute of which object an operation addresses, with everything any backend needs
/// to find it (the local backend uses file names, the network protocol uses names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrLoc<'a> {
    /// A device attribute: `<device dir>/<name>`.
    Device { dev: &'a str, name: &'a str },
    /// A buffer attribute: `<device dir>/buffer/<name>`.
    Buffer { dev: &'a str, name: &'a str },
    /// A debug attribute: `<debugfs>/iio/<device>/<name>`.
    Debug { dev: &'a str, name: &'a str },
    /// An event attribute (configuration of the device's events): `<device
    /// dir>/events/<name>` on a local device.
    Event { dev: &'a str, name: &'a str },
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
            AttrLoc::Event { dev, .. } => format!("events of device {dev}"),
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
            | AttrLoc::Event { name, .. }
            | AttrLoc::Channel { name, .. } => name,
        }
    }
}
