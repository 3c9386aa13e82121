//! The typed containers of a whole-block demux: [`SampleKind`] (the host integer a format
//! demuxes to), [`Samples`] (owned values of one element), [`SamplesMut`] (a borrowed typed
//! slice) and [`DemuxOutput`] (what [`super::demux_into`] writes into).

use crate::buffer::mask::ElementLayout;
use crate::format::DataFormat;

/// The host integer type a format's values take in a whole-block demux ([`demux_into`](super::demux_into)):
/// the storage width (24-bit storage widens to 32 bits), signed for signed formats — what
/// libiio's `iio_channel_convert` writes for a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleKind {
    /// `i8`: signed, 8-bit storage.
    I8,
    /// `u8`: unsigned, 8-bit storage.
    U8,
    /// `i16`: signed, 16-bit storage.
    I16,
    /// `u16`: unsigned, 16-bit storage.
    U16,
    /// `i32`: signed, 24- or 32-bit storage.
    I32,
    /// `u32`: unsigned, 24- or 32-bit storage.
    U32,
    /// `i64`: signed, 64-bit storage.
    I64,
    /// `u64`: unsigned, 64-bit storage.
    U64,
}

impl SampleKind {
    /// The kind a format demuxes to.
    pub fn of(format: &DataFormat) -> SampleKind {
        use SampleKind::*;
        match (format.value_bytes(), format.is_signed) {
            (0 | 1, true) => I8,
            (0 | 1, false) => U8,
            (2, true) => I16,
            (2, false) => U16,
            (3 | 4, true) => I32,
            (3 | 4, false) => U32,
            (_, true) => I64,
            (_, false) => U64,
        }
    }

    /// Bytes of one value of this kind.
    pub fn bytes(self) -> usize {
        use SampleKind::*;
        match self {
            I8 | U8 => 1,
            I16 | U16 => 2,
            I32 | U32 => 4,
            I64 | U64 => 8,
        }
    }
}

/// One element's output slice for [`demux_into`](super::demux_into), typed by its [`SampleKind`].
#[derive(Debug)]
pub enum SamplesMut<'a> {
    /// Values of an [`SampleKind::I8`] element.
    I8(&'a mut [i8]),
    /// Values of an [`SampleKind::U8`] element.
    U8(&'a mut [u8]),
    /// Values of an [`SampleKind::I16`] element.
    I16(&'a mut [i16]),
    /// Values of an [`SampleKind::U16`] element.
    U16(&'a mut [u16]),
    /// Values of an [`SampleKind::I32`] element.
    I32(&'a mut [i32]),
    /// Values of an [`SampleKind::U32`] element.
    U32(&'a mut [u32]),
    /// Values of an [`SampleKind::I64`] element.
    I64(&'a mut [i64]),
    /// Values of an [`SampleKind::U64`] element.
    U64(&'a mut [u64]),
}

/// One element's values from [`demux_into`](super::demux_into), owned: allocate once with
/// [`Samples::for_element`] and demux block after block into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Samples {
    /// Values of an [`SampleKind::I8`] element.
    I8(Vec<i8>),
    /// Values of an [`SampleKind::U8`] element.
    U8(Vec<u8>),
    /// Values of an [`SampleKind::I16`] element.
    I16(Vec<i16>),
    /// Values of an [`SampleKind::U16`] element.
    U16(Vec<u16>),
    /// Values of an [`SampleKind::I32`] element.
    I32(Vec<i32>),
    /// Values of an [`SampleKind::U32`] element.
    U32(Vec<u32>),
    /// Values of an [`SampleKind::I64`] element.
    I64(Vec<i64>),
    /// Values of an [`SampleKind::U64`] element.
    U64(Vec<u64>),
}

macro_rules! samples_common {
    ($($v:ident: $t:ty),*) => {
        impl<'a> SamplesMut<'a> {
            /// The `len` values from `at` (panics beyond the slice, as indexing does).
            pub(crate) fn range(self, at: usize, len: usize) -> SamplesMut<'a> {
                match self { $(SamplesMut::$v(s) => SamplesMut::$v(&mut s[at..at + len]),)* }
            }
        }

        impl SamplesMut<'_> {
            /// The kind of values the slice holds.
            pub fn kind(&self) -> SampleKind {
                match self { $(SamplesMut::$v(_) => SampleKind::$v,)* }
            }

            /// Number of values the slice holds.
            pub fn len(&self) -> usize {
                match self { $(SamplesMut::$v(s) => s.len(),)* }
            }

            /// Whether the slice is empty.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
        }

        $(
        impl<'a> From<&'a mut [$t]> for SamplesMut<'a> {
            fn from(s: &'a mut [$t]) -> Self {
                SamplesMut::$v(s)
            }
        }
        )*

        impl Samples {
            /// `len` zeroed values of `kind`.
            pub fn new(kind: SampleKind, len: usize) -> Samples {
                match kind { $(SampleKind::$v => Samples::$v(vec![0; len]),)* }
            }

            /// The kind of values held.
            pub fn kind(&self) -> SampleKind {
                match self { $(Samples::$v(_) => SampleKind::$v,)* }
            }

            /// Number of values held.
            pub fn len(&self) -> usize {
                match self { $(Samples::$v(v) => v.len(),)* }
            }

            /// Whether no value is held.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Value `i` as `i64` (a `u64` above `i64::MAX` keeps its bit pattern).
            pub fn get_i64(&self, i: usize) -> Option<i64> {
                match self { $(Samples::$v(v) => v.get(i).map(|&x| x as i64),)* }
            }

            /// A borrowed view to demux into.
            pub fn as_samples_mut(&mut self) -> SamplesMut<'_> {
                match self { $(Samples::$v(v) => SamplesMut::$v(v),)* }
            }
        }
    };
}
samples_common!(I8: i8, U8: u8, I16: i16, U16: u16, I32: i32, U32: u32, I64: i64, U64: u64);

impl Samples {
    /// Room for `scans` scans of `element` (`REPEAT` values per scan), of its kind.
    pub fn for_element(element: &ElementLayout, scans: usize) -> Samples {
        let f = &element.format;
        Samples::new(SampleKind::of(f), scans * f.repeat.max(1) as usize)
    }
}

/// What [`demux_into`](super::demux_into) writes into: a [`SamplesMut`] view, or an owned [`Samples`].
pub trait DemuxOutput {
    /// The output as a typed slice.
    fn samples_mut(&mut self) -> SamplesMut<'_>;
}

impl DemuxOutput for SamplesMut<'_> {
    fn samples_mut(&mut self) -> SamplesMut<'_> {
        match self {
            SamplesMut::I8(s) => SamplesMut::I8(s),
            SamplesMut::U8(s) => SamplesMut::U8(s),
            SamplesMut::I16(s) => SamplesMut::I16(s),
            SamplesMut::U16(s) => SamplesMut::U16(s),
            SamplesMut::I32(s) => SamplesMut::I32(s),
            SamplesMut::U32(s) => SamplesMut::U32(s),
            SamplesMut::I64(s) => SamplesMut::I64(s),
            SamplesMut::U64(s) => SamplesMut::U64(s),
        }
    }
}

impl DemuxOutput for Samples {
    fn samples_mut(&mut self) -> SamplesMut<'_> {
        self.as_samples_mut()
    }
}
