//! `include/uapi/linux/gpio.h` in Rust: the kernel structs of the GPIO character device
//! (uAPI v1 and v2) and one safe function per ioctl.
//!
//! Every field is a plain integer or byte array, exactly as the kernel lays it out, because the
//! kernel may hand back any value: turning integers into Rust enums is the job of the layer
//! above ([`crate::gpio`]), which never issues an ioctl itself. This is the only place in the
//! GPIO module with `unsafe`. Structs keep the kernel's names in CamelCase (`gpio_v2_line_info`
//! is [`GpioV2LineInfo`]) so they can be checked against the header line by line; the tests at
//! the bottom pin their sizes, field offsets and ioctl numbers to the header's.
//!
//! Reading events (`read(2)` on a request or chip fd) is done here too; decoding the bytes read
//! is pure (`from_bytes` functions) so it can be tested without a kernel.

use crate::ioctl::take_fd;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::ioctl::{ioctl, opcode, Updater};

/// `GPIO_MAX_NAME_SIZE`: bytes of a name, label or consumer field, NUL included.
pub const MAX_NAME_SIZE: usize = 32;
/// `GPIO_V2_LINES_MAX` (and v1's `GPIOHANDLES_MAX`): lines in one request.
pub const LINES_MAX: usize = 64;
/// `GPIO_V2_LINE_NUM_ATTRS_MAX`: attributes in one line config or line info.
pub const NUM_ATTRS_MAX: usize = 10;

/// The ioctl type byte of the GPIO character device.
const GPIO_IOC_MAGIC: u8 = 0xB4;

// --- gpio_v2_line_flag -----------------------------------------------------------------------

/// `GPIO_V2_LINE_FLAG_USED`
pub const V2_FLAG_USED: u64 = 1 << 0;
/// `GPIO_V2_LINE_FLAG_ACTIVE_LOW`
pub const V2_FLAG_ACTIVE_LOW: u64 = 1 << 1;
/// `GPIO_V2_LINE_FLAG_INPUT`
pub const V2_FLAG_INPUT: u64 = 1 << 2;
/// `GPIO_V2_LINE_FLAG_OUTPUT`
pub const V2_FLAG_OUTPUT: u64 = 1 << 3;
/// `GPIO_V2_LINE_FLAG_EDGE_RISING`
pub const V2_FLAG_EDGE_RISING: u64 = 1 << 4;
/// `GPIO_V2_LINE_FLAG_EDGE_FALLING`
pub const V2_FLAG_EDGE_FALLING: u64 = 1 << 5;
/// `GPIO_V2_LINE_FLAG_OPEN_DRAIN`
pub const V2_FLAG_OPEN_DRAIN: u64 = 1 << 6;
/// `GPIO_V2_LINE_FLAG_OPEN_SOURCE`
pub const V2_FLAG_OPEN_SOURCE: u64 = 1 << 7;
/// `GPIO_V2_LINE_FLAG_BIAS_PULL_UP`
pub const V2_FLAG_BIAS_PULL_UP: u64 = 1 << 8;
/// `GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN`
pub const V2_FLAG_BIAS_PULL_DOWN: u64 = 1 << 9;
/// `GPIO_V2_LINE_FLAG_BIAS_DISABLED`
pub const V2_FLAG_BIAS_DISABLED: u64 = 1 << 10;
/// `GPIO_V2_LINE_FLAG_EVENT_CLOCK_REALTIME`
pub const V2_FLAG_EVENT_CLOCK_REALTIME: u64 = 1 << 11;
/// `GPIO_V2_LINE_FLAG_EVENT_CLOCK_HTE`
pub const V2_FLAG_EVENT_CLOCK_HTE: u64 = 1 << 12;

/// `GPIO_V2_LINE_ATTR_ID_FLAGS`
pub const V2_ATTR_ID_FLAGS: u32 = 1;
/// `GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES`
pub const V2_ATTR_ID_OUTPUT_VALUES: u32 = 2;
/// `GPIO_V2_LINE_ATTR_ID_DEBOUNCE`
pub const V2_ATTR_ID_DEBOUNCE: u32 = 3;

/// `GPIO_V2_LINE_CHANGED_REQUESTED` (same value in v1's `GPIOLINE_CHANGED_REQUESTED`)
pub const LINE_CHANGED_REQUESTED: u32 = 1;
/// `GPIO_V2_LINE_CHANGED_RELEASED`
pub const LINE_CHANGED_RELEASED: u32 = 2;
/// `GPIO_V2_LINE_CHANGED_CONFIG`
pub const LINE_CHANGED_CONFIG: u32 = 3;

/// `GPIO_V2_LINE_EVENT_RISING_EDGE` (same value in v1's `GPIOEVENT_EVENT_RISING_EDGE`)
pub const EVENT_RISING_EDGE: u32 = 1;
/// `GPIO_V2_LINE_EVENT_FALLING_EDGE`
pub const EVENT_FALLING_EDGE: u32 = 2;

// --- v1 flags ----------------------------------------------------------------------------------

/// `GPIOLINE_FLAG_KERNEL`: the line is in use (by the kernel or by user space).
pub const V1_LINE_FLAG_KERNEL: u32 = 1 << 0;
/// `GPIOLINE_FLAG_IS_OUT`
pub const V1_LINE_FLAG_IS_OUT: u32 = 1 << 1;
/// `GPIOLINE_FLAG_ACTIVE_LOW`
pub const V1_LINE_FLAG_ACTIVE_LOW: u32 = 1 << 2;
/// `GPIOLINE_FLAG_OPEN_DRAIN`
pub const V1_LINE_FLAG_OPEN_DRAIN: u32 = 1 << 3;
/// `GPIOLINE_FLAG_OPEN_SOURCE`
pub const V1_LINE_FLAG_OPEN_SOURCE: u32 = 1 << 4;
/// `GPIOLINE_FLAG_BIAS_PULL_UP`
pub const V1_LINE_FLAG_BIAS_PULL_UP: u32 = 1 << 5;
/// `GPIOLINE_FLAG_BIAS_PULL_DOWN`
pub const V1_LINE_FLAG_BIAS_PULL_DOWN: u32 = 1 << 6;
/// `GPIOLINE_FLAG_BIAS_DISABLE`
pub const V1_LINE_FLAG_BIAS_DISABLE: u32 = 1 << 7;

