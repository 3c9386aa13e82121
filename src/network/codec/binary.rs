//! The binary protocol of libiio 1.x's iiod, both directions: the 8-byte frame header, the
//! operations and the two opcode numberings they have had on the wire, and the commands and
//! replies of [`super::Command`] in frames.
//!
//! The binary protocol has no version field, and libiio renumbered it: in June 2026 (commit
//! 93ef6cc2) its main branch inserted the event-attribute opcodes at 7, 8, 13 and 14, moving
//! every later opcode, and later appended `REFRESH_FORMAT` and `NOP`. The same byte means a
//! write of another attribute under the other numbering (the earlier WRITE_ATTR, 7, is the
//! current READ_DEV_EVT_ATTR; the earlier WRITE_CHN_ATTR, 10, the current WRITE_DBG_ATTR), so
//! an operation is only ever turned into a byte through the [`Numbering`] established with
//! the server (`mod.rs` explains how), never by a fixed table.

use super::{Command, Reply};
use crate::attr_loc::AttrLoc;
use crate::error::{Error, Result};
use crate::model::ContextData;
use crate::network::conn::{Conn, Deadline};
use rustix::io::Errno;

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

/// `code` of a block command: buffer index in the low 16 bits, block index in the high.
pub(crate) fn block_code(buffer: u16, block: u16) -> i32 {
    ((u32::from(block) << 16) | u32::from(buffer)) as i32
}

/// Client side: appends the frame of a buffer, block or event operation (those the
/// [`Command`] enum does not carry: their state lives in the stream that sends them) to
/// `out`: the header with `op`'s opcode under `numbering`, then `payload`.
pub(crate) fn encode_op(
    op: Op,
    numbering: Numbering,
    client_id: u16,
    dev: u8,
    code: i32,
    payload: &[&[u8]],
    out: &mut Vec<u8>,
) -> Result<()> {
    let opcode = op.code(numbering).ok_or_else(|| Error::Unsupported {
        backend: "network",
        what: format!("{op:?}: the server speaks the {}", numbering.describe()),
    })?;
    let header = Header {
        client_id,
        op: opcode,
        dev,
        code,
    };
    out.extend_from_slice(&header.encode());
    for p in payload {
        out.extend_from_slice(p);
    }
    Ok(())
}

/// A block's transfer failed: `Enqueue` when the server could not queue it (the block is
/// the client's again), `Dequeue` when it was queued but waiting for it failed (it is
/// still queued: ask again with `RETRY_DEQUEUE_BLOCK`). iiod tells them apart by shifting
/// an enqueue error 16 bits left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockError {
    /// Not queued; the errno.
    Enqueue(i32),
    /// Queued, not dequeued; the errno.
    Dequeue(i32),
}

impl BlockError {
    /// The failure a negative transfer response `code` reports.
    pub(crate) fn of(code: i32) -> BlockError {
        if code & 0xffff == 0 {
            BlockError::Enqueue(-(code >> 16))
        } else {
            BlockError::Dequeue(-code)
        }
    }
}

/// Whether a PRINT payload is a zstd frame (rather than plain XML).
pub(crate) fn is_zstd(payload: &[u8]) -> bool {
    payload.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
}

/// The opcode of responses, the same in every numbering.
pub(crate) const RESPONSE: u8 = 0;

/// The context a binary command is resolved against, or the error when there is none yet
/// (only PRINT, TIMEOUT and NOP go before the context is known).
fn need_data<'d>(data: Option<&'d ContextData>, cmd: &Command<'_>) -> Result<&'d ContextData> {
    data.ok_or_else(|| Error::InvalidValue {
        what: cmd.describe(),
        reason: "the binary protocol addresses devices by index: the context is not known yet"
            .into(),
    })
}

