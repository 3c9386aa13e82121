//! Demultiplexing: taking channels' values out of a block of interleaved scans (and
//! putting them in, for output), as typed integers or converted to physical units. Pure
//! functions over byte slices, no I/O.
//!
//! - `field.rs`: `Field` — how one value is stored and taken out; the one
//!   extraction type every path below uses.
//! - `iter.rs`: the iterators ([`ChannelIter`], [`ConvertedIter`], [`ArrayIter`]).
//! - `channel.rs`: one channel of a block ([`read_into`], [`convert_into`],
//!   [`write_from`]), by loops monomorphized on the format.
//! - `transpose.rs`: every element of a block at once ([`demux_into`]), by windows of 16-
//!   and 32-bit words that the SIMD kernels (`simd.rs`, the one module besides the uAPI
//!   layers allowed `unsafe`) transpose in registers, and the per-channel loops for the rest.
//! - `samples.rs`: the typed containers of a whole-block demux ([`Samples`], [`SamplesMut`],
//!   [`SampleKind`]).
//! - [`reference`](mod@reference): the plain one-value-at-a-time extractor every fast path is tested
//!   against (public, for tests and fuzzing outside the crate).

mod channel;
mod field;
mod iter;
pub mod reference;
mod samples;
mod simd;
#[cfg(test)]
mod tests;
mod transpose;

pub use channel::{convert_into, read_into, write_from};
pub use iter::{ArrayIter, ChannelIter, ConvertedIter};
pub use samples::{DemuxOutput, SampleKind, Samples, SamplesMut};
pub use transpose::demux_into;

use crate::buffer::ElementLayout;
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

/// Whether `element` describes values a scan of `step` bytes holds: 1 to 64 bits shifted
/// by less than 64, at least once, inside the scan. Layouts from the kernel always do; the
/// public per-channel helpers take any, and give nothing for one that does not (rather
/// than index out of the scan or overflow a shift).
pub(crate) fn element_fits(step: usize, element: &ElementLayout) -> bool {
    let f = &element.format;
    let vb = f.value_bytes();
    step > 0
        && vb > 0
        && f.repeat >= 1
        && (1..=64).contains(&f.bits)
        && f.shift < 64
        && element
            .offset
            .checked_add(vb.saturating_mul(f.repeat as usize))
            .is_some_and(|end| end <= step)
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
