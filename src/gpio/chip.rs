//! GPIO chips: listing `/dev/gpiochip*`, opening one by path, name, number or label, chip and
//! line info, finding lines by name, and watching line info for changes.
//!
//! Requests are made with [`crate::gpio::Request::builder`]; a chip only describes.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use super::error::{Error, Result};
use super::line::{InfoChangeEvent, InfoChangeKind, LineInfo};
use super::{uapi, AbiVersion};

/// Name, label and size of a chip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChipInfo {
    /// Kernel name, `gpiochipN`.
    pub name: String,
    /// Functional name given by the driver (may be empty).
    pub label: String,
    /// Number of lines.
    pub num_lines: u32,
}

/// An open GPIO chip (`/dev/gpiochipN`).
#[derive(Debug)]
pub struct Chip {
    path: PathBuf,
    fd: OwnedFd,
    abi: AbiVersion,
    info: ChipInfo,
}

/// The paths of all GPIO chips, `/dev/gpiochipN` sorted by N.
pub fn chip_paths() -> Result<Vec<PathBuf>> {
    chip_paths_in(Path::new("/dev"))
}

fn chip_paths_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        call: "read_dir",
        source: e,
    })?;
    let mut found: Vec<(u32, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let n = name
                .to_str()?
                .strip_prefix("gpiochip")?
                .parse::<u32>()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// Opens every GPIO chip, sorted by number. Chips that fail to open are skipped.
pub fn chips() -> Result<Vec<Chip>> {
    Ok(chip_paths()?
        .into_iter()
        .filter_map(|p| Chip::open(p).ok())
        .collect())
}

/// A line found by name: its chip and offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundLine {
    /// The chip's path.
    pub chip: PathBuf,
    /// The chip's kernel name (`gpiochipN`).
    pub chip_name: String,
    /// The line's info.
    pub info: LineInfo,
}

/// Finds the first line called `name` on any chip (chips in number order).
pub fn find_line(name: &str) -> Result<FoundLine> {
    for chip in chips()? {
        if let Some(info) = chip.find_line_info(name)? {
            return Ok(FoundLine {
                chip: chip.path.clone(),
                chip_name: chip.info.name.clone(),
                info,
            });
        }
    }
    Err(Error::NoSuchLine {
        name: name.to_string(),
        chip: None,
    })
}

