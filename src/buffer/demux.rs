//! Demultiplexing: taking one channel's values out of a block of interleaved scans (and
//! putting them in, for output), as typed integers or converted to physical units. Pure
//! functions over byte slices, no I/O.
//!
//! Per-sample work is a fixed-size load, a shift, a mask and a sign extension. The bulk
//! functions ([`read_into`], [`convert_into`]) pick a monomorphized loop once per call, so the
//! loop body has no branches on the format, no allocation and no dynamic dispatch: for scans
//! of 2, 4, 6, 8, 12, 16, 24, 32, 48 or 64 bytes one specialised on the scan size (a constant
//! stride, which the compiler vectorizes), the storage word and the finishing step; for other
//! scan sizes and repeat channels one on storage size × byte order. The iterators
//! ([`ChannelIter`]) match on a small enum per sample, which the branch predictor makes nearly
//! free.

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

// ---------------------------------------------------------------------------------------
// Per-channel fast path: a constant scan size, in two passes per tile.
// ---------------------------------------------------------------------------------------

/// Values per tile of the per-channel fast path ([`fast`]): the raw words of a tile stay in
/// L1 between the gather and the finishing pass.
const CHANNEL_TILE: usize = 256;

/// The integer the per-channel fast path loads a window of each scan into and finishes the
/// value in: `u16` (2-byte scans), `u32` (8-, 16-, 24- and 32-bit storage) or `u64`.
trait Word: Copy + Default + 'static {
    /// Bits of the type.
    const BITS: u32;
    /// Bytes of the type: the window loaded per scan.
    const BYTES: usize;
    /// The little-endian word at the start of `b`.
    fn load(b: &[u8]) -> Self;
    /// The low `n` bytes in the opposite order, the others dropped (big-endian storage).
    fn swap(self, n: usize) -> Self;
    /// `w >> n` (`n` below [`Word::BITS`]).
    fn shr(self, n: u32) -> Self;
    /// `((w << lead) as signed) >> pad`: the field, sign-extended.
    fn fin_signed(self, lead: u32, pad: u32) -> Self;
    /// `(w >> shift) & mask`: the field, zero-extended.
    fn fin_unsigned(self, shift: u32, mask: Self) -> Self;
    /// The low `bits` bits set (`0 < bits <= BITS`).
    fn mask(bits: u32) -> Self;
    /// Sign-extended to 64 bits.
    fn sext(self) -> u64;
    /// Zero-extended to 64 bits.
    fn zext(self) -> u64;
}

macro_rules! word_impl {
    ($($u:ty, $s:ty);*) => {$(
        impl Word for $u {
            const BITS: u32 = <$u>::BITS;
            const BYTES: usize = std::mem::size_of::<$u>();
            #[inline(always)]
            fn load(b: &[u8]) -> Self {
                <$u>::from_le_bytes(b[..Self::BYTES].try_into().expect("one word"))
            }
            #[inline(always)]
            fn swap(self, n: usize) -> Self {
                self.swap_bytes() >> (Self::BITS - 8 * n as u32)
            }
            #[inline(always)]
            fn shr(self, n: u32) -> Self {
                self >> n
            }
            #[inline(always)]
            fn fin_signed(self, lead: u32, pad: u32) -> Self {
                (((self << lead) as $s) >> pad) as $u
            }
            #[inline(always)]
            fn fin_unsigned(self, shift: u32, mask: Self) -> Self {
                (self >> shift) & mask
            }
            #[inline(always)]
            fn mask(bits: u32) -> Self {
                <$u>::MAX >> (Self::BITS - bits)
            }
            #[inline(always)]
            fn sext(self) -> u64 {
                self as $s as i64 as u64
            }
            #[inline(always)]
            fn zext(self) -> u64 {
                self as u64
            }
        }
    )*};
}
word_impl!(u16, i16; u32, i32; u64, i64);

/// Gathers the word at the start of each whole `STEP`-byte chunk of `data` into `tile` (as
/// many as both hold); returns how many. A constant stride and a full-width load at a
/// constant position: the compiler builds the tile's vectors from plain vector-register loads
/// (`movd`/`movq`) and unpacks.
#[inline(never)]
fn gather<const STEP: usize, W: Word>(data: &[u8], tile: &mut [W]) -> usize {
    let mut n = 0;
    for (c, t) in data.chunks_exact(STEP).zip(tile.iter_mut()) {
        let c: &[u8; STEP] = c.try_into().expect("STEP bytes");
        *t = W::load(&c[..W::BYTES]);
        n += 1;
    }
    n
}

/// [`gather`] for the scan size `step`. `None` for sizes it is not built for.
#[inline(always)]
fn gather_step<W: Word>(step: usize, data: &[u8], tile: &mut [W]) -> Option<usize> {
    if step < W::BYTES {
        return None;
    }
    Some(match step {
        2 => gather::<2, W>(data, tile),
        4 => gather::<4, W>(data, tile),
        6 => gather::<6, W>(data, tile),
        8 => gather::<8, W>(data, tile),
        12 => gather::<12, W>(data, tile),
        16 => gather::<16, W>(data, tile),
        24 => gather::<24, W>(data, tile),
        32 => gather::<32, W>(data, tile),
        48 => gather::<48, W>(data, tile),
        64 => gather::<64, W>(data, tile),
        _ => return None,
    })
}

/// Whether [`gather_step`] is built for `step`.
fn fast_step(step: usize) -> bool {
    matches!(step, 2 | 4 | 6 | 8 | 12 | 16 | 24 | 32 | 48 | 64)
}

/// How the finishing pass takes the value out of a loaded window: the value's `n` bytes
/// start `at` bits into the window; its field is `bits` bits at `shift` (both counted in
/// the value's own byte order).
#[derive(Debug, Clone, Copy)]
struct Finish<W: Copy> {
    n: usize,
    at: u32,
    /// `shift`, plus `at` for little-endian storage (whose field is read in place).
    shift: u32,
    /// `W::BITS - shift - bits`, for signed formats.
    lead: u32,
    /// `W::BITS - bits`, for signed formats.
    pad: u32,
    /// The low `bits` bits, for unsigned formats.
    mask: W,
}

/// Finishing modes of [`finish_one`]: the whole window is the value (only the extension to
/// the output); the field reaches the window's top (one shift down, sign-extending or not);
/// any other field (shifted up, then down sign-extending, or shifted down and masked).
const PLAIN: u8 = 0;
const TOP: u8 = 1;
const FIELD: u8 = 2;

/// Takes the value out of one loaded window (byte order, shift, mask or sign extension, in
/// the word's own width) and extends it to 64 bits.
#[inline(always)]
fn finish_one<W: Word, const BE: bool, const MODE: u8, const SIGNED: bool>(
    w: W,
    fin: &Finish<W>,
) -> u64 {
    let w = if BE { w.shr(fin.at).swap(fin.n) } else { w };
    if MODE == PLAIN {
        if SIGNED {
            w.sext()
        } else {
            w.zext()
        }
    } else if MODE == TOP {
        // The shift count stays a run-time value on purpose: with a constant one (a whole
        // 16-bit value, say) LLVM narrows the window's load to the value's own bytes and
        // builds the vectors through general registers again (8 × s16 per channel from L2:
        // 13 GiB/s this way, 9.7 with the constant).
        if SIGNED {
            w.fin_signed(0, fin.pad).sext()
        } else {
            w.shr(fin.pad).zext()
        }
    } else if SIGNED {
        w.fin_signed(fin.lead, fin.pad).sext()
    } else {
        w.fin_unsigned(fin.shift, fin.mask).zext()
    }
}

/// Finishes a tile of loaded windows ([`finish_one`]) and stores `f` of each: a contiguous
/// loop the compiler vectorizes.
#[inline(never)]
fn finish_tile<W: Word, const BE: bool, const MODE: u8, const SIGNED: bool, O>(
    tile: &[W],
    fin: &Finish<W>,
    out: &mut [O],
    f: &impl Fn(u64) -> O,
) {
    let fin = *fin;
    for (o, &w) in out.iter_mut().zip(tile) {
        *o = f(finish_one::<W, BE, MODE, SIGNED>(w, &fin));
    }
}

