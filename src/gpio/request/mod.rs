//! Line requests: the [`Request`] (values, reconfiguration), built by the [`RequestBuilder`]
//! (`builder.rs`); [`Values`] for reading or writing several lines in one call
//! (`values.rs`); edge events and reading them (`edge.rs`).
//!
//! A request owns the file descriptor the kernel returned; the lines are released when it is
//! dropped. The same methods work over uAPI v2 and v1; under v1 a request with edge detection
//! covers one line and cannot be reconfigured (the kernel's limits, reported as
//! [`Error::AbiUnsupported`]).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustix::io::Errno;

use super::chip::Chip;
use super::config::{encode_v1, Config, EncodeError, V1Limit};
use super::error::{Error, Result};
use super::line::Value;
use super::{uapi, AbiVersion};

mod builder;
mod edge;
mod values;

pub use builder::RequestBuilder;
pub use edge::{EdgeEvent, EdgeEventBuffer, EdgeEvents, EdgeKind};
use values::all_mask;
pub use values::Values;

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
