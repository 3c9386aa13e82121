//! Channel masks and the layout of one scan: which scan elements are enabled, where each one
//! sits in a scan and how many bytes a scan takes, by the kernel's rules
//! (`iio_compute_scan_bytes` in `industrialio-buffer.c`). Pure functions over the snapshot,
//! no I/O.
//!
//! The rules: enabled elements in scan-index order, the timestamp last; each element
//! (`STORAGE/8 × REPEAT` bytes) aligned to its own size; elements sharing one scan index
//! occupy that slot once; the scan size rounded up to the largest element, so a scan of
//! `u16, s64` is 16 bytes (libiio 0.24 computes 10 there and is wrong on such devices).

use crate::channel_type::ChannelType;
use crate::error::{Error, Result};
use crate::format::DataFormat;
use crate::model::DeviceData;

/// A set of channels of one device, by channel position ([`crate::Channel::index`]): the
/// bit of a channel is its place in the device's libiio-ordered channel list, as in libiio's
/// `iio_channels_mask` and in iiod's `OPEN` command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ChannelMask {
    words: Vec<u32>,
    len: usize,
}

impl ChannelMask {
    /// An empty mask for a device of `channels` channels.
    pub fn new(channels: usize) -> ChannelMask {
        ChannelMask {
            words: vec![0; channels.div_ceil(32).max(1)],
            len: channels,
        }
    }

    /// Number of channels the mask covers (the device's channel count).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mask covers no channels at all (a device without channels).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets a channel's bit. Positions beyond [`ChannelMask::len`] are ignored.
    pub fn enable(&mut self, channel: usize) {
        if channel < self.len {
            self.words[channel / 32] |= 1 << (channel % 32);
        }
    }

    /// Clears a channel's bit.
    pub fn disable(&mut self, channel: usize) {
        if channel < self.len {
            self.words[channel / 32] &= !(1 << (channel % 32));
        }
    }

    /// Whether a channel's bit is set.
    pub fn is_enabled(&self, channel: usize) -> bool {
        channel < self.len && self.words[channel / 32] & (1 << (channel % 32)) != 0
    }

    /// Positions of the set bits, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(|&c| self.is_enabled(c))
    }

    /// Number of set bits.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The mask as 32-bit words, least significant first (word 0 holds channels 0–31), the
    /// form libiio stores and iiod prints (most significant word first, `%08x` each).
    pub fn words(&self) -> &[u32] {
        &self.words
    }

    /// Builds a mask from 32-bit words (least significant first), e.g. one read back from
    /// iiod. Bits beyond `channels` are dropped.
    pub fn from_words(channels: usize, words: &[u32]) -> ChannelMask {
        let mut m = ChannelMask::new(channels);
        for c in 0..channels {
            if words.get(c / 32).is_some_and(|w| w & (1 << (c % 32)) != 0) {
                m.enable(c);
            }
        }
        m
    }
}

/// Where one enabled channel sits in a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementLayout {
    /// The channel's position in its device (its mask bit).
    pub channel: usize,
    /// The channel's scan index.
    pub scan_index: u32,
    /// Byte offset of the element from the start of a scan.
    pub offset: usize,
    /// The element's format (bytes = `format.sample_bytes()`).
    pub format: DataFormat,
}

/// The layout of one scan for a given mask: offsets of the enabled elements and the scan size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanLayout {
    elements: Vec<ElementLayout>,
    scan_bytes: usize,
}

/// `x` rounded up to a multiple of `a` (the kernel's `roundup`, which its demux uses to
/// place elements). For the power-of-two element sizes of real drivers this equals the
/// `ALIGN` that `iio_compute_scan_bytes` uses; the two differ only for odd sizes such as a
/// repeat of 3, where the kernel itself is inconsistent.
fn kernel_align(x: usize, a: usize) -> usize {
    x.div_ceil(a.max(1)) * a.max(1)
}

