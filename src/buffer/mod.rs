//! Streaming: IIO buffers (capture and output), channel masks and scan layouts, demux of
//! samples, triggers and events.
//!
//! A [`Buffer`] is created from a [`crate::Device`] with an enabled-channel mask. It is the
//! same type for every backend: it talks to a backend's buffer stream (see
//! `backend::BufferStream`), which the local backend implements with sysfs writes and the
//! `/dev/iio:deviceN` node, and the network backend with iiod commands. What lives here is
//! backend-agnostic except the kernel transfer engine (`kernel`: read/write, DMABUF, mmap
//! blocks over a buffer fd the local backend hands it) and the kernel structs and ioctls
//! (`uapi`).

mod block;
mod cancel;
pub mod demux;
pub(crate) mod dmabuf;
pub(crate) mod event;
pub(crate) mod event_fd;
pub mod events;
pub(crate) mod kernel;
pub mod mask;
pub(crate) mod mmap_blocks;
pub mod trigger;
#[allow(unsafe_code)]
pub mod uapi;

pub use block::{Buffer, BufferBuilder, DEFAULT_KERNEL_BUFFERS};
pub use cancel::CancelHandle;
pub(crate) use cancel::{wait_fd, Cancel, EventFdCancel, Waited};
pub use demux::{
    ArrayIter, ChannelIter, ConvertedIter, DemuxOutput, Sample, SampleKind, Samples, SamplesMut,
};
pub use event::Event;
pub use events::EventStream;
pub use mask::{ChannelMask, ElementLayout, ScanLayout};
pub use trigger::{Configfs, SoftwareObject};

/// How buffer data moves between the kernel (or iiod) and this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transfer {
    /// `read()`/`write()` on the buffer's file descriptor: every kernel, one copy.
    ReadWrite,
    /// ADI's high-speed block API: kernel blocks mapped into this process (the out-of-tree
    /// ioctls `0xa0`–`0xa4` of ADI kernels; libiio 0.x's "high-speed mode").
    MmapBlocks,
    /// DMABUF objects attached to the buffer (`IIO_BUFFER_DMABUF_*`, kernel ≥ 6.9).
    Dmabuf,
    /// A connection to a remote iiod.
    Network,
}

impl std::fmt::Display for Transfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transfer::ReadWrite => "read/write",
            Transfer::MmapBlocks => "mmap blocks",
            Transfer::Dmabuf => "dmabuf",
            Transfer::Network => "network",
        })
    }
}

/// Which transfer method a buffer should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TransferRequest {
    /// The fastest the kernel offers (DMABUF, then mmap blocks, then read/write).
    #[default]
    Auto,
    /// Exactly this one; opening fails when it is not available.
    Force(Transfer),
}
