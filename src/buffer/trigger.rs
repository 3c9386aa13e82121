//! Triggers: listing them, setting a device's trigger by name, firing sysfs triggers; and
//! (re-exported from the local backend, `crate::sysfs::configfs`) creating or removing
//! software triggers and software devices in configfs.
//!
//! A device's current trigger is read and set with [`crate::Device::trigger`] and
//! [`crate::Device::set_trigger`] (or by name, [`crate::Device::set_trigger_name`]).
//! Configfs is local-only. A context is a snapshot: after creating a trigger or device,
//! create a new [`crate::Context`] to see it as a [`crate::Device`].

use crate::context::{Context, Device};
use crate::error::{Error, Result};
pub use crate::sysfs::configfs::{Configfs, SoftwareObject};
use crate::sysfs::LocalPaths;

impl Configfs {
    /// The configfs and sysfs of a local context (`local:` or `local:PATH`).
    pub fn for_context(ctx: &Context) -> Result<Configfs> {
        let paths = ctx
            .attr("uri")
            .filter(|_| ctx.name() == "local")
            .and_then(LocalPaths::from_uri)
            .ok_or_else(|| Error::Unsupported {
                backend: ctx.backend().kind(),
                what: "configfs software triggers and devices".into(),
            })?;
        Ok(Configfs::with_paths(paths))
    }
}

impl Context {
    /// The triggers of the context (devices whose id starts with `trigger`).
    pub fn triggers(&self) -> impl Iterator<Item = Device> + '_ {
        self.devices().filter(|d| d.is_trigger())
    }
}

impl Device {
    /// Sets (or with `None`, clears) the device's trigger by trigger name, which need not
    /// be in this context's snapshot (e.g. one created since).
    pub fn set_trigger_name(&self, name: Option<&str>) -> Result<()> {
        self.context().backend().set_trigger(self.id(), name)
    }

    /// The name of the device's current trigger, `None` when it has none.
    pub fn trigger_name(&self) -> Result<Option<String>> {
        self.context().backend().current_trigger(self.id())
    }

    /// Fires this sysfs trigger once (writes `1` to its `trigger_now`).
    pub fn fire_trigger(&self) -> Result<()> {
        self.attr_write("trigger_now", "1")
    }
}
