//! [`Values`]: the values of several lines of a request, for one read or write.

use std::sync::Arc;

use super::Value;

/// Values of some lines of a request: bit *i* is the *i*-th requested line; only the lines in
/// the mask count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Values {
    pub(super) offsets: Arc<[u32]>,
    pub(super) bits: u64,
    pub(super) mask: u64,
}

impl Values {
    fn index(&self, offset: u32) -> Option<usize> {
        self.offsets.iter().position(|&o| o == offset)
    }

    /// The value of a line, if it is selected.
    pub fn get(&self, offset: u32) -> Option<Value> {
        let i = self.index(offset)?;
        (self.mask & (1 << i) != 0).then(|| Value::from(self.bits & (1 << i) != 0))
    }

    /// Sets (and selects) a line's value; false if the line is not part of the request.
    pub fn set(&mut self, offset: u32, value: Value) -> bool {
        let Some(i) = self.index(offset) else {
            return false;
        };
        self.mask |= 1 << i;
        if value == Value::Active {
            self.bits |= 1 << i;
        } else {
            self.bits &= !(1 << i);
        }
        true
    }

    /// Selects lines to read with [`Request::read_values`](super::Request::read_values); false if one is not requested.
    pub fn select(&mut self, offsets: &[u32]) -> bool {
        let mut ok = true;
        for &o in offsets {
            match self.index(o) {
                Some(i) => self.mask |= 1 << i,
                None => ok = false,
            }
        }
        ok
    }

    /// Selects every line of the request.
    pub fn select_all(&mut self) {
        self.mask = all_mask(self.offsets.len());
    }

    /// The selected lines and their values, in request order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, Value)> + '_ {
        self.offsets
            .iter()
            .enumerate()
            .filter(|(i, _)| self.mask & (1 << i) != 0)
            .map(|(i, &o)| (o, Value::from(self.bits & (1 << i) != 0)))
    }

    /// Raw bits, by request index.
    pub fn bits(&self) -> u64 {
        self.bits
    }

    /// Raw mask, by request index.
    pub fn mask(&self) -> u64 {
        self.mask
    }

    /// Sets raw bits and mask (by request index).
    pub fn set_bits(&mut self, bits: u64, mask: u64) {
        self.bits = bits & mask;
        self.mask = mask;
    }
}

/// A mask of the first `n` bits.
pub(super) fn all_mask(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}