/// One little-endian channel's values in a single pass: each scan's window loaded at a
/// constant stride, finished and stored (`data` as for [`tiles`]; `scans` whole scans, at
/// least one). The finish is a few vector shifts of the gathered registers, so it costs less
/// here than a store and reload through a tile.
#[inline(never)]
fn fused<const STEP: usize, W: Word, const MODE: u8, const SIGNED: bool, O>(
    data: &[u8],
    scans: usize,
    fin: &Finish<W>,
    out: &mut [O],
    f: &impl Fn(u64) -> O,
) -> usize {
    let fin = *fin;
    let out = &mut out[..scans];
    let mut i = 0;
    for (c, o) in data.chunks_exact(STEP).zip(out.iter_mut()) {
        let c: &[u8; STEP] = c.try_into().expect("STEP bytes");
        *o = f(finish_one::<W, false, MODE, SIGNED>(
            W::load(&c[..W::BYTES]),
            &fin,
        ));
        i += 1;
    }
    if i < scans {
        // the last scan's window is whole even when its chunk is not
        out[i] = f(finish_one::<W, false, MODE, SIGNED>(
            W::load(&data[i * STEP..]),
            &fin,
        ));
    }
    scans
}

/// [`fused`] for the scan size `step` (one of [`fast_step`]'s, at least `W::BYTES`).
#[inline(always)]
fn fused_step<W: Word, const MODE: u8, const SIGNED: bool, O>(
    step: usize,
    data: &[u8],
    scans: usize,
    fin: &Finish<W>,
    out: &mut [O],
    f: &impl Fn(u64) -> O,
) -> Option<usize> {
    if step < W::BYTES {
        return None;
    }
    Some(match step {
        2 => fused::<2, W, MODE, SIGNED, O>(data, scans, fin, out, f),
        4 => fused::<4, W, MODE, SIGNED, O>(data, scans, fin, out, f),
        6 => fused::<6, W, MODE, SIGNED, O>(data, scans, fin, out, f),
        8 => fused::<8, W, MODE, SIGNED, O>(data, scans, fin, out, f),
        12 => fused::<12, W, MODE, SIGNED, O>(data, scans, fin, out, f),
        16 => fused::<16, W, MODE, SIGNED, O>(data, scans, fin, out, f),
        24 => fused::<24, W, MODE, SIGNED, O>(data, scans, fin, out, f),
        32 => fused::<32, W, MODE, SIGNED, O>(data, scans, fin, out, f),
        48 => fused::<48, W, MODE, SIGNED, O>(data, scans, fin, out, f),
        64 => fused::<64, W, MODE, SIGNED, O>(data, scans, fin, out, f),
        _ => return None,
    })
}

/// One channel's values through windows of type `W`, tile by tile: the strided gather
/// ([`gather_step`]), then the contiguous finishing pass ([`finish_tile`]). `data` starts at
/// the first scan's window, which lies inside the scan (`step - window offset >= W::BYTES`),
/// so the last scan's window is whole even when its chunk is not.
fn tiles<W: Word, const BE: bool, const MODE: u8, const SIGNED: bool, O>(
    data: &[u8],
    step: usize,
    scans: usize,
    fin: &Finish<W>,
    out: &mut [O],
    f: &impl Fn(u64) -> O,
) -> Option<usize> {
    let mut tile = [W::default(); CHANNEL_TILE];
    let mut done = 0;
    for o in out[..scans].chunks_mut(CHANNEL_TILE) {
        let n = o.len();
        let src = &data[done * step..];
        let m = gather_step::<W>(step, src, &mut tile[..n])?;
        if m < n {
            tile[m] = W::load(&src[m * step..]);
        }
        finish_tile::<W, BE, MODE, SIGNED, O>(&tile[..n], fin, o, f);
        done += n;
    }
    Some(scans)
}

/// The fast path in windows of type `W` for a value of `n` bytes: places the window, works
/// out the finishing step and picks its monomorphized loops.
#[inline(always)]
fn fast_in<W: Word, O>(
    block: &[u8],
    step: usize,
    element: &ElementLayout,
    n: usize,
    out: &mut [O],
    f: &impl Fn(u64) -> O,
) -> Option<usize> {
    let fmt = &element.format;
    let (bits, shift, off) = (fmt.bits, fmt.shift, element.offset);
    // the format must be one the word's arithmetic handles like `DataFormat::extract_i64`
    if bits == 0 || bits > 8 * n as u32 || shift > 8 * n as u32 - bits || off + n > step {
        return None;
    }
    if step < W::BYTES || !fast_step(step) {
        return None;
    }
    let scans = (block.len() / step).min(out.len());
    if scans == 0 {
        return Some(0);
    }
    // The window ends where the value ends, so a field that reaches the top of its storage
    // (every plain format, `s12/16>>4`, `s24/32>>8`) reaches the top of the window and comes
    // down with one shift. A value too near the start of the scan takes its window from the
    // end of the scan before: the first scan is then read alone.
    let end = off + n;
    let (first, start) = if end >= W::BYTES {
        (0, end - W::BYTES)
    } else {
        (1, end + step - W::BYTES)
    };
    if first == 1 {
        out[0] = f(Extract::new(fmt).get(&block[off..]));
        if scans == 1 {
            return Some(1);
        }
    }
    let at = 8 * (W::BYTES - n) as u32;
    let shift = if fmt.is_be { shift } else { shift + at };
    let fin = Finish {
        n,
        at,
        shift,
        lead: W::BITS - shift - bits,
        pad: W::BITS - bits,
        mask: W::mask(bits),
    };
    let (data, out, rest) = (&block[start..], &mut out[first..], scans - first);
    let mode = match (fin.lead, fin.pad) {
        (0, 0) => PLAIN,
        (0, _) => TOP,
        _ => FIELD,
    };
    macro_rules! pick {
        ($(($mode:ident, $signed:literal))*) => {
            match (fmt.is_be, mode, fmt.is_signed) {
                $(
                (false, $mode, $signed) => {
                    fused_step::<W, $mode, $signed, O>(step, data, rest, &fin, out, f)
                }
                (true, $mode, $signed) => {
                    tiles::<W, true, $mode, $signed, O>(data, step, rest, &fin, out, f)
                }
                )*
                _ => unreachable!("every mode is listed"),
            }
        };
    }
    let done = pick!((PLAIN, true)(PLAIN, false)(TOP, true)(TOP, false)(
        FIELD, true
    )(FIELD, false))?;
    Some(first + done)
}

/// The per-channel fast path: a repeat-1 element of 8-, 16-, 24-, 32- or 64-bit storage in
/// scans of 2, 4, 6, 8, 12, 16, 24, 32, 48 or 64 bytes. Each scan's value is loaded as one
/// 32-bit window (64-bit for 64-bit storage, 16-bit in 2-byte scans) at a constant stride,
/// then shifted, masked or sign-extended in a separate contiguous pass. `None` when it does
/// not apply (the caller takes the general loops).
#[inline(always)]
fn fast<O>(
    block: &[u8],
    step: usize,
    element: &ElementLayout,
    out: &mut [O],
    f: &impl Fn(u64) -> O,
) -> Option<usize> {
    let fmt = &element.format;
    if fmt.repeat != 1 {
        return None;
    }
    match (fmt.length, step) {
        (8 | 16, 2) => fast_in::<u16, O>(block, step, element, fmt.value_bytes(), out, f),
        (8 | 16 | 24 | 32, _) => fast_in::<u32, O>(block, step, element, fmt.value_bytes(), out, f),
        (64, _) => fast_in::<u64, O>(block, step, element, 8, out, f),
        _ => None,
    }
}

