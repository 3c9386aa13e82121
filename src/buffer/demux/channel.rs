//! Per-channel demux: one channel's values out of a block (and into one, for output), as
//! typed integers or converted to physical units. The bulk functions ([`read_into`],
//! [`convert_into`]) pick a monomorphized loop once per call, so the loop body has no
//! branches on the format, no allocation and no dynamic dispatch: for scans of 2, 4, 6, 8,
//! 12, 16, 24, 32, 48 or 64 bytes one specialised on the scan size (a constant stride, which
//! the compiler vectorizes), the storage word and the finishing step; for other scan sizes
//! and repeat channels one on storage size × byte order. The whole-scan demux
//! (`transpose.rs`) uses these loops for the elements its windows do not take.

use super::field::{Field, Load, WordFin};
use super::iter::ChannelIter;
use super::{check_fits, Sample};
use crate::buffer::mask::ElementLayout;
use crate::error::Result;

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
    x: &Field,
    out: &mut [O],
    f: impl Fn(u64) -> O,
) -> usize {
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
            x.finish64(w)
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
    x: &Field,
    out: &mut [O],
    f: impl Fn(u64) -> O,
) -> usize {
    let plain = x.shift == 0 && x.bits == 8 * N as u32;
    match (plain, x.signed) {
        (true, true) => run::<N, BE, true, true, O>(block, step, offset, x, out, f),
        (true, false) => run::<N, BE, true, false, O>(block, step, offset, x, out, f),
        (false, _) => run::<N, BE, false, false, O>(block, step, offset, x, out, f),
    }
}

/// Dispatches once on the load kind to a monomorphized loop.
#[inline(always)]
pub(super) fn dispatch<O>(
    block: &[u8],
    step: usize,
    element: &ElementLayout,
    out: &mut [O],
    f: impl Fn(u64) -> O + Copy,
) -> usize {
    let x = Field::new(&element.format);
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

/// Values per tile of the per-channel fast path ([`fast`]): the raw words of a tile stay in
/// L1 between the gather and the finishing pass.
pub(super) const CHANNEL_TILE: usize = 256;

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
    /// `(w << lead) >> pad`: the field, zero-extended.
    fn fin_unsigned(self, lead: u32, pad: u32) -> Self;
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
            fn fin_unsigned(self, lead: u32, pad: u32) -> Self {
                (self << lead) >> pad
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
/// start `at` bits into the window (big-endian storage is brought down and swapped first);
/// `fin` is the field's step in the window's width ([`Field::in_word`]).
#[derive(Debug, Clone, Copy)]
struct Finish {
    n: usize,
    at: u32,
    fin: WordFin,
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
    fin: &Finish,
) -> u64 {
    let w = if BE { w.shr(fin.at).swap(fin.n) } else { w };
    let (lead, pad) = (u32::from(fin.fin.lead), u32::from(fin.fin.pad));
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
            w.fin_signed(0, pad).sext()
        } else {
            w.shr(pad).zext()
        }
    } else if SIGNED {
        w.fin_signed(lead, pad).sext()
    } else {
        w.fin_unsigned(lead, pad).zext()
    }
}

/// Finishes a tile of loaded windows ([`finish_one`]) and stores `f` of each: a contiguous
/// loop the compiler vectorizes.
#[inline(never)]
fn finish_tile<W: Word, const BE: bool, const MODE: u8, const SIGNED: bool, O>(
    tile: &[W],
    fin: &Finish,
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
    fin: &Finish,
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
    fin: &Finish,
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
    fin: &Finish,
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
    let field = Field::new(fmt);
    let off = element.offset;
    // the field must lie in its storage (as `DataFormat::extract_i64` reads it)
    field.in_word(8 * n as u32, 0)?;
    if off + n > step {
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
        out[0] = f(field.get(&block[off..]));
        if scans == 1 {
            return Some(1);
        }
    }
    let at = 8 * (W::BYTES - n) as u32;
    // A little-endian field is read in place; a big-endian one after its swap.
    let fin = Finish {
        n,
        at,
        fin: field.in_word(W::BITS, if fmt.is_be { 0 } else { at })?,
    };
    let (data, out, rest) = (&block[start..], &mut out[first..], scans - first);
    let mode = match (fin.fin.lead, fin.fin.pad) {
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
pub(super) fn fast<O>(
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
    if !super::element_fits(step, element) {
        return Ok(0);
    }
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
    if !super::element_fits(step, element) {
        return 0;
    }
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
    if !super::element_fits(step, element) {
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
