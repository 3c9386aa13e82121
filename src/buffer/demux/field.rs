//! [`Field`]: how one value of a channel sits in a scan and how to take it out (load, byte
//! order, shift, mask, sign extension). It is the one field-extraction type of the demux:
//! the iterators call [`Field::get`] per value, the per-channel loops monomorphize on its
//! [`Load`] and take their in-word finishing step from [`Field::in_word`], and the
//! whole-scan windows (scalar and SIMD) take theirs from the same method.

use crate::format::DataFormat;

/// How to load one stored value: bytes and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
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

/// The extraction of one stored value: load, shift, mask, sign extension.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) load: Load,
    pub(crate) shift: u32,
    /// Bits of the value (at most 64).
    pub(crate) bits: u32,
    pub(crate) signed: bool,
}

/// The finishing step of a field inside a word of `width` bits: shifted up by `lead` so
/// that its top bit is the word's, then down by `pad`, arithmetically for a signed field
/// (the sign extension) and logically for an unsigned one (the mask).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WordFin {
    pub(crate) lead: u8,
    pub(crate) pad: u8,
    pub(crate) signed: bool,
}

impl WordFin {
    /// Nothing to do: the word is the value (the SIMD kernels' question; none on armv7).
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64", test))]
    pub(crate) fn is_identity(&self) -> bool {
        self.lead == 0 && self.pad == 0
    }
}

impl Field {
    pub(crate) fn new(format: &DataFormat) -> Field {
        Field {
            load: Load::of(format),
            shift: format.shift,
            bits: format.bits.min(64),
            signed: format.is_signed,
        }
    }

    /// The value at the start of `p` as a sign- or zero-extended 64-bit pattern (the
    /// general path, one value at a time).
    #[inline(always)]
    pub(crate) fn get(&self, p: &[u8]) -> u64 {
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
        self.finish64(w)
    }

    /// Shift, mask and sign extension of a loaded storage word, in 64 bits.
    #[inline(always)]
    pub(crate) fn finish64(&self, word: u64) -> u64 {
        let pad = 64 - self.bits;
        let v = (word >> self.shift) << pad;
        if self.signed {
            ((v as i64) >> pad) as u64
        } else {
            v >> pad
        }
    }

    /// The finishing step when the storage value lies in a word of `width` bits starting
    /// `at` bits up (the value's own byte order already applied); `None` when the field does
    /// not fit there or is empty.
    pub(crate) fn in_word(&self, width: u32, at: u32) -> Option<WordFin> {
        let low = at.checked_add(self.shift)?;
        if self.bits == 0 || width > 64 || low.checked_add(self.bits)? > width {
            return None;
        }
        // Both at most 64: `low + bits <= width <= 64`.
        Some(WordFin {
            lead: (width - low - self.bits) as u8,
            pad: (width - self.bits) as u8,
            signed: self.signed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_steps() {
        let f = Field::new(&DataFormat::parse("le:s12/16>>4").unwrap());
        assert_eq!(
            f.in_word(16, 0),
            Some(WordFin {
                lead: 0,
                pad: 4,
                signed: true
            })
        );
        assert_eq!(f.in_word(32, 16).map(|w| (w.lead, w.pad)), Some((0, 20)));
        assert_eq!(f.in_word(32, 8).map(|w| (w.lead, w.pad)), Some((8, 20)));
        assert_eq!(f.in_word(16, 8), None);
        let plain = Field::new(&DataFormat::parse("le:u16/16>>0").unwrap());
        assert!(plain.in_word(16, 0).unwrap().is_identity());
        assert_eq!(f.get(&[0xf0, 0xff]), (-1i64) as u64);
        assert_eq!(plain.get(&[0x34, 0x12]), 0x1234);
    }
}