/// Copies one channel's values out of `block` into `out` as `T`; returns how many were
/// written (at most `out.len()`, at most the values in the block). Scans of the common sizes
/// (2 to 64 bytes, see the module notes) take a loop specialised on the scan size; `T` wider
/// than the storage is widened after the load.
pub fn read_into<T: Sample>(
    block: &[u8],
    step: usize,
    element: &ElementLayout,
    out: &mut [T],
) -> Result<usize> {
    check_fits::<T>(&element.format)?;
    let f = T::from_u64;
    Ok(match fast(block, step, element, out, &f) {
        Some(n) => n,
        None => dispatch(block, step, element, out, f),
    })
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
        let f = move |v: u64| (v as i64 as f64 + offset) * scale;
        fast(block, step, element, out, &f)
            .unwrap_or_else(|| dispatch(block, step, element, out, f))
    } else {
        let f = move |v: u64| (v as f64 + offset) * scale;
        fast(block, step, element, out, &f)
            .unwrap_or_else(|| dispatch(block, step, element, out, f))
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

// ---------------------------------------------------------------------------------------
// Whole-block demux: every enabled element in one pass, each to its storage-width host type.
// ---------------------------------------------------------------------------------------

/// The host integer type a format's values take in a whole-block demux ([`demux_into`]):
/// the storage width (24-bit storage widens to 32 bits), signed for signed formats — what
/// libiio's `iio_channel_convert` writes for a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleKind {
    /// `i8`: signed, 8-bit storage.
    I8,
    /// `u8`: unsigned, 8-bit storage.
    U8,
    /// `i16`: signed, 16-bit storage.
    I16,
    /// `u16`: unsigned, 16-bit storage.
    U16,
    /// `i32`: signed, 24- or 32-bit storage.
    I32,
    /// `u32`: unsigned, 24- or 32-bit storage.
    U32,
    /// `i64`: signed, 64-bit storage.
    I64,
    /// `u64`: unsigned, 64-bit storage.
    U64,
}

impl SampleKind {
    /// The kind a format demuxes to.
    pub fn of(format: &DataFormat) -> SampleKind {
        use SampleKind::*;
        match (format.value_bytes(), format.is_signed) {
            (0 | 1, true) => I8,
            (0 | 1, false) => U8,
            (2, true) => I16,
            (2, false) => U16,
            (3 | 4, true) => I32,
            (3 | 4, false) => U32,
            (_, true) => I64,
            (_, false) => U64,
        }
    }

    fn of_width(bytes: usize, signed: bool) -> SampleKind {
        SampleKind::of(&DataFormat {
            length: 8 * bytes as u32,
            bits: 8 * bytes as u32,
            shift: 0,
            is_signed: signed,
            is_fully_defined: true,
            is_be: false,
            repeat: 1,
        })
    }

    /// Bytes of one value of this kind.
    pub fn bytes(self) -> usize {
        use SampleKind::*;
        match self {
            I8 | U8 => 1,
            I16 | U16 => 2,
            I32 | U32 => 4,
            I64 | U64 => 8,
        }
    }
}

/// One element's output slice for [`demux_into`], typed by its [`SampleKind`].
#[derive(Debug)]
pub enum SamplesMut<'a> {
    /// Values of an [`SampleKind::I8`] element.
    I8(&'a mut [i8]),
    /// Values of an [`SampleKind::U8`] element.
    U8(&'a mut [u8]),
    /// Values of an [`SampleKind::I16`] element.
    I16(&'a mut [i16]),
    /// Values of an [`SampleKind::U16`] element.
    U16(&'a mut [u16]),
    /// Values of an [`SampleKind::I32`] element.
    I32(&'a mut [i32]),
    /// Values of an [`SampleKind::U32`] element.
    U32(&'a mut [u32]),
    /// Values of an [`SampleKind::I64`] element.
    I64(&'a mut [i64]),
    /// Values of an [`SampleKind::U64`] element.
    U64(&'a mut [u64]),
}

/// One element's values from [`demux_into`], owned: allocate once with
/// [`Samples::for_element`] and demux block after block into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    /// Values of an [`SampleKind::I8`] element.
    I8(Vec<i8>),
    /// Values of an [`SampleKind::U8`] element.
    U8(Vec<u8>),
    /// Values of an [`SampleKind::I16`] element.
    I16(Vec<i16>),
    /// Values of an [`SampleKind::U16`] element.
    U16(Vec<u16>),
    /// Values of an [`SampleKind::I32`] element.
    I32(Vec<i32>),
    /// Values of an [`SampleKind::U32`] element.
    U32(Vec<u32>),
    /// Values of an [`SampleKind::I64`] element.
    I64(Vec<i64>),
    /// Values of an [`SampleKind::U64`] element.
    U64(Vec<u64>),
}

macro_rules! samples_common {
    ($($v:ident: $t:ty),*) => {
        impl SamplesMut<'_> {
            /// The kind of values the slice holds.
            pub fn kind(&self) -> SampleKind {
                match self { $(SamplesMut::$v(_) => SampleKind::$v,)* }
            }

            /// Number of values the slice holds.
            pub fn len(&self) -> usize {
                match self { $(SamplesMut::$v(s) => s.len(),)* }
            }

            /// Whether the slice is empty.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
        }

        $(
        impl<'a> From<&'a mut [$t]> for SamplesMut<'a> {
            fn from(s: &'a mut [$t]) -> Self {
                SamplesMut::$v(s)
            }
        }
        )*

        impl Samples {
            /// `len` zeroed values of `kind`.
            pub fn new(kind: SampleKind, len: usize) -> Samples {
                match kind { $(SampleKind::$v => Samples::$v(vec![0; len]),)* }
            }

            /// The kind of values held.
            pub fn kind(&self) -> SampleKind {
                match self { $(Samples::$v(_) => SampleKind::$v,)* }
            }

            /// Number of values held.
            pub fn len(&self) -> usize {
                match self { $(Samples::$v(v) => v.len(),)* }
            }

            /// Whether no value is held.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Value `i` as `i64` (a `u64` above `i64::MAX` keeps its bit pattern).
            pub fn get_i64(&self, i: usize) -> Option<i64> {
                match self { $(Samples::$v(v) => v.get(i).map(|&x| x as i64),)* }
            }

            /// A borrowed view to demux into.
            pub fn as_samples_mut(&mut self) -> SamplesMut<'_> {
                match self { $(Samples::$v(v) => SamplesMut::$v(v),)* }
            }
        }
    };
}
samples_common!(I8: i8, U8: u8, I16: i16, U16: u16, I32: i32, U32: u32, I64: i64, U64: u64);

impl Samples {
    /// Room for `scans` scans of `element` (`REPEAT` values per scan), of its kind.
    pub fn for_element(element: &ElementLayout, scans: usize) -> Samples {
        let f = &element.format;
        Samples::new(SampleKind::of(f), scans * f.repeat.max(1) as usize)
    }
}

/// What [`demux_into`] writes into: a [`SamplesMut`] view, or an owned [`Samples`].
pub trait DemuxOutput {
    /// The output as a typed slice.
    fn samples_mut(&mut self) -> SamplesMut<'_>;
}

impl DemuxOutput for SamplesMut<'_> {
    fn samples_mut(&mut self) -> SamplesMut<'_> {
        match self {
            SamplesMut::I8(s) => SamplesMut::I8(s),
            SamplesMut::U8(s) => SamplesMut::U8(s),
            SamplesMut::I16(s) => SamplesMut::I16(s),
            SamplesMut::U16(s) => SamplesMut::U16(s),
            SamplesMut::I32(s) => SamplesMut::I32(s),
            SamplesMut::U32(s) => SamplesMut::U32(s),
            SamplesMut::I64(s) => SamplesMut::I64(s),
            SamplesMut::U64(s) => SamplesMut::U64(s),
        }
    }
}

impl DemuxOutput for Samples {
    fn samples_mut(&mut self) -> SamplesMut<'_> {
        self.as_samples_mut()
    }
}

