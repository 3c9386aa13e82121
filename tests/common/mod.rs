//! Helpers shared by the integration tests: fixture copies with their original file modes.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

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