/// Opcode, device index and code of an attribute command.
fn attr_header(loc: &AttrLoc<'_>, data: &ContextData, write: bool) -> Result<(Op, u8, i32)> {
    let missing = || Error::NoAttribute {
        owner: loc.owner(),
        attr: loc.name().to_string(),
    };
    let (dev_id, name) = match loc {
        AttrLoc::Device { dev, name }
        | AttrLoc::Buffer { dev, name }
        | AttrLoc::Debug { dev, name }
        | AttrLoc::Event { dev, name }
        | AttrLoc::Channel { dev, name, .. } => (*dev, *name),
    };
    let di = super::dev_index(data, dev_id)?;
    let dev = &data.devices[usize::from(di)];
    // libiio 1.x addresses an attribute by its position in the list sorted by name (it
    // sorts what it reads; iiod 1.x's descriptions come sorted, ferroio serve's in the
    // board's order): the rank of the name, whatever order the description had.
    let pos = |list: &[crate::model::AttrData]| sorted_rank(list, |a| a.name == name);
    let pick = |read: Op, written: Op| if write { written } else { read };
    let (op, attr, low) = match loc {
        AttrLoc::Device { .. } => (
            pick(Op::ReadAttr, Op::WriteAttr),
            pos(&dev.attrs).ok_or_else(missing)?,
            0,
        ),
        AttrLoc::Debug { .. } => (
            pick(Op::ReadDbgAttr, Op::WriteDbgAttr),
            pos(&dev.debug_attrs).ok_or_else(missing)?,
            0,
        ),
        AttrLoc::Buffer { .. } => (
            pick(Op::ReadBufAttr, Op::WriteBufAttr),
            pos(&dev.buffer_attrs).ok_or_else(missing)?,
            0,
        ),
        AttrLoc::Event { .. } => {
            // Named by file (`in_voltage0_thresh_rising_en`), as local event attributes
            // are; the device's own by name. Indexes are positions in the lists of the
            // server's description (which libiio 1.x writes sorted, as it holds them).
            let by = |a: &crate::model::AttrData| a.name == name || a.filename == name;
            match sorted_rank(&dev.event_attrs, by) {
                Some(i) => (pick(Op::ReadDevEvtAttr, Op::WriteDevEvtAttr), i, 0),
                None => dev
                    .channels
                    .iter()
                    .enumerate()
                    .find_map(|(ci, c)| {
                        sorted_rank(&c.event_attrs, |a| a.filename == name).map(|ai| (ai, ci))
                    })
                    .map(|(ai, ci)| (pick(Op::ReadChnEvtAttr, Op::WriteChnEvtAttr), ai, ci))
                    .ok_or_else(missing)?,
            }
        }
        AttrLoc::Channel {
            channel, output, ..
        } => {
            let ci = dev
                .channels
                .iter()
                .position(|c| c.id == *channel && c.output == *output)
                .ok_or_else(missing)?;
            (
                pick(Op::ReadChnAttr, Op::WriteChnAttr),
                pos(&dev.channels[ci].attrs).ok_or_else(missing)?,
                ci,
            )
        }
    };
    let code = attr_code(attr, low).ok_or_else(|| Error::Unsupported {
        backend: "network",
        what: format!(
            "'{name}' of {}: index beyond the binary protocol's 16 bits",
            loc.owner()
        ),
    })?;
    Ok((op, di, code))
}

/// The position, in `list` sorted by name (byte order, as libiio 1.x sorts), of the first
/// attribute `hit` picks.
fn sorted_rank(
    list: &[crate::model::AttrData],
    hit: impl Fn(&crate::model::AttrData) -> bool,
) -> Option<usize> {
    let found = list.iter().find(|a| hit(a))?;
    let key = found.name.as_bytes();
    Some(list.iter().filter(|a| a.name.as_bytes() < key).count())
}

/// The index of a trigger named by id or name, as SETTRIG's code carries it.
fn trigger_index(data: &ContextData, trigger: &str) -> Option<usize> {
    let devs = &data.devices;
    devs.iter()
        .position(|d| d.id == trigger)
        .or_else(|| data.trigger_named(trigger))
}

