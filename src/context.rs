//! The user-facing IIO model: [`Context`], [`Device`] and [`Channel`] handles over one
//! snapshot, and typed attribute access on each of them.
//!
//! # Threads
//! A `Context` is an `Arc` around an immutable snapshot and a thread-safe backend, so it is
//! `Send + Sync` and cloning it is a reference-count increment: hand clones to as many threads
//! as you like. `Device` and `Channel` are small handles (a context clone and an index), also
//! `Send + Sync`. The snapshot never changes after creation; attribute reads and writes go to
//! the backend each time (sysfs files for a local context), so two threads writing the same
//! attribute race exactly as two processes would. [`Context::try_deep_clone`] gives an
//! independent context (its own backend state, e.g. its own network connection) for a thread
//! that should not share anything, as libiio's `iio_context_clone` does.

use crate::attr_loc::AttrLoc;
use crate::backend::Backend;
use crate::channel_type::{ChannelType, Modifier};
use crate::error::{Error, Result};
use crate::format::DataFormat;
use crate::model::{AttrData, ChannelData, ContextData, DeviceData};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A snapshot of the IIO devices of one machine, with the means to reach them.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    data: ContextData,
    backend: Arc<dyn Backend>,
    /// Per device index: the channels enabled for the next buffer (libiio's channel
    /// enable state), shared by every handle of this context.
    masks: std::sync::Mutex<std::collections::HashMap<usize, crate::buffer::ChannelMask>>,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("name", &self.inner.data.name)
            .field("devices", &self.inner.data.devices.len())
            .finish()
    }
}

impl Context {
    /// The default context, as libiio's `iio_create_default_context`: when the environment
    /// variable `IIOD_REMOTE` is set, the remote context at that host (`ip:<host>`),
    /// otherwise the local one.
    pub fn new() -> Result<Context> {
        match std::env::var("IIOD_REMOTE") {
            Ok(host) if !host.is_empty() => Context::from_uri(&format!("ip:{host}")),
            _ => Context::from_uri("local:"),
        }
    }

    /// Creates a context from a libiio URI: `local:` (this machine's sysfs), `local:PATH`
    /// (a directory laid out like `/sys`, e.g. a captured fixture), `xml:FILE`, or
    /// `ip:HOST[:PORT]` (a remote `iiod`, see [`crate::network`]).
    pub fn from_uri(uri: &str) -> Result<Context> {
        let bad = |reason: &str| Error::InvalidUri {
            uri: uri.to_string(),
            reason: reason.to_string(),
        };
        let (scheme, rest) = uri
            .split_once(':')
            .ok_or_else(|| bad("expected SCHEME:..., e.g. local:, xml:FILE, ip:HOST"))?;
        match scheme {
            "local" => {
                let paths =
                    crate::sysfs::LocalPaths::from_uri(uri).ok_or_else(|| bad("not local:"))?;
                let (data, backend) = crate::sysfs::open(paths)?;
                Ok(Context::from_parts(data, backend))
            }
            "xml" => {
                if rest.is_empty() {
                    return Err(bad("xml: needs a file name"));
                }
                Context::from_xml_file(Path::new(rest))
            }
            "ip" => Context::from_network(rest, &crate::network::Options::default()),
            "usb" | "serial" => Err(bad(&format!(
                "the {scheme} backend is not available in this build"
            ))),
            _ => Err(bad(&format!("unknown backend '{scheme}'"))),
        }
    }

    /// Opens the context served by `iiod` at `host` (what follows `ip:` in a URI: `HOST`,
    /// `HOST:PORT`, `[IPV6]:PORT`, a bare IPv6 address, or empty to find one with DNS-SD),
    /// with explicit options (timeout, protocol); see [`crate::network`].
    pub fn from_network(host: &str, options: &crate::network::Options) -> Result<Context> {
        let (data, backend) = crate::network::open(host, options)?;
        Ok(Context::from_parts(data, backend))
    }

