//! The error type of the IIO side of the crate: one enum whose variants say what failed and
//! where (a path, a device, an attribute, an XML position), so a one-line message is enough
//! for a user to know what to check. GPIO has its own error type in [`crate::gpio`].

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
        match self {
            Error::Io { source, .. } => source.raw_os_error().unwrap_or(match source.kind() {
                io::ErrorKind::NotFound => 2,
                io::ErrorKind::PermissionDenied => 13,
                io::ErrorKind::TimedOut => 110,
                _ => 5,
            }),
            Error::InvalidUri { .. } | Error::InvalidValue { .. } | Error::Xml { .. } => 22,
            Error::NoDevice(_) | Error::NoChannel { .. } | Error::NoAttribute { .. } => 2,
            Error::DataFormat { .. } | Error::Parse { .. } | Error::Malformed { .. } => 22,
            Error::Unsupported { .. } => 38,
            Error::Network { source, .. } => source.raw_os_error().unwrap_or(match source.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => 110,
                io::ErrorKind::ConnectionRefused => 111,
                io::ErrorKind::ConnectionReset => 104,
                io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe => 32,
                _ => 5,
            }),
            Error::Protocol { .. } => 71,
            Error::Ioctl { source, .. } => source.raw_os_error().unwrap_or(5),
            Error::Timeout { .. } => 110,
            Error::Cancelled { .. } => 125,
        }
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
const ERRNO_TEXT: &[(i32, &str)] = &[
    (1, "Operation not permitted"),
    (2, "No such file or directory"),
    (3, "No such process"),
    (4, "Interrupted system call"),
    (5, "Input/output error"),
    (6, "No such device or address"),
    (7, "Argument list too long"),
    (8, "Exec format error"),
    (9, "Bad file descriptor"),
    (10, "No child processes"),
    (11, "Resource temporarily unavailable"),
    (12, "Cannot allocate memory"),
    (13, "Permission denied"),
    (14, "Bad address"),
    (15, "Block device required"),
    (16, "Device or resource busy"),
    (17, "File exists"),
    (18, "Invalid cross-device link"),
    (19, "No such device"),
    (20, "Not a directory"),
    (21, "Is a directory"),
    (22, "Invalid argument"),
    (23, "Too many open files in system"),
    (24, "Too many open files"),
    (25, "Inappropriate ioctl for device"),
    (26, "Text file busy"),
    (27, "File too large"),
    (28, "No space left on device"),
    (29, "Illegal seek"),
    (30, "Read-only file system"),
    (31, "Too many links"),
    (32, "Broken pipe"),
    (33, "Numerical argument out of domain"),
    (34, "Numerical result out of range"),
    (35, "Resource deadlock avoided"),
    (36, "File name too long"),
    (37, "No locks available"),
    (38, "Function not implemented"),
    (39, "Directory not empty"),
    (40, "Too many levels of symbolic links"),
    (42, "No message of desired type"),
    (43, "Identifier removed"),
    (61, "No data available"),
    (62, "Timer expired"),
    (71, "Protocol error"),
    (74, "Bad message"),
    (75, "Value too large for defined data type"),
    (84, "Invalid or incomplete multibyte or wide character"),
    (88, "Socket operation on non-socket"),
    (90, "Message too long"),
    (93, "Protocol not supported"),
    (95, "Operation not supported"),
    (98, "Address already in use"),
    (99, "Cannot assign requested address"),
    (100, "Network is down"),
    (101, "Network is unreachable"),
    (103, "Software caused connection abort"),
    (104, "Connection reset by peer"),
    (105, "No buffer space available"),
    (106, "Transport endpoint is already connected"),
    (107, "Transport endpoint is not connected"),
    (110, "Connection timed out"),
    (111, "Connection refused"),
    (112, "Host is down"),
    (113, "No route to host"),
    (114, "Operation already in progress"),
    (115, "Operation now in progress"),
    (125, "Operation canceled"),
];

/// The text libiio's tools print for an errno: glibc's message followed by the number in
/// parentheses, e.g. `Function not implemented (38)`. The table is ours rather than the C
/// library's so static musl builds print the same words.
pub fn strerror(errno: i32) -> String {
    match ERRNO_TEXT.binary_search_by_key(&errno, |(n, _)| *n) {
        Ok(i) => format!("{} ({errno})", ERRNO_TEXT[i].1),
        Err(_) => format!("Unknown error {errno} ({errno})"),
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
        for (n, text) in ERRNO_TEXT {
            let c = io::Error::from_raw_os_error(*n).to_string();
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
