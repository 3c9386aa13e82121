//! Demultiplexing: taking one channel's values out of a block of interleaved scans (and
//! putting them in, for output), as typed integers or converted to physical units. Pure
//! functions over byte slices, no I/O.
//!
//! Per-sample work is a fixed-size load, a shift, a mask and a sign extension. The bulk
//! functions ([`read_into`], [`convert_into`]) pick a monomorphized loop once per call (storage
//! size × byte order), so the loop body has no branches on the format, no allocation and no
//! dynamic dispatch; the iterators ([`ChannelIter`]) match on a small enum per sample, which the
//! branch predictor makes nearly free.

use crate::buffer::mask::ElementLayout;
use crate::error::{Error, Result};
use crate::format::DataFormat;

mod sealed {
    pub trait Sealed {}
}

/// An integer type a channel's values can be read as or written from: `i8` … `i64`,
/// `u8` … `u64`.
pub trait Sample: Copy + Default + Send + Sync + 'static + sealed::Sealed {
    /// Bits of the type.
    const BITS: u32;
    /// Whether the type is signed.
    const SIGNED: bool;
    /// The value from a sign- or zero-extended 64-bit pattern (truncating: the caller has
    /// checked the format fits).
    fn from_u64(v: u64) -> Self;
    /// The value as `i64` (for writing into a block).
    fn to_i64(self) -> i64;
}

macro_rules! sample {
    ($($t:ty: $signed:expr),*) => {$(
        impl sealed::Sealed for $t {}
        impl Sample for $t {
            const BITS: u32 = <$t>::BITS;
            const SIGNED: bool = $signed;
            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
        }
    )*};
}
sample!(i8: true, i16: true, i32: true, i64: true, u8: false, u16: false, u32: false, u64: false);

/// Whether values of `format` fit in `T` without loss: enough bits, and a signed type for
/// signed data (an unsigned format in a signed type needs one bit more).
pub fn fits<T: Sample>(format: &DataFormat) -> bool {
    if format.is_signed {
        T::SIGNED && T::BITS >= format.bits
    } else if T::SIGNED {
        T::BITS > format.bits
    } else {
        T::BITS >= format.bits
    }
}

/// How to load one stored value: bytes and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Load {
    U8,
    Le16,
    Be16,
    Le24,
    Be24,
    Le32,
    Be32,
    Le64,
    Be64,
}

impl Load {
    fn of(format: &DataFormat) -> Load {
        match (format.length, format.is_be) {
            (8, _) => Load::U8,
            (16, false) => Load::Le16,
            (16, true) => Load::Be16,
            (24, false) => Load::Le24,
            (24, true) => Load::Be24,
            (32, false) => Load::Le32,
            (32, true) => Load::Be32,
            (_, false) => Load::Le64,
            (_, true) => Load::Be64,
        }
    }
}

/// The precomputed extraction of one element: load, shift, mask, sign extension.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extract {
    load: Load,
    shift: u32,
    /// `64 - bits`: shifting left then right by this masks (unsigned) or sign-extends.
    pad: u32,
    signed: bool,
}

impl Extract {
    pub(crate) fn new(format: &DataFormat) -> Extract {
        Extract {
            load: Load::of(format),
            shift: format.shift,
            pad: 64 - format.bits.min(64),
            signed: format.is_signed,
        }
    }

    /// The value at the start of `p` as a sign- or zero-extended 64-bit pattern.
    #[inline(always)]
    fn get(&self, p: &[u8]) -> u64 {
        let w = match self.load {
            Load::U8 => u64::from(p[0]),
            Load::Le16 => u64::from(u16::from_le_bytes([p[0], p[1]])),
            Load::Be16 => u64::from(u16::from_be_bytes([p[0], p[1]])),
            Load::Le24 => u64::from(p[0]) | u64::from(p[1]) << 8 | u64::from(p[2]) << 16,
            Load::Be24 => u64::from(p[2]) | u64::from(p[1]) << 8 | u64::from(p[0]) << 16,
            Load::Le32 => u64::from(u32::from_le_bytes([p[0], p[1], p[2], p[3]])),
            Load::Be32 => u64::from(u32::from_be_bytes([p[0], p[1], p[2], p[3]])),
            Load::Le64 => u64::from_le_bytes(p[..8].try_into().expect("8 bytes")),
            Load::Be64 => u64::from_be_bytes(p[..8].try_into().expect("8 bytes")),
        };
        finish(w, self.shift, self.pad, self.signed)
    }
}

