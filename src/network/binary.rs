//! The binary protocol of libiio 1.x's iiod, as pure data: the 8-byte frame header and the
//! opcode numbering. Sessions in `mod.rs` put them on the wire.
//!
//! The binary protocol has no version field and libiio changed its opcode numbers after 1.0
//! (event-attribute opcodes were inserted in the middle of the enum in 2026). We pin the
//! **libiio 1.0 numbering** (`iiod-responder.h` from December 2023 to November 2025), the one
//! released 1.x servers speak: see `shared/protocol/iiod.md` §3.3.

/// The header size: `u16 client_id, u8 op, u8 dev, i32 code`, in the sender's byte order
/// (little-endian on every machine iiod runs on; we send and expect little-endian).
pub(crate) const HEADER_LEN: usize = 8;

/// Opcodes of the libiio 1.0 numbering (only those this client sends or receives).
#[allow(dead_code)] // The buffer opcodes are listed for the record; buffers use the text protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Op {
    Response = 0,
    Print = 1,
    Timeout = 2,
    ReadAttr = 3,
    ReadDbgAttr = 4,
    ReadBufAttr = 5,
    ReadChnAttr = 6,
    WriteAttr = 7,
    WriteDbgAttr = 8,
    WriteBufAttr = 9,
    WriteChnAttr = 10,
    GetTrig = 11,
    SetTrig = 12,
    CreateBuffer = 13,
    FreeBuffer = 14,
    EnableBuffer = 15,
    DisableBuffer = 16,
    CreateBlock = 17,
    FreeBlock = 18,
    TransferBlock = 19,
    EnqueueBlockCyclic = 20,
    RetryDequeueBlock = 21,
}

/// One frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Request/response matching; 0 is the default channel of a connection.
    pub(crate) client_id: u16,
    /// The opcode ([`Op`] as a number: a server may send anything).
    pub(crate) op: u8,
    /// Device index in context order.
    pub(crate) dev: u8,
    /// The argument; in responses a byte count (≥ 0) or `-errno`.
    pub(crate) code: i32,
}

impl Header {
    /// The 8 bytes on the wire.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..2].copy_from_slice(&self.client_id.to_le_bytes());
        b[2] = self.op;
        b[3] = self.dev;
        b[4..8].copy_from_slice(&self.code.to_le_bytes());
        b
    }

    /// Reads a header from its 8 bytes.
    pub(crate) fn decode(b: &[u8; HEADER_LEN]) -> Header {
        Header {
            client_id: u16::from_le_bytes([b[0], b[1]]),
            op: b[2],
            dev: b[3],
            code: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

/// `code` of an attribute command: attribute index in the high 16 bits, channel (or buffer)
/// index in the low 16 bits. `None` when an index does not fit.
pub(crate) fn attr_code(attr: usize, low: usize) -> Option<i32> {
    let attr = u16::try_from(attr).ok()?;
    let low = u16::try_from(low).ok()?;
    Some(((u32::from(attr) << 16) | u32::from(low)) as i32)
}

/// Whether a PRINT payload is a zstd frame (rather than plain XML).
pub(crate) fn is_zstd(payload: &[u8]) -> bool {
    payload.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_little_endian() {
        let h = Header {
            client_id: 0x0102,
            op: Op::ReadChnAttr as u8,
            dev: 3,
            code: -22,
        };
        let b = h.encode();
        assert_eq!(b, [0x02, 0x01, 6, 3, 0xea, 0xff, 0xff, 0xff]);
        assert_eq!(Header::decode(&b), h);
    }

    #[test]
    fn attribute_codes() {
        assert_eq!(attr_code(2, 5), Some(0x0002_0005));
        assert_eq!(attr_code(0xffff, 0xffff), Some(-1));
        assert_eq!(attr_code(0x1_0000, 0), None);
    }
}
