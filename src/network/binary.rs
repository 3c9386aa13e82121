//! The binary protocol of libiio 1.x's iiod, as pure data: the 8-byte frame header, the
//! operations and the two opcode numberings they have had on the wire. Sessions in `mod.rs`
//! put them on the wire.
//!
//! The binary protocol has no version field, and libiio renumbered it: in June 2026 (commit
//! 93ef6cc2) its main branch inserted the event-attribute opcodes at 7, 8, 13 and 14, moving
//! every later opcode, and later appended `REFRESH_FORMAT` and `NOP`. The same byte means a
//! write of another attribute under the other numbering (the earlier WRITE_ATTR, 7, is the
//! current READ_DEV_EVT_ATTR; the earlier WRITE_CHN_ATTR, 10, the current WRITE_DBG_ATTR), so
//! an operation is only ever turned into a byte through the [`Numbering`] established with
//! the server (`mod.rs` explains how), never by a fixed table.

/// The header size: `u16 client_id, u8 op, u8 dev, i32 code`, in the sender's byte order
/// (little-endian on every machine iiod runs on; we send and expect little-endian).
pub(crate) const HEADER_LEN: usize = 8;

/// Which opcode table a binary iiod speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Numbering {
    /// libiio 1.0's table (from December 2023 until libiio's main changed it in June 2026;
    /// e.g. the 2d314beb snapshot): 27 opcodes, no event attributes, no `NOP`.
    Libiio10,
    /// libiio main since June 2026 (e.g. the 4e3cfe61 snapshot): event-attribute opcodes at
    /// 7, 8, 13 and 14, `REFRESH_FORMAT` and `NOP` at the end (33 opcodes).
    Main2026,
}

impl Numbering {
    /// The operations in wire order: an operation's opcode is its position.
    fn table(self) -> &'static [Op] {
        match self {
            Numbering::Libiio10 => LIBIIO_10,
            Numbering::Main2026 => MAIN_2026,
        }
    }

    /// A short human-readable name, as `-v` prints it.
    pub fn describe(self) -> &'static str {
        match self {
            Numbering::Libiio10 => "libiio 1.0 opcode numbering (no event attributes)",
            Numbering::Main2026 => {
                "libiio main opcode numbering of 2026 (event attributes, NOP at 32)"
            }
        }
    }
}

/// The operations of the binary protocol (by meaning; [`Op::code`] gives the byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    Response,
    Print,
    Timeout,
    ReadAttr,
    ReadDbgAttr,
    ReadBufAttr,
    ReadChnAttr,
    ReadDevEvtAttr,
    ReadChnEvtAttr,
    WriteAttr,
    WriteDbgAttr,
    WriteBufAttr,
    WriteChnAttr,
    WriteDevEvtAttr,
    WriteChnEvtAttr,
    GetTrig,
    SetTrig,
    OpenBuffer,
    CloseBuffer,
    EnableBuffer,
    DisableBuffer,
    CreateBlock,
    FreeBlock,
    TransferBlock,
    EnqueueBlockCyclic,
    RetryDequeueBlock,
    CreateEvstream,
    FreeEvstream,
    ReadEvent,
    RegRead,
    RegWrite,
    RefreshFormat,
    Nop,
}

/// `enum iiod_opcode` of libiio 1.0 (`iiod-responder.h` at 2d314beb), in order.
const LIBIIO_10: &[Op] = &[
    Op::Response,
    Op::Print,
    Op::Timeout,
    Op::ReadAttr,
    Op::ReadDbgAttr,
    Op::ReadBufAttr,
    Op::ReadChnAttr,
    Op::WriteAttr,
    Op::WriteDbgAttr,
    Op::WriteBufAttr,
    Op::WriteChnAttr,
    Op::GetTrig,
    Op::SetTrig,
    Op::OpenBuffer,
    Op::CloseBuffer,
    Op::EnableBuffer,
    Op::DisableBuffer,
    Op::CreateBlock,
    Op::FreeBlock,
    Op::TransferBlock,
    Op::EnqueueBlockCyclic,
    Op::RetryDequeueBlock,
    Op::CreateEvstream,
    Op::FreeEvstream,
    Op::ReadEvent,
    Op::RegRead,
    Op::RegWrite,
];

/// `enum iiod_opcode` of libiio main since June 2026 (`iiod-responder.h` at 4e3cfe61).
const MAIN_2026: &[Op] = &[
    Op::Response,
    Op::Print,
    Op::Timeout,
    Op::ReadAttr,
    Op::ReadDbgAttr,
    Op::ReadBufAttr,
    Op::ReadChnAttr,
    Op::ReadDevEvtAttr,
    Op::ReadChnEvtAttr,
    Op::WriteAttr,
    Op::WriteDbgAttr,
    Op::WriteBufAttr,
    Op::WriteChnAttr,
    Op::WriteDevEvtAttr,
    Op::WriteChnEvtAttr,
    Op::GetTrig,
    Op::SetTrig,
    Op::OpenBuffer,
    Op::CloseBuffer,
    Op::EnableBuffer,
    Op::DisableBuffer,
    Op::CreateBlock,
    Op::FreeBlock,
    Op::TransferBlock,
    Op::EnqueueBlockCyclic,
    Op::RetryDequeueBlock,
    Op::CreateEvstream,
    Op::FreeEvstream,
    Op::ReadEvent,
    Op::RegRead,
    Op::RegWrite,
    Op::RefreshFormat,
    Op::Nop,
];