/// `GPIOHANDLE_REQUEST_INPUT`
pub const V1_REQUEST_INPUT: u32 = 1 << 0;
/// `GPIOHANDLE_REQUEST_OUTPUT`
pub const V1_REQUEST_OUTPUT: u32 = 1 << 1;
/// `GPIOHANDLE_REQUEST_ACTIVE_LOW`
pub const V1_REQUEST_ACTIVE_LOW: u32 = 1 << 2;
/// `GPIOHANDLE_REQUEST_OPEN_DRAIN`
pub const V1_REQUEST_OPEN_DRAIN: u32 = 1 << 3;
/// `GPIOHANDLE_REQUEST_OPEN_SOURCE`
pub const V1_REQUEST_OPEN_SOURCE: u32 = 1 << 4;
/// `GPIOHANDLE_REQUEST_BIAS_PULL_UP`
pub const V1_REQUEST_BIAS_PULL_UP: u32 = 1 << 5;
/// `GPIOHANDLE_REQUEST_BIAS_PULL_DOWN`
pub const V1_REQUEST_BIAS_PULL_DOWN: u32 = 1 << 6;
/// `GPIOHANDLE_REQUEST_BIAS_DISABLE`
pub const V1_REQUEST_BIAS_DISABLE: u32 = 1 << 7;

/// `GPIOEVENT_REQUEST_RISING_EDGE`
pub const V1_EVENT_REQUEST_RISING_EDGE: u32 = 1 << 0;
/// `GPIOEVENT_REQUEST_FALLING_EDGE`
pub const V1_EVENT_REQUEST_FALLING_EDGE: u32 = 1 << 1;

// --- structs common to v1 and v2 -----------------------------------------------------------

/// `struct gpiochip_info`
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpiochipInfo {
    /// Kernel name of the chip (`gpiochipN`), NUL-terminated.
    pub name: [u8; MAX_NAME_SIZE],
    /// Functional name of the chip, NUL-terminated, maybe empty.
    pub label: [u8; MAX_NAME_SIZE],
    /// Number of lines.
    pub lines: u32,
}

impl GpiochipInfo {
    /// All fields zero.
    pub const fn zeroed() -> Self {
        Self {
            name: [0; MAX_NAME_SIZE],
            label: [0; MAX_NAME_SIZE],
            lines: 0,
        }
    }
}

// --- v2 structs ----------------------------------------------------------------------------

/// `struct gpio_v2_line_values`: bit *i* of `bits`/`mask` is line *i* of the request.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpioV2LineValues {
    /// Values, one bit per requested line (1 = active).
    pub bits: u64,
    /// Which lines to get or set.
    pub mask: u64,
}

/// `struct gpio_v2_line_attribute`. The kernel's union of `flags`, `values` and
/// `debounce_period_us` is the single `value` field; use the accessors for the 32-bit member,
/// whose place inside the 64 bits depends on the byte order.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpioV2LineAttribute {
    /// One of the `V2_ATTR_ID_*` constants.
    pub id: u32,
    /// Reserved, zero.
    pub padding: u32,
    /// The union: flags, output values or debounce period.
    pub value: u64,
}

impl GpioV2LineAttribute {
    /// An attribute carrying `debounce_period_us`.
    pub fn debounce(period_us: u32) -> Self {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&period_us.to_ne_bytes());
        Self {
            id: V2_ATTR_ID_DEBOUNCE,
            padding: 0,
            value: u64::from_ne_bytes(bytes),
        }
    }

    /// The union read as `debounce_period_us` (the first four bytes in memory).
    pub fn debounce_period_us(&self) -> u32 {
        let bytes = self.value.to_ne_bytes();
        u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }
}

/// `struct gpio_v2_line_config_attribute`
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpioV2LineConfigAttribute {
    /// The attribute.
    pub attr: GpioV2LineAttribute,
    /// The requested lines (by index in the request) it applies to.
    pub mask: u64,
}

/// `struct gpio_v2_line_config`
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpioV2LineConfig {
    /// `V2_FLAG_*` for the lines no flags attribute covers.
    pub flags: u64,
    /// Number of entries of `attrs` in use.
    pub num_attrs: u32,
    /// Reserved, zero.
    pub padding: [u32; 5],
    /// Per-line attributes.
    pub attrs: [GpioV2LineConfigAttribute; NUM_ATTRS_MAX],
}

impl GpioV2LineConfig {
    /// All fields zero.
    pub const fn zeroed() -> Self {
        const ZERO: GpioV2LineConfigAttribute = GpioV2LineConfigAttribute {
            attr: GpioV2LineAttribute {
                id: 0,
                padding: 0,
                value: 0,
            },
            mask: 0,
        };
        Self {
            flags: 0,
            num_attrs: 0,
            padding: [0; 5],
            attrs: [ZERO; NUM_ATTRS_MAX],
        }
    }
}

/// `struct gpio_v2_line_request`
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpioV2LineRequest {
    /// Offsets of the requested lines; the first `num_lines` are used.
    pub offsets: [u32; LINES_MAX],
    /// Consumer label, NUL-terminated.
    pub consumer: [u8; MAX_NAME_SIZE],
    /// Configuration of the lines.
    pub config: GpioV2LineConfig,
    /// Number of lines.
    pub num_lines: u32,
    /// Suggested kernel edge event buffer size, 0 for the default.
    pub event_buffer_size: u32,
    /// Reserved, zero.
    pub padding: [u32; 5],
    /// Set by the kernel: the request's file descriptor.
    pub fd: i32,
}

