//! Line requests: the [`RequestBuilder`], the [`Request`] it returns (values, reconfiguration,
//! edge events), and [`Values`] for reading or writing several lines in one call.
//!
//! A request owns the file descriptor the kernel returned; the lines are released when it is
//! dropped. The same methods work over uAPI v2 and v1; under v1 a request with edge detection
//! covers one line and cannot be reconfigured (the kernel's limits, reported as
//! [`Error::AbiUnsupported`]).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::io::Errno;

use super::chip::Chip;
use super::config::{encode_v1, Config, EncodeError, V1Limit};
use super::error::{Error, Result};
use super::line::{Bias, Drive, EdgeDetection, EventClock, Value};
use super::{uapi, AbiVersion};

enum ChipSource {
    Path(PathBuf),
    Chip(Chip),
}

/// Builds a [`Request`]: chip, consumer, lines and their options. Options apply to the lines
/// selected most recently (`with_line`, `with_lines`), or, before any line is selected, to the
/// lines added later. The first mistake is kept and reported by [`RequestBuilder::request`].
pub struct RequestBuilder {
    chip: Option<ChipSource>,
    consumer: String,
    config: Config,
    event_buffer_size: u32,
    abi: Option<AbiVersion>,
    first_error: Option<Error>,
}

impl std::fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBuilder")
            .field(
                "chip",
                &match &self.chip {
                    Some(ChipSource::Path(p)) => Some(p.as_path()),
                    Some(ChipSource::Chip(c)) => Some(c.path()),
                    None => None,
                },
            )
            .field("consumer", &self.consumer)
            .field("config", &self.config)
            .field("event_buffer_size", &self.event_buffer_size)
            .field("abi", &self.abi)
            .finish()
    }
}

impl RequestBuilder {
    fn new() -> Self {
        RequestBuilder {
            chip: None,
            consumer: String::new(),
            config: Config::new(),
            event_buffer_size: 0,
            abi: None,
            first_error: None,
        }
    }

    fn keep_error(&mut self, e: Error) {
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }

    fn map_config(mut self, f: impl FnOnce(Config) -> Config) -> Self {
        self.config = f(std::mem::take(&mut self.config));
        self
    }

    /// The chip, by path; it is opened by [`RequestBuilder::request`].
    pub fn on_chip(mut self, path: impl AsRef<Path>) -> Self {
        self.chip = Some(ChipSource::Path(path.as_ref().to_path_buf()));
        self
    }

    /// The chip, already open (its uAPI choice is used unless [`Self::with_abi`] overrides it).
    pub fn with_chip(mut self, chip: &Chip) -> Self {
        match chip.try_clone() {
            Ok(c) => self.chip = Some(ChipSource::Chip(c)),
            Err(e) => self.keep_error(e),
        }
        self
    }

    /// The consumer label the kernel shows for the lines (truncated to 31 bytes).
    pub fn with_consumer(mut self, consumer: &str) -> Self {
        self.consumer = consumer.to_string();
        self
    }

    /// Forces uAPI v1 or v2 for this request.
    pub fn with_abi(mut self, abi: AbiVersion) -> Self {
        self.abi = Some(abi);
        self
    }

    /// Suggested size of the kernel's edge event queue, in events (v2 only; 0 = default).
    pub fn with_event_buffer_size(mut self, events: u32) -> Self {
        self.event_buffer_size = events;
        self
    }

    /// Adds one line and selects it for the options that follow.
    pub fn with_line(self, offset: u32) -> Self {
        self.map_config(|c| c.with_line(offset))
    }

    /// Adds lines and selects them for the options that follow (repeats are kept once).
    pub fn with_lines(self, offsets: &[u32]) -> Self {
        self.map_config(|c| c.with_lines(offsets))
    }

    /// Removes a line.
    pub fn without_line(self, offset: u32) -> Self {
        self.map_config(|c| c.without_line(offset))
    }

    /// Replaces the whole line configuration.
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Input.
    pub fn as_input(self) -> Self {
        self.map_config(Config::as_input)
    }

    /// Output, driven to `value` when requested.
    pub fn as_output(self, value: Value) -> Self {
        self.map_config(|c| c.as_output(value))
    }

