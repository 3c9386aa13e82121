//! The reference extractor: every value of one element, one at a time, straight from the
//! format's definition ([`DataFormat::extract_i64`]: byte order, shift, mask, sign
//! extension). It has no fast path on purpose: the iterators, the per-channel loops, the
//! whole-block demux and its SIMD kernels are all tested against it, and fuzz targets
//! outside the crate can compare against it too.

use crate::buffer::mask::ElementLayout;
#[cfg(doc)]
use crate::format::DataFormat;

/// The values of `element` in the whole `step`-byte scans of `block`, in scan order (a
/// repeat element's values of a scan one after the other), as `i64` (an unsigned 64-bit
/// value keeps its bit pattern). An element that does not fit the scan gives none.
pub fn extract(block: &[u8], step: usize, element: &ElementLayout) -> Vec<i64> {
    let f = &element.format;
    let vb = f.value_bytes();
    let repeat = f.repeat.max(1) as usize;
    if step == 0 || vb == 0 || element.offset + vb * repeat > step {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(block.len() / step * repeat);
    for scan in block.chunks_exact(step) {
        for k in 0..repeat {
            out.push(f.extract_i64(&scan[element.offset + k * vb..]));
        }
    }
    out
}