impl GpioV2LineRequest {
    /// All fields zero.
    pub const fn zeroed() -> Self {
        Self {
            offsets: [0; LINES_MAX],
            consumer: [0; MAX_NAME_SIZE],
            config: GpioV2LineConfig::zeroed(),
            num_lines: 0,
            event_buffer_size: 0,
            padding: [0; 5],
            fd: 0,
        }
    }
}

/// `struct gpio_v2_line_info`
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpioV2LineInfo {
    /// Line name, NUL-terminated, maybe empty.
    pub name: [u8; MAX_NAME_SIZE],
    /// Consumer label, NUL-terminated, empty when unused.
    pub consumer: [u8; MAX_NAME_SIZE],
    /// Line offset on the chip.
    pub offset: u32,
    /// Number of entries of `attrs` in use.
    pub num_attrs: u32,
    /// `V2_FLAG_*`.
    pub flags: u64,
    /// Attributes (debounce period, ...).
    pub attrs: [GpioV2LineAttribute; NUM_ATTRS_MAX],
    /// Reserved.
    pub padding: [u32; 4],
}

impl GpioV2LineInfo {
    /// All fields zero.
    pub const fn zeroed() -> Self {
        const ZERO: GpioV2LineAttribute = GpioV2LineAttribute {
            id: 0,
            padding: 0,
            value: 0,
        };
        Self {
            name: [0; MAX_NAME_SIZE],
            consumer: [0; MAX_NAME_SIZE],
            offset: 0,
            num_attrs: 0,
            flags: 0,
            attrs: [ZERO; NUM_ATTRS_MAX],
            padding: [0; 4],
        }
    }

    /// Decodes the kernel's bytes (native byte order); `None` if `bytes` is too short.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes, std::mem::size_of::<Self>())?;
        let mut info = Self::zeroed();
        info.name = r.array();
        info.consumer = r.array();
        info.offset = r.u32();
        info.num_attrs = r.u32();
        info.flags = r.u64();
        for attr in &mut info.attrs {
            attr.id = r.u32();
            attr.padding = r.u32();
            attr.value = r.u64();
        }
        for p in &mut info.padding {
            *p = r.u32();
        }
        Some(info)
    }
}

/// `struct gpio_v2_line_info_changed`, read from a chip fd after a watch.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpioV2LineInfoChanged {
    /// The line's info after the change.
    pub info: GpioV2LineInfo,
    /// `CLOCK_MONOTONIC` time of the change.
    pub timestamp_ns: u64,
    /// One of the `LINE_CHANGED_*` constants.
    pub event_type: u32,
    /// Reserved.
    pub padding: [u32; 5],
}

impl GpioV2LineInfoChanged {
    /// Decodes the kernel's bytes; `None` if `bytes` is too short.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let info_size = std::mem::size_of::<GpioV2LineInfo>();
        let info = GpioV2LineInfo::from_bytes(bytes)?;
        let mut r = Reader::new(
            bytes.get(info_size..)?,
            std::mem::size_of::<Self>() - info_size,
        )?;
        let timestamp_ns = r.u64();
        let event_type = r.u32();
        let mut padding = [0u32; 5];
        for p in &mut padding {
            *p = r.u32();
        }
        Some(Self {
            info,
            timestamp_ns,
            event_type,
            padding,
        })
    }
}

/// `struct gpio_v2_line_event`, read from a request fd.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpioV2LineEvent {
    /// Time of the edge (clock chosen at request time).
    pub timestamp_ns: u64,
    /// `EVENT_RISING_EDGE` or `EVENT_FALLING_EDGE`.
    pub id: u32,
    /// Offset of the line on the chip.
    pub offset: u32,
    /// Sequence number among all lines of the request.
    pub seqno: u32,
    /// Sequence number on this line.
    pub line_seqno: u32,
    /// Reserved.
    pub padding: [u32; 6],
}

impl GpioV2LineEvent {
    /// Like [`Self::from_bytes`] (same length check) but leaves `padding` zero.
    #[inline]
    pub fn head_from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < std::mem::size_of::<Self>() {
            return None;
        }
        let u32_at =
            |i: usize| u32::from_ne_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&bytes[..8]);
        Some(Self {
            timestamp_ns: u64::from_ne_bytes(ts),
            id: u32_at(8),
            offset: u32_at(12),
            seqno: u32_at(16),
            line_seqno: u32_at(20),
            padding: [0; 6],
        })
    }

    /// Decodes the kernel's bytes; `None` if `bytes` is too short.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes, std::mem::size_of::<Self>())?;
        let mut ev = Self {
            timestamp_ns: r.u64(),
            id: r.u32(),
            offset: r.u32(),
            seqno: r.u32(),
            line_seqno: r.u32(),
            padding: [0; 6],
        };
        for p in &mut ev.padding {
            *p = r.u32();
        }
        Some(ev)
    }
}

// --- v1 structs ----------------------------------------------------------------------------

/// `struct gpioline_info` (v1)
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpiolineInfo {
    /// Line offset on the chip.
    pub line_offset: u32,
    /// `V1_LINE_FLAG_*`.
    pub flags: u32,
    /// Line name, NUL-terminated.
    pub name: [u8; MAX_NAME_SIZE],
    /// Consumer label, NUL-terminated.
    pub consumer: [u8; MAX_NAME_SIZE],
}

impl GpiolineInfo {
    /// All fields zero.
    pub const fn zeroed() -> Self {
        Self {
            line_offset: 0,
            flags: 0,
            name: [0; MAX_NAME_SIZE],
            consumer: [0; MAX_NAME_SIZE],
        }
    }

