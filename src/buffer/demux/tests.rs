//! The fast paths against the reference: iterators, per-channel loops and the whole-block
//! demux (with and without the SIMD kernels) over every format, scan size and layout.

use super::channel::CHANNEL_TILE;
use super::transpose::{plan, SPAN_BYTES};
use super::*;
use crate::buffer::mask::ElementLayout;

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
    check_block(&block, &els, step, scans);
}

/// Both paths of the whole-block demux (SIMD kernels, where this CPU has them, and the
/// per-channel loops alone) against the reference, every value.
fn check_block(block: &[u8], els: &[ElementLayout], step: usize, scans: usize) {
    for use_simd in [true, false] {
        let mut outs: Vec<Samples> = els.iter().map(|e| Samples::for_element(e, scans)).collect();
        let n = transpose::demux_with(block, step, els, &mut outs, use_simd).unwrap();
        assert_eq!(n, scans);
        for (e, o) in els.iter().zip(&outs) {
            let f = &e.format;
            assert_eq!(o.kind(), SampleKind::of(f));
            let want = reference::extract(&block[..scans * step], step, e);
            let got: Vec<i64> = (0..want.len()).map(|i| o.get_i64(i).unwrap()).collect();
            if got != want {
                let at = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(0);
                panic!(
                    "{f} at {} step {step}, simd {use_simd}: value {at} is {} not {}",
                    e.offset, got[at], want[at]
                );
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

/// Large blocks: many spans, the last one and the kernels' groups ending mid-span.
#[test]
fn demux_into_large_blocks() {
    let s16: Vec<ElementLayout> = (0..8).map(|i| el("le:s16/16>>0", 2 * i)).collect();
    // a group of mixed kinds (always through scratch) with an unused word, and the
    // timestamp through the per-element loops
    let mut mixed: Vec<ElementLayout> = (0..5).map(|i| el("le:s16/16>>0", 2 * i)).collect();
    mixed.push(el("le:u12/16>>4", 10));
    mixed.push(el("le:s64/64>>0", 16));
    for scans in [(1 << 20) / 16 - 1, (1 << 20) / 16 + 67] {
        check_demux(&s16, 16, scans, &[7, 6, 5, 4, 3, 2, 1, 0]);
        // six of eight words: straight with spare columns below the limit
        check_demux(&s16[..6], 16, scans, &[0, 1, 2, 3, 4, 5]);
        check_demux(&mixed, 24, scans, &[6, 0, 2, 1, 5, 3, 4]);
    }
}

/// Windows short of the scan: 32-bit words with
/// every shift 0..=8 (several widths, signed and unsigned) before a timestamp, runs that
/// start past word 0, 16-bit runs, odd scan counts and blocks around the span and
/// straight-transpose limits; all against the reference.
#[test]
fn demux_into_runs_before_a_timestamp() {
    let span = |step: usize| ((SPAN_BYTES / step).max(64) / 16 * 16).max(16);
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
    let p = plan(24, &adc);
    let (w, rest): (_, Vec<usize>) = (p.windows(), p.rest(adc.len()).collect());
    assert_eq!(
        (w.len(), w[0].start, w[0].members().len(), rest),
        (1, 0, 4, vec![4])
    );
    let sp = span(24);
    let limit = (1 << 20) / 24;
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
    let p = plan(32, &late);
    assert_eq!(p.rest(late.len()).collect::<Vec<_>>(), vec![6]);
    let w32 = p.windows().iter().find(|w| w.n == 4).unwrap();
    assert_eq!((w32.start, w32.members().len()), (4, 4));
    for scans in [1usize, 2, 63, span(32) + 1] {
        check_demux(&late, 32, scans, &[6, 5, 4, 3, 2, 1, 0]);
    }
    // 16-bit runs: 4 × s12/16>>4 + timestamp, 5 × u16 + 1 spare + timestamp
    let mut s16: Vec<ElementLayout> = (0..4).map(|i| el("le:s12/16>>4", 2 * i)).collect();
    s16.push(el("le:s64/64>>0", 8));
    let mut u16s: Vec<ElementLayout> = (0..5).map(|i| el("le:u16/16>>0", 2 * i)).collect();
    u16s.push(el("le:u64/64>>0", 16));
    assert_eq!(plan(16, &s16).windows()[0].members().len(), 4);
    assert_eq!(plan(16, &u16s[..5]).windows()[0].members().len(), 5);
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

/// Random layouts and channel masks, as a kernel could hand them over: 16- and 32-bit
/// words of every shift and width at word-aligned offsets, timestamps, 8- and 24-bit
/// storage, big-endian and repeat elements, unused words; any scan count. Both paths
/// against the reference.
#[test]
fn demux_into_random_layouts_and_masks() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let kinds = [
        (2usize, "le", 16u32),
        (2, "le", 16),
        (2, "le", 16),
        (4, "le", 32),
        (4, "le", 32),
        (2, "be", 16),
        (1, "le", 8),
        (3, "le", 24),
        (8, "le", 64),
    ];
    for case in 0..400 {
        let mut els = Vec::new();
        let mut off = 0usize;
        let count = 1 + next(12) as usize;
        for _ in 0..count {
            let (n, order, storage) = kinds[next(kinds.len() as u64) as usize];
            let bits = 1 + next(u64::from(storage)) as u32;
            let shift = next(u64::from(storage - bits) + 1) as u32;
            let sign = if next(2) == 0 { 's' } else { 'u' };
            let repeat = if next(10) == 0 {
                2 + next(3) as usize
            } else {
                1
            };
            let fmt = if repeat > 1 {
                format!("{order}:{sign}{bits}/{storage}X{repeat}>>{shift}")
            } else {
                format!("{order}:{sign}{bits}/{storage}>>{shift}")
            };
            off = off.div_ceil(n) * n + n * next(2) as usize; // sometimes an unused word
            let e = el(&fmt, off);
            off += n * repeat;
            // the mask: most elements enabled, some left out
            if next(5) != 0 {
                els.push(e);
            }
        }
        if els.is_empty() {
            continue;
        }
        let step = off.div_ceil(8) * 8 + 8 * next(2) as usize;
        let scans = [0usize, 1, 15, 16, 17, 33, 100, 1000][next(8) as usize];
        let block = noise(scans * step + next(step as u64) as usize, case);
        // elements in any order
        let k = els.len();
        for i in 0..k {
            els.swap(i, next(k as u64) as usize);
        }
        check_block(&block, &els, step, scans);
    }
}

/// The kernels themselves, window by window: every word subset of a 16- and a 32-bit
/// window, every finishing step kind, loads that would run past the block.
#[test]
fn simd_windows_against_the_reference() {
    if !simd::available() {
        println!("skipped: this CPU has no SIMD kernel (the scalar loops are tested above)");
        return;
    }
    for (n, fmts) in [
        (
            2usize,
            [
                "le:s16/16>>0",
                "le:u12/16>>4",
                "le:s12/16>>4",
                "le:u1/16>>15",
            ],
        ),
        (
            4,
            [
                "le:s24/32>>8",
                "le:u32/32>>0",
                "le:s17/32>>3",
                "le:u24/32>>0",
            ],
        ),
    ] {
        let words = 16 / n;
        for mask in 1u32..(1 << words) {
            let step = 16 + n * (mask as usize % 3);
            let scans = 48 + (mask as usize % 7);
            let block = noise(scans * step, u64::from(mask));
            let mut outs: Vec<Samples> = Vec::new();
            let mut els = Vec::new();
            for w in 0..words {
                if mask & (1 << w) != 0 {
                    let e = el(fmts[(w + mask as usize) % 4], w * n);
                    outs.push(Samples::for_element(&e, scans));
                    els.push(e);
                }
            }
            let mut slots: [simd::Slot<'_>; 8] = Default::default();
            for (e, o) in els.iter().zip(outs.iter_mut()) {
                let fin = field::Field::new(&e.format)
                    .in_word(8 * n as u32, 0)
                    .unwrap();
                slots[e.offset / n] = Some((o.as_samples_mut(), fin));
            }
            let done = simd::window(n, &block, step, 0, scans, &mut slots);
            // every group whose loads fit, and not one more
            let g = simd::group(n);
            let loadable = (block.len() - 16) / step + 1;
            assert_eq!(done, scans.min(loadable) / g * g, "n {n} mask {mask:#x}");
            for (e, o) in els.iter().zip(&outs) {
                let want = reference::extract(&block, step, e);
                for (i, w) in want.iter().take(done).enumerate() {
                    assert_eq!(
                        o.get_i64(i),
                        Some(*w),
                        "{} word {} value {i}",
                        e.format,
                        e.offset / n
                    );
                }
            }
        }
    }
}

/// Layouts the public per-channel helpers take from anyone (a file of recorded scans, a
/// network payload) that do not fit their scan give no values, never a panic.
#[test]
fn elements_that_do_not_fit_their_scan_give_nothing() {
    let block = vec![0x5au8; 64];
    let mut bad = vec![el("le:s16/16>>0", 7), el("le:u32/32>>0", 30)];
    let mut zero_repeat = el("le:u16/16>>0", 0);
    zero_repeat.format.repeat = 0;
    let mut no_bits = el("le:u16/16>>0", 0);
    no_bits.format.bits = 0;
    let mut far_shift = el("le:u16/16>>0", 0);
    far_shift.format.shift = 70;
    bad.extend([zero_repeat, no_bits, far_shift]);
    for e in &bad {
        // Step 8 for the first one (offset 7 + 2 bytes runs past it), 32 for the second.
        let step = if e.offset == 30 { 32 } else { 8 };
        assert_eq!(ChannelIter::<i64>::new(&block, step, e).count(), 0, "{e:?}");
        let mut out = vec![0i64; 16];
        assert_eq!(read_into(&block, step, e, &mut out).unwrap(), 0, "{e:?}");
        let mut conv = vec![0f64; 16];
        assert_eq!(
            convert_into(&block, step, e, 1.0, 0.0, &mut conv),
            0,
            "{e:?}"
        );
        let mut w = block.clone();
        assert_eq!(write_from(&mut w, step, e, &[1i64; 16]), 0, "{e:?}");
        assert_eq!(w, block);
    }
}