    /// Creates a context from a libiio XML description in a file.
    pub fn from_xml_file(path: &Path) -> Result<Context> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let source = path.display().to_string();
        let data = crate::xml::parse(&text, &source)?;
        Ok(Context::from_parts(
            data,
            Arc::new(crate::xml::XmlBackend::new(source)),
        ))
    }

    /// Creates a context from a libiio XML description held in memory.
    pub fn from_xml_str(xml: &str) -> Result<Context> {
        let data = crate::xml::parse(xml.as_bytes(), "<string>")?;
        Ok(Context::from_parts(
            data,
            Arc::new(crate::xml::XmlBackend::new("<string>".into())),
        ))
    }

    pub(crate) fn from_parts(data: ContextData, backend: Arc<dyn Backend>) -> Context {
        Context {
            inner: Arc::new(Inner {
                data,
                backend,
                masks: Default::default(),
            }),
        }
    }

    /// The snapshot this context hands out views of.
    pub fn data(&self) -> &ContextData {
        &self.inner.data
    }

    /// The backend name: `local`, `xml` or `network`.
    pub fn name(&self) -> &str {
        &self.inner.data.name
    }

    /// The backend's description of the source (for local contexts, the `uname` fields).
    pub fn description(&self) -> &str {
        &self.inner.data.description
    }

    /// Context attributes (`local,kernel`, `uri` ...), in order.
    pub fn attrs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner
            .data
            .attrs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// One context attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    /// Number of devices.
    pub fn num_devices(&self) -> usize {
        self.inner.data.devices.len()
    }

    /// The device at `index` (libiio order).
    pub fn device(&self, index: usize) -> Option<Device> {
        (index < self.num_devices()).then(|| Device {
            ctx: self.clone(),
            idx: index,
        })
    }

    /// All devices, in libiio order.
    pub fn devices(&self) -> impl Iterator<Item = Device> + '_ {
        (0..self.num_devices()).map(|idx| Device {
            ctx: self.clone(),
            idx,
        })
    }

    /// Finds a device by id, then by name, then by label (libiio 1.x's rule).
    pub fn find_device(&self, key: &str) -> Option<Device> {
        let devs = &self.inner.data.devices;
        devs.iter()
            .position(|d| d.id == key)
            .or_else(|| devs.iter().position(|d| d.name.as_deref() == Some(key)))
            .or_else(|| devs.iter().position(|d| d.label.as_deref() == Some(key)))
            .and_then(|i| self.device(i))
    }

    /// Like [`Context::find_device`] but with an error naming what was not found.
    pub fn get_device(&self, key: &str) -> Result<Device> {
        self.find_device(key)
            .ok_or_else(|| Error::NoDevice(key.to_string()))
    }

    /// Sets the timeout of blocking operations (buffer refills, network calls).
    pub fn set_timeout(&self, timeout: Duration) -> Result<()> {
        self.inner.backend.set_timeout(timeout)
    }

    /// Checks that a remote context still answers, with a round trip that changes nothing
    /// (libiio 1.x's `iio_context_ping`): `NOP` on a current libiio 1.x server, `VERSION`
    /// on a text one, `TIMEOUT` with the timeout already set on a libiio 1.0 server (which
    /// has no `NOP`). Local and XML contexts have nothing to check.
    pub fn ping(&self) -> Result<()> {
        self.inner.backend.ping()
    }

    /// An independent copy for another thread: the same snapshot with its own backend state.
    pub fn try_deep_clone(&self) -> Result<Context> {
        let backend = self.inner.backend.try_clone()?;
        Ok(Context::from_parts(self.inner.data.clone(), backend))
    }

    /// For a network context, the protocol spoken to iiod: text, or binary with the opcode
    /// numbering established with the server when the connection was opened (see
    /// [`crate::network`]). `None` for local and XML contexts.
    pub fn iiod_dialect(&self) -> Option<crate::network::codec::Dialect> {
        self.inner.backend.iiod_dialect()
    }

    /// Writes the context as libiio 0.24's XML (byte-identical to its `iio_genxml`).
    pub fn to_xml(&self) -> String {
        crate::xml::write(&self.inner.data)
    }

    /// Writes the context as libiio 1.x's XML (byte-identical to `iio_genxml` of libiio
    /// main at 4e3cfe61 for the same description): 1.x's DTD, attribute lists sorted,
    /// `<buffer>` elements, event attributes, channel labels.
    pub fn to_xml_v1(&self) -> String {
        crate::xml::write_v1(&self.inner.data)
    }

    pub(crate) fn backend(&self) -> &dyn Backend {
        &*self.inner.backend
    }

    /// Runs `f` on the enabled-channel mask of device `dev` (created empty on first use).
    pub(crate) fn with_mask<R>(
        &self,
        dev: usize,
        f: impl FnOnce(&mut crate::buffer::ChannelMask) -> R,
    ) -> R {
        let channels = self
            .inner
            .data
            .devices
            .get(dev)
            .map_or(0, |d| d.channels.len());
        let mut masks = self
            .inner
            .masks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(masks
            .entry(dev)
            .or_insert_with(|| crate::buffer::ChannelMask::new(channels)))
    }
}

