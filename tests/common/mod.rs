//! Helpers shared by the integration tests: fixture copies with their original file modes,
//! FIFOs standing in for device nodes, a small DAC tree, a device directory's state.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The project's `fixtures/` directory.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `../shared` next to the checkout, when it exists (reference material; optional).
pub fn shared_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    p.is_dir().then_some(p)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let ft = entry.file_type().unwrap();
        if ft.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if ft.is_symlink() {
            let link = std::fs::read_link(entry.path()).unwrap();
            std::os::unix::fs::symlink(link, &target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Copies `fixtures/<name>` to a temporary directory and applies the original permission
/// bits recorded in its `MODES.txt` (git keeps only the executable bit). The copy is the
/// sysfs root to open with `local:<path>`.
pub fn fixture_copy(name: &str) -> tempfile::TempDir {
    let src = fixtures_dir().join(name);
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&src, tmp.path());
    let modes = src.join("MODES.txt");
    if let Ok(text) = std::fs::read_to_string(&modes) {
        use std::os::unix::fs::PermissionsExt;
        let devices = tmp.path().join("bus/iio/devices");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (mode, path) = line.split_once(' ').expect("MODES.txt: '<octal> <path>'");
            let mode = u32::from_str_radix(mode, 8).expect("octal mode");
            std::fs::set_permissions(devices.join(path), std::fs::Permissions::from_mode(mode))
                .unwrap();
        }
    }
    tmp
}

/// The `local:` URI of a directory.
pub fn local_uri(root: &Path) -> String {
    format!("local:{}", root.display())
}

/// Creates a FIFO at `path` (and its parent directories): the stand-in for a device node.
pub fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

/// A sysfs root holding one output device named `dac` at `bus/iio/devices/<node>`: a legacy
/// `buffer/` (disabled, length 0, watermark 1), one disabled output channel per
/// `(id, format)` with scan indexes in that order and `raw` 0, and a FIFO at `dev/<node>` as
/// its device node.
pub fn dac_fixture(node: &str, channels: &[(&str, &str)]) -> tempfile::TempDir {
    use std::fs;
    let root = tempfile::tempdir().unwrap();
    let dev = root.path().join("bus/iio/devices").join(node);
    fs::create_dir_all(dev.join("buffer")).unwrap();
    fs::create_dir_all(dev.join("scan_elements")).unwrap();
    fs::write(dev.join("name"), "dac\n").unwrap();
    for (f, v) in [("enable", "0"), ("length", "0"), ("watermark", "1")] {
        fs::write(dev.join("buffer").join(f), format!("{v}\n")).unwrap();
    }
    let se = dev.join("scan_elements");
    for (i, (id, fmt)) in channels.iter().enumerate() {
        fs::write(se.join(format!("out_{id}_en")), "0\n").unwrap();
        fs::write(se.join(format!("out_{id}_index")), format!("{i}\n")).unwrap();
        fs::write(se.join(format!("out_{id}_type")), format!("{fmt}\n")).unwrap();
        fs::write(dev.join(format!("out_{id}_raw")), "0\n").unwrap();
    }
    mkfifo(&root.path().join("dev").join(node));
    root
}

/// Opens a FIFO standing in for a device node read-write and non-blocking, so that neither
/// side's open blocks and a reader's close is no SIGPIPE for the feeder.
pub fn hold_fifo(path: &Path) -> File {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .unwrap_or_else(|e| panic!("open the FIFO {}: {e}", path.display()))
}

/// Reads `n` bytes from a FIFO opened non-blocking (see [`hold_fifo`]), waiting at most
/// 10 s for them.
pub fn read_fifo(f: &mut File, n: usize) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < n {
        let want = (n - out.len()).min(buf.len());
        match f.read(&mut buf[..want]) {
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "only {} of {n} bytes", out.len());
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("FIFO read: {e}"),
        }
    }
    out
}

/// `len` bytes that differ from one position and one `seed` to the next.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Every regular file under `dir` with its value as sysfs shows it: a device's state
/// (trailing white space aside: a fixture file written back holds `0` where the capture had
/// `0\n`).
pub fn sysfs_state(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                let bytes = std::fs::read(e.path()).unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes).trim_end().to_string();
                out.insert(e.path(), text);
            }
        }
    }
    out
}
