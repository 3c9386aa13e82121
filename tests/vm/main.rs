//! The real-kernel tier: one test crate, a module per subject, run as root inside the qemu
//! guest that `tests/kernel/run.sh` builds (a tiny kernel with `iio_dummy`, triggers,
//! `gpio-sim`, and on the 6.12 tier ferroio's DMA and mmap-block test devices; see
//! `tests/kernel/README.md`). Every test is `#[ignore]`d, so a plain `cargo test` on the
//! host compiles them and runs none; the guest runs each module with `--ignored` and the
//! module's path as filter (`smoke::`), with a timeout per module.
//!
//! - `smoke`: the VM, its fixtures and Debian's comparison tools are there (std and rustix
//!   only, not ferroio);
//! - `gpio`, `gpio_async` (features `async-tokio` + `embedded-hal`), `gpio_speed`: the GPIO
//!   character device against gpio-sim and libgpiod's tools;
//! - `buffer` (with `events` and `trigger`): IIO buffers, events and triggers on iio_dummy,
//!   next to libiio's tools;
//! - `dmabuf`, `adi_blocks`: DMABUF and ADI's mmap block API on the 6.12 tier's devices.

mod vm;

mod adi_blocks;
mod buffer;
mod dmabuf;
mod gpio;
#[cfg(all(feature = "async-tokio", feature = "embedded-hal"))]
mod gpio_async;
mod gpio_speed;
mod smoke;