/// One device of a context: an `iio:deviceN`, a trigger, or another IIO bus entry.
#[derive(Clone)]
pub struct Device {
    ctx: Context,
    idx: usize,
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish()
    }
}

impl PartialEq for Device {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.ctx.inner, &other.ctx.inner) && self.idx == other.idx
    }
}

impl Device {
    /// The snapshot data of this device.
    pub fn data(&self) -> &DeviceData {
        &self.ctx.inner.data.devices[self.idx]
    }

    /// The context this device belongs to.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Position of the device in the context.
    pub fn index(&self) -> usize {
        self.idx
    }

    /// The id (`iio:device0`, `trigger0`).
    pub fn id(&self) -> &str {
        &self.data().id
    }

    /// The `name` the driver gave the device.
    pub fn name(&self) -> Option<&str> {
        self.data().name.as_deref()
    }

    /// The `label` (firmware-given) of the device.
    pub fn label(&self) -> Option<&str> {
        self.data().label.as_deref()
    }

    /// Whether this device is a trigger (libiio's rule: its id starts with `trigger`).
    pub fn is_trigger(&self) -> bool {
        self.data().is_trigger()
    }

    /// Whether the device can stream: it has scan elements.
    pub fn is_buffer_capable(&self) -> bool {
        self.data().channels.iter().any(|c| c.scan.is_some())
    }

    /// Number of channels.
    pub fn num_channels(&self) -> usize {
        self.data().channels.len()
    }

    /// The channel at `index` (libiio order: scan elements by index first).
    pub fn channel(&self, index: usize) -> Option<Channel> {
        (index < self.num_channels()).then(|| Channel {
            dev: self.clone(),
            idx: index,
        })
    }