#[inline(always)]
fn finish(word: u64, shift: u32, pad: u32, signed: bool) -> u64 {
    let v = (word >> shift) << pad;
    if signed {
        ((v as i64) >> pad) as u64
    } else {
        v >> pad
    }
}

/// The values of one channel in a block, in scan order (for a repeat channel, the
/// `REPEAT` values of each scan one after the other). Made by
/// [`crate::buffer::Buffer::channel_iter`].
#[derive(Debug, Clone)]
pub struct ChannelIter<'a, T> {
    data: &'a [u8],
    step: usize,
    value_bytes: usize,
    repeat: usize,
    /// Position of the next value: scan start and repeat slot.
    pos: usize,
    slot: usize,
    scans_left: usize,
    x: Extract,
    _t: std::marker::PhantomData<T>,
}

impl<'a, T: Sample> ChannelIter<'a, T> {
    /// Iterates `element` over the whole scans of `block` (scans of `step` bytes): for
    /// blocks held outside a [`crate::buffer::Buffer`] (a file of recorded scans, a network
    /// payload). Check the type with [`fits`] first: values are truncated to `T`.
    pub fn new(block: &'a [u8], step: usize, element: &ElementLayout) -> Self {
        let f = &element.format;
        let scans = block.len().checked_div(step).unwrap_or(0);
        ChannelIter {
            data: block.get(element.offset..).unwrap_or_default(),
            step,
            value_bytes: f.value_bytes(),
            repeat: f.repeat as usize,
            pos: 0,
            slot: 0,
            scans_left: scans,
            x: Extract::new(f),
            _t: std::marker::PhantomData,
        }
    }
}

impl<T: Sample> Iterator for ChannelIter<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.scans_left == 0 {
            return None;
        }
        let at = self.pos + self.slot * self.value_bytes;
        let v = self.x.get(&self.data[at..]);
        self.slot += 1;
        if self.slot == self.repeat {
            self.slot = 0;
            self.pos += self.step;
            self.scans_left -= 1;
        }
        Some(T::from_u64(v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = if self.scans_left == 0 {
            0
        } else {
            self.scans_left * self.repeat - self.slot
        };
        (n, Some(n))
    }
}

impl<T: Sample> ExactSizeIterator for ChannelIter<'_, T> {}

/// One channel's values converted to physical units: `(raw + offset) × scale`.
#[derive(Debug, Clone)]
pub struct ConvertedIter<'a> {
    raw: ChannelIter<'a, i64>,
    scale: f64,
    offset: f64,
}

impl<'a> ConvertedIter<'a> {
    /// Converts the values of `raw` with `(raw + offset) × scale`.
    pub fn new(raw: ChannelIter<'a, i64>, scale: f64, offset: f64) -> Self {
        ConvertedIter { raw, scale, offset }
    }
}

impl Iterator for ConvertedIter<'_> {
    type Item = f64;

    #[inline]
    fn next(&mut self) -> Option<f64> {
        let raw = self.raw.next()?;
        // An unsigned 64-bit value above i64::MAX is a pattern, not a negative number.
        let v = if self.raw.x.signed {
            raw as f64
        } else {
            raw as u64 as f64
        };
        Some((v + self.offset) * self.scale)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.raw.size_hint()
    }
}

impl ExactSizeIterator for ConvertedIter<'_> {}

/// Each scan's `N` values of a repeat channel as an array.
#[derive(Debug, Clone)]
pub struct ArrayIter<'a, T, const N: usize> {
    inner: ChannelIter<'a, T>,
}