impl Chip {
    /// Opens the chip at `path`, checking it is a GPIO character device, and picks uAPI v2
    /// when the kernel has it, v1 otherwise.
    pub fn open(path: impl AsRef<Path>) -> Result<Chip> {
        let path = path.as_ref();
        let fd =
            rustix::fs::open(path, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
                Error::Io {
                    path: path.to_path_buf(),
                    call: "open",
                    source: e.into(),
                }
            })?;
        let st = rustix::fs::fstat(&fd).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            call: "fstat",
            source: e.into(),
        })?;
        if FileType::from_raw_mode(st.st_mode) != FileType::CharacterDevice {
            return Err(Error::NotAGpioChip {
                path: path.to_path_buf(),
                reason: "not a character device",
            });
        }
        // Ask sysfs which subsystem the device belongs to before sending it a GPIO ioctl:
        // another driver could give the same ioctl number a meaning of its own.
        let dev = st.st_rdev;
        let subsystem = format!(
            "/sys/dev/char/{}:{}/subsystem",
            rustix::fs::major(dev),
            rustix::fs::minor(dev)
        );
        if let Ok(target) = std::fs::read_link(subsystem) {
            if target.file_name().is_some_and(|n| n != "gpio") {
                return Err(Error::NotAGpioChip {
                    path: path.to_path_buf(),
                    reason: "sysfs places it outside the gpio subsystem",
                });
            }
        }
        let raw = uapi::get_chip_info(&fd).map_err(|e| match e {
            Errno::NOTTY | Errno::INVAL | Errno::NODEV => Error::NotAGpioChip {
                path: path.to_path_buf(),
                reason: "GPIO_GET_CHIPINFO_IOCTL not supported",
            },
            e => Error::kernel(path, None, "GPIO_GET_CHIPINFO_IOCTL", e),
        })?;
        let info = ChipInfo {
            name: uapi::name_str(&raw.name),
            label: uapi::name_str(&raw.label),
            num_lines: raw.lines,
        };
        let abi = detect_abi(&fd, info.num_lines);
        Ok(Chip {
            path: path.to_path_buf(),
            fd,
            abi,
            info,
        })
    }

    /// Opens a chip by path (anything with a `/`), kernel name (`gpiochip0`), number (`0`) or
    /// label (`pinctrl-bcm2835`), tried in that order.
    pub fn find(name: &str) -> Result<Chip> {
        if name.contains('/') {
            return Chip::open(name);
        }
        let by_name = Path::new("/dev").join(name);
        if name.starts_with("gpiochip") && by_name.exists() {
            return Chip::open(by_name);
        }
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            let p = PathBuf::from(format!("/dev/gpiochip{name}"));
            if p.exists() {
                return Chip::open(p);
            }
        }
        Chip::open_by_label(name)
    }

    /// Opens the first chip whose label is `label`.
    pub fn open_by_label(label: &str) -> Result<Chip> {
        chips()?
            .into_iter()
            .find(|c| c.info.label == label)
            .ok_or_else(|| Error::NoSuchChip(label.to_string()))
    }

    /// Forces the uAPI version used for this chip's info calls and for requests made through
    /// it. Forcing v2 on a kernel without it makes those calls fail.
    pub fn with_abi(mut self, abi: AbiVersion) -> Chip {
        self.abi = abi;
        self
    }

    /// The uAPI version in use.
    pub fn abi(&self) -> AbiVersion {
        self.abi
    }

    /// The path the chip was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Name, label and number of lines (read once at open).
    pub fn info(&self) -> &ChipInfo {
        &self.info
    }

    /// Kernel name (`gpiochipN`).
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Label.
    pub fn label(&self) -> &str {
        &self.info.label
    }

    /// Number of lines.
    pub fn num_lines(&self) -> u32 {
        self.info.num_lines
    }

    /// A second handle on the same chip (`dup`).
    pub fn try_clone(&self) -> Result<Chip> {
        let fd = self.fd.try_clone().map_err(|e| Error::Io {
            path: self.path.clone(),
            call: "dup",
            source: e,
        })?;
        Ok(Chip {
            path: self.path.clone(),
            fd,
            abi: self.abi,
            info: self.info.clone(),
        })
    }

    pub(crate) fn check_offset(&self, offset: u32) -> Result<()> {
        if offset >= self.info.num_lines {
            return Err(Error::OffsetOutOfRange {
                chip: self.path.clone(),
                offset,
                lines: self.info.num_lines,
            });
        }
        Ok(())
    }

    /// Info about one line.
    pub fn line_info(&self, offset: u32) -> Result<LineInfo> {
        self.check_offset(offset)?;
        match self.abi {
            AbiVersion::V2 => uapi::get_line_info_v2(&self.fd, offset)
                .map(|i| LineInfo::from_v2(&i))
                .map_err(|e| {
                    Error::kernel(&self.path, Some(offset), "GPIO_V2_GET_LINEINFO_IOCTL", e)
                }),
            AbiVersion::V1 => uapi::get_line_info_v1(&self.fd, offset)
                .map(|i| LineInfo::from_v1(&i))
                .map_err(|e| Error::kernel(&self.path, Some(offset), "GPIO_GET_LINEINFO_IOCTL", e)),
        }
    }

    /// Info about every line, in offset order.
    pub fn line_infos(&self) -> Result<Vec<LineInfo>> {
        (0..self.info.num_lines)
            .map(|o| self.line_info(o))
            .collect()
    }

    /// The info of the first line called `name` on this chip, if any.
    pub fn find_line_info(&self, name: &str) -> Result<Option<LineInfo>> {
        for o in 0..self.info.num_lines {
            let info = self.line_info(o)?;
            if info.name == name {
                return Ok(Some(info));
            }
        }
        Ok(None)
    }

    /// The offset of the first line called `name` on this chip.
    pub fn line_offset(&self, name: &str) -> Result<u32> {
        self.find_line_info(name)?
            .map(|i| i.offset)
            .ok_or_else(|| Error::NoSuchLine {
                name: name.to_string(),
                chip: Some(self.path.clone()),
            })
    }

    /// Starts watching a line: from now on, requests, releases and reconfigurations of the line
    /// are queued on this chip as [`InfoChangeEvent`]s. Returns the line's current info.
    pub fn watch_line_info(&self, offset: u32) -> Result<LineInfo> {
        self.check_offset(offset)?;
        match self.abi {
            AbiVersion::V2 => uapi::watch_line_info_v2(&self.fd, offset)
                .map(|i| LineInfo::from_v2(&i))
                .map_err(|e| {
                    Error::kernel(
                        &self.path,
                        Some(offset),
                        "GPIO_V2_GET_LINEINFO_WATCH_IOCTL",
                        e,
                    )
                }),
            AbiVersion::V1 => uapi::watch_line_info_v1(&self.fd, offset)
                .map(|i| LineInfo::from_v1(&i))
                .map_err(|e| {
                    Error::kernel(&self.path, Some(offset), "GPIO_GET_LINEINFO_WATCH_IOCTL", e)
                }),
        }
    }

    /// Stops watching a line.
    pub fn unwatch_line_info(&self, offset: u32) -> Result<()> {
        self.check_offset(offset)?;
        uapi::unwatch_line_info(&self.fd, offset).map_err(|e| {
            Error::kernel(
                &self.path,
                Some(offset),
                "GPIO_GET_LINEINFO_UNWATCH_IOCTL",
                e,
            )
        })
    }

    /// Waits until an info change event can be read, or the timeout passes (`None`: forever).
    /// Returns whether one is ready.
    pub fn wait_info_change(&self, timeout: Option<Duration>) -> Result<bool> {
        super::wait_readable(self.fd.as_fd(), timeout)
            .map_err(|e| Error::kernel(&self.path, None, "poll", e))
    }

    /// Reads one info change event, blocking until there is one.
    pub fn read_info_change(&self) -> Result<InfoChangeEvent> {
        let mut buf = [0u8; std::mem::size_of::<uapi::GpioV2LineInfoChanged>()];
        let size = self.info_change_size();
        let n = super::read_blocking(self.fd.as_fd(), &mut buf[..size])
            .map_err(|e| Error::kernel(&self.path, None, "read", e))?;
        self.decode_info_change(&buf[..n])
    }

    pub(crate) fn info_change_size(&self) -> usize {
        match self.abi {
            AbiVersion::V2 => std::mem::size_of::<uapi::GpioV2LineInfoChanged>(),
            AbiVersion::V1 => std::mem::size_of::<uapi::GpiolineInfoChanged>(),
        }
    }

    pub(crate) fn decode_info_change(&self, bytes: &[u8]) -> Result<InfoChangeEvent> {
        let short = || Error::UnexpectedData {
            chip: self.path.clone(),
            call: "read",
            detail: format!("short info change event ({} bytes)", bytes.len()),
        };
        let (info, ts, kind) = match self.abi {
            AbiVersion::V2 => {
                let c = uapi::GpioV2LineInfoChanged::from_bytes(bytes).ok_or_else(short)?;
                (LineInfo::from_v2(&c.info), c.timestamp_ns, c.event_type)
            }
            AbiVersion::V1 => {
                let c = uapi::GpiolineInfoChanged::from_bytes(bytes).ok_or_else(short)?;
                (LineInfo::from_v1(&c.info), c.timestamp, c.event_type)
            }
        };
        let kind = InfoChangeKind::from_raw(kind).ok_or_else(|| Error::UnexpectedData {
            chip: self.path.clone(),
            call: "read",
            detail: format!("unknown info change type {kind}"),
        })?;
        Ok(InfoChangeEvent {
            info,
            timestamp_ns: ts,
            kind,
        })
    }

    /// A blocking iterator over info change events.
    pub fn info_changes(&self) -> InfoChanges<'_> {
        InfoChanges { chip: self }
    }
}