/// Scans per tile of the transposes that go through scratch columns (at most 64 × 64 bytes,
/// in L1 next to the columns).
const TILE: usize = 64;

/// Bytes of block per span of the whole-block demux (a whole number of [`TILE`]s, at least
/// four): every element is taken out of a span while it is in L1, and a span is long enough
/// for the direct transposes' vector loops to pay their setup once per several hundred scans.
const SPAN_BYTES: usize = 24 << 10;

/// Largest block transposed straight into the outputs; larger ones go through scratch tiles.
/// Measured on a Zen 5 (8 × s16 scans): straight 25-27 GiB/s from L2 against 14 through
/// scratch, but from memory 5.5-8 GiB/s against 7.5-9.8.
const DIRECT_MAX_BYTES: usize = 1 << 20;

/// A storage word the transposing kernels move: `u8`, `u16` or `u32`.
trait Raw: Copy + Default + Send + 'static + Out<Self> {
    /// The signed type of the same width.
    type Signed: Out<Self>;
    /// Bytes of the word.
    const N: usize;
    /// Most words per scan the kernels are built for.
    const MAX_W: usize;
    /// The little-endian word at the start of `b` (`b.len() == N`).
    fn load_le(b: &[u8]) -> Self;
    /// Shift, mask and sign extension in the word's own width.
    fn finish(self, f: &Fin) -> Self;
    /// [`Raw::finish`] for a signed format (no mask).
    fn finish_signed(self, f: &Fin) -> Self;
    /// Zero-extended.
    fn widen(self) -> u64;
    /// This word type's columns in the scratch space.
    fn columns(s: &mut Scratch) -> &mut [[Self; TILE]];
    /// Spare columns for the words no element takes.
    fn sink(s: &mut Scratch) -> &mut [[Self; TILE]; 16];
    /// Spare columns of the signed type.
    fn sink_signed(s: &mut Scratch) -> &mut [[Self::Signed; TILE]; 16];
}

/// The finishing step of one word in its own width: `((w << lead) as signed >> pad) & mask`
/// puts the field's top bit at the word's top, brings it down sign-extended, and for
/// unsigned formats masks the extension off.
#[derive(Debug, Clone, Copy)]
struct Fin {
    lead: u32,
    pad: u32,
    mask: u64,
}

impl Fin {
    const IDENTITY: Fin = Fin {
        lead: 0,
        pad: 0,
        mask: u64::MAX,
    };

    /// The step for `format` stored in `n` bytes; `None` unless `0 < bits` and
    /// `shift + bits <= 8n`.
    fn of(format: &DataFormat, n: usize) -> Option<Fin> {
        let width = 8 * n as u32;
        let (bits, shift) = (format.bits, format.shift);
        if bits == 0 || bits > width || shift > width - bits {
            return None;
        }
        let pad = width - bits;
        Some(Fin {
            lead: width - shift - bits,
            pad,
            mask: if format.is_signed || pad == 0 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            },
        })
    }

    fn is_identity(&self) -> bool {
        self.lead == 0 && self.pad == 0
    }
}

/// Per-call scratch columns of the transposing kernels (zeroed once per call).
struct Scratch {
    b: [[u8; TILE]; 16],
    h: [[u16; TILE]; 16],
    w: [[u32; TILE]; 16],
    sb: [[i8; TILE]; 16],
    sh: [[i16; TILE]; 16],
    sw: [[i32; TILE]; 16],
}

macro_rules! raw {
    ($($u:ty, $s:ty, $max:expr, $field:ident, $sfield:ident);*) => {$(
        impl Raw for $u {
            type Signed = $s;
            const N: usize = std::mem::size_of::<$u>();
            const MAX_W: usize = $max;
            #[inline(always)]
            fn load_le(b: &[u8]) -> Self {
                <$u>::from_le_bytes(b.try_into().expect("one word"))
            }
            #[inline(always)]
            fn finish(self, f: &Fin) -> Self {
                ((((self << f.lead) as $s) >> f.pad) as $u) & (f.mask as $u)
            }
            #[inline(always)]
            fn finish_signed(self, f: &Fin) -> Self {
                (((self << f.lead) as $s) >> f.pad) as $u
            }
            #[inline(always)]
            fn widen(self) -> u64 {
                u64::from(self)
            }
            fn columns(s: &mut Scratch) -> &mut [[Self; TILE]] {
                &mut s.$field
            }
            fn sink(s: &mut Scratch) -> &mut [[Self; TILE]; 16] {
                &mut s.$field
            }
            fn sink_signed(s: &mut Scratch) -> &mut [[$s; TILE]; 16] {
                &mut s.$sfield
            }
        }
    )*};
}
raw!(u8, i8, 16, b, sb; u16, i16, 16, h, sh; u32, i32, 8, w, sw);

/// Transposes the (at most [`TILE`]) whole scans of `tile`, `W` words each, into columns,
/// finishing every word. A constant stride and an unrolled word loop: the loop vectorizer
/// turns it into wide loads and shuffles.
#[inline(never)]
fn transpose<R: Raw, const W: usize, const PLAIN: bool>(
    tile: &[u8],
    fins: &[Fin; W],
    cols: &mut [[R; TILE]; W],
) {
    for (i, s) in tile.chunks_exact(W * R::N).take(TILE).enumerate() {
        for w in 0..W {
            let v = R::load_le(&s[w * R::N..(w + 1) * R::N]);
            cols[w][i] = if PLAIN { v } else { v.finish(&fins[w]) };
        }
    }
}

/// An output type of a transposed group of `R` words (same width, either signedness).
trait Out<R>: Copy + Default + 'static {
    /// Whether the type is signed (a finished signed word needs no mask).
    const SIGNED: bool;
    /// The word as this type.
    fn from_raw(r: R) -> Self;
    /// The slice inside `s`, when it holds this type.
    fn slice(s: SamplesMut<'_>) -> Option<&mut [Self]>;
}

macro_rules! out {
    ($($r:ty => $t:ty, $v:ident);*) => {$(
        impl Out<$r> for $t {
            const SIGNED: bool = <$t>::MIN != 0;
            #[inline(always)]
            fn from_raw(r: $r) -> Self {
                r as $t
            }
            fn slice(s: SamplesMut<'_>) -> Option<&mut [Self]> {
                match s {
                    SamplesMut::$v(o) => Some(o),
                    _ => None,
                }
            }
        }
    )*};
}
out!(u8 => u8, U8; u8 => i8, I8; u16 => u16, U16; u16 => i16, I16; u32 => u32, U32; u32 => i32, I32);

/// Transposes the whole scans of `span` straight into the members' outputs (`outs[w]` is
/// word `w`'s destination, as long as the scans taken; words of no member go to scratch).
/// Called on spans of hundreds of scans: the vector loop's one-off alias checks are paid once
/// per span, not once per 64 scans.
#[inline(never)]
fn transpose_into<R: Raw, T: Out<R>, const W: usize, const PLAIN: bool>(
    span: &[u8],
    fins: &[Fin; W],
    outs: &mut [&mut [T]; W],
) {
    let n = outs.iter().map(|o| o.len()).min().unwrap_or(0);
    for (i, s) in span.chunks_exact(W * R::N).take(n).enumerate() {
        for w in 0..W {
            let v = R::load_le(&s[w * R::N..(w + 1) * R::N]);
            outs[w][i] = T::from_raw(if PLAIN { v } else { v.finish(&fins[w]) });
        }
    }
}