/// Client side: appends `cmd`'s frame (header and payload) to `out`, with the opcodes of
/// `numbering`; an operation that numbering lacks is refused before anything is appended.
pub(crate) fn encode(
    cmd: &Command<'_>,
    value: &[u8],
    numbering: Numbering,
    data: Option<&ContextData>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let (op, dev, code) = match cmd {
        Command::Print { .. } => (Op::Print, 0, 0),
        Command::Timeout { ms } => (Op::Timeout, 0, *ms),
        Command::Nop => (Op::Nop, 0, 0),
        Command::ReadAttr(loc) => attr_header(loc, need_data(data, cmd)?, false)?,
        Command::WriteAttr { loc, len } => {
            if *len != value.len() as u64 {
                return Err(Error::InvalidValue {
                    what: cmd.describe(),
                    reason: format!("{len} bytes announced, {} given", value.len()),
                });
            }
            attr_header(loc, need_data(data, cmd)?, true)?
        }
        Command::GetTrig { dev } => (
            Op::GetTrig,
            super::dev_index(need_data(data, cmd)?, dev)?,
            0,
        ),
        Command::SetTrig { dev, trigger } => {
            let data = need_data(data, cmd)?;
            let code = match trigger {
                None => -1,
                Some(t) => {
                    let i = trigger_index(data, t).ok_or_else(|| Error::NoDevice(t.to_string()))?;
                    i32::try_from(i).map_err(|_| Error::NoDevice(t.to_string()))?
                }
            };
            (Op::SetTrig, super::dev_index(data, dev)?, code)
        }
        other => {
            return Err(Error::Unsupported {
                backend: "network",
                what: format!("{} in the binary protocol", other.describe()),
            })
        }
    };
    let opcode = op.code(numbering).ok_or_else(|| Error::Unsupported {
        backend: "network",
        what: format!("{op:?}: the server speaks the {}", numbering.describe()),
    })?;
    let header = Header {
        client_id: 0,
        op: opcode,
        dev,
        code,
    };
    out.extend_from_slice(&header.encode());
    if let Command::WriteAttr { len, .. } = cmd {
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(value);
    }
    Ok(())
}

/// Client side: reads frames until the response to client 0 comes, and decodes it for `cmd`
/// (responses to other clients are skipped: nothing else is in flight on a connection).
pub(crate) fn read_reply(
    conn: &mut Conn,
    cmd: &Command<'_>,
    data: Option<&ContextData>,
    max: usize,
    deadline: Deadline,
) -> Result<std::result::Result<Reply, i64>> {
    let what = cmd.describe();
    loop {
        let mut raw = [0u8; HEADER_LEN];
        conn.read_exact(&mut raw, &what, deadline)?;
        let h = Header::decode(&raw);
        if h.op != RESPONSE {
            return Err(
                conn.proto_err(&what, format!("unexpected opcode {} from the server", h.op))
            );
        }
        if h.client_id != 0 {
            // Not ours: drop its payload.
            let n = usize::try_from(h.code.max(0)).unwrap_or(0);
            if n > max.max(MAX_STRAY) {
                return Err(conn.proto_err(&what, format!("stray response of {n} bytes")));
            }
            conn.skip(n, &what, deadline)?;
            continue;
        }
        let code = i64::from(h.code);
        return match cmd {
            Command::GetTrig { .. } => {
                if code == super::neg(Errno::NODEV) {
                    // The binary protocol's "no trigger" (what `encode_reply` sends for it,
                    // and libiio 1.x's own local backend answers).
                    return Ok(Ok(Reply::Trigger(None)));
                }
                if code < 0 {
                    return Ok(Err(code));
                }
                let t = data
                    .and_then(|d| d.devices.get(h.code as usize))
                    .ok_or_else(|| {
                        conn.proto_err(
                            &what,
                            format!("trigger index {code} is not a device of the context"),
                        )
                    })?;
                Ok(Ok(Reply::Trigger(Some(
                    t.name.clone().unwrap_or_else(|| t.id.clone()),
                ))))
            }
            _ if code < 0 => Ok(Err(code)),
            Command::Print { .. } | Command::ReadAttr(_) => {
                let n = usize::try_from(code).unwrap_or(usize::MAX);
                Ok(Ok(Reply::Data(conn.read_payload(n, max, &what, deadline)?)))
            }
            // Commands without output (writes, TIMEOUT, SETTRIG, NOP): the code is a count
            // or a status, and nothing follows.
            _ => Ok(Ok(Reply::Code(code))),
        };
    }
}

