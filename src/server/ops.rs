//! The server's answers that touch no buffer: attributes (one, or a whole family packed as
//! iiod's "read all"/"write all"), triggers. Each takes names as a client sent them and
//! resolves them against the context's snapshot first, the way iiod does: an unknown device
//! is `-ENODEV`, an unknown channel `-ENXIO`, an unknown attribute `-ENOENT`; only then does
//! the context API touch a file, and only one the snapshot lists. Answers are protocol-free
//! ([`Reply`] or `-errno`); the codec puts them on the wire.

use crate::attr_loc::AttrLoc;
use crate::context::{Channel, Context, Device};
use crate::error::Error;
pub(super) use crate::network::codec::neg;
use crate::network::codec::{AttrGroup, Reply};
use rustix::io::Errno;

/// A reply, or the negative errno iiod would send.
pub(super) type Answer = std::result::Result<Reply, i64>;

/// `-errno` of a library error (`-EIO` when it has none).
pub(super) fn neg_err(e: &Error) -> i64 {
    let n = e.errno();
    -i64::from(if n > 0 { n } else { Errno::IO.raw_os_error() })
}

/// The device a client named (id, name or label).
pub(super) fn device(ctx: &Context, key: &str) -> std::result::Result<Device, i64> {
    ctx.find_device(key).ok_or(neg(Errno::NODEV))
}

/// The channel a client named (id or name) among a device's inputs or outputs.
fn channel(dev: &Device, key: &str, output: bool) -> std::result::Result<Channel, i64> {
    dev.find_channel(key, output).ok_or(neg(Errno::NXIO))
}

/// A value as iiod sends it: the text and its terminating NUL.
fn with_nul(text: String) -> Vec<u8> {
    let mut v = text.into_bytes();
    v.push(0);
    v
}

/// One family of attributes, its owner resolved against the snapshot once.
enum Family {
    Device(Device),
    Buffer(Device),
    Debug(Device),
    Channel(Channel),
    /// Event attributes (libiio 1.x's binary protocol), by file name.
    Event(Device),
}

impl Family {
    /// The owner of a single attribute, and its name.
    fn of<'a>(ctx: &Context, loc: &AttrLoc<'a>) -> std::result::Result<(Family, &'a str), i64> {
        Ok(match *loc {
            AttrLoc::Device { dev, name } => (Family::Device(device(ctx, dev)?), name),
            AttrLoc::Buffer { dev, name } => (Family::Buffer(device(ctx, dev)?), name),
            AttrLoc::Debug { dev, name } => (Family::Debug(device(ctx, dev)?), name),
            AttrLoc::Channel {
                dev,
                channel: ch,
                output,
                name,
                ..
            } => (
                Family::Channel(channel(&device(ctx, dev)?, ch, output)?),
                name,
            ),
            AttrLoc::Event { dev, name } => {
                // Only a file the snapshot lists as one of the device's event attributes.
                let d = device(ctx, dev)?;
                let data = d.data();
                let listed = data.event_attrs.iter().any(|a| a.filename == name)
                    || data
                        .channels
                        .iter()
                        .any(|c| c.event_attrs.iter().any(|a| a.filename == name));
                if !listed {
                    return Err(neg(Errno::NOENT));
                }
                (Family::Event(d), name)
            }
        })
    }

    /// The owner of a whole family.
    fn of_group(ctx: &Context, group: &AttrGroup<'_>) -> std::result::Result<Family, i64> {
        let dev = device(ctx, group.dev())?;
        Ok(match *group {
            AttrGroup::Device { .. } => Family::Device(dev),
            AttrGroup::Buffer { .. } => Family::Buffer(dev),
            AttrGroup::Debug { .. } => Family::Debug(dev),
            AttrGroup::Channel {
                channel: ch,
                output,
                ..
            } => Family::Channel(channel(&dev, ch, output)?),
        })
    }

    /// The attribute names, in the order the context description lists them (the order of
    /// iiod's packed blocks).
    fn names(&self) -> Vec<&str> {
        match self {
            Family::Device(d) => d.attrs().collect(),
            Family::Buffer(d) => d.buffer_attrs().collect(),
            Family::Debug(d) => d.debug_attrs().collect(),
            Family::Channel(c) => c.attrs().collect(),
            // No "read all" of event attributes exists.
            Family::Event(_) => Vec::new(),
        }
    }

    /// Reads one attribute: iiod's value, the text and its NUL.
    fn read(&self, name: &str) -> std::result::Result<Vec<u8>, i64> {
        let value = match self {
            Family::Device(d) => d.attr_read_str(name),
            Family::Buffer(d) => d.buffer_attr_read_str(name),
            Family::Debug(d) => d.debug_attr_read_str(name),
            Family::Channel(c) => c.attr_read_str(name),
            Family::Event(d) => d.event_attr_read_str(name),
        };
        value.map(with_nul).map_err(|e| neg_err(&e))
    }

    /// Writes one attribute.
    fn write(&self, name: &str, text: &str) -> std::result::Result<(), i64> {
        let done = match self {
            Family::Device(d) => d.attr_write_str(name, text),
            Family::Buffer(d) => d.buffer_attr_write(name, text),
            Family::Debug(d) => d.debug_attr_write(name, text),
            Family::Channel(c) => c.attr_write_str(name, text),
            Family::Event(d) => d.event_attr_write_str(name, text),
        };
        done.map_err(|e| neg_err(&e))
    }
}