/// Transposes the whole scans of `span` (`W` words each) straight into the outputs of a run
/// of `M` consecutive member words starting at word `first` (`outs[k]` takes word
/// `first + k`), finishing every word; the other words of the scan are not touched. The loop
/// vectorizer loads the run as an interleaved group with gaps, so no spare column is written
/// and a timestamp after the run costs nothing here (the per-element loops take it).
#[inline(never)]
fn transpose_run<R: Raw, T: Out<R>, const W: usize, const M: usize>(
    span: &[u8],
    first: usize,
    fins: &[Fin; M],
    outs: &mut [&mut [T]; M],
) {
    let n = outs.iter().map(|o| o.len()).min().unwrap_or(0);
    let n = n.min(span.len() / (W * R::N));
    #[inline(always)]
    fn one<R: Raw, T: Out<R>, const M: usize>(s: &[u8], fins: &[Fin; M], w: usize) -> T {
        let v = R::load_le(&s[w * R::N..(w + 1) * R::N]);
        T::from_raw(if T::SIGNED {
            v.finish_signed(&fins[w])
        } else {
            v.finish(&fins[w])
        })
    }
    // Starting at the run, whole chunks hold every scan but the last when `first > 0`; the
    // remainder (the last scan's words from `first` on) holds the run of that one.
    let mut chunks = span[first * R::N..].chunks_exact(W * R::N);
    let mut i = 0;
    for s in chunks.by_ref().take(n) {
        for (w, o) in outs.iter_mut().enumerate() {
            o[i] = one::<R, T, M>(s, fins, w);
        }
        i += 1;
    }
    let s = chunks.remainder();
    if i < n && s.len() >= M * R::N {
        for (w, o) in outs.iter_mut().enumerate() {
            o[i] = one::<R, T, M>(s, fins, w);
        }
    }
}

/// A span of a group whose members are a run of consecutive words (`g.run`) and all take
/// `T`, transposed straight into the outputs by [`transpose_run`]. `false` when the members'
/// outputs are not all `T` (nothing is written then).
#[inline(always)]
fn group_span_run<R: Raw, T: Out<R>, const W: usize, const M: usize, O: DemuxOutput>(
    g: &Group,
    span: &[u8],
    at: usize,
    outputs: &mut [O],
) -> bool {
    let first = g.run.expect("a run group");
    let n = span.len() / (W * R::N);
    let fins: [Fin; M] = std::array::from_fn(|k| g.fins[first + k]);
    let mut slots: [Option<&mut [T]>; M] = std::array::from_fn(|_| None);
    for (j, o) in outputs.iter_mut().enumerate() {
        let Some(&(w, _)) = g.members.iter().find(|&&(_, m)| m == j) else {
            continue;
        };
        let Some(s) = T::slice(o.samples_mut()) else {
            return false;
        };
        slots[w - first] = Some(&mut s[at..at + n]);
    }
    let mut outs: [&mut [T]; M] = slots.map(|s| s.expect("every word of the run is a member"));
    transpose_run::<R, T, W, M>(span, first, &fins, &mut outs);
    true
}

/// A span of a group whose members all take `T`, transposed straight into the outputs (no
/// copy). With every word a member the whole span goes in one call; otherwise tile by tile,
/// the other words into `sink`. `false` when the members' outputs are not all `T` (nothing
/// is written then).
#[inline(always)]
fn group_span_direct<R: Raw, T: Out<R>, const W: usize, const PLAIN: bool, O: DemuxOutput>(
    g: &Group,
    span: &[u8],
    at: usize,
    fins: &[Fin; W],
    sink: &mut [[T; TILE]; 16],
    outputs: &mut [O],
) -> bool {
    let n = span.len() / (W * R::N);
    let mut slots: [Option<&mut [T]>; W] = std::array::from_fn(|_| None);
    for (j, o) in outputs.iter_mut().enumerate() {
        let Some(&(w, _)) = g.members.iter().find(|&&(_, m)| m == j) else {
            continue;
        };
        let Some(s) = T::slice(o.samples_mut()) else {
            return false;
        };
        slots[w] = Some(&mut s[at..at + n]);
    }
    if g.members.len() == W {
        let mut outs: [&mut [T]; W] = slots.map(|s| s.expect("every word is a member"));
        transpose_into::<R, T, W, PLAIN>(span, fins, &mut outs);
        return true;
    }
    for (k, tile) in span.chunks(TILE * W * R::N).enumerate() {
        let m = tile.len() / (W * R::N);
        let mut spare = sink.iter_mut();
        let mut slot = slots.iter_mut();
        let mut outs: [&mut [T]; W] = std::array::from_fn(|_| match slot.next() {
            Some(Some(s)) => &mut s[k * TILE..k * TILE + m],
            _ => &mut spare.next().expect("16 spare columns")[..m],
        });
        transpose_into::<R, T, W, PLAIN>(tile, fins, &mut outs);
    }
    true
}

/// Stores `col` at `at` in `out` (same width: the cast only reinterprets the sign).
#[inline(always)]
fn store<R: Raw>(out: SamplesMut<'_>, at: usize, col: &[R]) {
    macro_rules! put {
        ($o:expr, $t:ty) => {
            for (d, s) in $o[at..at + col.len()].iter_mut().zip(col) {
                *d = s.widen() as $t;
            }
        };
    }
    match out {
        SamplesMut::I8(o) => put!(o, i8),
        SamplesMut::U8(o) => put!(o, u8),
        SamplesMut::I16(o) => put!(o, i16),
        SamplesMut::U16(o) => put!(o, u16),
        SamplesMut::I32(o) => put!(o, i32),
        SamplesMut::U32(o) => put!(o, u32),
        SamplesMut::I64(o) => put!(o, i64),
        SamplesMut::U64(o) => put!(o, u64),
    }
}

/// A group of elements taken out together: all words of one width, little-endian, repeat 1,
/// aligned, the scan a whole number (`words`) of them.
struct Group {
    n: usize,
    words: usize,
    plain: bool,
    /// The members' common output kind, if they share one.
    kind: Option<SampleKind>,
    /// `(word index in the scan, element index)`.
    members: Vec<(usize, usize)>,
    /// The first word, when the members are a run of consecutive words short of the whole
    /// scan (channels before a timestamp or padding): [`transpose_run`] takes them.
    run: Option<usize>,
    fins: Vec<Fin>,
}

/// One span of one group: straight into the outputs when `direct` and they all take the
/// group's width, else tile by tile: transpose into scratch, then copy each member's column
/// out ([`TILE`] values, two or more whole cache lines, per output at a time).
#[inline(always)]
fn group_span<R: Raw, const W: usize, const PLAIN: bool, O: DemuxOutput>(
    g: &Group,
    span: &[u8],
    at: usize,
    scratch: &mut Scratch,
    outputs: &mut [O],
    direct: bool,
) {
    let fins: [Fin; W] = std::array::from_fn(|w| g.fins[w]);
    let done = direct
        && match g.kind {
            Some(k) if k == SampleKind::of_width(R::N, true) => {
                group_span_direct::<R, R::Signed, W, PLAIN, O>(
                    g,
                    span,
                    at,
                    &fins,
                    R::sink_signed(scratch),
                    outputs,
                )
            }
            Some(_) => group_span_direct::<R, R, W, PLAIN, O>(
                g,
                span,
                at,
                &fins,
                R::sink(scratch),
                outputs,
            ),
            None => false,
        };
    if done {
        return;
    }
    for (k, tile) in span.chunks(TILE * W * R::N).enumerate() {
        let n = tile.len() / (W * R::N);
        let cols: &mut [[R; TILE]; W] = (&mut R::columns(scratch)[..W])
            .try_into()
            .expect("W columns");
        transpose::<R, W, PLAIN>(tile, &fins, cols);
        for &(w, j) in &g.members {
            store(outputs[j].samples_mut(), at + k * TILE, &cols[w][..n]);
        }
    }
}

/// The `(words per scan, words in the run)` pairs [`transpose_run`] is built for: 16- and
/// 32-bit words, up to eight per scan, the run at least half of them.
macro_rules! run_pairs {
    ($m:ident!($($args:tt)*)) => {
        $m!($($args)*; (2, 1) (3, 2) (4, 2) (4, 3) (5, 3) (5, 4) (6, 3) (6, 4) (6, 5) (7, 4)
            (7, 5) (7, 6) (8, 4) (8, 5) (8, 6) (8, 7))
    };
}

