//! The GPIO character device (`/dev/gpiochipN`): chips, line info, line requests and edge
//! events through the kernel's uAPI v2 and v1 ioctls, issued directly (no libgpiod).
//!
//! Two layers: [`uapi`] is `linux/gpio.h` in Rust (structs with plain integer fields, one safe
//! function per ioctl, the only `unsafe` of the module); everything else is the user API built
//! on it, the same whichever uAPI version is in use. uAPI v2 (Linux 5.10+) is used when the
//! kernel has it, v1 otherwise or when forced with [`Chip::with_abi`] /
//! [`RequestBuilder::with_abi`]; features only v2 offers return [`Error::AbiUnsupported`].
//!
//! ```no_run
//! use ferroio::gpio::{EdgeDetection, Request, Value};
//! # fn main() -> ferroio::gpio::Result<()> {
//! let led = Request::builder()
//!     .on_chip("/dev/gpiochip0")
//!     .with_consumer("blinky")
//!     .with_line(0)
//!     .as_output(Value::Inactive)
//!     .request()?;
//! led.set_value(0, Value::Active)?;
//!
//! let button = Request::builder()
//!     .on_chip("/dev/gpiochip0")
//!     .with_line(1)
//!     .with_edge_detection(EdgeDetection::Both)
//!     .request()?;
//! for event in button.edge_events().take(2) {
//!     let event = event?;
//!     println!("{:?} on line {} at {} ns", event.kind, event.offset, event.timestamp_ns);
//! }
//! # Ok(()) }
//! ```
//!
//! gpio-cdev users can keep their code: [`compat`] offers that crate's names.

mod chip;
pub mod compat;
mod config;
mod error;
mod line;
mod request;
#[allow(unsafe_code)]
pub mod uapi;

#[cfg(feature = "embedded-hal")]
pub mod hal;
#[cfg(feature = "async-tokio")]
pub mod tokio;

pub use chip::{chip_paths, chips, find_line, Chip, ChipInfo, FoundLine, InfoChanges};
pub use config::{Config, LineSettings};
pub use error::{Error, Result};
pub use line::{
    Bias, Direction, Drive, EdgeDetection, EventClock, InfoChangeEvent, InfoChangeKind, LineInfo,
    Value,
};
pub use request::{
    EdgeEvent, EdgeEventBuffer, EdgeEvents, EdgeKind, Request, RequestBuilder, Values,
};

use std::os::fd::BorrowedFd;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;

/// The version of the kernel's GPIO character device uAPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AbiVersion {
    /// The original uAPI (Linux 4.8), deprecated since 5.10.
    V1,
    /// uAPI v2 (Linux 5.10+).
    V2,
}

impl std::fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AbiVersion::V1 => "uAPI v1",
            AbiVersion::V2 => "uAPI v2",
        })
    }
}

/// Waits for `fd` to be readable; `None` waits forever. Returns whether it is.
pub(crate) fn wait_readable(
    fd: BorrowedFd<'_>,
    timeout: Option<Duration>,
) -> std::result::Result<bool, Errno> {
    let ts = timeout.map(|d| {
        Timespec::try_from(d).unwrap_or(Timespec {
            tv_sec: i64::MAX,
            tv_nsec: 0,
        })
    });
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    loop {
        match rustix::event::poll(&mut fds, ts.as_ref()) {
            Ok(n) => return Ok(n > 0),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `read` that also blocks when the fd was made non-blocking (by the async wrappers).
#[inline]
pub(crate) fn read_blocking(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
) -> std::result::Result<usize, Errno> {
    loop {
        match uapi::read_events(fd, buf) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => {
                wait_readable(fd, None)?;
            }
            Err(e) => return Err(e),
        }
    }
}