    /// Leave the direction as it is.
    pub fn as_is(self) -> Self {
        self.map_config(Config::as_is)
    }

    /// Active-low: values are inverted.
    pub fn as_active_low(self) -> Self {
        self.map_config(|c| c.as_active_low(true))
    }

    /// Active-high (the default).
    pub fn as_active_high(self) -> Self {
        self.map_config(|c| c.as_active_low(false))
    }

    /// Bias; `None` leaves it as it is.
    pub fn with_bias(self, bias: impl Into<Option<Bias>>) -> Self {
        let bias = bias.into();
        self.map_config(|c| c.with_bias(bias))
    }

    /// Drive mode (outputs).
    pub fn with_drive(self, drive: Drive) -> Self {
        self.map_config(|c| c.with_drive(drive))
    }

    /// Edge detection (makes the lines inputs); `None` turns it off.
    pub fn with_edge_detection(self, edges: impl Into<Option<EdgeDetection>>) -> Self {
        let edges = edges.into();
        self.map_config(|c| c.with_edge_detection(edges))
    }

    /// Debounce period (makes the lines inputs; v2 only).
    pub fn with_debounce_period(self, period: Duration) -> Self {
        self.map_config(|c| c.with_debounce_period(period))
    }

    /// Clock of edge event timestamps (realtime and HTE need v2).
    pub fn with_event_clock(self, clock: EventClock) -> Self {
        self.map_config(|c| c.with_event_clock(clock))
    }

    /// Output value, leaving the direction alone.
    pub fn with_value(self, value: Value) -> Self {
        self.map_config(|c| c.with_value(value))
    }

    /// The configuration built so far.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Asks the kernel for the lines.
    pub fn request(self) -> Result<Request> {
        if let Some(e) = self.first_error {
            return Err(e);
        }
        let chip = match self.chip {
            None => return Err(Error::NoChip),
            Some(ChipSource::Chip(c)) => c,
            Some(ChipSource::Path(p)) => Chip::open(p)?,
        };
        let abi = self.abi.unwrap_or(chip.abi());
        Request::new(
            &chip,
            abi,
            &self.consumer,
            self.config,
            self.event_buffer_size,
        )
    }
}

/// Lines held from the kernel. Dropping it releases them.
#[derive(Debug)]
pub struct Request {
    chip: PathBuf,
    fd: OwnedFd,
    abi: AbiVersion,
    /// A v1 event request: one line, values readable, not writable, not reconfigurable.
    v1_events: bool,
    offsets: Arc<[u32]>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The configuration last applied is `applied[current]`, in request order; the other slot
    /// holds the one before. A configuration carries its v2 encoding and an id for it, so a
    /// request switched back and forth between two configurations (a bidirectional line:
    /// input, output, input ...) recognises them by id and neither encodes nor compares.
    applied: [Config; 2],
    current: usize,
    /// v1 sets every line of a handle at once: the values last set.
    v1_values: [u8; uapi::LINES_MAX],
}

impl State {
    /// The slot holding the configuration whose encoding has this id.
    #[inline]
    fn slot_of(&self, id: u64) -> Option<usize> {
        let has = |i: usize| self.applied[i].cached_v2().is_some_and(|e| e.id == id);
        if has(self.current) {
            Some(self.current)
        } else if has(1 - self.current) {
            Some(1 - self.current)
        } else {
            None
        }
    }
}

fn config_error(chip: &Path, e: EncodeError) -> Error {
    match e {
        EncodeError::Line(o, r) => Error::invalid(chip, Some(o), r),
        EncodeError::Config(r) => Error::invalid(chip, None, r),
    }
}

impl Request {
    /// Starts building a request.
    pub fn builder() -> RequestBuilder {
        RequestBuilder::new()
    }