/// Whether [`transpose_run`] is built for a run of `m` of the `words` `n`-byte words of a scan.
fn run_kernel(n: usize, words: usize, m: usize) -> bool {
    macro_rules! has {
        (; $(($w:literal, $m:literal))*) => {
            matches!((words, m), $(($w, $m))|*)
        };
    }
    (n == 2 || n == 4) && run_pairs!(has!())
}

/// One span of a run group ([`Group::run`]) straight into its outputs, by the kernel built
/// for its word and run counts. `false` when the outputs are not all of the group's kind.
fn run_dispatch<R: Raw, O: DemuxOutput>(
    g: &Group,
    span: &[u8],
    at: usize,
    outputs: &mut [O],
) -> bool {
    let signed = g.kind == Some(SampleKind::of_width(R::N, true));
    macro_rules! by_pair {
        (; $(($w:literal, $m:literal))*) => {
            match (g.words, g.members.len(), signed) {
                $(
                ($w, $m, true) => group_span_run::<R, R::Signed, $w, $m, O>(g, span, at, outputs),
                ($w, $m, false) => group_span_run::<R, R, $w, $m, O>(g, span, at, outputs),
                )*
                _ => false,
            }
        };
    }
    run_pairs!(by_pair!())
}

/// Picks the monomorphized kernel for a group's word count.
fn group_dispatch<R: Raw, O: DemuxOutput>(
    g: &Group,
    span: &[u8],
    at: usize,
    scratch: &mut Scratch,
    outputs: &mut [O],
    direct: bool,
) {
    macro_rules! by_words {
        ($($w:literal)*) => {
            match (g.words, g.plain) {
                $(
                ($w, true) => group_span::<R, $w, true, O>(g, span, at, scratch, outputs, direct),
                ($w, false) => group_span::<R, $w, false, O>(g, span, at, scratch, outputs, direct),
                )*
                _ => unreachable!("group sizes are checked when planning"),
            }
        };
    }
    if R::MAX_W == 8 {
        by_words!(1 2 3 4 5 6 7 8)
    } else {
        by_words!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
    }
}

/// One element taken out of a tile by the per-element loops (`dispatch`).
#[inline(always)]
fn element_tile(tile: &[u8], step: usize, e: &ElementLayout, at: usize, out: SamplesMut<'_>) {
    let at = at * e.format.repeat.max(1) as usize;
    match out {
        SamplesMut::I8(o) => dispatch(tile, step, e, &mut o[at..], |v| v as i8),
        SamplesMut::U8(o) => dispatch(tile, step, e, &mut o[at..], |v| v as u8),
        SamplesMut::I16(o) => dispatch(tile, step, e, &mut o[at..], |v| v as i16),
        SamplesMut::U16(o) => dispatch(tile, step, e, &mut o[at..], |v| v as u16),
        SamplesMut::I32(o) => dispatch(tile, step, e, &mut o[at..], |v| v as i32),
        SamplesMut::U32(o) => dispatch(tile, step, e, &mut o[at..], |v| v as u32),
        SamplesMut::I64(o) => dispatch(tile, step, e, &mut o[at..], |v| v as i64),
        SamplesMut::U64(o) => dispatch(tile, step, e, &mut o[at..], |v| v),
    };
}

/// Splits the elements into transposed groups (by word width) and the rest. A group is
/// worth its transpose when its members cover at least half of the scan's words.
fn plan(step: usize, elements: &[ElementLayout]) -> (Vec<Group>, Vec<usize>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut rest = Vec::new();
    for (j, e) in elements.iter().enumerate() {
        let f = &e.format;
        let n = f.value_bytes();
        let max_w = match n {
            1 | 2 => 16,
            4 => 8,
            _ => 0,
        };
        let fin = Fin::of(f, n);
        let fits = max_w > 0
            && !f.is_be
            && f.repeat == 1
            && step % n == 0
            && e.offset % n == 0
            && e.offset + n <= step
            && step / n <= max_w;
        match fin {
            Some(fin) if fits => {
                let g = match groups.iter_mut().position(|g| g.n == n) {
                    Some(i) => &mut groups[i],
                    None => {
                        groups.push(Group {
                            n,
                            words: step / n,
                            plain: true,
                            kind: Some(SampleKind::of(f)),
                            members: Vec::new(),
                            run: None,
                            fins: vec![Fin::IDENTITY; step / n],
                        });
                        groups.last_mut().expect("just pushed")
                    }
                };
                let w = e.offset / n;
                // Two elements on one word (shared scan index) need two finishes: the
                // second one goes through the per-element loops.
                if g.members.iter().any(|&(mw, _)| mw == w) {
                    rest.push(j);
                    continue;
                }
                g.plain &= fin.is_identity();
                if g.kind != Some(SampleKind::of(f)) {
                    g.kind = None;
                }
                g.fins[w] = fin;
                g.members.push((w, j));
            }
            _ => rest.push(j),
        }
    }
    groups.retain(|g| {
        let worth = 2 * g.members.len() >= g.words;
        if !worth {
            rest.extend(g.members.iter().map(|&(_, j)| j));
        }
        worth
    });
    for g in &mut groups {
        let m = g.members.len();
        let first = g.members.iter().map(|&(w, _)| w).min().unwrap_or(0);
        // members sit on distinct words, so `m` of them within `m` words are a run
        let last = g.members.iter().map(|&(w, _)| w).max().unwrap_or(0);
        if g.kind.is_some() && m < g.words && last + 1 - first == m && run_kernel(g.n, g.words, m) {
            g.run = Some(first);
        }
    }
    rest.sort_unstable();
    (groups, rest)
}

