//! Whole-block demux ([`demux_into`]): every element of a block in one pass, each to the
//! host integer of its storage width.
//!
//! The block is read in spans that stay in L1. Elements of 16- or 32-bit little-endian
//! storage (repeat 1) are gathered into *windows*: the 16 bytes from one offset of every
//! scan, holding up to eight 16-bit or four 32-bit members. Where the CPU has the SIMD
//! kernels (`simd.rs`: AVX2, NEON) a window is transposed in registers, 16 (or 8) scans at a
//! time, straight into its members' outputs; the scans a kernel cannot take (the end of the
//! block) and every other element (big-endian, repeat, 8-, 24- or 64-bit storage, a word
//! two elements share, a window of one) go through the per-channel loops of `channel.rs`,
//! span by span. Without the kernels every element takes those loops.

use super::channel::{dispatch, fast};
use super::field::{Field, WordFin};
use super::samples::{DemuxOutput, SampleKind, SamplesMut};
use super::simd;
use crate::buffer::mask::ElementLayout;
use crate::error::{Error, Result};

/// Bytes of block per span: every element is taken out of a span while it is in L1.
pub(super) const SPAN_BYTES: usize = 24 << 10;

/// Bytes a window covers in each scan: one 128-bit load.
const WINDOW_BYTES: usize = 16;

/// Elements demuxed together by one SIMD kernel: `n`-byte words in the [`WINDOW_BYTES`]
/// from `start` of every scan.
#[derive(Debug, Clone, Copy)]
pub(super) struct Window {
    /// Bytes of a word: 2 or 4.
    pub(super) n: usize,
    /// The window's first byte in the scan.
    pub(super) start: usize,
    /// The members, the first `count`.
    members: [Member; 8],
    count: usize,
}

/// One element of a window.
#[derive(Debug, Clone, Copy)]
pub(super) struct Member {
    /// Its word of the window.
    pub(super) word: u8,
    /// Its index in the elements (below [`MAX_PLANNED`]).
    pub(super) element: u8,
    pub(super) fin: WordFin,
}

impl Window {
    /// The members.
    pub(super) fn members(&self) -> &[Member] {
        &self.members[..self.count]
    }
}

/// Most elements the planner puts in windows, and most windows; a block with more elements
/// takes the per-channel loops for every element, one with more windows for the elements of
/// the windows after the first [`MAX_WINDOWS`]. Planning is on the stack, a few hundred
/// bytes (no allocation per call: a block of a few thousand scans takes microseconds).
const MAX_PLANNED: usize = 64;
const MAX_WINDOWS: usize = 8;

/// No finishing step (an unused slot).
const NO_FIN: WordFin = WordFin {
    lead: 0,
    pad: 0,
    signed: false,
};

/// The windows of a layout and which elements are left to the per-channel loops.
#[derive(Debug)]
pub(super) struct Plan {
    windows: [Window; MAX_WINDOWS],
    count: usize,
    /// Bit `j`: element `j` is in a window.
    in_window: u64,
}

impl Plan {
    /// The windows.
    pub(super) fn windows(&self) -> &[Window] {
        &self.windows[..self.count]
    }

    /// The elements of `0..elements` the per-channel loops take, in order.
    pub(super) fn rest(&self, elements: usize) -> impl Iterator<Item = usize> + '_ {
        (0..elements).filter(|&j| j >= MAX_PLANNED || self.in_window & (1 << j) == 0)
    }
}

/// Puts the elements into windows. A window has at least two members; an element is a
/// candidate when it is little-endian, repeat 1, of 16- or 32-bit storage and inside the
/// scan; a word two elements share goes to one of them.
pub(super) fn plan(step: usize, elements: &[ElementLayout]) -> Plan {
    let empty = Window {
        n: 0,
        start: 0,
        members: [Member {
            word: 0,
            element: 0,
            fin: NO_FIN,
        }; 8],
        count: 0,
    };
    let mut p = Plan {
        windows: [empty; MAX_WINDOWS],
        count: 0,
        in_window: 0,
    };
    if elements.len() > MAX_PLANNED {
        return p;
    }
    // The candidates (element indexes), by word size, offset and index.
    let mut cands = [0u8; MAX_PLANNED];
    let mut nc = 0;
    let word_bytes = |j: usize| elements[j].format.value_bytes();
    for (j, e) in elements.iter().enumerate() {
        let f = &e.format;
        let n = f.value_bytes();
        if !f.is_be && f.repeat == 1 && (n == 2 || n == 4) && e.offset + n <= step {
            cands[nc] = j as u8;
            nc += 1;
        }
    }
    let cands = &mut cands[..nc];
    cands.sort_unstable_by_key(|&j| {
        let j = usize::from(j);
        (word_bytes(j), elements[j].offset, j)
    });
    let mut taken = 0u64;
    for i in 0..nc {
        if taken & (1 << i) != 0 {
            continue;
        }
        let first = usize::from(cands[i]);
        let (n, start) = (word_bytes(first), elements[first].offset);
        let mut w = Window { n, start, ..empty };
        for (k, &j) in cands.iter().enumerate().skip(i) {
            let e = &elements[usize::from(j)];
            let off = e.offset;
            if word_bytes(usize::from(j)) != n || off >= start + WINDOW_BYTES {
                break;
            }
            let word = ((off - start) / n) as u8;
            let free = taken & (1 << k) == 0;
            if free && (off - start).is_multiple_of(n) && w.members().iter().all(|m| m.word != word)
            {
                // A field that does not fit its storage stays with the per-channel loops.
                let Some(fin) = Field::new(&e.format).in_word(8 * n as u32, 0) else {
                    continue;
                };
                w.members[w.count] = Member {
                    word,
                    element: j,
                    fin,
                };
                w.count += 1;
                taken |= 1 << k;
            }
        }
        if w.count >= 2 && p.count < MAX_WINDOWS {
            for m in w.members() {
                p.in_window |= 1 << m.element;
            }
            p.windows[p.count] = w;
            p.count += 1;
        }
    }
    p
}