    fn new(
        chip: &Chip,
        abi: AbiVersion,
        consumer: &str,
        config: Config,
        event_buffer_size: u32,
    ) -> Result<Request> {
        let path = chip.path();
        let offsets: Vec<u32> = config.offsets();
        if offsets.is_empty() {
            return Err(Error::NoLines {
                chip: path.to_path_buf(),
            });
        }
        if offsets.len() > uapi::LINES_MAX {
            return Err(Error::TooManyLines {
                chip: path.to_path_buf(),
                count: offsets.len(),
                max: uapi::LINES_MAX,
            });
        }
        for &o in &offsets {
            chip.check_offset(o)?;
        }
        let single = (offsets.len() == 1).then_some(offsets[0]);
        let busy = |e: Errno, call: &'static str| -> Error {
            if e == Errno::BUSY {
                for &o in &offsets {
                    if let Ok(info) = chip.line_info(o) {
                        if info.used {
                            return Error::LineBusy {
                                chip: path.to_path_buf(),
                                offset: o,
                                consumer: info.consumer,
                            };
                        }
                    }
                }
            }
            Error::kernel(path, single, call, e)
        };

        let (fd, v1_events, v1_values) = match abi {
            AbiVersion::V2 => {
                let mut req = uapi::GpioV2LineRequest::zeroed();
                req.config = config
                    .encoded_v2()
                    .map_err(|e| config_error(path, e))?
                    .config;
                req.offsets[..offsets.len()].copy_from_slice(&offsets);
                req.num_lines = offsets.len() as u32;
                req.consumer = uapi::name_field(consumer);
                req.event_buffer_size = event_buffer_size;
                let fd = uapi::get_line_v2(chip, &mut req)
                    .map_err(|e| busy(e, "GPIO_V2_GET_LINE_IOCTL"))?;
                (fd, false, [0; uapi::LINES_MAX])
            }
            AbiVersion::V1 => {
                let unsupported = |feature| Error::AbiUnsupported {
                    chip: path.to_path_buf(),
                    feature,
                    abi,
                };
                if event_buffer_size != 0 {
                    return Err(unsupported("an event buffer size"));
                }
                let enc = encode_v1(config.lines()).map_err(|e| match e {
                    V1Limit::Invalid(e) => config_error(path, e),
                    V1Limit::Needs(f) => unsupported(f),
                })?;
                if enc.event_flags != 0 {
                    let mut req = uapi::GpioeventRequest::zeroed();
                    req.lineoffset = offsets[0];
                    req.handleflags = enc.handle_flags;
                    req.eventflags = enc.event_flags;
                    req.consumer_label = uapi::name_field(consumer);
                    let fd = uapi::get_line_event_v1(chip, &mut req)
                        .map_err(|e| busy(e, "GPIO_GET_LINEEVENT_IOCTL"))?;
                    (fd, true, enc.values)
                } else {
                    let mut req = uapi::GpiohandleRequest::zeroed();
                    req.lineoffsets[..offsets.len()].copy_from_slice(&offsets);
                    req.lines = offsets.len() as u32;
                    req.flags = enc.handle_flags;
                    req.default_values = enc.values;
                    req.consumer_label = uapi::name_field(consumer);
                    let fd = uapi::get_line_handle_v1(chip, &mut req)
                        .map_err(|e| busy(e, "GPIO_GET_LINEHANDLE_IOCTL"))?;
                    (fd, false, enc.values)
                }
            }
        };
        Ok(Request {
            chip: path.to_path_buf(),
            fd,
            abi,
            v1_events,
            offsets: offsets.into(),
            state: Mutex::new(State {
                applied: [config, Config::new()],
                current: 0,
                v1_values,
            }),
        })
    }

    /// The chip's path.
    pub fn chip_path(&self) -> &Path {
        &self.chip
    }

    /// The uAPI version this request was made with.
    pub fn abi(&self) -> AbiVersion {
        self.abi
    }

    /// The requested offsets, in request order.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// The configuration last requested or reconfigured (values set later are not tracked
    /// under v2).
    pub fn config(&self) -> Config {
        let st = self.lock();
        st.applied[st.current].clone()
    }

    #[inline]
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // The calls below that stand for one ioctl are `#[inline]` with their error paths kept
    // out of line: a caller's loop then holds little more than the syscall. Emulated CPUs
    // (qemu TCG) pay for every call and return, and there an extra layer cost 10-15% of a
    // GPIO ioctl.

    #[inline]
    fn index_of(&self, offset: u32) -> Result<usize> {
        match self.offsets.iter().position(|&o| o == offset) {
            Some(i) => Ok(i),
            None => Err(self.not_requested(offset)),
        }
    }

    #[cold]
    #[inline(never)]
    fn not_requested(&self, offset: u32) -> Error {
        Error::NotRequested {
            chip: self.chip.clone(),
            offset,
        }
    }

    #[cold]
    #[inline(never)]
    fn err(&self, offset: Option<u32>, call: &'static str, e: Errno) -> Error {
        Error::kernel(&self.chip, offset, call, e)
    }

    /// The value of one line.
    #[inline]
    pub fn value(&self, offset: u32) -> Result<Value> {
        let idx = self.index_of(offset)?;
        match self.abi {
            AbiVersion::V2 => {
                let mut v = uapi::GpioV2LineValues {
                    bits: 0,
                    mask: 1 << idx,
                };
                uapi::get_line_values_v2(&self.fd, &mut v)
                    .map_err(|e| self.err(Some(offset), "GPIO_V2_LINE_GET_VALUES_IOCTL", e))?;
                Ok(Value::from(v.bits & (1 << idx) != 0))
            }
            AbiVersion::V1 => {
                let mut d = uapi::GpiohandleData::zeroed();
                uapi::get_line_values_v1(&self.fd, &mut d)
                    .map_err(|e| self.err(Some(offset), "GPIOHANDLE_GET_LINE_VALUES_IOCTL", e))?;
                Ok(Value::from(d.values[idx] != 0))
            }
        }
    }

    /// An empty [`Values`] for this request: no line selected.
    pub fn new_values(&self) -> Values {
        Values {
            offsets: self.offsets.clone(),
            bits: 0,
            mask: 0,
        }
    }

    /// The values of all lines.
    pub fn values(&self) -> Result<Values> {
        let mut v = self.new_values();
        v.mask = all_mask(self.offsets.len());
        self.read_values(&mut v)?;
        Ok(v)
    }

    /// Reads the lines selected in `values` (see [`Values::select`]) into it.
    #[inline]
    pub fn read_values(&self, values: &mut Values) -> Result<()> {
        match self.abi {
            AbiVersion::V2 => {
                let mut v = uapi::GpioV2LineValues {
                    bits: 0,
                    mask: values.mask,
                };
                uapi::get_line_values_v2(&self.fd, &mut v)
                    .map_err(|e| self.err(None, "GPIO_V2_LINE_GET_VALUES_IOCTL", e))?;
                values.bits = v.bits & values.mask;
            }
            AbiVersion::V1 => {
                let mut d = uapi::GpiohandleData::zeroed();
                uapi::get_line_values_v1(&self.fd, &mut d)
                    .map_err(|e| self.err(None, "GPIOHANDLE_GET_LINE_VALUES_IOCTL", e))?;
                let mut bits = 0u64;
                for (i, &b) in d.values.iter().enumerate().take(self.offsets.len()) {
                    if b != 0 {
                        bits |= 1 << i;
                    }
                }
                values.bits = bits & values.mask;
            }
        }
        Ok(())
    }

    /// Drives one output line.
    #[inline]
    pub fn set_value(&self, offset: u32, value: Value) -> Result<()> {
        let idx = self.index_of(offset)?;
        let bit = 1u64 << idx;
        self.set_bits(
            if value == Value::Active { bit } else { 0 },
            bit,
            Some(offset),
        )
    }

    /// Drives the lines selected in `values` to the values it holds.
    #[inline]
    pub fn set_values(&self, values: &Values) -> Result<()> {
        self.set_bits(values.bits, values.mask, None)
    }

    /// Drives several lines: `(offset, value)` pairs.
    pub fn set_values_from(&self, pairs: &[(u32, Value)]) -> Result<()> {
        let mut v = self.new_values();
        for &(o, val) in pairs {
            let idx = self.index_of(o)?;
            v.mask |= 1 << idx;
            if val == Value::Active {
                v.bits |= 1 << idx;
            }
        }
        self.set_values(&v)
    }

    #[inline]
    fn set_bits(&self, bits: u64, mask: u64, offset: Option<u32>) -> Result<()> {
        match self.abi {
            AbiVersion::V2 => {
                let mut v = uapi::GpioV2LineValues { bits, mask };
                uapi::set_line_values_v2(&self.fd, &mut v)
                    .map_err(|e| self.err(offset, "GPIO_V2_LINE_SET_VALUES_IOCTL", e))
            }
            AbiVersion::V1 => self.set_bits_v1(bits, mask, offset),
        }
    }

    #[inline(never)]
    fn set_bits_v1(&self, bits: u64, mask: u64, offset: Option<u32>) -> Result<()> {
        if self.v1_events {
            return Err(self.err(offset, "GPIOHANDLE_SET_LINE_VALUES_IOCTL", Errno::PERM));
        }
        let mut st = self.lock();
        let mut d = uapi::GpiohandleData {
            values: st.v1_values,
        };
        for i in 0..self.offsets.len() {
            if mask & (1 << i) != 0 {
                d.values[i] = u8::from(bits & (1 << i) != 0);
            }
        }
        uapi::set_line_values_v1(&self.fd, &mut d)
            .map_err(|e| self.err(offset, "GPIOHANDLE_SET_LINE_VALUES_IOCTL", e))?;
        st.v1_values = d.values;
        Ok(())
    }

    /// Changes the configuration of the requested lines without releasing them. `config` must
    /// cover exactly the requested lines (in any order).
    ///
    /// A `Config` remembers its kernel encoding, and the request its last two configurations:
    /// switching back and forth between two `Config`s costs one ioctl and no encoding.
    #[inline]
    pub fn reconfigure(&self, config: &Config) -> Result<()> {
        if self.abi == AbiVersion::V2 {
            if let Some(enc) = config.cached_v2() {
                let mut st = self.lock();
                if let Some(i) = st.slot_of(enc.id) {
                    // The same id: the same lines, applied before, so in request order.
                    let mut k = enc.config;
                    uapi::set_line_config_v2(&self.fd, &mut k)
                        .map_err(|e| self.err(None, "GPIO_V2_LINE_SET_CONFIG_IOCTL", e))?;
                    st.current = i;
                    return Ok(());
                }
            }
        }
        self.reconfigure_encoding(config)
    }

    /// Whether `config` holds exactly the requested lines, in request order.
    #[inline]
    fn in_request_order(&self, config: &Config) -> bool {
        config.lines().len() == self.offsets.len()
            && config
                .lines()
                .iter()
                .zip(self.offsets.iter())
                .all(|((a, _), b)| a == b)
    }

    /// [`Self::reconfigure`] for a configuration the request does not know by its id.
    #[inline(never)]
    fn reconfigure_encoding(&self, config: &Config) -> Result<()> {
        if let Some((o, _)) = config
            .lines()
            .iter()
            .find(|(o, _)| !self.offsets.contains(o))
        {
            return Err(Error::NotRequested {
                chip: self.chip.clone(),
                offset: *o,
            });
        }
        // The kernel takes lines by request index: reorder unless already in request order.
        let reordered;
        let config = if self.in_request_order(config) {
            config
        } else {
            let mut c = Config::new();
            for &o in self.offsets.iter() {
                let s = config.line(o).ok_or_else(|| {
                    Error::invalid(
                        &self.chip,
                        Some(o),
                        "the new configuration leaves out this requested line".into(),
                    )
                })?;
                c = c.with_line(o).with_settings(s);
            }
            reordered = c;
            &reordered
        };
        let mut st = self.lock();
        match self.abi {
            AbiVersion::V2 => {
                let enc = config
                    .encoded_v2()
                    .map_err(|e| config_error(&self.chip, e))?;
                let mut k = enc.config;
                uapi::set_line_config_v2(&self.fd, &mut k)
                    .map_err(|e| self.err(None, "GPIO_V2_LINE_SET_CONFIG_IOCTL", e))?;
            }
            AbiVersion::V1 => {
                let unsupported = |feature| Error::AbiUnsupported {
                    chip: self.chip.clone(),
                    feature,
                    abi: self.abi,
                };
                if self.v1_events {
                    return Err(unsupported("reconfiguring a request with edge detection"));
                }
                let enc = encode_v1(config.lines()).map_err(|e| match e {
                    V1Limit::Invalid(e) => config_error(&self.chip, e),
                    V1Limit::Needs(f) => unsupported(f),
                })?;
                if enc.event_flags != 0 {
                    return Err(unsupported("adding edge detection to a request"));
                }
                let mut k = uapi::GpiohandleConfig::zeroed();
                k.flags = enc.handle_flags;
                k.default_values = enc.values;
                uapi::set_handle_config_v1(&self.fd, &mut k)
                    .map_err(|e| self.err(None, "GPIOHANDLE_SET_CONFIG_IOCTL", e))?;
                st.v1_values = enc.values;
            }
        }
        // The older slot takes the new configuration (and its encoding) and becomes current.
        let slot = 1 - st.current;
        st.applied[slot].assign_from(config);
        st.current = slot;
        Ok(())
    }

    /// Bytes of one edge event record as the kernel writes it for this request.
    #[inline]
    pub fn edge_event_size(&self) -> usize {
        match self.abi {
            AbiVersion::V2 => std::mem::size_of::<uapi::GpioV2LineEvent>(),
            AbiVersion::V1 => std::mem::size_of::<uapi::GpioeventData>(),
        }
    }

    /// Waits for an edge event to be readable, at most `timeout` (`None`: forever). Returns
    /// whether one is.
    pub fn wait_edge_event(&self, timeout: Option<Duration>) -> Result<bool> {
        super::wait_readable(self.fd.as_fd(), timeout).map_err(|e| self.err(None, "poll", e))
    }

    /// Whether an edge event can be read now, without blocking.
    pub fn has_edge_event(&self) -> Result<bool> {
        self.wait_edge_event(Some(Duration::ZERO))
    }

    /// Reads one edge event, blocking until there is one.
    #[inline]
    pub fn read_edge_event(&self) -> Result<EdgeEvent> {
        if self.abi == AbiVersion::V2 {
            // One read into a stack buffer, decoded in place. Anything unusual (a signal, a
            // non-blocking fd with nothing queued, an error) takes the general path, which
            // reads again: a failed read consumed nothing.
            let mut buf = [0u8; std::mem::size_of::<uapi::GpioV2LineEvent>()];
            if let Ok(n) = uapi::read_events(&self.fd, &mut buf) {
                // Whole record or not (no slicing: one comparison fewer per event).
                return if n == buf.len() {
                    self.decode_v2_event(&buf)
                } else {
                    Err(self.short_event(n))
                };
            }
        }
        self.read_edge_event_blocking()
    }

    #[inline(never)]
    fn read_edge_event_blocking(&self) -> Result<EdgeEvent> {
        let mut buf = [0u8; std::mem::size_of::<uapi::GpioV2LineEvent>()];
        let size = self.edge_event_size();
        let n = super::read_blocking(self.fd.as_fd(), &mut buf[..size])
            .map_err(|e| self.err(None, "read", e))?;
        self.decode_event(&buf[..n])
    }

    /// Reads as many edge events as are queued and fit in `buffer` (at least one: blocks until
    /// there is one). Returns how many were read; iterate them with [`EdgeEventBuffer::iter`].
    pub fn read_edge_events(&self, buffer: &mut EdgeEventBuffer) -> Result<usize> {
        let size = self.edge_event_size();
        buffer.prepare(size);
        let n = super::read_blocking(self.fd.as_fd(), &mut buffer.bytes)
            .map_err(|e| self.err(None, "read", e))?;
        self.fill_buffer(buffer, n)
    }

    pub(crate) fn fill_buffer(&self, buffer: &mut EdgeEventBuffer, n: usize) -> Result<usize> {
        let size = self.edge_event_size();
        if n % size != 0 {
            return Err(Error::UnexpectedData {
                chip: self.chip.clone(),
                call: "read",
                detail: format!("{n} bytes is not a whole number of {size}-byte events"),
            });
        }
        buffer.events.clear();
        for chunk in buffer.bytes[..n].chunks_exact(size) {
            let ev = self.decode_event(chunk)?;
            buffer.events.push(ev);
        }
        Ok(buffer.events.len())
    }

    pub(crate) fn decode_event(&self, bytes: &[u8]) -> Result<EdgeEvent> {
        match self.abi {
            AbiVersion::V2 => self.decode_v2_event(bytes),
            AbiVersion::V1 => {
                let Some(e) = uapi::GpioeventData::from_bytes(bytes) else {
                    return Err(self.short_event(bytes.len()));
                };
                self.edge_event(e.timestamp, e.id, self.offsets[0], 0, 0)
            }
        }
    }

    #[inline]
    fn decode_v2_event(&self, bytes: &[u8]) -> Result<EdgeEvent> {
        // Only the first 24 of the 48 bytes carry data; skip decoding the padding.
        let Some(e) = uapi::GpioV2LineEvent::head_from_bytes(bytes) else {
            return Err(self.short_event(bytes.len()));
        };
        self.edge_event(e.timestamp_ns, e.id, e.offset, e.seqno, e.line_seqno)
    }

    #[inline]
    fn edge_event(
        &self,
        timestamp_ns: u64,
        id: u32,
        offset: u32,
        seqno: u32,
        line_seqno: u32,
    ) -> Result<EdgeEvent> {
        // Written to become one range check and a flag, rather than a jump per edge kind.
        if id != uapi::EVENT_RISING_EDGE && id != uapi::EVENT_FALLING_EDGE {
            return Err(self.bad_event(format_args!("unknown edge event id {id}")));
        }
        let kind = if id == uapi::EVENT_RISING_EDGE {
            EdgeKind::Rising
        } else {
            EdgeKind::Falling
        };
        Ok(EdgeEvent {
            timestamp_ns,
            kind,
            offset,
            seqno,
            line_seqno,
        })
    }

    #[cold]
    #[inline(never)]
    fn short_event(&self, len: usize) -> Error {
        self.bad_event(format_args!("short edge event ({len} bytes)"))
    }

    #[cold]
    #[inline(never)]
    fn bad_event(&self, detail: std::fmt::Arguments<'_>) -> Error {
        Error::UnexpectedData {
            chip: self.chip.clone(),
            call: "read",
            detail: detail.to_string(),
        }
    }

    /// A blocking iterator over edge events (reads up to 16 at a time).
    pub fn edge_events(&self) -> EdgeEvents<'_> {
        EdgeEvents {
            request: self,
            buffer: EdgeEventBuffer::with_capacity(16),
            next: 0,
        }
    }
}