/// Demultiplexes a whole block at once: every element of `elements` (scans of `step` bytes)
/// into its output, converted from its storage format (byte order, shift, mask, sign
/// extension) to the host integer of its storage width ([`SampleKind::of`]), as libiio's
/// `iio_channel_convert` does. `outputs[i]` receives `elements[i]`'s values (`REPEAT` per
/// scan for repeat elements); elements may come in any order. Returns the scans demuxed:
/// those of the block, or fewer if an output is shorter.
///
/// The block is read once, in spans that stay in L1: elements of one storage width that
/// cover most of a little-endian scan are transposed together by loops monomorphized on
/// the word width and count (which the compiler vectorizes; a run of consecutive 16- or
/// 32-bit words before a timestamp or padding by loops that leave the other words alone and
/// write no spare column); the others (big-endian, repeat, 24- or 64-bit storage, sparse)
/// go through the general per-element loops, tile by tile. Fails when the counts differ or an
/// output is not of its element's kind.
pub fn demux_into<O: DemuxOutput>(
    block: &[u8],
    step: usize,
    elements: &[ElementLayout],
    outputs: &mut [O],
) -> Result<usize> {
    if elements.len() != outputs.len() {
        return Err(Error::InvalidValue {
            what: "demux outputs".into(),
            reason: format!("{} elements but {} outputs", elements.len(), outputs.len()),
        });
    }
    if step == 0 {
        return Ok(0);
    }
    let mut scans = block.len() / step;
    for (e, o) in elements.iter().zip(outputs.iter_mut()) {
        let o = o.samples_mut();
        let want = SampleKind::of(&e.format);
        if o.kind() != want || e.offset + e.format.sample_bytes() > step {
            return Err(Error::InvalidValue {
                what: format!("demux output of {} at offset {}", e.format, e.offset),
                reason: if o.kind() != want {
                    format!("it takes {want:?} values, not {:?}", o.kind())
                } else {
                    format!("the element does not fit a {step}-byte scan")
                },
            });
        }
        scans = scans.min(o.len() / e.format.repeat.max(1) as usize);
    }
    let (groups, rest) = plan(step, elements);
    let mut scratch = Scratch {
        b: [[0; TILE]; 16],
        h: [[0; TILE]; 16],
        w: [[0; TILE]; 16],
        sb: [[0; TILE]; 16],
        sh: [[0; TILE]; 16],
        sw: [[0; TILE]; 16],
    };
    let data = &block[..scans * step];
    let span = (SPAN_BYTES / step).max(4 * TILE) / TILE * TILE;
    // Large blocks stream from and to memory: there short bursts of whole cache lines per
    // output (through scratch) beat many outputs written a few bytes at a time.
    let direct = data.len() <= DIRECT_MAX_BYTES;
    for (t, chunk) in data.chunks(span * step).enumerate() {
        let at = t * span;
        for g in &groups {
            let done = g.run.is_some()
                && match g.n {
                    2 => run_dispatch::<u16, O>(g, chunk, at, outputs),
                    4 => run_dispatch::<u32, O>(g, chunk, at, outputs),
                    _ => false,
                };
            if done {
                continue;
            }
            match g.n {
                1 => group_dispatch::<u8, O>(g, chunk, at, &mut scratch, outputs, direct),
                2 => group_dispatch::<u16, O>(g, chunk, at, &mut scratch, outputs, direct),
                _ => group_dispatch::<u32, O>(g, chunk, at, &mut scratch, outputs, direct),
            }
        }
        for &j in &rest {
            element_tile(chunk, step, &elements[j], at, outputs[j].samples_mut());
        }
    }
    Ok(scans)
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

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// The per-channel fast path against `DataFormat::extract_i64`: every scan size it is
    /// built for (and sizes it is not), every storage width, both byte orders, signed and
    /// unsigned, plain and shifted fields, elements at the start, middle and end of the
    /// scan, odd scan counts across tiles, outputs as wide as the storage and wider.
    #[test]
    fn read_into_fast_path_agrees_with_the_reference() {
        let formats = [
            "le:s8/8>>0",
            "le:u8/8>>0",
            "be:s5/8>>2",
            "le:u7/8>>1",
            "le:s16/16>>0",
            "le:u16/16>>0",
            "be:s16/16>>0",
            "be:u16/16>>0",
            "le:s12/16>>4",
            "be:u10/16>>2",
            "le:u1/16>>15",
            "le:s24/24>>0",
            "le:u24/24>>0",
            "be:s24/24>>0",
            "be:u24/24>>0",
            "le:s18/24>>3",
            "be:u20/24>>4",
            "le:s32/32>>0",
            "le:u32/32>>0",
            "be:s32/32>>0",
            "be:u32/32>>0",
            "le:s24/32>>8",
            "be:s20/32>>4",
            "le:u17/32>>3",
            "le:s64/64>>0",
            "le:u64/64>>0",
            "be:s64/64>>0",
            "be:u48/64>>16",
            "le:s40/64>>7",
        ];
        fn check<T: Sample + Into<i128>>(block: &[u8], step: usize, e: &ElementLayout) {
            let f = &e.format;
            if !fits::<T>(f) {
                return;
            }
            let scans = block.len() / step;
            let want: Vec<i128> = (0..scans)
                .map(|s| {
                    let v = f.extract_i64(&block[s * step + e.offset..]);
                    if f.is_signed {
                        i128::from(v)
                    } else {
                        i128::from(v as u64)
                    }
                })
                .collect();
            for len in [scans + 2, scans, scans.saturating_sub(1)] {
                let mut out = vec![T::default(); len];
                let n = read_into(block, step, e, &mut out).unwrap();
                assert_eq!(n, len.min(scans), "{f} at {} step {step}", e.offset);
                let got: Vec<i128> = out[..n].iter().map(|&v| v.into()).collect();
                assert_eq!(got, want[..n], "{f} at {} step {step} into {len}", e.offset);
            }
            let mut conv = vec![0f64; scans];
            assert_eq!(convert_into(block, step, e, 0.25, -3.0, &mut conv), scans);
            let want: Vec<f64> = want.iter().map(|&r| (r as f64 - 3.0) * 0.25).collect();
            assert_eq!(conv, want, "convert {f} at {} step {step}", e.offset);
        }
        for step in [1usize, 2, 3, 4, 6, 8, 10, 12, 16, 24, 32, 48, 64, 72] {
            for fmt in formats {
                let f = DataFormat::parse(fmt).unwrap();
                let n = f.value_bytes();
                if n > step {
                    continue;
                }
                let mut offsets = vec![0, step - n, (step - n) / 2];
                offsets.dedup();
                for offset in offsets {
                    let e = el(fmt, offset);
                    for scans in [0usize, 1, 2, 7, CHANNEL_TILE - 1, CHANNEL_TILE + 3] {
                        // a partial scan after the whole ones is ignored
                        let block = noise(scans * step + step / 2, (scans + step) as u64);
                        check::<i8>(&block, step, &e);
                        check::<u8>(&block, step, &e);
                        check::<i16>(&block, step, &e);
                        check::<u16>(&block, step, &e);
                        check::<i32>(&block, step, &e);
                        check::<u32>(&block, step, &e);
                        check::<i64>(&block, step, &e);
                        check::<u64>(&block, step, &e);
                    }
                }
            }
        }
    }

    /// Runs `demux_into` over `els` (given in the order of `order`) and checks every value
    /// against `DataFormat::extract_i64`.
    fn check_demux(els: &[ElementLayout], step: usize, scans: usize, order: &[usize]) {
        let block = noise(scans * step + step / 2, (scans * 31 + step) as u64);
        let els: Vec<ElementLayout> = order.iter().map(|&i| els[i]).collect();
        let mut outs: Vec<Samples> = els.iter().map(|e| Samples::for_element(e, scans)).collect();
        assert_eq!(demux_into(&block, step, &els, &mut outs).unwrap(), scans);
        for (e, o) in els.iter().zip(&outs) {
            let f = &e.format;
            assert_eq!(o.kind(), SampleKind::of(f));
            let vb = f.value_bytes();
            for s in 0..scans {
                for k in 0..f.repeat as usize {
                    let want = f.extract_i64(&block[s * step + e.offset + k * vb..]);
                    let got = o.get_i64(s * f.repeat as usize + k).unwrap();
                    assert_eq!(got, want, "{f} at {} step {step}, scan {s}", e.offset);
                }
            }
        }
    }

    const FORMATS: [&str; 24] = [
        "le:s8/8>>0",
        "le:u8/8>>0",
        "le:u7/8>>1",
        "be:s5/8>>2",
        "le:s16/16>>0",
        "le:u16/16>>0",
        "le:s12/16>>4",
        "le:u12/16>>0",
        "be:s12/16>>4",
        "be:u16/16>>0",
        "le:u1/16>>9",
        "le:s24/24>>0",
        "be:u24/24>>0",
        "le:s24/32>>8",
        "le:u24/32>>0",
        "le:s32/32>>0",
        "le:u32/32>>0",
        "be:s20/32>>4",
        "be:u32/32>>0",
        "le:s64/64>>0",
        "le:u64/64>>0",
        "be:u48/64>>16",
        "be:s64/64>>0",
        "le:s17/32>>3",
    ];

    /// `count` copies of each format packed scan after scan, across tile boundaries and odd
    /// scan counts, in forward and reversed order.
    #[test]
    fn demux_into_agrees_with_the_reference_for_every_format() {
        for fmt in FORMATS {
            let f = DataFormat::parse(fmt).unwrap();
            let n = f.sample_bytes();
            for count in [1usize, 2, 3, 5, 8, 16, 17] {
                let els: Vec<ElementLayout> = (0..count).map(|i| el(fmt, i * n)).collect();
                let fwd: Vec<usize> = (0..count).collect();
                let rev: Vec<usize> = (0..count).rev().collect();
                for scans in [0usize, 1, 7, 63, 64, 65, 200] {
                    check_demux(&els, count * n, scans, &fwd);
                    check_demux(&els, count * n, scans, &rev);
                }
            }
        }
    }

    /// Mixed layouts as the kernel builds them: timestamps, padding, repeat, shared words,
    /// sparse scans, elements in any order.
    #[test]
    fn demux_into_mixed_layouts() {
        let bench = [
            el("le:s24/32>>8", 0),
            el("le:s24/32>>8", 4),
            el("le:u24/32>>0", 8),
            el("le:s24/32>>8", 12),
            el("le:s64/64>>0", 16),
        ];
        let dummy = [
            el("le:u13/16>>0", 0),
            el("le:s12/16>>0", 2),
            el("le:s11/16>>0", 4),
            el("le:s16/16>>0", 6),
            el("le:s64/64>>0", 8),
        ];
        let shared = [
            el("le:u8/8>>0", 0),
            el("le:s16/16X4>>0", 8),
            el("le:u24/32>>8", 16),
            el("le:u1/16>>0", 20),
            el("le:u1/16>>1", 20),
            el("le:s64/64>>0", 24),
        ];
        let sparse = [el("le:s16/16>>0", 2), el("be:s16/16>>0", 12)];
        for scans in [1usize, 64, 129, 300] {
            check_demux(&bench, 24, scans, &[0, 1, 2, 3, 4]);
            check_demux(&bench, 24, scans, &[4, 2, 0, 3, 1]);
            check_demux(&dummy, 16, scans, &[3, 0, 4, 1, 2]);
            check_demux(&shared, 32, scans, &[5, 4, 3, 2, 1, 0]);
            check_demux(&shared, 32, scans, &[0, 1, 2, 3, 4, 5]);
            check_demux(&sparse, 16, scans, &[1, 0]);
            check_demux(&bench[..4], 24, scans, &[1, 3]);
        }
    }

    /// Blocks beyond `DIRECT_MAX_BYTES` take the scratch tiles instead of the straight
    /// transposes: both against the reference, spans and tiles ending mid-block.
    #[test]
    fn demux_into_large_blocks() {
        let s16: Vec<ElementLayout> = (0..8).map(|i| el("le:s16/16>>0", 2 * i)).collect();
        // a group of mixed kinds (always through scratch) with an unused word, and the
        // timestamp through the per-element loops
        let mut mixed: Vec<ElementLayout> = (0..5).map(|i| el("le:s16/16>>0", 2 * i)).collect();
        mixed.push(el("le:u12/16>>4", 10));
        mixed.push(el("le:s64/64>>0", 16));
        for scans in [DIRECT_MAX_BYTES / 16 - 1, DIRECT_MAX_BYTES / 16 + 67] {
            check_demux(&s16, 16, scans, &[7, 6, 5, 4, 3, 2, 1, 0]);
            // six of eight words: straight with spare columns below the limit
            check_demux(&s16[..6], 16, scans, &[0, 1, 2, 3, 4, 5]);
            check_demux(&mixed, 24, scans, &[6, 0, 2, 1, 5, 3, 4]);
        }
    }

    /// Runs of consecutive words short of the scan ([`transpose_run`]): 32-bit words with
    /// every shift 0..=8 (several widths, signed and unsigned) before a timestamp, runs that
    /// start past word 0, 16-bit runs, odd scan counts and blocks around the span and
    /// straight-transpose limits; all against the reference.
    #[test]
    fn demux_into_runs_before_a_timestamp() {
        let span = |step: usize| (SPAN_BYTES / step).max(4 * TILE) / TILE * TILE;
        for shift in 0..=8u32 {
            for bits in [32 - shift, 24.min(32 - shift), 17.min(32 - shift), 1] {
                for sign in ['s', 'u'] {
                    let fmt = format!("le:{sign}{bits}/32>>{shift}");
                    for m in 1..=7usize {
                        // m words, padding to 8 bytes, the timestamp
                        let ts_at = (4 * m).div_ceil(8) * 8;
                        let mut els: Vec<ElementLayout> = (0..m).map(|i| el(&fmt, 4 * i)).collect();
                        els.push(el("le:s64/64>>0", ts_at));
                        let step = ts_at + 8;
                        let order: Vec<usize> = (0..=m).rev().collect();
                        for scans in [1usize, 5, 67] {
                            check_demux(&els, step, scans, &order);
                        }
                    }
                }
            }
        }
        // 4 × s24/32>>8 + timestamp (the bench layout) around the span and the limit of
        // the straight transposes
        let mut adc: Vec<ElementLayout> = (0..4).map(|i| el("le:s24/32>>8", 4 * i)).collect();
        adc.push(el("le:s64/64>>0", 16));
        assert_eq!(plan(24, &adc).0[0].run, Some(0));
        let sp = span(24);
        let limit = DIRECT_MAX_BYTES / 24;
        for scans in [
            sp - 1,
            sp,
            sp + 1,
            2 * sp + 3,
            limit - 1,
            limit + 1,
            limit + sp + 5,
        ] {
            check_demux(&adc, 24, scans, &[4, 0, 1, 2, 3]);
        }
        // a run from word 1: a 16-bit pair on word 0, four 32-bit words, a spare word, the
        // timestamp (unsigned members)
        let late = [
            el("le:s16/16>>0", 0),
            el("le:u16/16>>0", 2),
            el("le:u20/32>>4", 4),
            el("le:u32/32>>0", 8),
            el("le:u24/32>>8", 12),
            el("le:u31/32>>1", 16),
            el("le:u64/64>>0", 24),
        ];
        let (groups, _) = plan(32, &late);
        assert_eq!(groups.iter().find(|g| g.n == 4).unwrap().run, Some(1));
        for scans in [1usize, 2, 63, span(32) + 1] {
            check_demux(&late, 32, scans, &[6, 5, 4, 3, 2, 1, 0]);
        }
        // 16-bit runs: 4 × s12/16>>4 + timestamp, 5 × u16 + 1 spare + timestamp
        let mut s16: Vec<ElementLayout> = (0..4).map(|i| el("le:s12/16>>4", 2 * i)).collect();
        s16.push(el("le:s64/64>>0", 8));
        let mut u16s: Vec<ElementLayout> = (0..5).map(|i| el("le:u16/16>>0", 2 * i)).collect();
        u16s.push(el("le:u64/64>>0", 16));
        assert_eq!(plan(16, &s16).0[0].run, Some(0));
        assert_eq!(plan(16, &u16s[..5]).0[0].run, Some(0));
        for scans in [1usize, 3, 129, span(16) - 1, span(16) + 1] {
            check_demux(&s16, 16, scans, &[0, 1, 2, 3, 4]);
            check_demux(&u16s[..5], 16, scans, &[4, 3, 2, 1, 0]);
        }
        for scans in [1usize, 3, 129, span(24) + 7] {
            check_demux(&u16s, 24, scans, &[5, 0, 1, 2, 3, 4]);
        }
    }

    #[test]
    fn demux_into_borrowed_outputs_and_limits() {
        let els = [el("le:s16/16>>0", 0), el("le:u16/16>>0", 2)];
        let block = noise(4 * 100 + 3, 7);
        let mut a = [0i16; 100];
        let mut b = [0u16; 40];
        {
            let mut outs = [SamplesMut::from(&mut a[..]), SamplesMut::from(&mut b[..])];
            // the shorter output bounds the scans
            assert_eq!(demux_into(&block, 4, &els, &mut outs).unwrap(), 40);
            assert!(demux_into(&block, 4, &els[..1], &mut outs).is_err());
        }
        assert_eq!(
            b[39],
            u16::from_le_bytes([block[39 * 4 + 2], block[39 * 4 + 3]])
        );
        assert_eq!(a[40..], [0; 60]);
        // wrong kind, element beyond the scan
        let mut wrong = [SamplesMut::from(&mut b[..]), SamplesMut::from(&mut a[..])];
        assert!(demux_into(&block, 4, &els, &mut wrong).is_err());
        let mut one = [Samples::new(SampleKind::I16, 4)];
        assert!(demux_into(&block, 2, &els[1..], &mut one).is_err());
        assert_eq!(demux_into(&block, 0, &els[..1], &mut one).unwrap(), 0);
    }
}
