//! Scan-element data formats: the kernel's `_type` strings
//! (`[be|le]:[s|u]BITS/STORAGE[XREPEAT]>>SHIFT`, e.g. `le:s12/16>>4`), their printed form as
//! libiio prints it, and the raw-to-value conversion (byte order, shift, mask, sign
//! extension, repeat) plus scale/offset to physical units. Pure functions, no I/O.

use crate::error::{Error, Result};
use std::fmt;

/// How one scan element is laid out in a buffer sample, as the kernel describes it in the
/// element's `_type` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataFormat {
    /// Bits of storage per value (`STORAGE`): 8, 16, 24, 32 or 64.
    pub length: u32,
    /// Bits that carry data (`BITS`).
    pub bits: u32,
    /// Right shift to apply before masking (`SHIFT`).
    pub shift: u32,
    /// Two's complement signed data (`s`/`S`).
    pub is_signed: bool,
    /// libiio's "fully defined" flag: the sign letter was upper-case or `bits == length`.
    /// It only changes how the format is printed (`S`/`U`).
    pub is_fully_defined: bool,
    /// Big-endian storage (`be:`).
    pub is_be: bool,
    /// Number of consecutive values per sample slot (`XREPEAT`), 1 when absent.
    pub repeat: u32,
}

impl DataFormat {
    /// Parses a `_type` string as the kernel writes it (or as libiio prints it: upper-case
    /// sign letters are accepted). Surrounding white space (the trailing newline of a sysfs
    /// file) is ignored. Errors name the whole string and the offending part.
    pub fn parse(text: &str) -> Result<DataFormat> {
        let s = text.trim();
        let err = |part: &str, reason: &'static str| Error::DataFormat {
            format: s.to_string(),
            part: part.to_string(),
            reason,
        };
        let (endian, rest) = s
            .split_once(':')
            .ok_or_else(|| err(s, "missing ':' after the byte order"))?;
        let is_be = match endian {
            "be" => true,
            "le" => false,
            _ => return Err(err(endian, "byte order must be 'be' or 'le'")),
        };
        let mut chars = rest.chars();
        let sign = chars
            .next()
            .ok_or_else(|| err(rest, "missing sign letter"))?;
        let (is_signed, upper) = match sign {
            's' => (true, false),
            'S' => (true, true),
            'u' => (false, false),
            'U' => (false, true),
            _ => {
                return Err(err(
                    &rest[..sign.len_utf8()],
                    "sign must be one of s, u, S, U",
                ))
            }
        };
        let rest = chars.as_str();
        let (sizes, shift_text) = match rest.split_once(">>") {
            Some((a, b)) => (a, Some(b)),
            None => (rest, None),
        };
        let (bits_text, storage_text) = sizes
            .split_once('/')
            .ok_or_else(|| err(sizes, "expected BITS/STORAGE"))?;
        let (storage_text, repeat_text) = match storage_text.split_once('X') {
            Some((a, b)) => (a, Some(b)),
            None => (storage_text, None),
        };
        let number = |t: &str, what: &'static str| -> Result<u32> {
            if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(t, what));
            }
            t.parse::<u32>().map_err(|_| err(t, what))
        };
        let bits = number(bits_text, "BITS is not a decimal number")?;
        let length = number(storage_text, "STORAGE is not a decimal number")?;
        let repeat = match repeat_text {
            Some(t) => number(t, "REPEAT is not a decimal number")?,
            None => 1,
        };
        let shift = match shift_text {
            Some(t) => number(t, "SHIFT is not a decimal number")?,
            None => 0,
        };
        if !matches!(length, 8 | 16 | 24 | 32 | 64) {
            return Err(err(
                storage_text,
                "STORAGE must be 8, 16, 24, 32 or 64 bits",
            ));
        }
        if bits == 0 || bits > length {
            return Err(err(bits_text, "BITS must be between 1 and STORAGE"));
        }
        if shift >= length {
            return Err(err(shift_text.unwrap_or(""), "SHIFT must be below STORAGE"));
        }
        if repeat == 0 || repeat > 4096 {
            return Err(err(repeat_text.unwrap_or(""), "REPEAT must be 1 to 4096"));
        }
        Ok(DataFormat {
            length,
            bits,
            shift,
            is_signed,
            is_fully_defined: upper || bits == length,
            is_be,
            repeat,
        })
    }

    /// Bytes one value occupies in a sample (`STORAGE / 8`).
    pub fn value_bytes(&self) -> usize {
        (self.length / 8) as usize
    }

    /// Bytes the whole element occupies in a sample (`STORAGE / 8 * REPEAT`): the unit the
    /// kernel aligns the element to.
    pub fn sample_bytes(&self) -> usize {
        self.value_bytes() * self.repeat as usize
    }

    /// The storage word of one value, in host order, before shift and mask.
    #[inline]
    pub fn storage_word(&self, src: &[u8]) -> u64 {
        let n = self.value_bytes();
        let src = &src[..n];
        let mut word: u64 = 0;
        if self.is_be {
            for &b in src {
                word = (word << 8) | u64::from(b);
            }
        } else {
            for &b in src.iter().rev() {
                word = (word << 8) | u64::from(b);
            }
        }
        word
    }

    /// Extracts one value from the first `STORAGE/8` bytes of `src`: byte order, shift, mask
    /// and sign extension, as `iio_channel_convert` does. Panics if `src` is shorter than one
    /// value; use [`DataFormat::value_bytes`] to size it.
    #[inline]
    pub fn extract_i64(&self, src: &[u8]) -> i64 {
        let word = self.storage_word(src) >> self.shift;
        let bits = self.bits;
        if bits >= 64 {
            return word as i64;
        }
        let masked = word & ((1u64 << bits) - 1);
        if self.is_signed {
            let sign_shift = 64 - bits;
            ((masked << sign_shift) as i64) >> sign_shift
        } else {
            masked as i64
        }
    }

    /// Like [`DataFormat::extract_i64`] but returns the masked value without sign extension.
    #[inline]
    pub fn extract_u64(&self, src: &[u8]) -> u64 {
        let word = self.storage_word(src) >> self.shift;
        if self.bits >= 64 {
            word
        } else {
            word & ((1u64 << self.bits) - 1)
        }
    }

    /// Converts one raw value to physical units: `(raw + offset) * scale`, the IIO ABI's rule
    /// for `_raw`, `_offset` and `_scale`.
    #[inline]
    pub fn to_physical(raw: i64, scale: f64, offset: f64) -> f64 {
        (raw as f64 + offset) * scale
    }

    /// Encodes `value` into `dst` (the first `STORAGE/8` bytes) the way the kernel expects it
    /// for output buffers: masked to BITS, shifted left by SHIFT, in the storage byte order.
    #[inline]
    pub fn insert(&self, value: i64, dst: &mut [u8]) {
        let mask = if self.bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.bits) - 1
        };
        let word = ((value as u64) & mask) << self.shift;
        let n = self.value_bytes();
        let dst = &mut dst[..n];
        for (i, b) in dst.iter_mut().enumerate() {
            let byte_index = if self.is_be { n - 1 - i } else { i };
            *b = (word >> (8 * byte_index)) as u8;
        }
    }
}