fn all_mask(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

impl AsFd for Request {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Request {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Values of some lines of a request: bit *i* is the *i*-th requested line; only the lines in
/// the mask count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Values {
    offsets: Arc<[u32]>,
    bits: u64,
    mask: u64,
}

impl Values {
    fn index(&self, offset: u32) -> Option<usize> {
        self.offsets.iter().position(|&o| o == offset)
    }

    /// The value of a line, if it is selected.
    pub fn get(&self, offset: u32) -> Option<Value> {
        let i = self.index(offset)?;
        (self.mask & (1 << i) != 0).then(|| Value::from(self.bits & (1 << i) != 0))
    }

    /// Sets (and selects) a line's value; false if the line is not part of the request.
    pub fn set(&mut self, offset: u32, value: Value) -> bool {
        let Some(i) = self.index(offset) else {
            return false;
        };
        self.mask |= 1 << i;
        if value == Value::Active {
            self.bits |= 1 << i;
        } else {
            self.bits &= !(1 << i);
        }
        true
    }

    /// Selects lines to read with [`Request::read_values`]; false if one is not requested.
    pub fn select(&mut self, offsets: &[u32]) -> bool {
        let mut ok = true;
        for &o in offsets {
            match self.index(o) {
                Some(i) => self.mask |= 1 << i,
                None => ok = false,
            }
        }
        ok
    }

    /// Selects every line of the request.
    pub fn select_all(&mut self) {
        self.mask = all_mask(self.offsets.len());
    }

    /// The selected lines and their values, in request order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, Value)> + '_ {
        self.offsets
            .iter()
            .enumerate()
            .filter(|(i, _)| self.mask & (1 << i) != 0)
            .map(|(i, &o)| (o, Value::from(self.bits & (1 << i) != 0)))
    }

    /// Raw bits, by request index.
    pub fn bits(&self) -> u64 {
        self.bits
    }

    /// Raw mask, by request index.
    pub fn mask(&self) -> u64 {
        self.mask
    }

    /// Sets raw bits and mask (by request index).
    pub fn set_bits(&mut self, bits: u64, mask: u64) {
        self.bits = bits & mask;
        self.mask = mask;
    }
}

/// Which edge an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// The line became active.
    Rising,
    /// The line became inactive.
    Falling,
}

