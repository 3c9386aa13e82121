//! Iterators over one channel's values in a block: [`ChannelIter`] (typed integers),
//! [`ConvertedIter`] (physical units) and [`ArrayIter`] (a repeat channel's values per
//! scan). One [`Field::get`] per value; the bulk paths (`channel.rs`, `transpose.rs`) are
//! the fast ones.

use super::field::Field;
use super::Sample;
use crate::buffer::mask::ElementLayout;

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
    x: Field,
    _t: std::marker::PhantomData<T>,
}

impl<'a, T: Sample> ChannelIter<'a, T> {
    /// Iterates `element` over the whole scans of `block` (scans of `step` bytes): for
    /// blocks held outside a [`crate::buffer::Buffer`] (a file of recorded scans, a network
    /// payload). Check the type with [`fits`](super::fits) first: values are truncated to `T`.
    pub fn new(block: &'a [u8], step: usize, element: &ElementLayout) -> Self {
        let f = &element.format;
        // An element that does not fit the scan gives no values.
        let scans = if super::element_fits(step, element) {
            block.len() / step
        } else {
            0
        };
        ChannelIter {
            data: block.get(element.offset..).unwrap_or_default(),
            step,
            value_bytes: f.value_bytes(),
            repeat: f.repeat as usize,
            pos: 0,
            slot: 0,
            scans_left: scans,
            x: Field::new(f),
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