    /// Decodes the kernel's bytes; `None` if `bytes` is too short.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes, std::mem::size_of::<Self>())?;
        Some(Self {
            line_offset: r.u32(),
            flags: r.u32(),
            name: r.array(),
            consumer: r.array(),
        })
    }
}

/// `struct gpioline_info_changed` (v1)
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpiolineInfoChanged {
    /// The line's info after the change.
    pub info: GpiolineInfo,
    /// Time of the change.
    pub timestamp: u64,
    /// One of the `LINE_CHANGED_*` constants.
    pub event_type: u32,
    /// Reserved.
    pub padding: [u32; 5],
}

impl GpiolineInfoChanged {
    /// Decodes the kernel's bytes; `None` if `bytes` is too short.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let info = GpiolineInfo::from_bytes(bytes)?;
        let at = std::mem::offset_of!(Self, timestamp);
        let mut r = Reader::new(bytes.get(at..)?, std::mem::size_of::<Self>() - at)?;
        let timestamp = r.u64();
        let event_type = r.u32();
        let mut padding = [0u32; 5];
        for p in &mut padding {
            *p = r.u32();
        }
        Some(Self {
            info,
            timestamp,
            event_type,
            padding,
        })
    }
}

/// `struct gpiohandle_request` (v1)
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpiohandleRequest {
    /// Offsets of the requested lines; the first `lines` are used.
    pub lineoffsets: [u32; LINES_MAX],
    /// `V1_REQUEST_*` for all lines.
    pub flags: u32,
    /// Initial output values, one byte per line.
    pub default_values: [u8; LINES_MAX],
    /// Consumer label, NUL-terminated.
    pub consumer_label: [u8; MAX_NAME_SIZE],
    /// Number of lines.
    pub lines: u32,
    /// Set by the kernel: the handle's file descriptor.
    pub fd: i32,
}

impl GpiohandleRequest {
    /// All fields zero.
    pub const fn zeroed() -> Self {
        Self {
            lineoffsets: [0; LINES_MAX],
            flags: 0,
            default_values: [0; LINES_MAX],
            consumer_label: [0; MAX_NAME_SIZE],
            lines: 0,
            fd: 0,
        }
    }
}

/// `struct gpiohandle_config` (v1, kernel 5.5+)
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpiohandleConfig {
    /// `V1_REQUEST_*` for all lines.
    pub flags: u32,
    /// Output values, one byte per line.
    pub default_values: [u8; LINES_MAX],
    /// Reserved.
    pub padding: [u32; 4],
}

impl GpiohandleConfig {
    /// All fields zero.
    pub const fn zeroed() -> Self {
        Self {
            flags: 0,
            default_values: [0; LINES_MAX],
            padding: [0; 4],
        }
    }
}

/// `struct gpiohandle_data` (v1): one byte per line of the handle.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpiohandleData {
    /// Values, one byte per requested line (0 or 1).
    pub values: [u8; LINES_MAX],
}

impl GpiohandleData {
    /// All values zero.
    pub const fn zeroed() -> Self {
        Self {
            values: [0; LINES_MAX],
        }
    }
}

/// `struct gpioevent_request` (v1)
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GpioeventRequest {
    /// Offset of the one line.
    pub lineoffset: u32,
    /// `V1_REQUEST_*` flags.
    pub handleflags: u32,
    /// `V1_EVENT_REQUEST_*` flags.
    pub eventflags: u32,
    /// Consumer label, NUL-terminated.
    pub consumer_label: [u8; MAX_NAME_SIZE],
    /// Set by the kernel: the event request's file descriptor.
    pub fd: i32,
}

impl GpioeventRequest {
    /// All fields zero.
    pub const fn zeroed() -> Self {
        Self {
            lineoffset: 0,
            handleflags: 0,
            eventflags: 0,
            consumer_label: [0; MAX_NAME_SIZE],
            fd: 0,
        }
    }
}

/// `struct gpioevent_data` (v1). Its size depends on the alignment of `u64` (16 bytes on most
/// targets, 12 on 32-bit x86), which `repr(C)` reproduces.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpioeventData {
    /// Time of the edge.
    pub timestamp: u64,
    /// `EVENT_RISING_EDGE` or `EVENT_FALLING_EDGE`.
    pub id: u32,
}

impl GpioeventData {
    /// Decodes the kernel's bytes; `None` if `bytes` is too short.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes, std::mem::size_of::<Self>())?;
        Some(Self {
            timestamp: r.u64(),
            id: r.u32(),
        })
    }
}

/// Copies `s` into a kernel name field, truncated so that a NUL always ends it.
pub fn name_field(s: &str) -> [u8; MAX_NAME_SIZE] {
    let mut out = [0u8; MAX_NAME_SIZE];
    let n = s.len().min(MAX_NAME_SIZE - 1);
    out[..n].copy_from_slice(&s.as_bytes()[..n]);
    out
}

/// The text of a kernel name field up to its first NUL (lossy UTF-8).
pub fn name_str(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Sequential native-endian reader over a byte slice of known minimum length.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], need: usize) -> Option<Self> {
        (bytes.len() >= need).then_some(Self { bytes, at: 0 })
    }

    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        out
    }

    fn u32(&mut self) -> u32 {
        u32::from_ne_bytes(self.take())
    }

    fn u64(&mut self) -> u64 {
        // A u64 field sits at an 8-aligned offset in every struct decoded here, except where the
        // target aligns u64 to 4 (then the struct has no gap either); so no skipping is needed.
        u64::from_ne_bytes(self.take())
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        self.take()
    }
}

// --- ioctls --------------------------------------------------------------------------------

