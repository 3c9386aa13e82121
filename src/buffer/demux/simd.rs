//! Hand-written SIMD kernels of the whole-scan demux, the one place outside the uAPI layers
//! where `unsafe` is allowed. Each kernel transposes a *window*: the 16 bytes starting at the
//! same offset in every scan, read as eight little-endian 16-bit words or four 32-bit ones,
//! into one output per word, with each word's shift, mask and sign extension
//! ([`WordFin`]). Scans are loaded 16 bytes at a time at the scan stride, transposed in
//! registers and stored 32 (AVX2) or 16 (NEON) bytes per output.
//!
//! Chosen at run time: AVX2 on x86_64 when the CPU has it (`is_x86_feature_detected!`),
//! NEON on aarch64 (part of the base architecture); every other target (and x86_64 without
//! AVX2) gets `0` scans done and the scalar loops take everything. Every kernel is tested
//! against the reference extractor over random layouts and word masks (`tests.rs`).
//!
//! The safety argument is the same everywhere: every load reads 16 bytes inside `data`
//! (`last_load_end <= data.len()` is checked before a group of scans is read), every store
//! writes inside an output slice that holds at least `scans` values (checked on entry), and
//! the outputs are distinct `&mut` slices.

#![allow(unsafe_code)]

use super::field::WordFin;
use super::samples::SamplesMut;

/// One output of a window: the word's destination and its finishing step.
pub(super) type Slot<'a> = Option<(SamplesMut<'a>, WordFin)>;