impl<'a, T: Sample, const N: usize> ArrayIter<'a, T, N> {
    pub(crate) fn new(inner: ChannelIter<'a, T>) -> Self {
        ArrayIter { inner }
    }
}

impl<T: Sample, const N: usize> Iterator for ArrayIter<'_, T, N> {
    type Item = [T; N];

    #[inline]
    fn next(&mut self) -> Option<[T; N]> {
        if self.inner.scans_left == 0 {
            return None;
        }
        let mut out = [T::default(); N];
        for v in &mut out {
            *v = self.inner.next()?;
        }
        Some(out)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.inner.scans_left;
        (n, Some(n))
    }
}

impl<T: Sample, const N: usize> ExactSizeIterator for ArrayIter<'_, T, N> {}

/// Loads `N` bytes in the given byte order (folded to one load and maybe a byte swap).
#[inline(always)]
fn word<const N: usize, const BE: bool>(b: &[u8; N]) -> u64 {
    let mut w = 0u64;
    if BE {
        for &x in b.iter() {
            w = (w << 8) | u64::from(x);
        }
    } else {
        for &x in b.iter().rev() {
            w = (w << 8) | u64::from(x);
        }
    }
    w
}

/// Sign- or zero-extends a full-width `N`-byte word with constant shifts (the compiler
/// turns them into one `movsx`/`movzx`).
#[inline(always)]
fn extend<const N: usize, const SIGNED: bool>(w: u64) -> u64 {
    let pad = 64 - 8 * N as u32;
    if SIGNED && pad > 0 {
        (((w << pad) as i64) >> pad) as u64
    } else {
        w
    }
}

/// The monomorphized inner loop: one value per scan (repeat 1) into `out`. `PLAIN` formats
/// (no shift, every stored bit used) need only the extension; the others shift and mask.
#[inline(always)]
fn run<const N: usize, const BE: bool, const PLAIN: bool, const SIGNED: bool, O>(
    block: &[u8],
    step: usize,
    offset: usize,
    x: &Extract,
    out: &mut [O],
    f: impl Fn(u64) -> O,
) -> usize {
    let (shift, pad, signed) = (x.shift, x.pad, x.signed);
    if offset + N > step {
        return 0;
    }
    let mut n = 0;
    for (scan, o) in block.chunks_exact(step).zip(out.iter_mut()) {
        let b: &[u8; N] = scan[offset..offset + N].try_into().expect("N bytes");
        let w = word::<N, BE>(b);
        *o = f(if PLAIN {
            extend::<N, SIGNED>(w)
        } else {
            finish(w, shift, pad, signed)
        });
        n += 1;
    }
    n
}

/// One load kind's three loops: plain signed, plain unsigned, shifted/masked.
#[inline(always)]
fn run_kind<const N: usize, const BE: bool, O>(
    block: &[u8],
    step: usize,
    offset: usize,
    x: &Extract,
    out: &mut [O],
    f: impl Fn(u64) -> O,
) -> usize {
    let plain = x.shift == 0 && x.pad == 64 - 8 * N as u32;
    match (plain, x.signed) {
        (true, true) => run::<N, BE, true, true, O>(block, step, offset, x, out, f),
        (true, false) => run::<N, BE, true, false, O>(block, step, offset, x, out, f),
        (false, _) => run::<N, BE, false, false, O>(block, step, offset, x, out, f),
    }
}