impl fmt::Display for DataFormat {
    /// Prints the format the way libiio's `iio_info` and XML writer do: upper-case sign letter
    /// for fully defined formats, `X<repeat>` only when the repeat count is above 1.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match (self.is_signed, self.is_fully_defined) {
            (true, false) => 's',
            (true, true) => 'S',
            (false, false) => 'u',
            (false, true) => 'U',
        };
        write!(
            f,
            "{}e:{}{}/{}",
            if self.is_be { 'b' } else { 'l' },
            sign,
            self.bits,
            self.length
        )?;
        if self.repeat > 1 {
            write!(f, "X{}", self.repeat)?;
        }
        write!(f, ">>{}", self.shift)
    }
}

impl std::str::FromStr for DataFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        DataFormat::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_strings() {
        let f = DataFormat::parse("le:s12/16>>4\n").unwrap();
        assert_eq!(
            f,
            DataFormat {
                length: 16,
                bits: 12,
                shift: 4,
                is_signed: true,
                is_fully_defined: false,
                is_be: false,
                repeat: 1
            }
        );
        assert_eq!(f.to_string(), "le:s12/16>>4");
        let t = DataFormat::parse("le:s64/64>>0").unwrap();
        assert!(t.is_fully_defined);
        assert_eq!(t.to_string(), "le:S64/64>>0");
        let r = DataFormat::parse("be:u16/16X4>>0").unwrap();
        assert_eq!(r.repeat, 4);
        assert_eq!(r.sample_bytes(), 8);
        assert_eq!(r.to_string(), "be:U16/16X4>>0");
        // libiio's upper-case letter is kept even when bits < storage.
        assert_eq!(
            DataFormat::parse("le:S14/16>>0").unwrap().to_string(),
            "le:S14/16>>0"
        );
        // shift is optional
        assert_eq!(DataFormat::parse("be:u24/32").unwrap().shift, 0);
    }

    #[test]
    fn malformed_strings_name_the_part() {
        for (text, part) in [
            ("xe:s12/16>>4", "xe"),
            ("le:q12/16>>4", "q"),
            ("le:s12-16>>4", "12-16"),
            ("le:sab/16>>4", "ab"),
            ("le:s12/17>>4", "17"),
            ("le:s20/16>>0", "20"),
            ("le:s12/16>>16", "16"),
            ("le:s12/16X0>>0", "0"),
            ("le", "le"),
            ("le:", ""),
        ] {
            match DataFormat::parse(text) {
                Err(Error::DataFormat {
                    format, part: p, ..
                }) => {
                    assert_eq!(format, text);
                    assert_eq!(p, part, "{text}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn extracts_values() {
        let f = DataFormat::parse("le:s12/16>>4").unwrap();
        // -3 << 4 = 0xffd0 little-endian
        assert_eq!(f.extract_i64(&[0xd0, 0xff]), -3);
        let u = DataFormat::parse("be:u10/16>>2").unwrap();
        assert_eq!(u.extract_i64(&[0x0f, 0xfc]), 0x3ff);
        let s24 = DataFormat::parse("le:s24/32>>8").unwrap();
        let mut buf = [0u8; 4];
        s24.insert(-1234567, &mut buf);
        assert_eq!(s24.extract_i64(&buf), -1234567);
        let be20 = DataFormat::parse("be:s20/32>>4").unwrap();
        be20.insert(-4641, &mut buf);
        assert_eq!(be20.extract_i64(&buf), -4641);
        let ts = DataFormat::parse("le:s64/64>>0").unwrap();
        let v = i64::MIN + 5;
        assert_eq!(ts.extract_i64(&v.to_le_bytes()), v);
        let u64f = DataFormat::parse("le:u64/64>>0").unwrap();
        assert_eq!(u64f.extract_u64(&u64::MAX.to_le_bytes()), u64::MAX);
        let b24 = DataFormat::parse("be:u24/24>>0").unwrap();
        assert_eq!(b24.extract_i64(&[1, 2, 3]), 0x010203);
        let bit = DataFormat::parse("le:u1/16>>9").unwrap();
        assert_eq!(bit.extract_i64(&[0x00, 0x02]), 1);
        assert_eq!(bit.extract_i64(&[0xff, 0xfd]), 0);
        assert_eq!(DataFormat::to_physical(73, 0.001333, 7.0), 80.0 * 0.001333);
    }
}