/// Reads one attribute.
pub(super) fn read_attr(ctx: &Context, loc: &AttrLoc<'_>) -> Answer {
    let (family, name) = Family::of(ctx, loc)?;
    family.read(name).map(Reply::Data)
}

/// The text of a written value: up to its first NUL (clients send the C string with its
/// terminator), UTF-8.
fn value_text(value: &[u8]) -> std::result::Result<&str, i64> {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    std::str::from_utf8(&value[..end]).map_err(|_| neg(Errno::INVAL))
}

/// Writes one attribute; answers the bytes the client sent, as iiod does.
pub(super) fn write_attr(ctx: &Context, loc: &AttrLoc<'_>, value: &[u8]) -> Answer {
    let text = value_text(value)?;
    let (family, name) = Family::of(ctx, loc)?;
    family.write(name, text)?;
    Ok(Reply::Code(value.len() as i64))
}

/// The most a packed block may hold, either way.
pub(super) const MAX_PACKED: usize = 1 << 20;

/// Reads every attribute of a family into iiod's packed block: per attribute, a big-endian
/// `i32` length (or `-errno`), then the value with its NUL, zero-padded to 4 bytes.
pub(super) fn read_all(ctx: &Context, group: &AttrGroup<'_>) -> Answer {
    let family = Family::of_group(ctx, group)?;
    let mut out = Vec::new();
    for name in family.names() {
        let (len, bytes) = match family.read(name) {
            Ok(v) => (v.len() as i64, v),
            Err(code) => (code, Vec::new()),
        };
        if out.len() + 4 + bytes.len() + 3 > MAX_PACKED {
            return Err(neg(Errno::NOSPC));
        }
        out.extend_from_slice(&(len as i32).to_be_bytes());
        out.extend_from_slice(&bytes);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    Ok(Reply::Data(out))
}

/// The values of a packed block, one per attribute (`None`: left as it is), or `-EINVAL`
/// when the block does not hold exactly one entry per attribute.
fn unpack(block: &[u8], count: usize) -> std::result::Result<Vec<Option<&[u8]>>, i64> {
    let bad = neg(Errno::INVAL);
    let mut values = Vec::with_capacity(count.min(block.len() / 4));
    let mut rest = block;
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or(bad)?;
        let len = i32::from_be_bytes(*len);
        rest = tail;
        if len <= 0 {
            values.push(None);
            continue;
        }
        let len = len as usize;
        let padded = len.next_multiple_of(4);
        if padded > rest.len() {
            return Err(bad);
        }
        values.push(Some(&rest[..len]));
        rest = &rest[padded..];
    }
    if rest.is_empty() {
        Ok(values)
    } else {
        Err(bad)
    }
}

/// Writes a family from iiod's packed block (the layout of [`read_all`]; an entry of
/// length 0 or less leaves its attribute alone). The block is checked whole before any
/// attribute is written; answers its length, as iiod does.
pub(super) fn write_all(ctx: &Context, group: &AttrGroup<'_>, block: &[u8]) -> Answer {
    let family = Family::of_group(ctx, group)?;
    let names = family.names();
    let values = unpack(block, names.len())?;
    for (name, value) in names.into_iter().zip(values) {
        if let Some(v) = value {
            // As iiod: a value that is not text, or a failure of one attribute, does not stop
            // the others.
            if let Ok(text) = value_text(v) {
                let _ = family.write(name, text);
            }
        }
    }
    Ok(Reply::Code(block.len() as i64))
}

/// GETTRIG: the name of the device's trigger (none: `0`).
pub(super) fn get_trigger(ctx: &Context, dev: &str) -> Answer {
    let dev = device(ctx, dev)?;
    match ctx.backend().current_trigger(dev.id()) {
        Ok(t) => Ok(Reply::Trigger(t)),
        Err(e) => Err(neg_err(&e)),
    }
}

/// SETTRIG: a trigger the client named (id, name or label; unknown: `-ENOENT`), or none.
pub(super) fn set_trigger(ctx: &Context, dev: &str, trigger: Option<&str>) -> Answer {
    let dev = device(ctx, dev)?;
    let trig = match trigger {
        None => None,
        Some(t) => Some(ctx.find_device(t).ok_or(neg(Errno::NOENT))?),
    };
    dev.set_trigger(trig.as_ref())
        .map(|()| Reply::Code(0))
        .map_err(|e| neg_err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_blocks_are_checked_whole() {
        // Two entries: "ab\0" padded to 4, and "leave alone" (-2).
        let mut block = Vec::new();
        block.extend_from_slice(&3i32.to_be_bytes());
        block.extend_from_slice(b"ab\0\0");
        block.extend_from_slice(&(-2i32).to_be_bytes());
        assert_eq!(unpack(&block, 2).unwrap(), vec![Some(&b"ab\0"[..]), None]);
        // One entry too few, one too many, padding missing, a length past the end.
        assert!(unpack(&block, 3).is_err());
        assert!(unpack(&block, 1).is_err());
        assert!(unpack(&block[..6], 1).is_err());
        let mut huge = i32::MAX.to_be_bytes().to_vec();
        huge.extend_from_slice(b"xx");
        assert!(unpack(&huge, 1).is_err());
        assert_eq!(unpack(&[], 0).unwrap(), Vec::<Option<&[u8]>>::new());
    }

    #[test]
    fn written_values_end_at_their_nul() {
        assert_eq!(value_text(b"2000\0").unwrap(), "2000");
        assert_eq!(value_text(b"2000").unwrap(), "2000");
        assert_eq!(value_text(b"a\0b").unwrap(), "a");
        assert!(value_text(b"\xff\xfe").is_err());
    }
}
