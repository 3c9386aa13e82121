//! The context snapshot as plain data: what every backend (local sysfs, XML, network)
//! produces and what [`crate::Context`] hands out views of. No I/O lives here.
//!
//! The shape follows libiio: a context has attributes and devices; a device has channels,
//! device attributes, buffer attributes and debug attributes; a channel has attributes (with
//! the sysfs file each one reads) and, when it can be streamed, a scan element.

use crate::channel_type::{ChannelType, Modifier};
use crate::format::DataFormat;

/// Where a snapshot came from and how libiio would describe it in XML.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContextData {
    /// Backend name as libiio writes it in XML: `local`, `xml`, `network`.
    pub name: String,
    /// Free-text description (for local contexts: `uname` fields joined by spaces).
    pub description: String,
    /// Whether the source gave a description, even an empty one (libiio then writes
    /// `description=""`; a source without one gets none).
    pub has_description: bool,
    /// `version-major`, `version-minor`, `version-git` when known (libiio 0.x XML carries
    /// them; older files do not), the git tag as the source gave it (writers cut it as
    /// libiio does).
    pub version: Option<(u32, u32, String)>,
    /// Context attributes in order (`local,kernel`, `uri`, `ip,ip-addr` ...).
    pub attrs: Vec<(String, String)>,
    /// Devices in libiio order (sorted by id with a plain byte comparison for local contexts).
    pub devices: Vec<DeviceData>,
}

impl ContextData {
    /// The position of the trigger named `name` (libiio's triggers: ids starting with
    /// `trigger`).
    pub(crate) fn trigger_named(&self, name: &str) -> Option<usize> {
        self.devices
            .iter()
            .position(|d| d.is_trigger() && d.name.as_deref() == Some(name))
    }
}

impl DeviceData {
    /// Whether this is a trigger (libiio's rule: its id starts with `trigger`).
    pub(crate) fn is_trigger(&self) -> bool {
        self.id.starts_with("trigger")
    }
}

/// One IIO device (`iio:deviceN`), trigger (`triggerN`) or other entry of the IIO bus.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeviceData {
    /// The id: the directory name in `/sys/bus/iio/devices`.
    pub id: String,
    /// The `name` file's content, when there is one.
    pub name: Option<String>,
    /// The `label` file's content, when there is one.
    pub label: Option<String>,
    /// Channels in libiio order: scan elements by index, then the others.
    pub channels: Vec<ChannelData>,
    /// Device attributes, sorted by name.
    pub attrs: Vec<AttrData>,
    /// Buffer attributes (of buffer 0), sorted by name.
    pub buffer_attrs: Vec<AttrData>,
    /// Debug attributes (debugfs), in the directory's order as libiio lists them (not sorted).
    pub debug_attrs: Vec<AttrData>,
    /// Device-level event attributes as a libiio 1.x description lists them
    /// (`<event-attribute>`). Local scans leave this empty: a local device's event files are
    /// listed by [`crate::Device::event_attrs`].
    pub event_attrs: Vec<AttrData>,
    /// Number of buffers the device has (`bufferN/` directories; 1 for the legacy layout
    /// alone; 0 when the device cannot buffer).
    pub buffer_count: u32,
}

/// An attribute: its name as users see it and the file it lives in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttrData {
    /// The attribute name (`raw`, `sampling_frequency` ...).
    pub name: String,
    /// The sysfs file name relative to the owner's directory (`in_voltage0_raw`,
    /// `in_voltage_scale` for a shared attribute). Empty when the source does not say (XML
    /// device attributes).
    pub filename: String,
    /// Set when the scan found the item unusable (e.g. its file name is not UTF-8); using
    /// the attribute reports this.
    pub problem: Option<String>,
}

impl AttrData {
    /// An attribute whose file name is its name.
    pub fn named(name: impl Into<String>) -> Self {
        let name = name.into();
        AttrData {
            filename: name.clone(),
            name,
            problem: None,
        }
    }
}

/// One channel of a device.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChannelData {
    /// The id (`voltage0`, `accel_x`, `voltage1-voltage2`, `timestamp`).
    pub id: String,
    /// The extended name (`vccint` in `in_voltage0_vccint_raw`), libiio's channel "name".
    pub name: Option<String>,
    /// The channel label (`in_voltage0_label`), when the driver provides one.
    pub label: Option<String>,
    /// Output (`out_`) rather than input (`in_`).
    pub output: bool,
    /// The scan element, when the channel can be streamed.
    pub scan: Option<ScanData>,
    /// Attributes, sorted by name.
    pub attrs: Vec<AttrData>,
    /// Event attributes of the channel as a libiio 1.x description lists them (name
    /// `thresh_rising_en`, file `in_accel_x_thresh_rising_en`); empty from local scans.
    pub event_attrs: Vec<AttrData>,
}

impl ChannelData {
    /// The channel type derived from the id.
    pub fn channel_type(&self) -> ChannelType {
        ChannelType::from_channel_id(&self.id)
    }

    /// The modifier derived from the id (`x` in `accel_x`).
    pub fn modifier(&self) -> Modifier {
        match self.id.split_once('_') {
            Some((_, rest)) => Modifier::from_sysfs_name(rest).unwrap_or(Modifier::None),
            None => Modifier::None,
        }
    }
}

/// The scan-element part of a channel: where it sits in a buffer sample and how it is coded.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanData {
    /// The `_index` value; `Err` holds why it could not be read or parsed.
    pub index: Result<u32, String>,
    /// The `_type` text as found (kept so errors can be reported precisely).
    pub format_text: String,
    /// The parsed format, `None` when `format_text` is malformed.
    pub format: Option<DataFormat>,
    /// The channel's `scale` read when the snapshot was taken, as libiio records it.
    pub scale: Option<f64>,
    /// The `_en` file relative to the device directory (`scan_elements/in_voltage0_en`).
    pub enable_file: String,
}