/// An edge on a requested line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EdgeEvent {
    /// When, in nanoseconds of the request's event clock.
    pub timestamp_ns: u64,
    /// Rising or falling.
    pub kind: EdgeKind,
    /// Offset of the line on the chip.
    pub offset: u32,
    /// Sequence number of this event among all lines of the request (v2; 0 under v1).
    pub seqno: u32,
    /// Sequence number of this event on its line (v2; 0 under v1).
    pub line_seqno: u32,
}

/// Room to read several edge events with one `read`; see [`Request::read_edge_events`].
#[derive(Clone, Debug)]
pub struct EdgeEventBuffer {
    capacity: usize,
    bytes: Vec<u8>,
    events: Vec<EdgeEvent>,
}

impl EdgeEventBuffer {
    /// Room for `events` events (at least one).
    pub fn with_capacity(events: usize) -> Self {
        let capacity = events.max(1);
        EdgeEventBuffer {
            capacity,
            bytes: Vec::new(),
            events: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn prepare(&mut self, event_size: usize) {
        self.bytes.resize(self.capacity * event_size, 0);
    }

    #[cfg_attr(not(feature = "async-tokio"), allow(dead_code))]
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The events of the last read.
    pub fn iter(&self) -> std::slice::Iter<'_, EdgeEvent> {
        self.events.iter()
    }

    /// The events of the last read.
    pub fn events(&self) -> &[EdgeEvent] {
        &self.events
    }

    /// Number of events of the last read.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// No events read.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// How many events fit.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Blocking iterator over a request's edge events; see [`Request::edge_events`].
#[derive(Debug)]
pub struct EdgeEvents<'a> {
    request: &'a Request,
    buffer: EdgeEventBuffer,
    next: usize,
}

impl Iterator for EdgeEvents<'_> {
    type Item = Result<EdgeEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.buffer.len() {
            self.next = 0;
            if let Err(e) = self.request.read_edge_events(&mut self.buffer) {
                return Some(Err(e));
            }
        }
        let ev = self.buffer.events.get(self.next).copied();
        self.next += 1;
        ev.map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_without_chip_or_lines() {
        assert!(matches!(
            Request::builder().with_line(0).request(),
            Err(Error::NoChip)
        ));
    }