/// Client side: reads frames until the response to client 0 comes (skipping other
/// clients' responses) and returns its payload, at most `max` bytes, or its `-errno`: the
/// reply of an operation sent with [`encode_op`].
pub(crate) fn read_response(
    conn: &mut Conn,
    what: &str,
    max: usize,
    deadline: Deadline,
) -> Result<std::result::Result<Vec<u8>, i64>> {
    loop {
        let mut raw = [0u8; HEADER_LEN];
        conn.read_exact(&mut raw, what, deadline)?;
        let h = Header::decode(&raw);
        if h.op != RESPONSE {
            return Err(conn.proto_err(what, format!("unexpected opcode {} from the server", h.op)));
        }
        let n = usize::try_from(h.code.max(0)).unwrap_or(0);
        if h.client_id != 0 {
            if n > MAX_STRAY {
                return Err(conn.proto_err(what, format!("stray response of {n} bytes")));
            }
            conn.skip(n, what, deadline)?;
            continue;
        }
        if h.code < 0 {
            return Ok(Err(i64::from(h.code)));
        }
        return Ok(Ok(conn.read_payload(n, max, what, deadline)?));
    }
}

/// The most of another client's response skipped without complaint.
const MAX_STRAY: usize = 1 << 20;

/// What follows a binary command's header, for a server to read before acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Follows {
    /// Nothing.
    Nothing,
    /// A `u64` length, then that many bytes (attribute writes).
    LengthAndValue,
}

/// Server side: the command of a request frame under `numbering`, resolved against the
/// served context's snapshot (indexes to names), and what follows its header. `Err(errno)`
/// for a request naming what does not exist (the server answers `-errno`, after reading
/// what follows); `None` for an opcode this codec does not decode (the server ends the
/// session, as iiod does for an opcode it does not know: what follows cannot be skipped).
pub(crate) fn decode_command<'a>(
    h: &Header,
    numbering: Numbering,
    data: &'a ContextData,
) -> Option<(std::result::Result<Command<'a>, i32>, Follows)> {
    let op = Op::from_code(h.op, numbering)?;
    let einval = Errno::INVAL.raw_os_error();
    let dev = data.devices.get(usize::from(h.dev));
    let dev_err = Errno::NODEV.raw_os_error();
    let arg1 = usize::from((h.code as u32 >> 16) as u16);
    let arg2 = usize::from((h.code as u32 & 0xffff) as u16);
    let attr = |write: bool| -> std::result::Result<Command<'a>, i32> {
        let d = dev.ok_or(dev_err)?;
        let name_of = |list: &'a [crate::model::AttrData], i: usize| {
            list.get(i).map(|a| a.name.as_str()).ok_or(einval)
        };
        let loc = match op {
            Op::ReadAttr | Op::WriteAttr => AttrLoc::Device {
                dev: &d.id,
                name: name_of(&d.attrs, arg1)?,
            },
            Op::ReadDbgAttr | Op::WriteDbgAttr => AttrLoc::Debug {
                dev: &d.id,
                name: name_of(&d.debug_attrs, arg1)?,
            },
            Op::ReadDevEvtAttr | Op::WriteDevEvtAttr => {
                let a = d.event_attrs.get(arg1).ok_or(einval)?;
                // A local device's event attribute is its file name (name and file agree).
                let file = if a.filename.is_empty() {
                    &a.name
                } else {
                    &a.filename
                };
                AttrLoc::Event {
                    dev: &d.id,
                    name: file.as_str(),
                }
            }
            Op::ReadChnEvtAttr | Op::WriteChnEvtAttr => {
                let c = d.channels.get(arg2).ok_or(einval)?;
                AttrLoc::Event {
                    dev: &d.id,
                    name: c.event_attrs.get(arg1).ok_or(einval)?.filename.as_str(),
                }
            }
            Op::ReadBufAttr | Op::WriteBufAttr if arg2 == 0 => AttrLoc::Buffer {
                dev: &d.id,
                name: name_of(&d.buffer_attrs, arg1)?,
            },
            Op::ReadChnAttr | Op::WriteChnAttr => {
                let c = d.channels.get(arg2).ok_or(einval)?;
                AttrLoc::Channel {
                    dev: &d.id,
                    channel: &c.id,
                    output: c.output,
                    name: name_of(&c.attrs, arg1)?,
                    filename: "",
                }
            }
            _ => return Err(einval),
        };
        Ok(if write {
            Command::WriteAttr { loc, len: 0 }
        } else {
            Command::ReadAttr(loc)
        })
    };
    Some(match op {
        Op::Print => (Ok(Command::Print { zstd: true }), Follows::Nothing),
        Op::Timeout => (Ok(Command::Timeout { ms: h.code }), Follows::Nothing),
        Op::Nop => (Ok(Command::Nop), Follows::Nothing),
        Op::ReadAttr
        | Op::ReadDbgAttr
        | Op::ReadBufAttr
        | Op::ReadChnAttr
        | Op::ReadDevEvtAttr
        | Op::ReadChnEvtAttr => (attr(false), Follows::Nothing),
        Op::WriteAttr
        | Op::WriteDbgAttr
        | Op::WriteBufAttr
        | Op::WriteChnAttr
        | Op::WriteDevEvtAttr
        | Op::WriteChnEvtAttr => (attr(true), Follows::LengthAndValue),
        Op::GetTrig => (
            dev.map(|d| Command::GetTrig { dev: &d.id }).ok_or(dev_err),
            Follows::Nothing,
        ),
        Op::SetTrig => {
            let cmd = dev.ok_or(dev_err).and_then(|d| {
                let trigger = match h.code {
                    -1 => None,
                    i => Some(
                        usize::try_from(i)
                            .ok()
                            .and_then(|i| data.devices.get(i))
                            .map(|t| t.id.as_str())
                            .ok_or(dev_err)?,
                    ),
                };
                Ok(Command::SetTrig {
                    dev: &d.id,
                    trigger,
                })
            });
            (cmd, Follows::Nothing)
        }
        _ => return None,
    })
}