impl Op {
    /// The opcode of this operation under `numbering`; `None` when that numbering has no
    /// such operation (nothing may then be sent).
    pub(crate) fn code(self, numbering: Numbering) -> Option<u8> {
        numbering
            .table()
            .iter()
            .position(|&op| op == self)
            .and_then(|i| u8::try_from(i).ok())
    }

    /// The operation an opcode means under `numbering` (`None`: not an opcode of it).
    #[allow(dead_code)] // The server side decodes with it.
    pub(crate) fn from_code(code: u8, numbering: Numbering) -> Option<Op> {
        numbering.table().get(usize::from(code)).copied()
    }
}

/// The opcode that tells the numberings apart without side effects: `NOP` of the 2026
/// numbering. A 2026 server answers it with code 0; a libiio 1.0 server has no opcode 32
/// (it has 27) and ends the session on an opcode it does not know, before doing anything.
pub(crate) const PROBE_OPCODE: u8 = 32;

/// One frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Request/response matching; 0 is the default channel of a connection.
    pub(crate) client_id: u16,
    /// The opcode (a byte of the numbering in use: a peer may send anything).
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
            op: 6,
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

    /// The bytes the failures came from: under one numbering a write, under the
    /// other something else.
    #[test]
    fn the_numberings_differ_where_writes_moved() {
        use Numbering::*;
        assert_eq!(Op::WriteAttr.code(Libiio10), Some(7));
        assert_eq!(Op::WriteAttr.code(Main2026), Some(9));
        assert_eq!(Op::from_code(7, Main2026), Some(Op::ReadDevEvtAttr));
        assert_eq!(Op::WriteChnAttr.code(Libiio10), Some(10));
        assert_eq!(Op::from_code(10, Main2026), Some(Op::WriteDbgAttr));
        assert_eq!(Op::GetTrig.code(Main2026), Some(15));
        assert_eq!(Op::SetTrig.code(Libiio10), Some(12));
        assert_eq!(Op::Nop.code(Libiio10), None);
        assert_eq!(Op::ReadDevEvtAttr.code(Libiio10), None);
        assert_eq!(Op::Nop.code(Main2026), Some(PROBE_OPCODE));
        assert_eq!(Op::from_code(PROBE_OPCODE, Libiio10), None);
        assert_eq!(Op::from_code(33, Main2026), None);
        // Every operation of either table round-trips, and none appears twice.
        for n in [Libiio10, Main2026] {
            for (i, &op) in n.table().iter().enumerate() {
                assert_eq!(op.code(n), Some(i as u8), "{op:?} in {n:?}");
                assert_eq!(Op::from_code(i as u8, n), Some(op));
            }
        }
        assert_eq!(LIBIIO_10.len(), 27);
        assert_eq!(MAIN_2026.len(), 33);
    }
}

/// The tables against libiio's own headers, when `../shared` holds the peer tarballs.
#[cfg(test)]
mod peer_headers {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// libiio's name of an operation (`IIOD_OP_...`).
    fn c_name(op: Op) -> String {
        let mut s = String::from("IIOD_OP_");
        match op {
            Op::GetTrig => s.push_str("GETTRIG"),
            Op::SetTrig => s.push_str("SETTRIG"),
            _ => {
                for (i, c) in format!("{op:?}").chars().enumerate() {
                    if c.is_ascii_uppercase() && i > 0 {
                        s.push('_');
                    }
                    s.push(c.to_ascii_uppercase());
                }
            }
        }
        s
    }

    /// The opcode names of `enum iiod_opcode` in a tarball's `iiod-responder.h`, in order.
    fn header_opcodes(tarball: &Path) -> Vec<String> {
        let out = Command::new("tar")
            .arg("-xzOf")
            .arg(tarball)
            .arg("libiio-1.0/iiod-responder.h")
            .output()
            .expect("tar");
        assert!(out.status.success(), "tar -xzOf {}", tarball.display());
        let text = String::from_utf8_lossy(&out.stdout);
        let body = text
            .split("enum iiod_opcode {")
            .nth(1)
            .and_then(|b| b.split('}').next())
            .expect("enum iiod_opcode in the header");
        body.split(',')
            .map(str::trim)
            .filter(|n| n.starts_with("IIOD_OP_"))
            .map(String::from)
            .collect()
    }

    #[test]
    fn tables_equal_libiios_enums() {
        let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/peers/libiio-1.x");
        let cases = [
            ("libiio-1.0-2d314beb.tar.gz", Numbering::Libiio10),
            ("libiio-1.0-4e3cfe61.tar.gz", Numbering::Main2026),
        ];
        for (file, numbering) in cases {
            let tarball = peers.join(file);
            if !tarball.is_file() {
                println!("skipped: {} is not present", tarball.display());
                return;
            }
            let theirs = header_opcodes(&tarball);
            let ours: Vec<String> = numbering.table().iter().map(|&op| c_name(op)).collect();
            assert_eq!(ours, theirs, "{file}");
        }
    }
}