impl ScanLayout {
    /// Computes the layout of the scan elements of `dev` selected by `mask`. Fails when a
    /// selected channel is not a scan element or its `_index`/`_type` is unusable, or when
    /// nothing is selected.
    pub fn new(dev: &DeviceData, mask: &ChannelMask) -> Result<ScanLayout> {
        let mut chosen = Vec::new();
        for pos in mask.iter() {
            let Some(chan) = dev.channels.get(pos) else {
                continue;
            };
            let what = || format!("channel {} of device {}", chan.id, dev.id);
            let scan = chan.scan.as_ref().ok_or_else(|| Error::InvalidValue {
                what: what(),
                reason: "not a scan element, it cannot be streamed".into(),
            })?;
            let index = scan.index.clone().map_err(|reason| Error::Malformed {
                what: format!("scan index of {}", what()),
                reason,
            })?;
            let format = match scan.format {
                Some(f) => f,
                None => DataFormat::parse(&scan.format_text)?,
            };
            let is_ts = chan.channel_type() == ChannelType::Timestamp;
            chosen.push((is_ts, index, pos, format));
        }
        if chosen.is_empty() {
            return Err(Error::InvalidValue {
                what: format!("channel mask of device {}", dev.id),
                reason: "no scan element is enabled".into(),
            });
        }
        // Stable: channels sharing an index keep their libiio order (by shift).
        chosen.sort_by_key(|&(is_ts, index, _, _)| (is_ts, index));
        let mut elements = Vec::with_capacity(chosen.len());
        let mut bytes = 0usize;
        let mut largest = 0usize;
        let mut prev: Option<(u32, usize)> = None;
        for (_, index, pos, format) in chosen {
            let size = format.sample_bytes();
            let offset = match prev {
                Some((pi, off)) if pi == index => off,
                _ => {
                    let off = kernel_align(bytes, size);
                    bytes = off + size;
                    off
                }
            };
            largest = largest.max(size);
            prev = Some((index, offset));
            elements.push(ElementLayout {
                channel: pos,
                scan_index: index,
                offset,
                format,
            });
        }
        let scan_bytes = kernel_align(bytes, largest);
        Ok(ScanLayout {
            elements,
            scan_bytes,
        })
    }

    /// Bytes of one scan (what the kernel calls `bytes_per_datum`).
    pub fn scan_bytes(&self) -> usize {
        self.scan_bytes
    }

    /// The enabled elements in scan order.
    pub fn elements(&self) -> &[ElementLayout] {
        &self.elements
    }

    /// The layout of one channel, by position; `None` when it is not enabled.
    pub fn element(&self, channel: usize) -> Option<&ElementLayout> {
        self.elements.iter().find(|e| e.channel == channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChannelData, ScanData};

    fn chan(id: &str, index: u32, fmt: &str) -> ChannelData {
        ChannelData {
            id: id.into(),
            scan: Some(ScanData {
                index: Ok(index),
                format_text: fmt.into(),
                format: DataFormat::parse(fmt).ok(),
                scale: None,
                enable_file: format!("scan_elements/in_{id}_en"),
            }),
            ..Default::default()
        }
    }

    fn dev(chans: Vec<ChannelData>) -> DeviceData {
        DeviceData {
            id: "iio:device0".into(),
            channels: chans,
            ..Default::default()
        }
    }

    fn all(n: usize) -> ChannelMask {
        let mut m = ChannelMask::new(n);
        (0..n).for_each(|c| m.enable(c));
        m
    }

    fn offsets(l: &ScanLayout) -> Vec<(usize, usize)> {
        l.elements().iter().map(|e| (e.channel, e.offset)).collect()
    }

    #[test]
    fn mask_bits_and_words() {
        let mut m = ChannelMask::new(40);
        m.enable(0);
        m.enable(33);
        m.enable(99);
        assert!(m.is_enabled(33) && !m.is_enabled(1));
        assert_eq!(m.words(), &[1, 2]);
        assert_eq!(m.count(), 2);
        m.disable(0);
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![33]);
        assert_eq!(ChannelMask::from_words(40, &[1, 2, 7]).words(), &[1, 2]);
    }