    #[test]
    fn builder_keeps_first_error() {
        // The chip fails to open: that error, naming the path and the call, comes out.
        let e = Request::builder()
            .on_chip("/nonexistent/gpiochip9")
            .with_line(0)
            .as_input()
            .request()
            .unwrap_err();
        assert!(e.to_string().contains("/nonexistent/gpiochip9"), "{e}");
        assert!(e.to_string().contains("open"), "{e}");
    }

    #[test]
    fn values_by_offset() {
        let mut v = Values {
            offsets: Arc::from(vec![4u32, 9, 2]),
            bits: 0,
            mask: 0,
        };
        assert!(v.set(9, Value::Active));
        assert!(v.set(2, Value::Inactive));
        assert!(!v.set(7, Value::Active));
        assert_eq!(v.get(9), Some(Value::Active));
        assert_eq!(v.get(2), Some(Value::Inactive));
        assert_eq!(v.get(4), None);
        assert_eq!((v.bits(), v.mask()), (0b010, 0b110));
        assert_eq!(
            v.iter().collect::<Vec<_>>(),
            vec![(9, Value::Active), (2, Value::Inactive)]
        );
        v.select_all();
        assert_eq!(v.mask(), 0b111);
        assert_eq!(all_mask(64), u64::MAX);
    }
}
