//! ferroio: the Linux Industrial I/O (IIO) subsystem and the GPIO character device, in pure
//! Rust, talking straight to the kernel ABI (no libiio, no libgpiod, no C toolchain).
//!
//! The IIO side follows libiio's vocabulary: a [`Context`] is a snapshot of the devices of one
//! machine (local sysfs, an XML description, or a remote `iiod`), a [`Device`] has
//! [`Channel`]s and attributes, channels that can be streamed are *scan elements* with a
//! [`DataFormat`]. The GPIO side lives in [`gpio`].

#![deny(missing_docs)]
#![deny(unsafe_code)]
#![forbid(unsafe_op_in_unsafe_fn)]

mod attr_io;
mod attr_loc;
mod backend;
pub mod buffer;
pub mod channel_type;
pub mod context;
pub mod discover;
pub mod error;
pub mod format;
pub mod gpio;
pub mod info;
#[allow(unsafe_code)]
mod ioctl;
pub mod model;
pub mod network;
pub mod server;
mod strtol;
pub mod sysfs;
mod xml;

pub use channel_type::{ChannelType, EventDirection, EventType, Modifier};
pub use context::{Channel, Context, Device, FromAttr, ToAttr};
pub use discover::{scan, ContextInfo};
pub use error::{Error, Result};
pub use format::DataFormat;

/// The former name of [`channel_type`], kept so existing paths keep compiling.
#[doc(hidden)]
pub use channel_type as types;

/// The README's code blocks, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