/// Server side: appends the response frame of a reply to client `client_id`. A trigger is
/// sent as its device index in `data` (a trigger not in it: `-ENODEV`, as iiod 1.x).
pub(crate) fn encode_reply(
    client_id: u16,
    reply: std::result::Result<&Reply, i64>,
    data: &ContextData,
    out: &mut Vec<u8>,
) {
    let clamp = |n: i64| i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX });
    let nodev = -Errno::NODEV.raw_os_error();
    let (code, payload): (i32, &[u8]) = match reply {
        Err(e) => (clamp(e), &[]),
        Ok(Reply::Code(n)) => (clamp(*n), &[]),
        Ok(Reply::Data(d)) => match i32::try_from(d.len()) {
            Ok(n) => (n, d.as_slice()),
            Err(_) => (-Errno::FBIG.raw_os_error(), &[]),
        },
        Ok(Reply::Trigger(None)) => (nodev, &[]),
        Ok(Reply::Trigger(Some(t))) => (
            trigger_index(data, t)
                .and_then(|i| i32::try_from(i).ok())
                .unwrap_or(nodev),
            &[],
        ),
        Ok(Reply::Version(_)) => (-Errno::INVAL.raw_os_error(), &[]),
    };
    let h = Header {
        client_id,
        op: RESPONSE,
        dev: 0,
        code,
    };
    out.extend_from_slice(&h.encode());
    out.extend_from_slice(payload);
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

    #[test]
    fn block_codes_and_their_errors() {
        assert_eq!(block_code(1, 3), 0x0003_0001);
        // iiod: an enqueue failure is `-errno << 16`, a dequeue failure plain `-errno`.
        assert_eq!(BlockError::of(-22 << 16), BlockError::Enqueue(22));
        assert_eq!(BlockError::of(-110), BlockError::Dequeue(110));
        assert_eq!(BlockError::of(-1 << 16), BlockError::Enqueue(1));
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
