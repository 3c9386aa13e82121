//! The error type of the IIO side of the crate: one enum whose variants say what failed and
//! where (a path, a device, an attribute, an XML position), so a one-line message is enough
//! for a user to know what to check. GPIO has its own error type in [`crate::gpio`].

use rustix::io::Errno;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while building or using an IIO context.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call on a file failed (read, write, open, readdir ...).
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or directory the call was made on.
        path: PathBuf,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
    },
    /// The context URI is not one this crate understands.
    #[error("invalid context URI '{uri}': {reason}")]
    InvalidUri {
        /// The URI as given.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No device with that id, name or label exists in the context.
    #[error("no device '{0}' in the context")]
    NoDevice(String),
    /// No channel with that id or name exists on the device.
    #[error("no {direction} channel '{channel}' on device {device}")]
    NoChannel {
        /// The device searched.
        device: String,
        /// The id or name asked for.
        channel: String,
        /// `input` or `output`.
        direction: &'static str,
    },
    /// The attribute does not exist on the device, channel, buffer or debug directory named.
    #[error("no attribute '{attr}' on {owner}")]
    NoAttribute {
        /// Which object was asked (e.g. `device iio:device0`, `channel voltage0 of iio:device0`).
        owner: String,
        /// The attribute name asked for.
        attr: String,
    },
    /// A scan element's `_type` string is not of the kernel's form.
    #[error("invalid data format '{format}': {reason} (at '{part}')")]
    DataFormat {
        /// The whole string.
        format: String,
        /// The offending part of it.
        part: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The XML description of a context is malformed or does not follow libiio's DTD.
    #[error("{source_name}:{line}:{column}: {message}")]
    Xml {
        /// The file (or `<string>`) the XML came from.
        source_name: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A value read from an attribute (or given by the user) does not parse as the type asked.
    #[error("cannot parse '{value}' from {what} as {ty}")]
    Parse {
        /// The text that did not parse.
        value: String,
        /// Where it came from (attribute, file).
        what: String,
        /// The type it was parsed as.
        ty: &'static str,
    },
    /// A sysfs item was found during the scan but is unusable (junk in `_index`, a vanished
    /// file, a name that is not UTF-8 ...). The scan goes on; the error surfaces on use.
    #[error("{what}: {reason}")]
    Malformed {
        /// The item (usually a path).
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The operation exists in libiio but not for this backend (for example reading an
    /// attribute value from an XML context, which only describes structure).
    #[error("{what}: not supported by the {backend} backend")]
    Unsupported {
        /// The backend name (`xml`, `local`, `network`).
        backend: &'static str,
        /// The operation attempted.
        what: String,
    },
    /// A value to be written is refused before anything is written (e.g. it contains a NUL).
    #[error("invalid value for {what}: {reason}")]
    InvalidValue {
        /// The attribute or argument.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A remote `iiod` could not be reached, answered with an error code, or the connection
    /// failed or timed out during a call. `source` carries the errno (the server's own for
    /// its `-errno` replies).
    #[error("{peer}: {what}: {source}")]
    Network {
        /// The server (`ip:HOST:PORT`).
        peer: String,
        /// The operation (`READ iio:device0 sampling_frequency`, `connect` ...).
        what: String,
        /// The error: the server's errno, or the local socket's.
        #[source]
        source: io::Error,
    },
    /// A remote `iiod` sent something the protocol does not allow (a reply that is not a
    /// number, a length beyond the limits, a truncated or malformed payload).
    #[error("{peer}: {what}: protocol error: {reason}")]
    Protocol {
        /// The server (`ip:HOST:PORT`).
        peer: String,
        /// The operation whose reply was bad.
        what: String,
        /// What was wrong with it.
        reason: String,
    },
    /// An ioctl failed (on a device node, a buffer or an event fd).
    #[error("{path}: {ioctl}: {source}", path = path.display())]
    Ioctl {
        /// The device node (or other file) the ioctl was issued on.
        path: PathBuf,
        /// The ioctl's name as the kernel header spells it (`IIO_GET_EVENT_FD_IOCTL`).
        ioctl: &'static str,
        /// The error the kernel returned.
        #[source]
        source: io::Error,
    },
    /// A blocking operation (buffer refill or push, event read) did not complete in time.
    #[error("{what}: timed out after {after:?}")]
    Timeout {
        /// What was waited for (e.g. `refill of buffer 0 of iio:device0`).
        what: String,
        /// The timeout that expired.
        after: std::time::Duration,
    },
    /// The operation was stopped by a cancel handle (e.g. `Buffer::cancel` from another
    /// thread). Cancellation is permanent for the object cancelled.
    #[error("{what}: cancelled")]
    Cancelled {
        /// What was cancelled.
        what: String,
    },
}

impl Error {
    /// The POSIX errno that libiio would report for this error, used to print messages the way
    /// libiio's tools do (`ERROR: Permission denied (13)`).
    pub fn errno(&self) -> i32 {
        let e = match self {
            Error::Io { source, .. } => {
                return source.raw_os_error().unwrap_or(
                    match source.kind() {
                        io::ErrorKind::NotFound => Errno::NOENT,
                        io::ErrorKind::PermissionDenied => Errno::ACCESS,
                        io::ErrorKind::TimedOut => Errno::TIMEDOUT,
                        _ => Errno::IO,
                    }
                    .raw_os_error(),
                )
            }
            Error::InvalidUri { .. } | Error::InvalidValue { .. } | Error::Xml { .. } => {
                Errno::INVAL
            }
            Error::NoDevice(_) | Error::NoChannel { .. } | Error::NoAttribute { .. } => {
                Errno::NOENT
            }
            Error::DataFormat { .. } | Error::Parse { .. } | Error::Malformed { .. } => {
                Errno::INVAL
            }
            Error::Unsupported { .. } => Errno::NOSYS,
            Error::Network { source, .. } => {
                return source.raw_os_error().unwrap_or(
                    match source.kind() {
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Errno::TIMEDOUT,
                        io::ErrorKind::ConnectionRefused => Errno::CONNREFUSED,
                        io::ErrorKind::ConnectionReset => Errno::CONNRESET,
                        io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe => Errno::PIPE,
                        _ => Errno::IO,
                    }
                    .raw_os_error(),
                )
            }
            Error::Protocol { .. } => Errno::PROTO,
            Error::Ioctl { source, .. } => {
                return source.raw_os_error().unwrap_or(Errno::IO.raw_os_error())
            }
            Error::Timeout { .. } => Errno::TIMEDOUT,
            Error::Cancelled { .. } => Errno::CANCELED,
        };
        e.raw_os_error()
    }

    /// Whether [`Error::errno`] is `e`.
    pub(crate) fn has_errno(&self, e: Errno) -> bool {
        self.errno() == e.raw_os_error()
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// glibc's message for each errno value (Linux numbering), so that every build (musl,
/// static, any target) prints exactly what libiio's tools print on a glibc system.
const ERRNO_TEXT: &[(Errno, &str)] = &[
    (Errno::PERM, "Operation not permitted"),
    (Errno::NOENT, "No such file or directory"),
    (Errno::SRCH, "No such process"),
    (Errno::INTR, "Interrupted system call"),
    (Errno::IO, "Input/output error"),
    (Errno::NXIO, "No such device or address"),
    (Errno::TOOBIG, "Argument list too long"),
    (Errno::NOEXEC, "Exec format error"),
    (Errno::BADF, "Bad file descriptor"),
    (Errno::CHILD, "No child processes"),
    (Errno::AGAIN, "Resource temporarily unavailable"),
    (Errno::NOMEM, "Cannot allocate memory"),
    (Errno::ACCESS, "Permission denied"),
    (Errno::FAULT, "Bad address"),
    (Errno::NOTBLK, "Block device required"),
    (Errno::BUSY, "Device or resource busy"),
    (Errno::EXIST, "File exists"),
    (Errno::XDEV, "Invalid cross-device link"),
    (Errno::NODEV, "No such device"),
    (Errno::NOTDIR, "Not a directory"),
    (Errno::ISDIR, "Is a directory"),
    (Errno::INVAL, "Invalid argument"),
    (Errno::NFILE, "Too many open files in system"),
    (Errno::MFILE, "Too many open files"),
    (Errno::NOTTY, "Inappropriate ioctl for device"),
    (Errno::TXTBSY, "Text file busy"),
    (Errno::FBIG, "File too large"),
    (Errno::NOSPC, "No space left on device"),
    (Errno::SPIPE, "Illegal seek"),
    (Errno::ROFS, "Read-only file system"),
    (Errno::MLINK, "Too many links"),
    (Errno::PIPE, "Broken pipe"),
    (Errno::DOM, "Numerical argument out of domain"),
    (Errno::RANGE, "Numerical result out of range"),
    (Errno::DEADLK, "Resource deadlock avoided"),
    (Errno::NAMETOOLONG, "File name too long"),
    (Errno::NOLCK, "No locks available"),
    (Errno::NOSYS, "Function not implemented"),
    (Errno::NOTEMPTY, "Directory not empty"),
    (Errno::LOOP, "Too many levels of symbolic links"),
    (Errno::NOMSG, "No message of desired type"),
    (Errno::IDRM, "Identifier removed"),
    (Errno::NODATA, "No data available"),
    (Errno::TIME, "Timer expired"),
    (Errno::PROTO, "Protocol error"),
    (Errno::BADMSG, "Bad message"),
    (Errno::OVERFLOW, "Value too large for defined data type"),
    (
        Errno::ILSEQ,
        "Invalid or incomplete multibyte or wide character",
    ),
    (Errno::NOTSOCK, "Socket operation on non-socket"),
    (Errno::MSGSIZE, "Message too long"),
    (Errno::PROTONOSUPPORT, "Protocol not supported"),
    (Errno::OPNOTSUPP, "Operation not supported"),
    (Errno::ADDRINUSE, "Address already in use"),
    (Errno::ADDRNOTAVAIL, "Cannot assign requested address"),
    (Errno::NETDOWN, "Network is down"),
    (Errno::NETUNREACH, "Network is unreachable"),
    (Errno::CONNABORTED, "Software caused connection abort"),
    (Errno::CONNRESET, "Connection reset by peer"),
    (Errno::NOBUFS, "No buffer space available"),
    (Errno::ISCONN, "Transport endpoint is already connected"),
    (Errno::NOTCONN, "Transport endpoint is not connected"),
    (Errno::TIMEDOUT, "Connection timed out"),
    (Errno::CONNREFUSED, "Connection refused"),
    (Errno::HOSTDOWN, "Host is down"),
    (Errno::HOSTUNREACH, "No route to host"),
    (Errno::ALREADY, "Operation already in progress"),
    (Errno::INPROGRESS, "Operation now in progress"),
    (Errno::CANCELED, "Operation canceled"),
];

/// The text libiio's tools print for an errno: glibc's message followed by the number in
/// parentheses, e.g. `Function not implemented (38)`. The table is ours rather than the C
/// library's so static musl builds print the same words.
pub fn strerror(errno: i32) -> String {
    format!("{} ({errno})", errno_text(errno))
}

/// glibc's message for an errno, without the number (`Unknown error N` when none).
pub(crate) fn errno_text(errno: i32) -> std::borrow::Cow<'static, str> {
    // A linear search: the table is in generic Linux order, which is not numeric order on
    // every architecture (MIPS, SPARC, Alpha and PA-RISC number some errors differently).
    match ERRNO_TEXT.iter().find(|(e, _)| e.raw_os_error() == errno) {
        Some((_, text)) => (*text).into(),
        None => format!("Unknown error {errno}").into(),
    }
}

/// Shorthand for results of this crate's IIO side.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// On glibc the C library's own messages are the reference for the table.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn table_matches_glibc() {
        for (e, text) in ERRNO_TEXT {
            let n = e.raw_os_error();
            let c = io::Error::from_raw_os_error(n).to_string();
            assert_eq!(c, format!("{text} (os error {n})"));
        }
    }

    #[test]
    fn strerror_matches_libiio_style() {
        assert_eq!(strerror(9999), "Unknown error 9999 (9999)");
        assert_eq!(strerror(38), "Function not implemented (38)");
        assert_eq!(strerror(13), "Permission denied (13)");
        assert_eq!(strerror(5), "Input/output error (5)");
    }
}