    /// All channels.
    pub fn channels(&self) -> impl Iterator<Item = Channel> + '_ {
        (0..self.num_channels()).map(|idx| Channel {
            dev: self.clone(),
            idx,
        })
    }

    /// Finds a channel by id, then by name (extended name) or label, among inputs or outputs.
    pub fn find_channel(&self, key: &str, output: bool) -> Option<Channel> {
        let chans = &self.data().channels;
        chans
            .iter()
            .position(|c| c.output == output && c.id == key)
            .or_else(|| {
                chans.iter().position(|c| {
                    c.output == output
                        && (c.name.as_deref() == Some(key) || c.label.as_deref() == Some(key))
                })
            })
            .and_then(|i| self.channel(i))
    }

    /// Like [`Device::find_channel`] with an error naming what was not found.
    pub fn get_channel(&self, key: &str, output: bool) -> Result<Channel> {
        self.find_channel(key, output)
            .ok_or_else(|| Error::NoChannel {
                device: self.id().to_string(),
                channel: key.to_string(),
                direction: if output { "output" } else { "input" },
            })
    }

    /// Names of the device attributes.
    pub fn attrs(&self) -> impl Iterator<Item = &str> {
        self.data().attrs.iter().map(|a| a.name.as_str())
    }

    /// Names of the buffer attributes.
    pub fn buffer_attrs(&self) -> impl Iterator<Item = &str> {
        self.data().buffer_attrs.iter().map(|a| a.name.as_str())
    }

    /// Names of the debug attributes.
    pub fn debug_attrs(&self) -> impl Iterator<Item = &str> {
        self.data().debug_attrs.iter().map(|a| a.name.as_str())
    }

    /// Whether the device has a device attribute of that name.
    pub fn has_attr(&self, name: &str) -> bool {
        self.attrs().any(|a| a == name)
    }

    /// Where an attribute of the given family lives, after checking the snapshot lists it
    /// and the scan found nothing wrong with it.
    fn loc<'a>(&'a self, family: Family, name: &'a str) -> Result<AttrLoc<'a>> {
        let dev = self.id();
        let (loc, list) = match family {
            Family::Device => (AttrLoc::Device { dev, name }, &self.data().attrs),
            Family::Buffer => (AttrLoc::Buffer { dev, name }, &self.data().buffer_attrs),
            Family::Debug => (AttrLoc::Debug { dev, name }, &self.data().debug_attrs),
        };
        usable(list.iter().find(|a| a.name == name), loc)
    }

    fn read_family(&self, family: Family, name: &str) -> Result<String> {
        self.ctx.backend().read_attr(&self.loc(family, name)?)
    }

    fn read_family_as<T: FromAttr>(&self, family: Family, name: &str) -> Result<T> {
        let text = self.read_family(family, name)?;
        parse_attr(&text, || {
            format!(
                "{}attribute '{name}' of device {}",
                family.prefix(),
                self.id()
            )
        })
    }

    fn write_family<T: ToAttr + ?Sized>(
        &self,
        family: Family,
        name: &str,
        value: &T,
    ) -> Result<()> {
        let text = value.to_attr();
        let loc = self.loc(family, name)?;
        check_value(&text, &loc)?;
        self.ctx.backend().write_attr(&loc, &text)
    }

    fn read_all_family<'a>(
        &self,
        family: Family,
        names: impl Iterator<Item = &'a str>,
    ) -> BTreeMap<String, Result<String>> {
        names
            .map(|n| (n.to_string(), self.read_family(family, n)))
            .collect()
    }

    /// Reads a device attribute as a string (trailing newline removed).
    pub fn attr_read_str(&self, name: &str) -> Result<String> {
        self.read_family(Family::Device, name)
    }

    /// Reads a device attribute and parses it as `T` (see [`FromAttr`]).
    pub fn attr_read<T: FromAttr>(&self, name: &str) -> Result<T> {
        self.read_family_as(Family::Device, name)
    }

    /// Reads a device attribute as an integer.
    pub fn attr_read_int(&self, name: &str) -> Result<i64> {
        self.attr_read(name)
    }

    /// Reads a device attribute as a float.
    pub fn attr_read_float(&self, name: &str) -> Result<f64> {
        self.attr_read(name)
    }

    /// Reads a device attribute as a boolean (`0`/`1`, `Y`/`N`, `true`/`false`).
    pub fn attr_read_bool(&self, name: &str) -> Result<bool> {
        self.attr_read(name)
    }

    /// Writes a device attribute (see [`ToAttr`] for the accepted value types).
    pub fn attr_write<T: ToAttr + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        self.write_family(Family::Device, name, value)
    }

    /// Writes a string to a device attribute.
    pub fn attr_write_str(&self, name: &str, value: &str) -> Result<()> {
        self.attr_write(name, value)
    }

    /// Writes an integer to a device attribute.
    pub fn attr_write_int(&self, name: &str, value: i64) -> Result<()> {
        self.attr_write(name, &value)
    }

    /// Writes a float to a device attribute.
    pub fn attr_write_float(&self, name: &str, value: f64) -> Result<()> {
        self.attr_write(name, &value)
    }

    /// Writes a boolean (`1`/`0`) to a device attribute.
    pub fn attr_write_bool(&self, name: &str, value: bool) -> Result<()> {
        self.attr_write(name, &value)
    }

    /// Reads every device attribute; each value or the error its read gave.
    pub fn attr_read_all(&self) -> BTreeMap<String, Result<String>> {
        self.read_all_family(Family::Device, self.attrs())
    }

    /// Reads a buffer attribute as a string.
    pub fn buffer_attr_read_str(&self, name: &str) -> Result<String> {
        self.read_family(Family::Buffer, name)
    }

    /// Reads a buffer attribute and parses it as `T`.
    pub fn buffer_attr_read<T: FromAttr>(&self, name: &str) -> Result<T> {
        self.read_family_as(Family::Buffer, name)
    }

    /// Writes a buffer attribute.
    pub fn buffer_attr_write<T: ToAttr + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        self.write_family(Family::Buffer, name, value)
    }

    /// Reads every buffer attribute.
    pub fn buffer_attr_read_all(&self) -> BTreeMap<String, Result<String>> {
        self.read_all_family(Family::Buffer, self.buffer_attrs())
    }

    /// Reads a debug attribute as a string.
    pub fn debug_attr_read_str(&self, name: &str) -> Result<String> {
        self.read_family(Family::Debug, name)
    }

    /// Reads a debug attribute and parses it as `T`.
    pub fn debug_attr_read<T: FromAttr>(&self, name: &str) -> Result<T> {
        self.read_family_as(Family::Debug, name)
    }

    /// Writes a debug attribute.
    pub fn debug_attr_write<T: ToAttr + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        self.write_family(Family::Debug, name, value)
    }

    /// Reads every debug attribute.
    pub fn debug_attr_read_all(&self) -> BTreeMap<String, Result<String>> {
        self.read_all_family(Family::Debug, self.debug_attrs())
    }

    /// Reads a register (libiio's `iio_device_reg_read`): through the `direct_reg_access`
    /// debug attribute, or with one `REG_READ` on a libiio 1.x server.
    pub fn reg_read(&self, address: u32) -> Result<u32> {
        self.ctx.backend().reg_read(self.id(), address)
    }

    /// Writes a register (libiio's `iio_device_reg_write`): `ADDRESS VALUE` into
    /// `direct_reg_access`, or one `REG_WRITE` on a libiio 1.x server.
    pub fn reg_write(&self, address: u32, value: u32) -> Result<()> {
        self.ctx.backend().reg_write(self.id(), address, value)
    }

    /// The device's current trigger, `None` when it has none.
    pub fn trigger(&self) -> Result<Option<Device>> {
        match self.ctx.backend().current_trigger(self.id())? {
            None => Ok(None),
            Some(name) => self
                .ctx
                .devices()
                .find(|d| d.is_trigger() && d.name() == Some(name.as_str()))
                .map(Some)
                .ok_or_else(|| Error::Malformed {
                    what: format!("current trigger of device {}", self.id()),
                    reason: format!("no trigger named '{name}' in the context"),
                }),
        }
    }

    /// Sets the device's trigger (`None` detaches it).
    pub fn set_trigger(&self, trigger: Option<&Device>) -> Result<()> {
        let name = match trigger {
            None => None,
            Some(t) => Some(t.name().ok_or_else(|| Error::InvalidValue {
                what: format!("trigger for device {}", self.id()),
                reason: format!("device {} has no name to select it by", t.id()),
            })?),
        };
        self.ctx.backend().set_trigger(self.id(), name)
    }
}