    #[test]
    fn iio_dummy_scan_is_16_bytes() {
        let d = dev(vec![
            chan("voltage0", 0, "le:u13/16>>0"),
            chan("voltage1-voltage2", 1, "le:s12/16>>0"),
            chan("voltage3-voltage4", 2, "le:s11/16>>0"),
            chan("accel_x", 3, "le:s16/16>>0"),
            chan("timestamp", 4, "le:s64/64>>0"),
        ]);
        let l = ScanLayout::new(&d, &all(5)).unwrap();
        assert_eq!(l.scan_bytes(), 16);
        assert_eq!(offsets(&l), vec![(0, 0), (1, 2), (2, 4), (3, 6), (4, 8)]);
        // voltage0 + timestamp: padding before the timestamp
        let mut m = ChannelMask::new(5);
        m.enable(0);
        m.enable(4);
        let l = ScanLayout::new(&d, &m).unwrap();
        assert_eq!((l.scan_bytes(), offsets(&l)), (16, vec![(0, 0), (4, 8)]));
        // two u16: 4 bytes, no rounding beyond the largest element
        let mut m = ChannelMask::new(5);
        m.enable(1);
        m.enable(3);
        assert_eq!(ScanLayout::new(&d, &m).unwrap().scan_bytes(), 4);
    }

    #[test]
    fn scan_size_is_rounded_to_the_largest_element() {
        // s64 then u16: the kernel gives 16 (libiio 0.24 said 10)
        let d = dev(vec![
            chan("a", 0, "le:s64/64>>0"),
            chan("b", 1, "le:u16/16>>0"),
        ]);
        let l = ScanLayout::new(&d, &all(2)).unwrap();
        assert_eq!((l.scan_bytes(), offsets(&l)), (16, vec![(0, 0), (1, 8)]));
    }

    #[test]
    fn repeat_shared_index_and_timestamp_last() {
        let d = dev(vec![
            chan("voltage0", 0, "le:u8/8>>0"),
            chan("voltage1", 1, "le:s16/16X4>>0"),
            chan("timestamp", 2, "le:s64/64>>0"),
            chan("voltage2", 3, "le:u24/32>>8"),
            chan("logic0", 4, "le:u1/16>>0"),
            chan("logic1", 4, "le:u1/16>>1"),
        ]);
        let l = ScanLayout::new(&d, &all(6)).unwrap();
        // u8 @0, 8-byte repeat @8, u32 @16, shared u16 @20 (once), timestamp @24 → 32
        assert_eq!(
            offsets(&l),
            vec![(0, 0), (1, 8), (3, 16), (4, 20), (5, 20), (2, 24)]
        );
        assert_eq!(l.scan_bytes(), 32);
        assert_eq!(l.element(5).unwrap().format.shift, 1);
        assert!(l.element(9).is_none());
    }

    #[test]
    fn unusable_selections_are_refused() {
        let mut bad = chan("voltage0", 0, "le:s12/16>>0");
        bad.scan.as_mut().unwrap().index = Err("no _index file".into());
        let plain = ChannelData {
            id: "temp".into(),
            ..Default::default()
        };
        let d = dev(vec![bad, plain]);
        let mut m = ChannelMask::new(2);
        assert!(ScanLayout::new(&d, &m).is_err());
        m.enable(0);
        assert!(ScanLayout::new(&d, &m)
            .unwrap_err()
            .to_string()
            .contains("no _index"));
        let mut m = ChannelMask::new(2);
        m.enable(1);
        assert!(ScanLayout::new(&d, &m)
            .unwrap_err()
            .to_string()
            .contains("not a scan element"));
    }
}
