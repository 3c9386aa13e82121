//! Software triggers and devices in configfs, and sysfs triggers, the way libiio users
//! make them by hand in shell scripts:
//!
//! - hrtimer (and other software) triggers: `mkdir /sys/kernel/config/iio/triggers/hrtimer/NAME`
//!   (needs `CONFIG_IIO_CONFIGFS` and `CONFIG_IIO_HRTIMER_TRIGGER`), removed with `rmdir`;
//! - sysfs triggers: `echo N > /sys/bus/iio/devices/iio_sysfs_trigger/add_trigger` creates
//!   `sysfstrigN`, `remove_trigger` deletes it, `echo 1 > triggerM/trigger_now` fires it;
//! - software devices (`iio_dummy`): `mkdir /sys/kernel/config/iio/devices/dummy/NAME`.
//!
//! Local files only, so it lives with the local backend; the API re-exports it as
//! `ferroio::buffer::Configfs`.

use crate::attr_io::{read_attr_file, write_attr_file};
use crate::error::{Error, Result};
use crate::sysfs::LocalPaths;
use std::path::PathBuf;

/// The software-trigger and software-device directories of configfs (and the sysfs-trigger
/// files next to them in sysfs) of one machine or fixture tree.
#[derive(Debug, Clone)]
pub struct Configfs {
    paths: LocalPaths,
}

/// A software trigger or device living in configfs (`iio/triggers/<kind>/<name>` or
/// `iio/devices/<kind>/<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftwareObject {
    kind: String,
    name: String,
    dir: PathBuf,
    paths: LocalPaths,
}

impl Configfs {
    /// This machine's configfs (`/sys/kernel/config`) and sysfs.
    pub fn system() -> Configfs {
        Configfs {
            paths: LocalPaths::system(),
        }
    }

    /// The configfs and sysfs under explicit paths.
    pub fn with_paths(paths: LocalPaths) -> Configfs {
        Configfs { paths }
    }

    fn iio_dir(&self, what: &str) -> PathBuf {
        self.paths.configfs.join("iio").join(what)
    }

    fn kinds(&self, what: &str) -> Result<Vec<String>> {
        let dir = self.iio_dir(what);
        let rd = std::fs::read_dir(&dir).map_err(|e| {
            Error::io(
                &dir,
                std::io::Error::new(
                    e.kind(),
                    format!("{e} (is configfs mounted and CONFIG_IIO_CONFIGFS enabled?)"),
                ),
            )
        })?;
        let mut out: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        out.sort();
        Ok(out)
    }

    fn objects(&self, what: &str) -> Result<Vec<SoftwareObject>> {
        let mut out = Vec::new();
        for kind in self.kinds(what)? {
            let dir = self.iio_dir(what).join(&kind);
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.filter_map(|e| e.ok()) {
                if !e.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                if let Some(name) = e.file_name().to_str() {
                    out.push(SoftwareObject {
                        kind: kind.clone(),
                        name: name.to_string(),
                        dir: e.path(),
                        paths: self.paths.clone(),
                    });
                }
            }
        }
        out.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
        Ok(out)
    }