fn detect_abi(fd: &OwnedFd, num_lines: u32) -> AbiVersion {
    if num_lines == 0 {
        return AbiVersion::V2;
    }
    match uapi::get_line_info_v2(fd, 0) {
        Err(Errno::NOTTY) | Err(Errno::INVAL) => AbiVersion::V1,
        _ => AbiVersion::V2,
    }
}

/// Blocking iterator over a chip's info change events; see [`Chip::info_changes`].
#[derive(Debug)]
pub struct InfoChanges<'a> {
    chip: &'a Chip,
}

impl Iterator for InfoChanges<'_> {
    type Item = Result<InfoChangeEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.chip.read_info_change())
    }
}

impl AsFd for Chip {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Chip {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_paths_sorted_numerically() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["gpiochip10", "gpiochip2", "gpiochip0", "gpiochipx", "ttyS0"] {
            std::fs::write(dir.path().join(n), b"").unwrap();
        }
        let names: Vec<_> = chip_paths_in(dir.path())
            .unwrap()
            .into_iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["gpiochip0", "gpiochip2", "gpiochip10"]);
    }

    #[test]
    fn regular_file_is_not_a_chip() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let e = Chip::open(f.path()).unwrap_err();
        assert!(matches!(e, Error::NotAGpioChip { .. }), "{e}");
    }

    #[test]
    fn dev_null_is_not_a_chip() {
        let e = Chip::open("/dev/null").unwrap_err();
        assert!(matches!(e, Error::NotAGpioChip { .. }), "{e}");
        assert!(e.to_string().contains("/dev/null"));
    }

    #[test]
    fn missing_chip_names_path_and_call() {
        let e = Chip::open("/dev/gpiochip-does-not-exist").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("gpiochip-does-not-exist") && msg.contains("open"),
            "{msg}"
        );
        assert_eq!(e.errno(), Some(2));
    }
}
