//! The local backend: scanning `/sys/bus/iio/devices` (or any directory laid out like
//! `/sys`) into a context snapshot, and reading/writing attribute files.
//!
//! [`names`] holds the pure naming rules (which file belongs to which channel, shared
//! attributes, extended names); the private `walk` module walks directories and applies them;
//! `local` is the backend that reads and writes the files afterwards, and `buffer` opens
//! buffers (the sysfs side; the kernel transfer engine is [`crate::buffer`]'s).

mod buffer;
pub(crate) mod configfs;
pub(crate) mod local;
pub mod names;
mod walk;

pub use local::LocalPaths;
pub(crate) use walk::open;