    fn create(&self, what: &str, kind: &str, name: &str) -> Result<SoftwareObject> {
        check_name(name)?;
        check_name(kind)?;
        let kind_dir = self.iio_dir(what).join(kind);
        if !kind_dir.is_dir() {
            return Err(Error::io(
                &kind_dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "no software {} type '{kind}' (kernel types: {})",
                        what.trim_end_matches('s'),
                        self.kinds(what).unwrap_or_default().join(", ")
                    ),
                ),
            ));
        }
        let dir = kind_dir.join(name);
        std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(SoftwareObject {
            kind: kind.to_string(),
            name: name.to_string(),
            dir,
            paths: self.paths.clone(),
        })
    }

    /// The software trigger types the kernel offers (`hrtimer`, `loop` ...).
    pub fn trigger_kinds(&self) -> Result<Vec<String>> {
        self.kinds("triggers")
    }

    /// The software triggers that exist, every kind.
    pub fn triggers(&self) -> Result<Vec<SoftwareObject>> {
        self.objects("triggers")
    }

    /// Creates a software trigger of a kind (`hrtimer`, `loop`) named `name`.
    pub fn create_trigger(&self, kind: &str, name: &str) -> Result<SoftwareObject> {
        self.create("triggers", kind, name)
    }

    /// Creates an hrtimer trigger; set its rate with
    /// [`SoftwareObject::set_sampling_frequency`].
    pub fn create_hrtimer_trigger(&self, name: &str) -> Result<SoftwareObject> {
        self.create_trigger("hrtimer", name)
    }

    /// The software device types the kernel offers (`dummy` ...).
    pub fn device_kinds(&self) -> Result<Vec<String>> {
        self.kinds("devices")
    }

    /// The software devices that exist.
    pub fn devices(&self) -> Result<Vec<SoftwareObject>> {
        self.objects("devices")
    }

    /// Creates a software device (`dummy` for `iio_dummy`) named `name`.
    pub fn create_device(&self, kind: &str, name: &str) -> Result<SoftwareObject> {
        self.create("devices", kind, name)
    }

    /// Finds a software trigger by name.
    pub fn find_trigger(&self, name: &str) -> Result<Option<SoftwareObject>> {
        Ok(self.triggers()?.into_iter().find(|t| t.name == name))
    }

    fn sysfs_trigger_dir(&self) -> PathBuf {
        self.paths.devices_dir().join("iio_sysfs_trigger")
    }

    /// Creates sysfs trigger number `n` (named `sysfstrigN`) and returns its name.
    pub fn add_sysfs_trigger(&self, n: u32) -> Result<String> {
        write_attr_file(
            &self.sysfs_trigger_dir().join("add_trigger"),
            &n.to_string(),
        )?;
        Ok(format!("sysfstrig{n}"))
    }

    /// Removes sysfs trigger number `n`.
    pub fn remove_sysfs_trigger(&self, n: u32) -> Result<()> {
        write_attr_file(
            &self.sysfs_trigger_dir().join("remove_trigger"),
            &n.to_string(),
        )
    }

    /// The sysfs id (`triggerN`, `iio:deviceN`) of the IIO object named `name`, looked up in
    /// sysfs now (not in a snapshot).
    pub fn sysfs_id(&self, name: &str) -> Result<Option<String>> {
        let dir = self.paths.devices_dir();
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for e in rd.filter_map(|e| e.ok()) {
            let id = e.file_name().to_string_lossy().into_owned();
            if read_attr_file(&e.path().join("name")).is_ok_and(|n| n == name) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Sets the `sampling_frequency` (Hz) of the trigger named `name`, in sysfs.
    pub fn set_sampling_frequency(&self, name: &str, hz: f64) -> Result<()> {
        let id = self
            .sysfs_id(name)?
            .ok_or_else(|| Error::NoDevice(name.to_string()))?;
        write_attr_file(
            &self.paths.device_dir(&id).join("sampling_frequency"),
            &format!("{hz}"),
        )
    }

    /// Fires the sysfs trigger named `name` once (`trigger_now`).
    pub fn fire_sysfs_trigger(&self, name: &str) -> Result<()> {
        let id = self
            .sysfs_id(name)?
            .ok_or_else(|| Error::NoDevice(name.to_string()))?;
        write_attr_file(&self.paths.device_dir(&id).join("trigger_now"), "1")
    }
}

/// Names become directory names: no separators, no dot files, nothing empty.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') || name.contains('\0') {
        return Err(Error::InvalidValue {
            what: "software trigger or device name".into(),
            reason: format!("'{name}' cannot be a configfs directory name"),
        });
    }
    Ok(())
}

impl SoftwareObject {
    /// The kind (`hrtimer`, `dummy`).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The name (the configfs directory name; also the IIO name of the trigger or device).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sysfs id the kernel gave it (`trigger2`, `iio:device1`), looked up now.
    pub fn sysfs_id(&self) -> Result<Option<String>> {
        Configfs::with_paths(self.paths.clone()).sysfs_id(&self.name)
    }

    /// Sets a trigger's `sampling_frequency` (Hz) in sysfs.
    pub fn set_sampling_frequency(&self, hz: f64) -> Result<()> {
        let id = self
            .sysfs_id()?
            .ok_or_else(|| Error::NoDevice(self.name.clone()))?;
        write_attr_file(
            &self.paths.device_dir(&id).join("sampling_frequency"),
            &format!("{hz}"),
        )
    }

    /// Removes it (`rmdir`). The kernel refuses (`EBUSY`) while a device uses the trigger.
    pub fn remove(self) -> Result<()> {
        std::fs::remove_dir(&self.dir).map_err(|e| Error::io(&self.dir, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configfs_objects_on_a_tree() {
        let root = tempfile::tempdir().unwrap();
        let paths = LocalPaths::under(root.path());
        let cfs = Configfs::with_paths(paths.clone());
        assert!(cfs.trigger_kinds().is_err());
        std::fs::create_dir_all(paths.configfs.join("iio/triggers/hrtimer")).unwrap();
        std::fs::create_dir_all(paths.configfs.join("iio/devices/dummy")).unwrap();
        assert_eq!(cfs.trigger_kinds().unwrap(), vec!["hrtimer"]);
        let t = cfs.create_hrtimer_trigger("t1").unwrap();
        assert_eq!((t.kind(), t.name()), ("hrtimer", "t1"));
        assert_eq!(cfs.triggers().unwrap(), vec![t.clone()]);
        assert!(cfs.create_trigger("loop", "t2").is_err());
        assert!(cfs.create_hrtimer_trigger("../x").is_err());
        assert_eq!(cfs.sysfs_id("t1").unwrap_or_default(), None);
        t.remove().unwrap();
        assert!(cfs.triggers().unwrap().is_empty());
        let d = cfs.create_device("dummy", "d1").unwrap();
        assert_eq!(cfs.devices().unwrap().len(), 1);
        d.remove().unwrap();
    }
}