/// One element taken out of `tile` (whole scans, the first one scan `at` of the block) by
/// the per-channel loops.
#[inline(always)]
fn element_tile(tile: &[u8], step: usize, e: &ElementLayout, at: usize, out: SamplesMut<'_>) {
    /// The loop specialised on the scan size where there is one (what `read_into` takes:
    /// on CPUs without the SIMD kernels this is the whole demux), the general one otherwise.
    fn one<O>(
        tile: &[u8],
        step: usize,
        e: &ElementLayout,
        out: &mut [O],
        f: impl Fn(u64) -> O + Copy,
    ) {
        if fast(tile, step, e, out, &f).is_none() {
            dispatch(tile, step, e, out, f);
        }
    }
    let at = at * e.format.repeat.max(1) as usize;
    match out {
        SamplesMut::I8(o) => one(tile, step, e, &mut o[at..], |v| v as i8),
        SamplesMut::U8(o) => one(tile, step, e, &mut o[at..], |v| v as u8),
        SamplesMut::I16(o) => one(tile, step, e, &mut o[at..], |v| v as i16),
        SamplesMut::U16(o) => one(tile, step, e, &mut o[at..], |v| v as u16),
        SamplesMut::I32(o) => one(tile, step, e, &mut o[at..], |v| v as i32),
        SamplesMut::U32(o) => one(tile, step, e, &mut o[at..], |v| v as u32),
        SamplesMut::I64(o) => one(tile, step, e, &mut o[at..], |v| v as i64),
        SamplesMut::U64(o) => one(tile, step, e, &mut o[at..], |v| v),
    };
}

/// A window over `scans` scans from scan `at` of the block (`rest`: the block from that
/// scan on, so that loads near the span's end may read the scans after it) by the SIMD
/// kernel; returns the scans it did (the caller does the others).
fn window_span<O: DemuxOutput>(
    w: &Window,
    rest: &[u8],
    step: usize,
    at: usize,
    scans: usize,
    outputs: &mut [O],
) -> usize {
    let mut slots: [simd::Slot<'_>; 8] = Default::default();
    for (j, o) in outputs.iter_mut().enumerate() {
        if let Some(m) = w.members().iter().find(|m| usize::from(m.element) == j) {
            slots[usize::from(m.word)] = Some((o.samples_mut().range(at, scans), m.fin));
        }
    }
    simd::window(w.n, rest, step, w.start, scans, &mut slots)
}

/// Demultiplexes a whole block at once: every element of `elements` (scans of `step` bytes)
/// into its output, converted from its storage format (byte order, shift, mask, sign
/// extension) to the host integer of its storage width ([`SampleKind::of`]), as libiio's
/// `iio_channel_convert` does. `outputs[i]` receives `elements[i]`'s values (`REPEAT` per
/// scan for repeat elements); elements may come in any order. Returns the scans demuxed:
/// those of the block, or fewer if an output is shorter.
///
/// The block is read once, in spans that stay in L1: little-endian 16- and 32-bit elements
/// sharing 16 bytes of the scan go through the SIMD kernels where the CPU has them, the
/// others through the per-channel loops (module notes). Fails when the counts differ or an
/// output is not of its element's kind.
pub fn demux_into<O: DemuxOutput>(
    block: &[u8],
    step: usize,
    elements: &[ElementLayout],
    outputs: &mut [O],
) -> Result<usize> {
    demux_with(block, step, elements, outputs, simd::available())
}

/// [`demux_into`] with the SIMD kernels on or off (`false`: the per-channel loops only, as
/// on a CPU without them; the tests run both).
pub(super) fn demux_with<O: DemuxOutput>(
    block: &[u8],
    step: usize,
    elements: &[ElementLayout],
    outputs: &mut [O],
    use_simd: bool,
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
    let plan = if use_simd {
        plan(step, elements)
    } else {
        plan(0, &[])
    };
    let data = &block[..scans * step];
    let span = ((SPAN_BYTES / step).max(64) / 16 * 16).max(16);
    for (t, chunk) in data.chunks(span * step).enumerate() {
        let at = t * span;
        let n = chunk.len() / step;
        for w in plan.windows() {
            let done = window_span(w, &data[at * step..], step, at, n, outputs);
            if done < n {
                let tail = &chunk[done * step..];
                for m in w.members() {
                    let j = usize::from(m.element);
                    element_tile(
                        tail,
                        step,
                        &elements[j],
                        at + done,
                        outputs[j].samples_mut(),
                    );
                }
            }
        }
        for j in plan.rest(elements.len()) {
            element_tile(chunk, step, &elements[j], at, outputs[j].samples_mut());
        }
    }
    Ok(scans)
}
