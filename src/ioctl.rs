//! What the crate's two uAPI layers (`buffer::uapi` for IIO, `gpio::uapi` for GPIO) share:
//! taking ownership of a file descriptor an ioctl created, and retrying a call a signal
//! interrupted. One of the few modules allowed `unsafe` (`lib.rs` denies it elsewhere).

use rustix::io::Errno;
use std::os::fd::{FromRawFd, OwnedFd};

/// Wraps a file descriptor the kernel just created for this process (the result of an ioctl
/// such as `IIO_BUFFER_GET_FD_IOCTL` or `GPIO_V2_GET_LINE_IOCTL`).
///
/// # Safety
/// `raw` must be a new, open fd owned by no one else.
pub(crate) unsafe fn take_fd(raw: i32) -> OwnedFd {
    // SAFETY: forwarded from the caller.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// Runs a system call again while it fails with `EINTR` (as libiio's `ioctl_nointr`).
pub(crate) fn retry_intr<T>(mut f: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            r => return r,
        }
    }
}