/// Issues a read-write ioctl whose argument is `*mut T`.
///
/// # Safety
/// `OPCODE` must be an ioctl of the GPIO character device whose argument is a `T` the kernel
/// reads and writes in place, and `fd` must be a GPIO chip or request fd (the kernel rejects
/// anything else with an errno, it never writes past `size_of::<T>()`).
unsafe fn ioctl_rw<const OPCODE: rustix::ioctl::Opcode, T>(
    fd: BorrowedFd<'_>,
    arg: &mut T,
) -> Result<(), Errno> {
    // SAFETY: forwarded from the caller: OPCODE's argument type is T.
    unsafe { ioctl(fd, Updater::<OPCODE, T>::new(arg)) }
}

/// `GPIO_GET_CHIPINFO_IOCTL`
pub fn get_chip_info(fd: impl AsFd) -> Result<GpiochipInfo, Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read::<GpiochipInfo>(GPIO_IOC_MAGIC, 0x01);
    let mut info = GpiochipInfo::zeroed();
    // SAFETY: GPIO_GET_CHIPINFO_IOCTL is _IOR(0xB4, 0x01, struct gpiochip_info); the kernel
    // only writes `size_of::<GpiochipInfo>()` bytes. Non-GPIO fds answer with an errno.
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), &mut info)? };
    Ok(info)
}

/// `GPIO_GET_LINEINFO_UNWATCH_IOCTL` (v1 and v2)
pub fn unwatch_line_info(fd: impl AsFd, offset: u32) -> Result<(), Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<u32>(GPIO_IOC_MAGIC, 0x0C);
    let mut arg = offset;
    // SAFETY: _IOWR(0xB4, 0x0C, __u32).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), &mut arg) }
}

/// `GPIO_V2_GET_LINEINFO_IOCTL`
pub fn get_line_info_v2(fd: impl AsFd, offset: u32) -> Result<GpioV2LineInfo, Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpioV2LineInfo>(GPIO_IOC_MAGIC, 0x05);
    let mut info = GpioV2LineInfo::zeroed();
    info.offset = offset;
    // SAFETY: _IOWR(0xB4, 0x05, struct gpio_v2_line_info).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), &mut info)? };
    Ok(info)
}

/// `GPIO_V2_GET_LINEINFO_WATCH_IOCTL`
pub fn watch_line_info_v2(fd: impl AsFd, offset: u32) -> Result<GpioV2LineInfo, Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpioV2LineInfo>(GPIO_IOC_MAGIC, 0x06);
    let mut info = GpioV2LineInfo::zeroed();
    info.offset = offset;
    // SAFETY: _IOWR(0xB4, 0x06, struct gpio_v2_line_info).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), &mut info)? };
    Ok(info)
}

/// `GPIO_V2_GET_LINE_IOCTL`: returns the new request's fd (also left in `req.fd`).
pub fn get_line_v2(fd: impl AsFd, req: &mut GpioV2LineRequest) -> Result<OwnedFd, Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpioV2LineRequest>(GPIO_IOC_MAGIC, 0x07);
    // SAFETY: _IOWR(0xB4, 0x07, struct gpio_v2_line_request).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), req)? };
    // SAFETY: on success the kernel stored a new fd for this process in `fd`.
    Ok(unsafe { take_fd(req.fd) })
}

/// `GPIO_V2_LINE_SET_CONFIG_IOCTL`, on a request fd.
pub fn set_line_config_v2(fd: impl AsFd, config: &mut GpioV2LineConfig) -> Result<(), Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpioV2LineConfig>(GPIO_IOC_MAGIC, 0x0D);
    // SAFETY: _IOWR(0xB4, 0x0D, struct gpio_v2_line_config).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), config) }
}

/// `GPIO_V2_LINE_GET_VALUES_IOCTL`, on a request fd.
pub fn get_line_values_v2(fd: impl AsFd, values: &mut GpioV2LineValues) -> Result<(), Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpioV2LineValues>(GPIO_IOC_MAGIC, 0x0E);
    // SAFETY: _IOWR(0xB4, 0x0E, struct gpio_v2_line_values).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), values) }
}

/// `GPIO_V2_LINE_SET_VALUES_IOCTL`, on a request fd.
pub fn set_line_values_v2(fd: impl AsFd, values: &mut GpioV2LineValues) -> Result<(), Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpioV2LineValues>(GPIO_IOC_MAGIC, 0x0F);
    // SAFETY: _IOWR(0xB4, 0x0F, struct gpio_v2_line_values).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), values) }
}

/// `GPIO_GET_LINEINFO_IOCTL` (v1)
pub fn get_line_info_v1(fd: impl AsFd, offset: u32) -> Result<GpiolineInfo, Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpiolineInfo>(GPIO_IOC_MAGIC, 0x02);
    let mut info = GpiolineInfo::zeroed();
    info.line_offset = offset;
    // SAFETY: _IOWR(0xB4, 0x02, struct gpioline_info).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), &mut info)? };
    Ok(info)
}

/// `GPIO_GET_LINEINFO_WATCH_IOCTL` (v1)
pub fn watch_line_info_v1(fd: impl AsFd, offset: u32) -> Result<GpiolineInfo, Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpiolineInfo>(GPIO_IOC_MAGIC, 0x0B);
    let mut info = GpiolineInfo::zeroed();
    info.line_offset = offset;
    // SAFETY: _IOWR(0xB4, 0x0B, struct gpioline_info).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), &mut info)? };
    Ok(info)
}

/// `GPIO_GET_LINEHANDLE_IOCTL` (v1): returns the handle's fd.
pub fn get_line_handle_v1(fd: impl AsFd, req: &mut GpiohandleRequest) -> Result<OwnedFd, Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpiohandleRequest>(GPIO_IOC_MAGIC, 0x03);
    // SAFETY: _IOWR(0xB4, 0x03, struct gpiohandle_request).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), req)? };
    // SAFETY: on success the kernel stored a new fd for this process in `fd`.
    Ok(unsafe { take_fd(req.fd) })
}