/// Whether this CPU runs the kernels (otherwise [`window`] does nothing).
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(target_arch = "aarch64")]
    {
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// Scans the kernels take per step: a window of `n`-byte words is done in groups of this
/// many scans.
pub(super) fn group(n: usize) -> usize {
    if cfg!(target_arch = "x86_64") {
        if n == 2 {
            16
        } else {
            8
        }
    } else if n == 2 {
        8
    } else {
        4
    }
}

/// The output pointer of a slot and whether it holds the window's word width: a 16-bit
/// window writes `i16`/`u16` outputs, a 32-bit one `i32`/`u32`. `None` for another kind or
/// a slice shorter than `scans`.
fn out_ptr(s: &mut SamplesMut<'_>, n: usize, scans: usize) -> Option<*mut u8> {
    let (ptr, len) = match (n, s) {
        (2, SamplesMut::I16(o)) => (o.as_mut_ptr().cast::<u8>(), o.len()),
        (2, SamplesMut::U16(o)) => (o.as_mut_ptr().cast::<u8>(), o.len()),
        (4, SamplesMut::I32(o)) => (o.as_mut_ptr().cast::<u8>(), o.len()),
        (4, SamplesMut::U32(o)) => (o.as_mut_ptr().cast::<u8>(), o.len()),
        _ => return None,
    };
    (len >= scans).then_some(ptr)
}

/// Demuxes whole groups of scans of a window: word `k` of the `16 / n` words starting
/// `start` bytes into each `step`-byte scan of `data` goes, finished, to `slots[k]` (words
/// without a slot are dropped). Returns the scans done: a multiple of [`group`], at most
/// `scans`, and only as many as can be loaded without reading past `data` (the caller does
/// the rest); 0 when the CPU has no kernel or a slot is not of the window's width.
pub(super) fn window(
    n: usize,
    data: &[u8],
    step: usize,
    start: usize,
    scans: usize,
    slots: &mut [Slot<'_>; 8],
) -> usize {
    if !available() || !(n == 2 || n == 4) || step == 0 {
        return 0;
    }
    let words = 16 / n;
    let mut outs: [*mut u8; 8] = [std::ptr::null_mut(); 8];
    let mut fins = [WordFin {
        lead: 0,
        pad: 0,
        signed: false,
    }; 8];
    for (k, slot) in slots.iter_mut().enumerate() {
        if let Some((s, fin)) = slot {
            if k >= words {
                return 0;
            }
            match out_ptr(s, n, scans) {
                Some(p) => outs[k] = p,
                None => return 0,
            }
            fins[k] = *fin;
        }
    }
    // The groups whose every 16-byte load lies inside `data`.
    let g = group(n);
    let loadable = match data.len().checked_sub(start + 16) {
        Some(room) => room / step + 1,
        None => 0,
    };
    let groups = scans.min(loadable) / g;
    if groups == 0 {
        return 0;
    }
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: AVX2 was detected above; `groups` groups of loads stay inside `data`
        // (each load ends at most `(groups * g - 1) * step + start + 16 <= data.len()`),
        // and each non-null output holds at least `scans >= groups * g` values of `n`
        // bytes (`out_ptr`).
        unsafe {
            if n == 2 {
                x86::window16(data.as_ptr(), step, start, groups, &outs, &fins);
            } else {
                x86::window32(data.as_ptr(), step, start, groups, &outs, &fins);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        // SAFETY: as above (NEON is part of aarch64).
        unsafe {
            if n == 2 {
                arm::window16(data.as_ptr(), step, start, groups, &outs, &fins);
            } else {
                arm::window32(data.as_ptr(), step, start, groups, &outs, &fins);
            }
        }
    }
    groups * g
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::WordFin;
    use std::arch::x86_64::*;

    /// The finishing step of one output register of 16-bit lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn fin16(v: __m256i, f: &WordFin) -> __m256i {
        if f.is_identity() {
            return v;
        }
        let lead = _mm_cvtsi32_si128(f.lead as i32);
        let pad = _mm_cvtsi32_si128(f.pad as i32);
        let up = _mm256_sll_epi16(v, lead);
        if f.signed {
            _mm256_sra_epi16(up, pad)
        } else {
            _mm256_srl_epi16(up, pad)
        }
    }

    /// The finishing step of one output register of 32-bit lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn fin32(v: __m256i, f: &WordFin) -> __m256i {
        if f.is_identity() {
            return v;
        }
        let lead = _mm_cvtsi32_si128(f.lead as i32);
        let pad = _mm_cvtsi32_si128(f.pad as i32);
        let up = _mm256_sll_epi32(v, lead);
        if f.signed {
            _mm256_sra_epi32(up, pad)
        } else {
            _mm256_srl_epi32(up, pad)
        }
    }

    /// 16 bytes of scan `s` and of scan `s + half` in one register (low and high lane).
    ///
    /// # Safety
    /// Both 16-byte loads, at `at + s * step` and `at + (s + half) * step`, are readable.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn pair(at: *const u8, step: usize, s: usize, half: usize) -> __m256i {
        // SAFETY: forwarded from the caller.
        let (lo, hi) = unsafe {
            (
                _mm_loadu_si128(at.add(s * step).cast()),
                _mm_loadu_si128(at.add((s + half) * step).cast()),
            )
        };
        _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1)
    }

    /// Eight 16-bit words per scan, 16 scans per group: rows are scans 0-7 (low lanes) and
    /// 8-15 (high lanes); three rounds of unpacks transpose both 8 × 8 halves at once, so
    /// output register `k` holds word `k` of all 16 scans in order.
    ///
    /// # Safety
    /// `data + start + (16 * groups - 1) * step + 16` is within one allocation; every
    /// non-null `outs[k]` has room for `16 * groups` 16-bit values. (The caller checked
    /// AVX2.)
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn window16(
        data: *const u8,
        step: usize,
        start: usize,
        groups: usize,
        outs: &[*mut u8; 8],
        fins: &[WordFin; 8],
    ) {
        // Every word wanted as it is stored (8 × s16, 8 × u16): no test or shift per store.
        let plain = outs.iter().all(|p| !p.is_null()) && fins.iter().all(WordFin::is_identity);
        let tiled = crowded(outs);
        // SAFETY: forwarded from the caller.
        unsafe {
            match (plain, tiled) {
                (true, true) => window16_with::<true, true>(data, step, start, groups, outs, fins),
                (true, false) => {
                    window16_with::<true, false>(data, step, start, groups, outs, fins)
                }
                (false, true) => {
                    window16_with::<false, true>(data, step, start, groups, outs, fins)
                }
                (false, false) => {
                    window16_with::<false, false>(data, step, start, groups, outs, fins)
                }
            }
        }
    }

    /// Whether outputs lie at (nearly) the same offset modulo 4 KiB: equal power-of-two
    /// sized outputs, the usual case. Their lines then share one L1 set, and eight streams
    /// written 32 bytes at a time evict each other's half-written lines; such outputs are
    /// written through a scratch tile, a few lines per output at a time.
    fn crowded(outs: &[*mut u8; 8]) -> bool {
        let at = outs.map(|p| (!p.is_null()).then_some(p as usize % 4096));
        // Most outputs on the lines of one set (within 128 bytes of each other, modulo
        // 4 KiB): with the input's lines as well, more than an 8-way set holds.
        at.iter().flatten().any(|a| {
            let near = at.iter().flatten().filter(|b| {
                let d = a.abs_diff(**b);
                d.min(4096 - d) < 128
            });
            near.count() >= 5
        })
    }

    /// [`window16`]'s loop; `PLAIN`: every output present, every step the identity;
    /// `TILED`: through a scratch tile ([`crowded`]).
    ///
    /// # Safety
    /// As [`window16`].
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn window16_with<const PLAIN: bool, const TILED: bool>(
        data: *const u8,
        step: usize,
        start: usize,
        groups: usize,
        outs: &[*mut u8; 8],
        fins: &[WordFin; 8],
    ) {
        // The scratch tile of `TILED`: 16 groups (512 bytes per output), copied out one
        // output at a time.
        const TILE: usize = 16;
        let mut tile = [[_mm256_setzero_si256(); TILE]; 8];
        for g in 0..groups {
            let mut r = [_mm256_setzero_si256(); 8];
            for (s, row) in r.iter_mut().enumerate() {
                // SAFETY: scans `16 g .. 16 g + 16` of the window are inside `data` (caller).
                *row = unsafe { pair(data.add(start + g * 16 * step), step, s, 8) };
            }
            let t0 = _mm256_unpacklo_epi16(r[0], r[1]);
            let t1 = _mm256_unpackhi_epi16(r[0], r[1]);
            let t2 = _mm256_unpacklo_epi16(r[2], r[3]);
            let t3 = _mm256_unpackhi_epi16(r[2], r[3]);
            let t4 = _mm256_unpacklo_epi16(r[4], r[5]);
            let t5 = _mm256_unpackhi_epi16(r[4], r[5]);
            let t6 = _mm256_unpacklo_epi16(r[6], r[7]);
            let t7 = _mm256_unpackhi_epi16(r[6], r[7]);
            let u0 = _mm256_unpacklo_epi32(t0, t2);
            let u1 = _mm256_unpackhi_epi32(t0, t2);
            let u2 = _mm256_unpacklo_epi32(t1, t3);
            let u3 = _mm256_unpackhi_epi32(t1, t3);
            let u4 = _mm256_unpacklo_epi32(t4, t6);
            let u5 = _mm256_unpackhi_epi32(t4, t6);
            let u6 = _mm256_unpacklo_epi32(t5, t7);
            let u7 = _mm256_unpackhi_epi32(t5, t7);
            let c = [
                _mm256_unpacklo_epi64(u0, u4),
                _mm256_unpackhi_epi64(u0, u4),
                _mm256_unpacklo_epi64(u1, u5),
                _mm256_unpackhi_epi64(u1, u5),
                _mm256_unpacklo_epi64(u2, u6),
                _mm256_unpackhi_epi64(u2, u6),
                _mm256_unpacklo_epi64(u3, u7),
                _mm256_unpackhi_epi64(u3, u7),
            ];
            if !TILED {
                for k in 0..8 {
                    if PLAIN || !outs[k].is_null() {
                        let v = if PLAIN { c[k] } else { fin16(c[k], &fins[k]) };
                        // SAFETY: values `16 g .. 16 g + 16` of output `k` exist (caller).
                        unsafe { _mm256_storeu_si256(outs[k].add(g * 32).cast(), v) };
                    }
                }
                continue;
            }
            let t = g % TILE;
            for k in 0..8 {
                tile[k][t] = if PLAIN { c[k] } else { fin16(c[k], &fins[k]) };
            }
            if t + 1 == TILE || g + 1 == groups {
                let first = g - t;
                for k in 0..8 {
                    if PLAIN || !outs[k].is_null() {
                        for (i, v) in tile[k][..=t].iter().enumerate() {
                            // SAFETY: values `16 (first + i) ..+ 16` of output `k` exist.
                            unsafe {
                                _mm256_storeu_si256(outs[k].add((first + i) * 32).cast(), *v)
                            };
                        }
                    }
                }
            }
        }
    }

    /// Four 32-bit words per scan, 8 scans per group: rows are scans 0-3 (low lanes) and
    /// 4-7 (high lanes); two rounds of unpacks transpose both 4 × 4 halves.
    ///
    /// # Safety
    /// As [`window16`], with groups of 8 scans and 32-bit outputs.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn window32(
        data: *const u8,
        step: usize,
        start: usize,
        groups: usize,
        outs: &[*mut u8; 8],
        fins: &[WordFin; 8],
    ) {
        for g in 0..groups {
            let mut r = [_mm256_setzero_si256(); 4];
            for (s, row) in r.iter_mut().enumerate() {
                // SAFETY: scans `8 g .. 8 g + 8` of the window are inside `data` (caller).
                *row = unsafe { pair(data.add(start + g * 8 * step), step, s, 4) };
            }
            let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
            let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
            let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
            let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
            let c = [
                _mm256_unpacklo_epi64(t0, t2),
                _mm256_unpackhi_epi64(t0, t2),
                _mm256_unpacklo_epi64(t1, t3),
                _mm256_unpackhi_epi64(t1, t3),
            ];
            for k in 0..4 {
                if !outs[k].is_null() {
                    let v = fin32(c[k], &fins[k]);
                    // SAFETY: values `8 g .. 8 g + 8` of output `k` exist (caller).
                    unsafe { _mm256_storeu_si256(outs[k].add(g * 32).cast(), v) };
                }
            }
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use super::WordFin;
    use std::arch::aarch64::*;

    #[inline]
    #[target_feature(enable = "neon")]
    fn fin16(v: uint16x8_t, f: &WordFin) -> uint16x8_t {
        if f.is_identity() {
            return v;
        }
        let up = vshlq_u16(v, vdupq_n_s16(f.lead as i16));
        let down = vdupq_n_s16(-(f.pad as i16));
        if f.signed {
            vreinterpretq_u16_s16(vshlq_s16(vreinterpretq_s16_u16(up), down))
        } else {
            vshlq_u16(up, down)
        }
    }

    #[inline]
    #[target_feature(enable = "neon")]
    fn fin32(v: uint32x4_t, f: &WordFin) -> uint32x4_t {
        if f.is_identity() {
            return v;
        }
        let up = vshlq_u32(v, vdupq_n_s32(f.lead as i32));
        let down = vdupq_n_s32(-(f.pad as i32));
        if f.signed {
            vreinterpretq_u32_s32(vshlq_s32(vreinterpretq_s32_u32(up), down))
        } else {
            vshlq_u32(up, down)
        }
    }

    /// Eight 16-bit words per scan, 8 scans per group: an 8 × 8 transpose by `trn1/trn2` at
    /// 16, 32 and 64 bits.
    ///
    /// # Safety
    /// `data + start + (8 * groups - 1) * step + 16` is within one allocation; every
    /// non-null `outs[k]` has room for `8 * groups` 16-bit values.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn window16(
        data: *const u8,
        step: usize,
        start: usize,
        groups: usize,
        outs: &[*mut u8; 8],
        fins: &[WordFin; 8],
    ) {
        for g in 0..groups {
            let mut r = [vdupq_n_u16(0); 8];
            for (s, row) in r.iter_mut().enumerate() {
                // Loaded as bytes: the scan may sit at any address, and `vld1q_u16` would
                // assume 2-byte alignment.
                // SAFETY: scans `8 g .. 8 g + 8` of the window are inside `data` (caller).
                *row =
                    vreinterpretq_u16_u8(unsafe { vld1q_u8(data.add(start + (g * 8 + s) * step)) });
            }
            let a0 = vtrn1q_u16(r[0], r[1]);
            let a1 = vtrn2q_u16(r[0], r[1]);
            let a2 = vtrn1q_u16(r[2], r[3]);
            let a3 = vtrn2q_u16(r[2], r[3]);
            let a4 = vtrn1q_u16(r[4], r[5]);
            let a5 = vtrn2q_u16(r[4], r[5]);
            let a6 = vtrn1q_u16(r[6], r[7]);
            let a7 = vtrn2q_u16(r[6], r[7]);
            let w = |v: uint16x8_t| vreinterpretq_u32_u16(v);
            let b0 = vtrn1q_u32(w(a0), w(a2));
            let b1 = vtrn1q_u32(w(a1), w(a3));
            let b2 = vtrn2q_u32(w(a0), w(a2));
            let b3 = vtrn2q_u32(w(a1), w(a3));
            let b4 = vtrn1q_u32(w(a4), w(a6));
            let b5 = vtrn1q_u32(w(a5), w(a7));
            let b6 = vtrn2q_u32(w(a4), w(a6));
            let b7 = vtrn2q_u32(w(a5), w(a7));
            let d = |v: uint32x4_t| vreinterpretq_u64_u32(v);
            let h = |v: uint64x2_t| vreinterpretq_u16_u64(v);
            let c = [
                h(vtrn1q_u64(d(b0), d(b4))),
                h(vtrn1q_u64(d(b1), d(b5))),
                h(vtrn1q_u64(d(b2), d(b6))),
                h(vtrn1q_u64(d(b3), d(b7))),
                h(vtrn2q_u64(d(b0), d(b4))),
                h(vtrn2q_u64(d(b1), d(b5))),
                h(vtrn2q_u64(d(b2), d(b6))),
                h(vtrn2q_u64(d(b3), d(b7))),
            ];
            for k in 0..8 {
                if !outs[k].is_null() {
                    let v = fin16(c[k], &fins[k]);
                    // SAFETY: values `8 g .. 8 g + 8` of output `k` exist (caller).
                    unsafe { vst1q_u16(outs[k].add(g * 16).cast(), v) };
                }
            }
        }
    }

    /// Four 32-bit words per scan, 4 scans per group: a 4 × 4 transpose by `trn1/trn2` at
    /// 32 and 64 bits.
    ///
    /// # Safety
    /// As [`window16`], with groups of 4 scans and 32-bit outputs.
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn window32(
        data: *const u8,
        step: usize,
        start: usize,
        groups: usize,
        outs: &[*mut u8; 8],
        fins: &[WordFin; 8],
    ) {
        for g in 0..groups {
            let mut r = [vdupq_n_u32(0); 4];
            for (s, row) in r.iter_mut().enumerate() {
                // As bytes: the scan may sit at any address (see above).
                // SAFETY: scans `4 g .. 4 g + 4` of the window are inside `data` (caller).
                *row =
                    vreinterpretq_u32_u8(unsafe { vld1q_u8(data.add(start + (g * 4 + s) * step)) });
            }
            let a0 = vtrn1q_u32(r[0], r[1]);
            let a1 = vtrn2q_u32(r[0], r[1]);
            let a2 = vtrn1q_u32(r[2], r[3]);
            let a3 = vtrn2q_u32(r[2], r[3]);
            let d = |v: uint32x4_t| vreinterpretq_u64_u32(v);
            let s = |v: uint64x2_t| vreinterpretq_u32_u64(v);
            let c = [
                s(vtrn1q_u64(d(a0), d(a2))),
                s(vtrn1q_u64(d(a1), d(a3))),
                s(vtrn2q_u64(d(a0), d(a2))),
                s(vtrn2q_u64(d(a1), d(a3))),
            ];
            for k in 0..4 {
                if !outs[k].is_null() {
                    let v = fin32(c[k], &fins[k]);
                    // SAFETY: values `4 g .. 4 g + 4` of output `k` exist (caller).
                    unsafe { vst1q_u32(outs[k].add(g * 16).cast(), v) };
                }
            }
        }
    }
}
