//! The one error type of the GPIO module. Each variant names the chip, the line when there is
//! one, and the call that failed, so the message alone tells the user what to check.

use std::io;
use std::path::PathBuf;

use super::AbiVersion;

/// What went wrong in a GPIO operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Opening or reading something other than through an ioctl failed (`open`, `readdir`).
    #[error("{path}: {call} failed: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The call that failed (`open`, `read_dir`, ...).
        call: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// The file opened as a chip is not a GPIO character device.
    #[error("{path} is not a GPIO character device{}", reason_suffix(.reason))]
    NotAGpioChip {
        /// The file.
        path: PathBuf,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An ioctl or a read on a chip or request failed.
    #[error("{chip}{}: {call} failed: {source}", line_suffix(.offset))]
    Kernel {
        /// The chip.
        chip: PathBuf,
        /// The line concerned, when the call was about one line.
        offset: Option<u32>,
        /// The ioctl or syscall (`GPIO_V2_GET_LINE_IOCTL`, `read`, ...).
        call: &'static str,
        /// The errno returned by the kernel.
        source: io::Error,
    },
    /// A requested line is already in use (`EBUSY`).
    #[error("{chip}: line {offset} is busy: already requested{}", consumer_suffix(.consumer))]
    LineBusy {
        /// The chip.
        chip: PathBuf,
        /// The busy line.
        offset: u32,
        /// Who holds it, as the kernel reports it (may be empty).
        consumer: String,
    },
    /// A line offset is not on the chip.
    #[error("{chip}: line {offset} does not exist (the chip has {lines} lines)")]
    OffsetOutOfRange {
        /// The chip.
        chip: PathBuf,
        /// The offending offset.
        offset: u32,
        /// Number of lines of the chip.
        lines: u32,
    },
    /// More lines than the kernel accepts in one request.
    #[error("{chip}: {count} lines requested, the kernel allows at most {max} in one request")]
    TooManyLines {
        /// The chip.
        chip: PathBuf,
        /// How many were asked for.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The configuration asks for something contradictory or impossible.
    #[error("{chip}{}: invalid configuration: {reason}", line_suffix(.offset))]
    InvalidConfig {
        /// The chip.
        chip: PathBuf,
        /// The line concerned, if one.
        offset: Option<u32>,
        /// What is wrong.
        reason: String,
    },
    /// The feature needs a newer uAPI than the one in use.
    #[error("{chip}: {feature} needs GPIO uAPI v2, but {abi} is in use{}", abi_hint(.abi))]
    AbiUnsupported {
        /// The chip.
        chip: PathBuf,
        /// The feature asked for.
        feature: &'static str,
        /// The uAPI in use.
        abi: AbiVersion,
    },
    /// The line is not part of this request.
    #[error("{chip}: line {offset} is not part of this request")]
    NotRequested {
        /// The chip.
        chip: PathBuf,
        /// The offset asked about.
        offset: u32,
    },
    /// No chip matches the given name, number, label or path.
    #[error("no GPIO chip named {0:?} (tried path, gpiochipN name, number and label)")]
    NoSuchChip(String),
    /// No line with that name on the chip(s) searched.
    #[error("no GPIO line named {name:?}{}", chip_suffix(.chip))]
    NoSuchLine {
        /// The name searched for.
        name: String,
        /// The chip searched, or `None` for all chips.
        chip: Option<PathBuf>,
    },
    /// A request was built without a chip.
    #[error("no chip given for the request (use on_chip or with_chip)")]
    NoChip,
    /// A request was built without any line.
    #[error("{chip}: no lines given for the request")]
    NoLines {
        /// The chip.
        chip: PathBuf,
    },
    /// The kernel returned data this crate does not understand.
    #[error("{chip}: {call} returned unexpected data: {detail}")]
    UnexpectedData {
        /// The chip.
        chip: PathBuf,
        /// The call.
        call: &'static str,
        /// What was unexpected.
        detail: String,
    },
}

fn line_suffix(offset: &Option<u32>) -> String {
    offset.map(|o| format!(": line {o}")).unwrap_or_default()
}

fn consumer_suffix(consumer: &str) -> String {
    if consumer.is_empty() {
        String::new()
    } else {
        format!(" by {consumer:?}")
    }
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

fn chip_suffix(chip: &Option<PathBuf>) -> String {
    match chip {
        Some(c) => format!(" on {}", c.display()),
        None => " on any chip".to_string(),
    }
}

fn abi_hint(abi: &AbiVersion) -> &'static str {
    match abi {
        AbiVersion::V1 => " (the kernel lacks v2 before Linux 5.10, or v1 was forced)",
        AbiVersion::V2 => "",
    }
}

impl Error {
    /// The errno behind this error, if the kernel returned one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } | Error::Kernel { source, .. } => source.raw_os_error(),
            Error::LineBusy { .. } => Some(16), // EBUSY
            _ => None,
        }
    }

    pub(crate) fn kernel(
        chip: &std::path::Path,
        offset: Option<u32>,
        call: &'static str,
        errno: rustix::io::Errno,
    ) -> Self {
        Error::Kernel {
            chip: chip.to_path_buf(),
            offset,
            call,
            source: io::Error::from(errno),
        }
    }

    pub(crate) fn invalid(chip: &std::path::Path, offset: Option<u32>, reason: String) -> Self {
        Error::InvalidConfig {
            chip: chip.to_path_buf(),
            offset,
            reason,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        let kind = match &e {
            Error::Io { source, .. } | Error::Kernel { source, .. } => source.kind(),
            Error::NoSuchChip(_) | Error::NoSuchLine { .. } => io::ErrorKind::NotFound,
            Error::LineBusy { .. } => io::ErrorKind::ResourceBusy,
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}