/// `GPIO_GET_LINEEVENT_IOCTL` (v1): returns the event request's fd.
pub fn get_line_event_v1(fd: impl AsFd, req: &mut GpioeventRequest) -> Result<OwnedFd, Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpioeventRequest>(GPIO_IOC_MAGIC, 0x04);
    // SAFETY: _IOWR(0xB4, 0x04, struct gpioevent_request).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), req)? };
    // SAFETY: on success the kernel stored a new fd for this process in `fd`.
    Ok(unsafe { take_fd(req.fd) })
}

/// `GPIOHANDLE_GET_LINE_VALUES_IOCTL` (v1), on a handle or event request fd.
pub fn get_line_values_v1(fd: impl AsFd, data: &mut GpiohandleData) -> Result<(), Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpiohandleData>(GPIO_IOC_MAGIC, 0x08);
    // SAFETY: _IOWR(0xB4, 0x08, struct gpiohandle_data).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), data) }
}

/// `GPIOHANDLE_SET_LINE_VALUES_IOCTL` (v1), on a handle fd.
pub fn set_line_values_v1(fd: impl AsFd, data: &mut GpiohandleData) -> Result<(), Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpiohandleData>(GPIO_IOC_MAGIC, 0x09);
    // SAFETY: _IOWR(0xB4, 0x09, struct gpiohandle_data).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), data) }
}

/// `GPIOHANDLE_SET_CONFIG_IOCTL` (v1, kernel 5.5+), on a handle fd.
pub fn set_handle_config_v1(fd: impl AsFd, config: &mut GpiohandleConfig) -> Result<(), Errno> {
    const OP: rustix::ioctl::Opcode = opcode::read_write::<GpiohandleConfig>(GPIO_IOC_MAGIC, 0x0A);
    // SAFETY: _IOWR(0xB4, 0x0A, struct gpiohandle_config).
    unsafe { ioctl_rw::<OP, _>(fd.as_fd(), config) }
}

/// `read(2)` of events from a request or chip fd; returns the number of bytes read.
pub fn read_events(fd: impl AsFd, buf: &mut [u8]) -> Result<usize, Errno> {
    rustix::io::read(fd, buf)
}

/// The ioctl opcodes, for tests and for benchmarks that issue the raw call.
pub mod opcodes {
    use super::*;
    use rustix::ioctl::Opcode;

    /// `GPIO_GET_CHIPINFO_IOCTL`
    pub const GET_CHIPINFO: Opcode = opcode::read::<GpiochipInfo>(GPIO_IOC_MAGIC, 0x01);
    /// `GPIO_GET_LINEINFO_IOCTL`
    pub const GET_LINEINFO: Opcode = opcode::read_write::<GpiolineInfo>(GPIO_IOC_MAGIC, 0x02);
    /// `GPIO_GET_LINEHANDLE_IOCTL`
    pub const GET_LINEHANDLE: Opcode =
        opcode::read_write::<GpiohandleRequest>(GPIO_IOC_MAGIC, 0x03);
    /// `GPIO_GET_LINEEVENT_IOCTL`
    pub const GET_LINEEVENT: Opcode = opcode::read_write::<GpioeventRequest>(GPIO_IOC_MAGIC, 0x04);
    /// `GPIO_V2_GET_LINEINFO_IOCTL`
    pub const V2_GET_LINEINFO: Opcode = opcode::read_write::<GpioV2LineInfo>(GPIO_IOC_MAGIC, 0x05);
    /// `GPIO_V2_GET_LINEINFO_WATCH_IOCTL`
    pub const V2_GET_LINEINFO_WATCH: Opcode =
        opcode::read_write::<GpioV2LineInfo>(GPIO_IOC_MAGIC, 0x06);
    /// `GPIO_V2_GET_LINE_IOCTL`
    pub const V2_GET_LINE: Opcode = opcode::read_write::<GpioV2LineRequest>(GPIO_IOC_MAGIC, 0x07);
    /// `GPIOHANDLE_GET_LINE_VALUES_IOCTL`
    pub const GET_LINE_VALUES: Opcode = opcode::read_write::<GpiohandleData>(GPIO_IOC_MAGIC, 0x08);
    /// `GPIOHANDLE_SET_LINE_VALUES_IOCTL`
    pub const SET_LINE_VALUES: Opcode = opcode::read_write::<GpiohandleData>(GPIO_IOC_MAGIC, 0x09);
    /// `GPIOHANDLE_SET_CONFIG_IOCTL`
    pub const SET_CONFIG: Opcode = opcode::read_write::<GpiohandleConfig>(GPIO_IOC_MAGIC, 0x0A);
    /// `GPIO_GET_LINEINFO_WATCH_IOCTL`
    pub const GET_LINEINFO_WATCH: Opcode = opcode::read_write::<GpiolineInfo>(GPIO_IOC_MAGIC, 0x0B);
    /// `GPIO_GET_LINEINFO_UNWATCH_IOCTL`
    pub const GET_LINEINFO_UNWATCH: Opcode = opcode::read_write::<u32>(GPIO_IOC_MAGIC, 0x0C);
    /// `GPIO_V2_LINE_SET_CONFIG_IOCTL`
    pub const V2_LINE_SET_CONFIG: Opcode =
        opcode::read_write::<GpioV2LineConfig>(GPIO_IOC_MAGIC, 0x0D);
    /// `GPIO_V2_LINE_GET_VALUES_IOCTL`
    pub const V2_LINE_GET_VALUES: Opcode =
        opcode::read_write::<GpioV2LineValues>(GPIO_IOC_MAGIC, 0x0E);
    /// `GPIO_V2_LINE_SET_VALUES_IOCTL`
    pub const V2_LINE_SET_VALUES: Opcode =
        opcode::read_write::<GpioV2LineValues>(GPIO_IOC_MAGIC, 0x0F);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    // Sizes and offsets below are those of include/uapi/linux/gpio.h (Linux 6.x), computed by
    // hand from the header and confirmed by the sizes encoded in the kernel's ioctl numbers.

