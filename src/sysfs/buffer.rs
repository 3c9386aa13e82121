//! Opening a buffer of a local device: the files the local backend owns. In the order
//! libiio's local backend uses: check the buffer is not already enabled, open `/dev/<id>`
//! (`O_RDWR | O_NONBLOCK`), get the buffer's own fd with `IIO_BUFFER_GET_FD_IOCTL` (kernel
//! ≥ 5.11; for buffer 0 the node's fd serves on older kernels and when the node is a FIFO
//! standing in for the device in fixture tests), write the scan elements' `_en` files,
//! `length` (`samples × kernel_buffers`) and `watermark` (`samples`), let the kernel
//! transfer engine choose and set up the transfer ([`crate::buffer::kernel::prepare`]), and
//! write `1` to `enable`. Every write is recorded in a [`Settings`] that the stream puts back
//! in reverse order (starting with `enable`) when it closes; a failed setup puts it back
//! before returning the error.

use crate::attr_io::{read_attr_file, Settings};
use crate::backend::{BufferSpec, BufferStream};
use crate::buffer::kernel;
use crate::buffer::uapi;
use crate::error::{Error, Result};
use crate::sysfs::LocalPaths;
use std::path::{Path, PathBuf};

/// Opens buffer `spec.index` of a local device. `buffer0_dir` is the directory of buffer 0's
/// attributes the scan found (`buffer` or `buffer0`).
pub(crate) fn open(
    paths: &LocalPaths,
    buffer0_dir: Option<&str>,
    spec: &BufferSpec<'_>,
) -> Result<Box<dyn BufferStream>> {
    let id = &spec.dev.id;
    let what = format!("buffer {} of {id}", spec.index);
    let dev_dir = paths.device_dir(id);
    let attr_dir = if spec.index == 0 {
        buffer0_dir.map(str::to_string)
    } else {
        let d = format!("buffer{}", spec.index);
        dev_dir.join(&d).is_dir().then_some(d)
    };
    let Some(attr_dir) = attr_dir else {
        return Err(Error::io(
            dev_dir.join(format!("buffer{}", spec.index)),
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("device {id} has no buffer {}", spec.index),
            ),
        ));
    };
    let attr = |name: &str| dev_dir.join(&attr_dir).join(name);
    if spec.cyclic && !spec.output {
        return Err(Error::InvalidValue {
            what,
            reason: "only output buffers can be cyclic".into(),
        });
    }
    if read_attr_file(&attr("enable"))?.trim() == "1" {
        return Err(Error::io(
            attr("enable"),
            std::io::Error::new(
                std::io::ErrorKind::ResourceBusy,
                format!("{what} is already enabled (in use by another program?)"),
            ),
        ));
    }

    let node = paths.dev.join(id);
    let chardev = rustix::fs::open(
        &node,
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| Error::io(&node, e.into()))?;
    let fd = match uapi::buffer_get_fd(&chardev, spec.index) {
        Ok(fd) => {
            rustix::io::ioctl_fionbio(&fd, true).map_err(|e| Error::io(&node, e.into()))?;
            // The node is free again for an event stream (one open at a time per device).
            drop(chardev);
            fd
        }
        // Before 5.11 (and on a FIFO) the node itself reads buffer 0.
        Err(_) if spec.index == 0 => chardev,
        Err(e) => {
            return Err(Error::Ioctl {
                path: node,
                ioctl: "IIO_BUFFER_GET_FD_IOCTL",
                source: e.into(),
            })
        }
    };

    let mut settings = Settings::new();
    let mut prepared = None;
    let setup = (|| -> Result<()> {
        for (pos, chan) in spec.dev.channels.iter().enumerate() {
            let Some(scan) = &chan.scan else { continue };
            if chan.output != spec.output || scan.enable_file.is_empty() {
                continue;
            }
            let rel = if spec.index == 0 {
                PathBuf::from(&scan.enable_file)
            } else {
                let base = Path::new(&scan.enable_file).file_name().unwrap_or_default();
                Path::new(&attr_dir).join(base)
            };
            let on = spec.mask.is_enabled(pos);
            settings.set(&dev_dir.join(rel), if on { "1" } else { "0" })?;
        }
        let length = spec.samples.saturating_mul(spec.kernel_buffers.max(1));
        settings.set(&attr("length"), &length.to_string())?;
        match settings.set(&attr("watermark"), &spec.samples.to_string()) {
            // Kernels before 4.2 have no watermark; libiio ignores these too.
            Err(e)
                if e.has_errno(rustix::io::Errno::NOENT)
                    || e.has_errno(rustix::io::Errno::ACCESS) => {}
            r => r?,
        }
        prepared = Some(kernel::prepare(fd, node.clone(), spec)?);
        settings.set(&attr("enable"), "1")
    })();
    if let Err(e) = setup {
        let _ = settings.restore();
        if let Some(p) = prepared {
            p.abort();
        }
        return Err(e);
    }
    let prepared = prepared.expect("set up above");
    Ok(Box::new(prepared.into_stream(what, spec, settings)))
}