/// Dispatches once on the load kind to a monomorphized loop.
#[inline(always)]
fn dispatch<O>(
    block: &[u8],
    step: usize,
    element: &ElementLayout,
    out: &mut [O],
    f: impl Fn(u64) -> O + Copy,
) -> usize {
    let x = Extract::new(&element.format);
    let off = element.offset;
    if step == 0 {
        return 0;
    }
    if element.format.repeat != 1 {
        // Repeat channels: flattened, through the per-value path.
        let it = ChannelIter::<u64>::new(block, step, element);
        let mut n = 0;
        for (o, v) in out.iter_mut().zip(it) {
            *o = f(v);
            n += 1;
        }
        return n;
    }
    match x.load {
        Load::U8 => run_kind::<1, false, O>(block, step, off, &x, out, f),
        Load::Le16 => run_kind::<2, false, O>(block, step, off, &x, out, f),
        Load::Be16 => run_kind::<2, true, O>(block, step, off, &x, out, f),
        Load::Le24 => run_kind::<3, false, O>(block, step, off, &x, out, f),
        Load::Be24 => run_kind::<3, true, O>(block, step, off, &x, out, f),
        Load::Le32 => run_kind::<4, false, O>(block, step, off, &x, out, f),
        Load::Be32 => run_kind::<4, true, O>(block, step, off, &x, out, f),
        Load::Le64 => run_kind::<8, false, O>(block, step, off, &x, out, f),
        Load::Be64 => run_kind::<8, true, O>(block, step, off, &x, out, f),
    }
}

/// Copies one channel's values out of `block` into `out` as `T`; returns how many were
/// written (at most `out.len()`, at most the values in the block).
pub fn read_into<T: Sample>(
    block: &[u8],
    step: usize,
    element: &ElementLayout,
    out: &mut [T],
) -> Result<usize> {
    check_fits::<T>(&element.format)?;
    Ok(dispatch(block, step, element, out, T::from_u64))
}

/// Converts one channel's values to physical units into `out`: `(raw + offset) × scale`.
pub fn convert_into(
    block: &[u8],
    step: usize,
    element: &ElementLayout,
    scale: f64,
    offset: f64,
    out: &mut [f64],
) -> usize {
    if element.format.is_signed {
        dispatch(block, step, element, out, move |v| {
            (v as i64 as f64 + offset) * scale
        })
    } else {
        dispatch(block, step, element, out, move |v| {
            (v as f64 + offset) * scale
        })
    }
}

/// Writes `values` into one channel's slots of `block` (repeat channels take `REPEAT` values
/// per scan); returns how many were written.
pub fn write_from<T: Sample>(
    block: &mut [u8],
    step: usize,
    element: &ElementLayout,
    values: &[T],
) -> usize {
    let f = &element.format;
    let vb = f.value_bytes();
    let repeat = f.repeat as usize;
    if step == 0 {
        return 0;
    }
    let mut n = 0;
    'scans: for scan in block.chunks_exact_mut(step) {
        for k in 0..repeat {
            let Some(v) = values.get(n) else {
                break 'scans;
            };
            f.insert(v.to_i64(), &mut scan[element.offset + k * vb..]);
            n += 1;
        }
    }
    n
}