    #[test]
    fn common_layout() {
        assert_eq!(size_of::<GpiochipInfo>(), 68);
        assert_eq!(offset_of!(GpiochipInfo, label), 32);
        assert_eq!(offset_of!(GpiochipInfo, lines), 64);
    }

    #[test]
    fn v2_layout() {
        assert_eq!(size_of::<GpioV2LineValues>(), 16);
        assert_eq!(offset_of!(GpioV2LineValues, mask), 8);

        assert_eq!(size_of::<GpioV2LineAttribute>(), 16);
        assert_eq!(offset_of!(GpioV2LineAttribute, padding), 4);
        assert_eq!(offset_of!(GpioV2LineAttribute, value), 8);

        assert_eq!(size_of::<GpioV2LineConfigAttribute>(), 24);
        assert_eq!(offset_of!(GpioV2LineConfigAttribute, mask), 16);

        assert_eq!(size_of::<GpioV2LineConfig>(), 272);
        assert_eq!(offset_of!(GpioV2LineConfig, num_attrs), 8);
        assert_eq!(offset_of!(GpioV2LineConfig, padding), 12);
        assert_eq!(offset_of!(GpioV2LineConfig, attrs), 32);

        assert_eq!(size_of::<GpioV2LineRequest>(), 592);
        assert_eq!(offset_of!(GpioV2LineRequest, consumer), 256);
        assert_eq!(offset_of!(GpioV2LineRequest, config), 288);
        assert_eq!(offset_of!(GpioV2LineRequest, num_lines), 560);
        assert_eq!(offset_of!(GpioV2LineRequest, event_buffer_size), 564);
        assert_eq!(offset_of!(GpioV2LineRequest, padding), 568);
        assert_eq!(offset_of!(GpioV2LineRequest, fd), 588);

        assert_eq!(size_of::<GpioV2LineInfo>(), 256);
        assert_eq!(offset_of!(GpioV2LineInfo, consumer), 32);
        assert_eq!(offset_of!(GpioV2LineInfo, offset), 64);
        assert_eq!(offset_of!(GpioV2LineInfo, num_attrs), 68);
        assert_eq!(offset_of!(GpioV2LineInfo, flags), 72);
        assert_eq!(offset_of!(GpioV2LineInfo, attrs), 80);
        assert_eq!(offset_of!(GpioV2LineInfo, padding), 240);

        assert_eq!(size_of::<GpioV2LineInfoChanged>(), 288);
        assert_eq!(offset_of!(GpioV2LineInfoChanged, timestamp_ns), 256);
        assert_eq!(offset_of!(GpioV2LineInfoChanged, event_type), 264);
        assert_eq!(offset_of!(GpioV2LineInfoChanged, padding), 268);

        assert_eq!(size_of::<GpioV2LineEvent>(), 48);
        assert_eq!(offset_of!(GpioV2LineEvent, id), 8);
        assert_eq!(offset_of!(GpioV2LineEvent, offset), 12);
        assert_eq!(offset_of!(GpioV2LineEvent, seqno), 16);
        assert_eq!(offset_of!(GpioV2LineEvent, line_seqno), 20);
        assert_eq!(offset_of!(GpioV2LineEvent, padding), 24);

        // __aligned_u64 everywhere in v2: 8 on every target, 32-bit ones included.
        assert_eq!(align_of::<GpioV2LineRequest>(), 8);
        assert_eq!(align_of::<GpioV2LineEvent>(), 8);
    }

    #[test]
    fn v1_layout() {
        assert_eq!(size_of::<GpiolineInfo>(), 72);
        assert_eq!(offset_of!(GpiolineInfo, flags), 4);
        assert_eq!(offset_of!(GpiolineInfo, name), 8);
        assert_eq!(offset_of!(GpiolineInfo, consumer), 40);

        assert_eq!(size_of::<GpiolineInfoChanged>(), 104);
        assert_eq!(offset_of!(GpiolineInfoChanged, timestamp), 72);
        assert_eq!(offset_of!(GpiolineInfoChanged, event_type), 80);

        assert_eq!(size_of::<GpiohandleRequest>(), 364);
        assert_eq!(offset_of!(GpiohandleRequest, flags), 256);
        assert_eq!(offset_of!(GpiohandleRequest, default_values), 260);
        assert_eq!(offset_of!(GpiohandleRequest, consumer_label), 324);
        assert_eq!(offset_of!(GpiohandleRequest, lines), 356);
        assert_eq!(offset_of!(GpiohandleRequest, fd), 360);

        assert_eq!(size_of::<GpiohandleConfig>(), 84);
        assert_eq!(offset_of!(GpiohandleConfig, default_values), 4);
        assert_eq!(offset_of!(GpiohandleConfig, padding), 68);

        assert_eq!(size_of::<GpiohandleData>(), 64);

        assert_eq!(size_of::<GpioeventRequest>(), 48);
        assert_eq!(offset_of!(GpioeventRequest, handleflags), 4);
        assert_eq!(offset_of!(GpioeventRequest, eventflags), 8);
        assert_eq!(offset_of!(GpioeventRequest, consumer_label), 12);
        assert_eq!(offset_of!(GpioeventRequest, fd), 44);

        assert_eq!(offset_of!(GpioeventData, id), 8);
        let expected = if cfg!(target_arch = "x86") { 12 } else { 16 };
        assert_eq!(size_of::<GpioeventData>(), expected);
    }