/// The three attribute families a device has: its own, its buffer's and debugfs's.
#[derive(Clone, Copy)]
enum Family {
    Device,
    Buffer,
    Debug,
}

impl Family {
    /// The word error messages put before "attribute".
    fn prefix(self) -> &'static str {
        match self {
            Family::Device => "",
            Family::Buffer => "buffer ",
            Family::Debug => "debug ",
        }
    }
}

/// One channel of a device.
#[derive(Clone)]
pub struct Channel {
    dev: Device,
    idx: usize,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("device", &self.dev.id())
            .field("id", &self.id())
            .field("output", &self.is_output())
            .finish()
    }
}

impl PartialEq for Channel {
    fn eq(&self, other: &Self) -> bool {
        self.dev == other.dev && self.idx == other.idx
    }
}

impl Channel {
    /// The snapshot data of this channel.
    pub fn data(&self) -> &ChannelData {
        &self.dev.data().channels[self.idx]
    }

    /// The device this channel belongs to.
    pub fn device(&self) -> &Device {
        &self.dev
    }

    /// Position of the channel in its device: the bit of the channel in a buffer mask.
    pub fn index(&self) -> usize {
        self.idx
    }

    /// The id (`voltage0`, `accel_x`, `voltage1-voltage2`).
    pub fn id(&self) -> &str {
        &self.data().id
    }

    /// The extended name (`vccint` for `in_voltage0_vccint_raw`), libiio's channel name.
    pub fn name(&self) -> Option<&str> {
        self.data().name.as_deref()
    }