pub(crate) fn check_fits<T: Sample>(format: &DataFormat) -> Result<()> {
    if fits::<T>(format) {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            what: format!("reading {format} samples"),
            reason: format!("{} cannot hold them", std::any::type_name::<T>()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(fmt: &str, offset: usize) -> ElementLayout {
        ElementLayout {
            channel: 0,
            scan_index: 0,
            offset,
            format: DataFormat::parse(fmt).unwrap(),
        }
    }

    /// Every format against the reference conversion in `DataFormat::extract_i64`, through
    /// the iterator and the bulk path.
    #[test]
    fn iterator_and_bulk_agree_with_the_reference() {
        let formats = [
            "le:s8/8>>0",
            "le:u7/8>>1",
            "le:s12/16>>4",
            "be:s12/16>>4",
            "le:u16/16>>0",
            "be:u10/16>>2",
            "le:s24/24>>0",
            "be:u24/24>>0",
            "le:s24/32>>8",
            "be:s20/32>>4",
            "le:u32/32>>0",
            "be:s32/32>>0",
            "le:s64/64>>0",
            "be:u48/64>>16",
            "le:u1/16>>9",
        ];
        let step = 24;
        let scans = 37;
        let mut block = vec![0u8; step * scans];
        let mut seed = 0x1234_5678_9abc_def0u64;
        for b in block.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        for fmt in formats {
            for offset in [0, 3, 8, 16] {
                let e = el(fmt, offset);
                let expect: Vec<i64> = (0..scans)
                    .map(|s| e.format.extract_i64(&block[s * step + offset..]))
                    .collect();
                let got: Vec<i64> = ChannelIter::<i64>::new(&block, step, &e).collect();
                assert_eq!(got, expect, "{fmt} at {offset}");
                let mut bulk = vec![0i64; scans + 3];
                assert_eq!(read_into(&block, step, &e, &mut bulk).unwrap(), scans);
                assert_eq!(&bulk[..scans], &expect[..], "bulk {fmt} at {offset}");
                let mut conv = vec![0f64; scans];
                convert_into(&block, step, &e, 0.5, 1.0, &mut conv);
                let want: Vec<f64> = expect
                    .iter()
                    .map(|&r| {
                        let r = if e.format.is_signed {
                            r as f64
                        } else {
                            r as u64 as f64
                        };
                        (r + 1.0) * 0.5
                    })
                    .collect();
                assert_eq!(conv, want, "convert {fmt} at {offset}");
                let it: Vec<f64> =
                    ConvertedIter::new(ChannelIter::new(&block, step, &e), 0.5, 1.0).collect();
                assert_eq!(it, want);
            }
        }
    }

    #[test]
    fn type_checks() {
        let s12 = DataFormat::parse("le:s12/16>>0").unwrap();
        let u16f = DataFormat::parse("le:u16/16>>0").unwrap();
        let u13 = DataFormat::parse("le:u13/16>>0").unwrap();
        assert!(fits::<i16>(&s12) && !fits::<u16>(&s12) && !fits::<i8>(&s12));
        assert!(fits::<u16>(&u16f) && !fits::<i16>(&u16f) && fits::<i32>(&u16f));
        assert!(fits::<i16>(&u13));
        let e = el("le:s12/16>>0", 0);
        assert!(read_into::<u8>(&[0; 4], 2, &e, &mut [0u8; 2]).is_err());
    }

    #[test]
    fn repeat_channels_flatten_and_group() {
        // 2 scans of [s16 X3 at 0, pad, u16 at 6]: step 8
        let e = el("le:s16/16X3>>0", 0);
        let mut block = vec![0u8; 16];
        let vals = [-1i16, 2, -3, 4, -5, 6];
        assert_eq!(write_from(&mut block, 8, &e, &vals), 6);
        let flat: Vec<i16> = ChannelIter::new(&block, 8, &e).collect();
        assert_eq!(flat, vals);
        let arrays: Vec<[i16; 3]> = ArrayIter::new(ChannelIter::new(&block, 8, &e)).collect();
        assert_eq!(arrays, vec![[-1, 2, -3], [4, -5, 6]]);
        let mut bulk = [0i16; 6];
        assert_eq!(read_into(&block, 8, &e, &mut bulk).unwrap(), 6);
        assert_eq!(bulk, vals);
        let it = ChannelIter::<i16>::new(&block, 8, &e);
        assert_eq!(it.len(), 6);
    }

    #[test]
    fn write_then_read_round_trips() {
        let e = el("be:s20/32>>4", 4);
        let mut block = vec![0xffu8; 24];
        let vals = [-524288i32, 524287, -1];
        assert_eq!(write_from(&mut block, 8, &e, &vals), 3);
        let back: Vec<i32> = ChannelIter::new(&block, 8, &e).collect();
        assert_eq!(back, vals);
        // the other bytes of the scans are untouched
        assert!(block.chunks(8).all(|s| s[..4] == [0xff; 4]));
    }

    #[test]
    fn empty_and_short_blocks() {
        let e = el("le:s16/16>>0", 2);
        assert_eq!(ChannelIter::<i16>::new(&[], 4, &e).count(), 0);
        // 7 bytes hold one whole 4-byte scan
        assert_eq!(ChannelIter::<i16>::new(&[0; 7], 4, &e).count(), 1);
        assert_eq!(ChannelIter::<i16>::new(&[0; 7], 0, &e).count(), 0);
    }
}