    /// The ioctl numbers of x86-64/arm64/riscv (the generic `_IOC` encoding), as the kernel
    /// headers produce them (e.g. `GPIO_V2_GET_LINE_IOCTL` is 0xC250B407).
    #[test]
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "arm"
    ))]
    fn ioctl_numbers() {
        use opcodes::*;
        #[allow(clippy::unnecessary_cast)] // Opcode is not u32 on every target
        let n = |op: rustix::ioctl::Opcode| op as u32;
        assert_eq!(n(GET_CHIPINFO), 0x8044_B401);
        assert_eq!(n(GET_LINEINFO), 0xC048_B402);
        assert_eq!(n(GET_LINEHANDLE), 0xC16C_B403);
        assert_eq!(n(GET_LINEEVENT), 0xC030_B404);
        assert_eq!(n(V2_GET_LINEINFO), 0xC100_B405);
        assert_eq!(n(V2_GET_LINEINFO_WATCH), 0xC100_B406);
        assert_eq!(n(V2_GET_LINE), 0xC250_B407);
        assert_eq!(n(GET_LINE_VALUES), 0xC040_B408);
        assert_eq!(n(SET_LINE_VALUES), 0xC040_B409);
        assert_eq!(n(SET_CONFIG), 0xC054_B40A);
        assert_eq!(n(GET_LINEINFO_WATCH), 0xC048_B40B);
        assert_eq!(n(GET_LINEINFO_UNWATCH), 0xC004_B40C);
        assert_eq!(n(V2_LINE_SET_CONFIG), 0xC110_B40D);
        assert_eq!(n(V2_LINE_GET_VALUES), 0xC010_B40E);
        assert_eq!(n(V2_LINE_SET_VALUES), 0xC010_B40F);
    }

    #[test]
    fn debounce_union_is_first_four_bytes() {
        let a = GpioV2LineAttribute::debounce(1234);
        assert_eq!(a.id, V2_ATTR_ID_DEBOUNCE);
        assert_eq!(a.debounce_period_us(), 1234);
        assert_eq!(&a.value.to_ne_bytes()[..4], &1234u32.to_ne_bytes());
    }

    #[test]
    fn decode_v2_event() {
        let mut b = [0u8; 48];
        b[..8].copy_from_slice(&123_456_789u64.to_ne_bytes());
        b[8..12].copy_from_slice(&EVENT_FALLING_EDGE.to_ne_bytes());
        b[12..16].copy_from_slice(&7u32.to_ne_bytes());
        b[16..20].copy_from_slice(&3u32.to_ne_bytes());
        b[20..24].copy_from_slice(&2u32.to_ne_bytes());
        let ev = GpioV2LineEvent::from_bytes(&b).unwrap();
        assert_eq!(ev.timestamp_ns, 123_456_789);
        assert_eq!(ev.id, EVENT_FALLING_EDGE);
        assert_eq!(ev.offset, 7);
        assert_eq!((ev.seqno, ev.line_seqno), (3, 2));
        assert!(GpioV2LineEvent::from_bytes(&b[..47]).is_none());
        assert_eq!(GpioV2LineEvent::head_from_bytes(&b), Some(ev));
        assert!(GpioV2LineEvent::head_from_bytes(&b[..47]).is_none());
    }

    #[test]
    fn decode_info_changed() {
        let mut b = [0u8; 288];
        b[..4].copy_from_slice(b"led0");
        b[32..36].copy_from_slice(b"app\0");
        b[64..68].copy_from_slice(&5u32.to_ne_bytes());
        b[72..80].copy_from_slice(&(V2_FLAG_USED | V2_FLAG_OUTPUT).to_ne_bytes());
        b[256..264].copy_from_slice(&99u64.to_ne_bytes());
        b[264..268].copy_from_slice(&LINE_CHANGED_RELEASED.to_ne_bytes());
        let c = GpioV2LineInfoChanged::from_bytes(&b).unwrap();
        assert_eq!(name_str(&c.info.name), "led0");
        assert_eq!(name_str(&c.info.consumer), "app");
        assert_eq!(c.info.offset, 5);
        assert_eq!(c.info.flags, V2_FLAG_USED | V2_FLAG_OUTPUT);
        assert_eq!(c.timestamp_ns, 99);
        assert_eq!(c.event_type, LINE_CHANGED_RELEASED);

        let mut v1 = [0u8; 104];
        v1[..4].copy_from_slice(&2u32.to_ne_bytes());
        v1[4..8].copy_from_slice(&V1_LINE_FLAG_KERNEL.to_ne_bytes());
        v1[72..80].copy_from_slice(&42u64.to_ne_bytes());
        v1[80..84].copy_from_slice(&LINE_CHANGED_CONFIG.to_ne_bytes());
        let c = GpiolineInfoChanged::from_bytes(&v1).unwrap();
        assert_eq!(c.info.line_offset, 2);
        assert_eq!(c.timestamp, 42);
        assert_eq!(c.event_type, LINE_CHANGED_CONFIG);
    }

    #[test]
    fn decode_v1_event() {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&5u64.to_ne_bytes());
        b[8..12].copy_from_slice(&EVENT_RISING_EDGE.to_ne_bytes());
        let ev = GpioeventData::from_bytes(&b).unwrap();
        assert_eq!((ev.timestamp, ev.id), (5, EVENT_RISING_EDGE));
    }

    #[test]
    fn name_fields_truncate_and_terminate() {
        let f = name_field("a-consumer-label-that-is-far-too-long-for-the-kernel");
        assert_eq!(f[31], 0);
        assert_eq!(name_str(&f).len(), 31);
        assert_eq!(name_str(&name_field("x")), "x");
        assert_eq!(name_str(&[b'a'; 32]), "a".repeat(32));
    }
}