    /// The channel label (`in_voltage0_label`), when the driver gives one.
    pub fn label(&self) -> Option<&str> {
        self.data().label.as_deref()
    }

    /// Output channel (`out_`)?
    pub fn is_output(&self) -> bool {
        self.data().output
    }

    /// Input channel (`in_`)?
    pub fn is_input(&self) -> bool {
        !self.is_output()
    }

    /// The channel type, derived from the id as the kernel names files.
    pub fn channel_type(&self) -> ChannelType {
        self.data().channel_type()
    }

    /// The modifier (`x` in `accel_x`), `Modifier::None` when there is none.
    pub fn modifier(&self) -> Modifier {
        self.data().modifier()
    }

    /// The channel number(s) in the id: `Some((2, Some(3)))` for `voltage2-voltage3`,
    /// `Some((0, None))` for `voltage0`, `None` for `accel_x` or `temp`.
    pub fn numbers(&self) -> Option<(u32, Option<u32>)> {
        channel_numbers(self.id())
    }

    /// Whether the channel is a differential pair (`voltage2-voltage3`).
    pub fn is_differential(&self) -> bool {
        matches!(self.numbers(), Some((_, Some(_))))
    }

    /// Whether the channel can be streamed (has a scan element).
    pub fn is_scan_element(&self) -> bool {
        self.data().scan.is_some()
    }

    /// The scan index, for scan elements. An `_index` file that could not be read or parsed
    /// during the scan reports its error here.
    pub fn scan_index(&self) -> Option<Result<u32>> {
        self.data().scan.as_ref().map(|s| {
            s.index.clone().map_err(|reason| Error::Malformed {
                what: format!(
                    "scan index of channel {} of device {}",
                    self.id(),
                    self.dev.id()
                ),
                reason,
            })
        })
    }

    /// The data format, for scan elements. A malformed `_type` reports the parse error.
    pub fn data_format(&self) -> Option<Result<DataFormat>> {
        self.data().scan.as_ref().map(|s| match s.format {
            Some(f) => Ok(f),
            None => match DataFormat::parse(&s.format_text) {
                Ok(f) => Ok(f),
                Err(e) => Err(e),
            },
        })
    }

    /// Names of the channel attributes.
    pub fn attrs(&self) -> impl Iterator<Item = &str> {
        self.data().attrs.iter().map(|a| a.name.as_str())
    }

    /// The sysfs file name behind an attribute (`in_voltage_scale` for a shared `scale`).
    pub fn attr_filename(&self, name: &str) -> Option<&str> {
        self.data()
            .attrs
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.filename.as_str())
    }

    /// Whether the channel has an attribute of that name.
    pub fn has_attr(&self, name: &str) -> bool {
        self.attrs().any(|a| a == name)
    }

    fn loc<'a>(&'a self, name: &'a str) -> Result<AttrLoc<'a>> {
        let data = self.data();
        let attr = data.attrs.iter().find(|a| a.name == name);
        let loc = AttrLoc::Channel {
            dev: self.dev.id(),
            channel: &data.id,
            output: data.output,
            name,
            filename: attr.map(|a| a.filename.as_str()).unwrap_or(""),
        };
        usable(attr, loc)
    }

    /// Reads a channel attribute as a string.
    pub fn attr_read_str(&self, name: &str) -> Result<String> {
        self.dev.ctx.backend().read_attr(&self.loc(name)?)
    }

    /// Reads a channel attribute and parses it as `T`.
    pub fn attr_read<T: FromAttr>(&self, name: &str) -> Result<T> {
        let text = self.attr_read_str(name)?;
        parse_attr(&text, || {
            format!(
                "attribute '{name}' of channel {} of device {}",
                self.id(),
                self.dev.id()
            )
        })
    }

    /// Reads a channel attribute as an integer.
    pub fn attr_read_int(&self, name: &str) -> Result<i64> {
        self.attr_read(name)
    }

    /// Reads a channel attribute as a float.
    pub fn attr_read_float(&self, name: &str) -> Result<f64> {
        self.attr_read(name)
    }

    /// Reads a channel attribute as a boolean.
    pub fn attr_read_bool(&self, name: &str) -> Result<bool> {
        self.attr_read(name)
    }

    /// Writes a channel attribute.
    pub fn attr_write<T: ToAttr + ?Sized>(&self, name: &str, value: &T) -> Result<()> {
        let text = value.to_attr();
        let loc = self.loc(name)?;
        check_value(&text, &loc)?;
        self.dev.ctx.backend().write_attr(&loc, &text)
    }

    /// Writes a string to a channel attribute.
    pub fn attr_write_str(&self, name: &str, value: &str) -> Result<()> {
        self.attr_write(name, value)
    }

    /// Writes an integer to a channel attribute.
    pub fn attr_write_int(&self, name: &str, value: i64) -> Result<()> {
        self.attr_write(name, &value)
    }

    /// Writes a float to a channel attribute.
    pub fn attr_write_float(&self, name: &str, value: f64) -> Result<()> {
        self.attr_write(name, &value)
    }

    /// Writes a boolean to a channel attribute.
    pub fn attr_write_bool(&self, name: &str, value: bool) -> Result<()> {
        self.attr_write(name, &value)
    }

    /// Reads every channel attribute.
    pub fn attr_read_all(&self) -> BTreeMap<String, Result<String>> {
        self.attrs()
            .map(|n| (n.to_string(), self.attr_read_str(n)))
            .collect()
    }

    /// Reads the channel's value in physical units: `input` when the driver provides a
    /// processed value, otherwise `(raw + offset) * scale` with offset 0 and scale 1 when
    /// absent (the IIO ABI's rule).
    pub fn read_value(&self) -> Result<f64> {
        if self.has_attr("input") {
            return self.attr_read_float("input");
        }
        let raw: f64 = self.attr_read_float("raw")?;
        let (scale, offset) = self.scale_offset()?;
        Ok((raw + offset) * scale)
    }

    /// The channel's `(scale, offset)` as the IIO ABI applies them, `(raw + offset) * scale`:
    /// its `scale` and `offset` attributes, or, when absent, the scale the snapshot recorded
    /// (XML contexts) or 1, and 0.
    pub fn scale_offset(&self) -> Result<(f64, f64)> {
        let scale = if self.has_attr("scale") {
            self.attr_read_float("scale")?
        } else {
            self.data()
                .scan
                .as_ref()
                .and_then(|s| s.scale)
                .unwrap_or(1.0)
        };
        let offset = if self.has_attr("offset") {
            self.attr_read_float("offset")?
        } else {
            0.0
        };
        Ok((scale, offset))
    }
}

/// `Some((n, second))` when the id has the kernel's numbered form `<type>N` or
/// `<type>N-<type>M`.
pub(crate) fn channel_numbers(id: &str) -> Option<(u32, Option<u32>)> {
    fn trailing_number(s: &str) -> Option<u32> {
        let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits == s.len() {
            return None;
        }
        s[s.len() - digits..].parse().ok()
    }
    if id.contains('_') {
        return None;
    }
    match id.split_once('-') {
        Some((a, b)) => Some((trailing_number(a)?, Some(trailing_number(b)?))),
        None => Some((trailing_number(id)?, None)),
    }
}

/// `loc` when the snapshot lists the attribute and its scan found nothing wrong with it;
/// otherwise the error that says which.
fn usable<'a>(attr: Option<&AttrData>, loc: AttrLoc<'a>) -> Result<AttrLoc<'a>> {
    match attr {
        None => Err(Error::NoAttribute {
            owner: loc.owner(),
            attr: loc.name().to_string(),
        }),
        Some(AttrData {
            problem: Some(p), ..
        }) => Err(Error::Malformed {
            what: format!("attribute '{}' of {}", loc.name(), loc.owner()),
            reason: p.clone(),
        }),
        Some(_) => Ok(loc),
    }
}

fn check_value(text: &str, loc: &AttrLoc<'_>) -> Result<()> {
    if text.contains('\0') {
        return Err(Error::InvalidValue {
            what: format!("attribute '{}' of {}", loc.name(), loc.owner()),
            reason: "the value contains a NUL byte".into(),
        });
    }
    Ok(())
}

fn parse_attr<T: FromAttr>(text: &str, what: impl FnOnce() -> String) -> Result<T> {
    T::from_attr(text).ok_or_else(|| Error::Parse {
        value: text.to_string(),
        what: what(),
        ty: T::TYPE_NAME,
    })
}

/// Types an attribute value can be read as.
pub trait FromAttr: Sized {
    /// The type's name for error messages.
    const TYPE_NAME: &'static str;
    /// Parses the attribute text (already stripped of its trailing newline).
    fn from_attr(text: &str) -> Option<Self>;
}

/// Types an attribute value can be written from.
pub trait ToAttr {
    /// The text written to the attribute.
    fn to_attr(&self) -> String;
}

impl FromAttr for String {
    const TYPE_NAME: &'static str = "string";
    fn from_attr(text: &str) -> Option<Self> {
        Some(text.to_string())
    }
}

impl FromAttr for bool {
    const TYPE_NAME: &'static str = "bool";
    fn from_attr(text: &str) -> Option<Self> {
        match text.trim() {
            "Y" | "y" | "true" | "on" => Some(true),
            "N" | "n" | "false" | "off" => Some(false),
            t => crate::strtol::strtoll_whole(t).map(|v| v != 0),
        }
    }
}

impl FromAttr for f64 {
    const TYPE_NAME: &'static str = "f64";
    fn from_attr(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

impl FromAttr for f32 {
    const TYPE_NAME: &'static str = "f32";
    fn from_attr(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

macro_rules! int_attr {
    ($($t:ty),*) => {$(
        impl FromAttr for $t {
            const TYPE_NAME: &'static str = stringify!($t);
            fn from_attr(text: &str) -> Option<Self> {
                crate::strtol::strtoll_whole(text.trim()).and_then(|v| <$t>::try_from(v).ok())
            }
        }
        impl ToAttr for $t {
            fn to_attr(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
int_attr!(i8, i16, i32, i64, u8, u16, u32, isize, usize);

impl FromAttr for u64 {
    const TYPE_NAME: &'static str = "u64";
    fn from_attr(text: &str) -> Option<Self> {
        crate::strtol::strtoull_whole(text.trim())
    }
}

impl ToAttr for u64 {
    fn to_attr(&self) -> String {
        self.to_string()
    }
}

impl ToAttr for str {
    fn to_attr(&self) -> String {
        self.to_string()
    }
}

impl ToAttr for String {
    fn to_attr(&self) -> String {
        self.clone()
    }
}

impl ToAttr for bool {
    fn to_attr(&self) -> String {
        if *self { "1" } else { "0" }.to_string()
    }
}

impl ToAttr for f64 {
    /// Written with enough digits to round-trip (libiio writes `%f`-like text; sysfs parsers
    /// accept either).
    fn to_attr(&self) -> String {
        format!("{self}")
    }
}

impl ToAttr for f32 {
    fn to_attr(&self) -> String {
        format!("{self}")
    }
}

impl<T: ToAttr + ?Sized> ToAttr for &T {
    fn to_attr(&self) -> String {
        (**self).to_attr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_ids() {
        assert_eq!(channel_numbers("voltage0"), Some((0, None)));
        assert_eq!(channel_numbers("voltage2-voltage3"), Some((2, Some(3))));
        assert_eq!(channel_numbers("accel_x"), None);
        assert_eq!(channel_numbers("temp"), None);
        assert_eq!(channel_numbers("altvoltage12"), Some((12, None)));
    }

    #[test]
    fn attribute_value_parsing() {
        assert_eq!(i64::from_attr("0x10"), Some(16));
        assert_eq!(i64::from_attr("-7\n"), Some(-7));
        assert_eq!(i64::from_attr("010"), Some(8));
        assert_eq!(u8::from_attr("300"), None);
        assert_eq!(bool::from_attr("Y"), Some(true));
        assert_eq!(bool::from_attr("0"), Some(false));
        assert_eq!(bool::from_attr("2"), Some(true));
        assert_eq!(bool::from_attr("maybe"), None);
        assert_eq!(f64::from_attr("3.000000033"), Some(3.000000033));
        assert_eq!(u64::from_attr("18446744073709551615"), Some(u64::MAX));
        assert_eq!(true.to_attr(), "1");
        assert_eq!(12i32.to_attr(), "12");
    }
}
