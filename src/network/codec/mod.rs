//! The iiod protocol as data, in both directions: a [`Command`] (what a client asks, by
//! meaning) and a [`Reply`] (what a server answers), and the two wire formats that carry
//! them, behind one [`Dialect`]:
//!
//! - `text`: libiio 0.x's command lines (`READ iio:device0 INPUT voltage0 raw\r\n`) and
//!   replies (`5\n1234\0\n`), which every iiod speaks;
//! - `binary`: libiio 1.x's 8-byte frames, with the opcode numbering established with the
//!   server (`binary::Numbering`).
//!
//! Each direction has its half: a client encodes commands ([`Dialect::encode`]) and reads
//! their replies ([`Dialect::read_reply`]); a server reads commands (`text::parse_line`,
//! `binary::decode_command`) and encodes replies ([`Dialect::encode_reply`]). Commands name
//! devices, channels and attributes as the text protocol does; the binary codec turns names
//! into the indexes of the context's snapshot and back. Nothing here owns a connection: the
//! reading halves take a [`Conn`] and a deadline, the writing halves append bytes to a
//! buffer, so a session (`super::session`) writes each operation once for both formats.

pub(crate) mod binary;
pub(crate) mod text;

use super::conn::{Conn, Deadline};
use crate::attr_loc::AttrLoc;
use crate::error::{Error, Result};
use crate::model::ContextData;
pub use binary::Numbering;

/// One iiod command, by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    /// The context description: zstd-compressed (`ZPRINT`) or plain (`PRINT`) in text; in
    /// binary `PRINT` gives whichever the server has.
    Print {
        /// Ask for the compressed form (text only).
        zstd: bool,
    },
    /// The server-side timeout of blocking operations, in ms (0: none).
    Timeout {
        /// Milliseconds.
        ms: i32,
    },
    /// Reads an attribute.
    ReadAttr(AttrLoc<'a>),
    /// Text only (iiod's "read all"): every attribute of one family, packed: per
    /// attribute a big-endian `i32` length (or `-errno`), then the value, padded to 4 bytes.
    ReadAll(AttrGroup<'a>),
    /// Text only (iiod's "write all"): `len` bytes of packed values follow, one per
    /// attribute of the family, in order.
    WriteAll {
        /// The family.
        group: AttrGroup<'a>,
        /// Bytes of the packed block.
        len: u64,
    },
    /// Writes an attribute; `len` bytes of value follow the command.
    WriteAttr {
        /// The attribute.
        loc: AttrLoc<'a>,
        /// Bytes of the value.
        len: u64,
    },
    /// The current trigger of a device.
    GetTrig {
        /// The device, by id (text: id, name or label).
        dev: &'a str,
    },
    /// Sets (or with `None`, clears) the trigger of a device.
    SetTrig {
        /// The device.
        dev: &'a str,
        /// The trigger, by id (text: id, name or label).
        trigger: Option<&'a str>,
    },
    /// Nothing; answered with 0 (binary `NOP`, liveness).
    Nop,
    /// Text only: the server's version line.
    Version,
    /// Text only: switch this connection to the binary protocol.
    Binary,
    /// Text only: end the session (no reply).
    Exit,
    /// Text only: the list of commands (free text).
    Help,
    /// Text only: opens a buffer of `samples` scans with the channels of `mask` (iiod's hex
    /// mask, 8 digits per 32 channels, most significant word first).
    Open {
        /// The device.
        dev: &'a str,
        /// Scans per block.
        samples: u64,
        /// The channel mask as the line carries it.
        mask: &'a str,
        /// Cyclic output.
        cyclic: bool,
    },
    /// Text only: closes the buffer this connection opened.
    Close {
        /// The device.
        dev: &'a str,
    },
    /// Text only: `bytes` of captured scans.
    ReadBuf {
        /// The device.
        dev: &'a str,
        /// Bytes asked for.
        bytes: u64,
    },
    /// Text only: `bytes` of output scans follow once the server says it is ready.
    WriteBuf {
        /// The device.
        dev: &'a str,
        /// Bytes announced.
        bytes: u64,
    },
    /// Text only: the number of kernel blocks of the device's buffer.
    SetBuffersCount {
        /// The device.
        dev: &'a str,
        /// Blocks.
        count: i64,
    },
}

/// One family of attributes, addressed as a whole (iiod's "read all" and "write all").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrGroup<'a> {
    /// The device's own attributes.
    Device {
        /// The device, as the client named it.
        dev: &'a str,
    },
    /// Its debug attributes.
    Debug {
        /// The device.
        dev: &'a str,
    },
    /// Its buffer attributes.
    Buffer {
        /// The device.
        dev: &'a str,
    },
    /// The attributes of one channel.
    Channel {
        /// The device.
        dev: &'a str,
        /// The channel, as the client named it.
        channel: &'a str,
        /// An output channel.
        output: bool,
    },
}

impl AttrGroup<'_> {
    /// The device the family belongs to.
    pub(crate) fn dev(&self) -> &str {
        match self {
            AttrGroup::Device { dev }
            | AttrGroup::Debug { dev }
            | AttrGroup::Buffer { dev }
            | AttrGroup::Channel { dev, .. } => dev,
        }
    }

    /// For messages: `the attributes of device iio:device0`.
    pub(crate) fn describe(&self) -> String {
        match self {
            AttrGroup::Device { dev } => format!("the attributes of device {dev}"),
            AttrGroup::Debug { dev } => format!("the debug attributes of device {dev}"),
            AttrGroup::Buffer { dev } => format!("the buffer attributes of device {dev}"),
            AttrGroup::Channel {
                dev,
                channel,
                output,
            } => format!(
                "the attributes of channel {channel} ({}) of device {dev}",
                if *output { "output" } else { "input" }
            ),
        }
    }
}

impl Command<'_> {
    /// How the command is named in messages (`READ 'raw' of channel voltage0 ...`).
    pub(crate) fn describe(&self) -> String {
        match self {
            Command::Print { zstd: true } => "ZPRINT".into(),
            Command::Print { zstd: false } => "PRINT".into(),
            Command::Timeout { ms } => format!("TIMEOUT {ms}"),
            Command::ReadAttr(loc) => format!("READ '{}' of {}", loc.name(), loc.owner()),
            Command::WriteAttr { loc, .. } => {
                format!("WRITE '{}' of {}", loc.name(), loc.owner())
            }
            Command::ReadAll(group) => format!("READ {}", group.describe()),
            Command::WriteAll { group, .. } => format!("WRITE {}", group.describe()),
            Command::GetTrig { dev } => format!("GETTRIG {dev}"),
            Command::SetTrig { dev, .. } => format!("SETTRIG {dev}"),
            Command::Nop => "NOP".into(),
            Command::Version => "VERSION".into(),
            Command::Binary => "BINARY".into(),
            Command::Exit => "EXIT".into(),
            Command::Help => "HELP".into(),
            Command::Open { dev, .. } => format!("OPEN {dev}"),
            Command::Close { dev } => format!("CLOSE {dev}"),
            Command::ReadBuf { dev, .. } => format!("READBUF {dev}"),
            Command::WriteBuf { dev, .. } => format!("WRITEBUF {dev}"),
            Command::SetBuffersCount { dev, .. } => format!("SET {dev} BUFFERS_COUNT"),
        }
    }
}

/// A successful reply, by meaning; a failed one is the server's `-errno`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// A status or a count (bytes written, 0 for done).
    Code(i64),
    /// A payload: an attribute value (as the server read it, NUL included), the context XML
    /// (zstd frame or plain).
    Data(Vec<u8>),
    /// GETTRIG: the trigger's id (by name in text: the server sends the name, the client
    /// looks it up), or none.
    Trigger(Option<String>),
    /// VERSION's line (text only).
    Version(String),
}

/// The protocol a connection to iiod speaks, as established when it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// libiio 0.x's text protocol (every iiod; 1.x servers keep it).
    Text,
    /// libiio 1.x's binary protocol with this opcode numbering.
    Binary(Numbering),
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dialect::Text => f.write_str("text protocol (libiio 0.x)"),
            Dialect::Binary(n) => write!(f, "binary protocol, {}", n.describe()),
        }
    }
}

/// The dialect is the wire format: each encodes and decodes its own messages.
impl Dialect {
    /// Client side: appends `cmd` (and, for a write, its `value`) to `out`. Names the text
    /// lexer would misread, and commands this format does not have, are refused before
    /// anything is appended.
    pub(crate) fn encode(
        &self,
        cmd: &Command<'_>,
        value: &[u8],
        data: Option<&ContextData>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match self {
            Dialect::Text => text::encode(cmd, value, out),
            Dialect::Binary(n) => binary::encode(cmd, value, *n, data, out),
        }
    }

    /// Client side: reads the reply to `cmd` (the next one on this connection for text;
    /// for binary the next response to client 0, other clients' responses skipped).
    /// `Ok(Err(code))` is the server's negative answer. A payload larger than `max` is a
    /// protocol error, refused before it is read.
    pub(crate) fn read_reply(
        &self,
        conn: &mut Conn,
        cmd: &Command<'_>,
        data: Option<&ContextData>,
        max: usize,
        deadline: Deadline,
    ) -> Result<std::result::Result<Reply, i64>> {
        match self {
            Dialect::Text => text::read_reply(conn, cmd, max, deadline),
            Dialect::Binary(_) => binary::read_reply(conn, cmd, data, max, deadline),
        }
    }

    /// Server side: appends a reply to `out` (`client_id`: the binary request's, ignored in
    /// text). `Trigger` replies name a device of `data`.
    pub(crate) fn encode_reply(
        &self,
        client_id: u16,
        reply: std::result::Result<&Reply, i64>,
        data: &ContextData,
        out: &mut Vec<u8>,
    ) {
        match self {
            Dialect::Text => text::encode_reply(reply, out),
            Dialect::Binary(_) => binary::encode_reply(client_id, reply, data, out),
        }
    }
}

/// `-errno`, as replies carry it.
pub(crate) fn neg(e: rustix::io::Errno) -> i64 {
    -i64::from(e.raw_os_error())
}

/// The device's index in context order, as the binary protocol addresses it.
pub(crate) fn dev_index(data: &ContextData, dev: &str) -> Result<u8> {
    let i = data
        .devices
        .iter()
        .position(|d| d.id == dev)
        .ok_or_else(|| Error::NoDevice(dev.to_string()))?;
    u8::try_from(i).map_err(|_| Error::Unsupported {
        backend: "network",
        what: format!("device {dev}: the binary protocol addresses at most 256 devices"),
    })
}

/// An attribute value as the backends hand it out: up to the first NUL, one trailing
/// newline removed, UTF-8.
pub(crate) fn decode_value(bytes: &[u8]) -> std::result::Result<String, String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut v = &bytes[..end];
    if v.last() == Some(&b'\n') {
        v = &v[..v.len() - 1];
    }
    String::from_utf8(v.to_vec()).map_err(|_| "the value is not UTF-8".to_string())
}

/// Both halves of each codec against each other: what a client encodes, a server decodes to
/// the same command; what a server encodes, a client reads back as the same reply.
#[cfg(test)]
mod tests {
    use super::binary::{decode_command, Follows, Header, HEADER_LEN};
    use super::*;
    use crate::network::conn::Endpoint;
    use std::io::Write;
    use std::time::Duration;

    const XML: &str = concat!(
        r#"<?xml version="1.0" encoding="utf-8"?><context name="local" version-major="0" "#,
        r#"version-minor="24" version-git="v0.24" description="x">"#,
        r#"<device id="iio:device0" name="adc"><channel id="voltage0" type="input">"#,
        r#"<scan-element index="0" format="le:s16/16&gt;&gt;0" />"#,
        r#"<attribute name="raw" filename="in_voltage0_raw" />"#,
        r#"<attribute name="scale" filename="in_voltage0_scale" /></channel>"#,
        r#"<channel id="voltage0" type="output"><attribute name="raw" filename="out_voltage0_raw" /></channel>"#,
        r#"<attribute name="sampling_frequency" /><attribute name="x,y" />"#,
        r#"<buffer-attribute name="data_available" />"#,
        r#"<debug-attribute name="direct_reg_access" /></device>"#,
        r#"<device id="trigger0" name="trig"><attribute name="sampling_frequency" /></device>"#,
        r#"</context>"#
    );

    fn data() -> ContextData {
        crate::xml::parse(XML.as_bytes(), "test").unwrap()
    }

    fn commands() -> Vec<(Command<'static>, &'static [u8])> {
        let chan = |output, name| AttrLoc::Channel {
            dev: "iio:device0",
            channel: "voltage0",
            output,
            name,
            filename: "",
        };
        vec![
            (Command::Print { zstd: true }, b""),
            (Command::Print { zstd: false }, b""),
            (Command::Timeout { ms: 2500 }, b""),
            (
                Command::ReadAttr(AttrLoc::Device {
                    dev: "iio:device0",
                    name: "sampling_frequency",
                }),
                b"",
            ),
            (
                Command::ReadAttr(AttrLoc::Device {
                    dev: "iio:device0",
                    name: "x,y",
                }),
                b"",
            ),
            (Command::ReadAttr(chan(false, "scale")), b""),
            (Command::ReadAttr(chan(true, "raw")), b""),
            (
                Command::ReadAttr(AttrLoc::Buffer {
                    dev: "iio:device0",
                    name: "data_available",
                }),
                b"",
            ),
            (
                Command::ReadAttr(AttrLoc::Debug {
                    dev: "iio:device0",
                    name: "direct_reg_access",
                }),
                b"",
            ),
            (
                Command::WriteAttr {
                    loc: chan(false, "raw"),
                    len: 6,
                },
                b"1 2\r\n\0",
            ),
            (
                Command::WriteAttr {
                    loc: AttrLoc::Debug {
                        dev: "iio:device0",
                        name: "direct_reg_access",
                    },
                    len: 5,
                },
                b"0x10\0",
            ),
            (Command::GetTrig { dev: "iio:device0" }, b""),
            (
                Command::SetTrig {
                    dev: "iio:device0",
                    trigger: Some("trigger0"),
                },
                b"",
            ),
            (
                Command::SetTrig {
                    dev: "iio:device0",
                    trigger: None,
                },
                b"",
            ),
        ]
    }

    fn text_only() -> Vec<Command<'static>> {
        vec![
            Command::Version,
            Command::Binary,
            Command::Help,
            Command::Open {
                dev: "iio:device0",
                samples: 256,
                mask: "00000003",
                cyclic: false,
            },
            Command::Open {
                dev: "iio:device0",
                samples: 4,
                mask: "00000001",
                cyclic: true,
            },
            Command::Close { dev: "iio:device0" },
            Command::ReadBuf {
                dev: "iio:device0",
                bytes: 1024,
            },
            Command::WriteBuf {
                dev: "iio:device0",
                bytes: 8,
            },
            Command::SetBuffersCount {
                dev: "iio:device0",
                count: 8,
            },
            Command::ReadAll(AttrGroup::Device { dev: "iio:device0" }),
            Command::ReadAll(AttrGroup::Debug { dev: "iio:device0" }),
            Command::ReadAll(AttrGroup::Buffer { dev: "iio:device0" }),
            Command::ReadAll(AttrGroup::Channel {
                dev: "iio:device0",
                channel: "voltage0",
                output: true,
            }),
            Command::WriteAll {
                group: AttrGroup::Device { dev: "iio:device0" },
                len: 0,
            },
            Command::WriteAll {
                group: AttrGroup::Channel {
                    dev: "iio:device0",
                    channel: "voltage0",
                    output: false,
                },
                len: 0,
            },
        ]
    }

    #[test]
    fn text_commands_parse_back() {
        let all = commands()
            .into_iter()
            .chain(text_only().into_iter().map(|c| (c, &b""[..])));
        for (cmd, value) in all {
            let mut out = Vec::new();
            Dialect::Text.encode(&cmd, value, None, &mut out).unwrap();
            let line_end = out.iter().position(|&b| b == b'\n').unwrap();
            let line = std::str::from_utf8(&out[..line_end]).unwrap();
            assert_eq!(text::parse_line(line), Some(cmd), "{line:?}");
            assert_eq!(&out[line_end + 1..], value, "{line:?}");
        }
        // EXIT goes after an empty line, which a server reads as nothing.
        let mut out = Vec::new();
        Dialect::Text
            .encode(&Command::Exit, &[], None, &mut out)
            .unwrap();
        assert_eq!(out, b"\r\nEXIT\r\n");
        assert_eq!(text::parse_line("EXIT\r"), Some(Command::Exit));
        assert_eq!(text::parse_line("quit"), Some(Command::Exit));
    }

    #[test]
    fn text_lines_iiod_refuses_are_refused() {
        for bad in [
            "",
            " READ iio:device0 raw",
            "Read iio:device0 raw",
            "READ iio:device0 ../x",
            "READ iio:device0 a/b",
            "READ iio:device0 cyclic",
            "READ iio:device0 INPUT voltage0 cyclic",
            "READ iio:device0 DEBUG CYCLIC",
            "READ iio:device0 INPUT",
            "READ iio:device0 DEBUG BUFFER voltage0",
            "WRITE iio:device0 raw x",
            "WRITE iio:device0 raw -1",
            "READBUF iio:device0 99999999999999999999",
            "TIMEOUT 99999999999",
            "OPEN iio:device0 4",
            "OPEN iio:device0 4 7 ONCE",
            "SET iio:device0 BUFFERS 4",
            "GETTRIG",
            "VERSION now",
            "READ iio:device0 ra\0w",
        ] {
            assert_eq!(text::parse_line(bad), None, "{bad:?}");
        }
        // Without an attribute, a whole family (iiod's read all / write all).
        assert_eq!(
            text::parse_line("READ iio:device0 buffer"),
            Some(Command::ReadAll(AttrGroup::Buffer { dev: "iio:device0" }))
        );
        assert_eq!(
            text::parse_line("WRITE iio:device0 DEBUG 12"),
            Some(Command::WriteAll {
                group: AttrGroup::Debug { dev: "iio:device0" },
                len: 12
            })
        );
        // Trailing blanks and a CR are the line ending's.
        assert!(text::parse_line("READ iio:device0 raw \t\r").is_some());
        assert!(text::parse_line("read iio:device0 input voltage0 raw").is_some());
        // After a selector, the selector words are attribute names again.
        assert_eq!(
            text::parse_line("READ iio:device0 INPUT temp0 input"),
            Some(Command::ReadAttr(AttrLoc::Channel {
                dev: "iio:device0",
                channel: "temp0",
                output: false,
                name: "input",
                filename: "",
            }))
        );
    }

    /// The client lines of the captured 0.24 sessions, when `../shared` is there.
    #[test]
    fn captured_client_lines_parse() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/protocol/captures");
        let Ok(rd) = std::fs::read_dir(&dir) else {
            println!("skipped: {} is not present", dir.display());
            return;
        };
        let mut parsed = 0;
        for e in rd.flatten() {
            let p = e.path();
            if !p.to_string_lossy().ends_with(".transcript.txt") {
                continue;
            }
            for line in std::fs::read_to_string(&p).unwrap().lines() {
                let Some(cmd) = line
                    .split_once("> ")
                    .and_then(|(who, rest)| who.starts_with('C').then_some(rest))
                else {
                    continue;
                };
                let Some(cmd) = cmd.strip_suffix("\\x0d\\n") else {
                    continue; // a value or a buffer, not a command line
                };
                if cmd.is_empty() || cmd.starts_with("FOO") || cmd.contains("\\x") {
                    continue;
                }
                // The captures probed what iiod refuses, too.
                let refused = ["OPEN iio:device0 4 7", "nosuchtrig"];
                let got = text::parse_line(cmd);
                if refused.iter().any(|r| cmd.ends_with(r)) {
                    continue;
                }
                if cmd.starts_with("READ") && cmd.split(' ').count() == 2
                    || cmd.ends_with("INPUT voltage0")
                    || cmd.ends_with(" DEBUG")
                    || cmd.ends_with(" BUFFER")
                {
                    // The read-all forms.
                    assert!(matches!(got, Some(Command::ReadAll(_))), "{cmd}");
                    parsed += 1;
                    continue;
                }
                assert!(got.is_some(), "{}: {cmd:?}", p.display());
                parsed += 1;
            }
        }
        assert!(parsed > 20, "{parsed}");
    }

    /// A connected pair: a client `Conn` and the server's socket.
    fn pair() -> (Conn, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint {
            host: "127.0.0.1".into(),
            port: l.local_addr().unwrap().port(),
        };
        let conn = Conn::connect(&ep, Some(Duration::from_secs(2))).unwrap();
        (conn, l.accept().unwrap().0)
    }

    fn replies() -> Vec<(Command<'static>, std::result::Result<Reply, i64>)> {
        let read = Command::ReadAttr(AttrLoc::Device {
            dev: "iio:device0",
            name: "sampling_frequency",
        });
        vec![
            (read, Ok(Reply::Data(b"1000\0".to_vec()))),
            (read, Err(-2)),
            (read, Ok(Reply::Data(Vec::new()))),
            (Command::Print { zstd: false }, Ok(Reply::Data(XML.into()))),
            (Command::Timeout { ms: 0 }, Ok(Reply::Code(0))),
            (Command::Timeout { ms: 0 }, Err(-22)),
            (
                Command::WriteAttr {
                    loc: AttrLoc::Device {
                        dev: "iio:device0",
                        name: "sampling_frequency",
                    },
                    len: 4,
                },
                Ok(Reply::Code(4)),
            ),
            (
                Command::GetTrig { dev: "iio:device0" },
                Ok(Reply::Trigger(Some("trig".into()))),
            ),
            (
                Command::GetTrig { dev: "iio:device0" },
                Ok(Reply::Trigger(None)),
            ),
            (Command::GetTrig { dev: "iio:device0" }, Err(-2)),
        ]
    }

    #[test]
    fn replies_read_back_in_both_codecs() {
        let data = data();
        for codec in [
            Dialect::Text,
            Dialect::Binary(Numbering::Libiio10),
            Dialect::Binary(Numbering::Main2026),
        ] {
            let (mut conn, mut server) = pair();
            let mut wire = Vec::new();
            for (_, reply) in replies() {
                codec.encode_reply(0, reply.as_ref().map_err(|e| *e), &data, &mut wire);
            }
            // Another client's response first: a binary client skips it.
            if let Dialect::Binary(_) = codec {
                let mut stray = Header {
                    client_id: 7,
                    op: 0,
                    dev: 0,
                    code: 3,
                }
                .encode()
                .to_vec();
                stray.extend_from_slice(b"abc");
                wire.splice(0..0, stray);
            }
            server.write_all(&wire).unwrap();
            for (cmd, reply) in replies() {
                let deadline = Deadline::after(Some(Duration::from_secs(2)));
                let got = codec
                    .read_reply(&mut conn, &cmd, Some(&data), 1 << 20, deadline)
                    .unwrap();
                assert_eq!(got, reply, "{codec:?} {cmd:?}");
            }
        }
    }

    #[test]
    fn binary_commands_decode_back_under_both_numberings() {
        let data = data();
        for numbering in [Numbering::Libiio10, Numbering::Main2026] {
            for (cmd, value) in commands() {
                let mut out = Vec::new();
                let codec = Dialect::Binary(numbering);
                codec.encode(&cmd, value, Some(&data), &mut out).unwrap();
                let h = Header::decode(out[..HEADER_LEN].try_into().unwrap());
                let (decoded, follows) = decode_command(&h, numbering, &data).unwrap();
                let decoded = decoded.unwrap();
                let rest = &out[HEADER_LEN..];
                match (cmd, decoded) {
                    (Command::WriteAttr { loc, len }, Command::WriteAttr { loc: l2, .. }) => {
                        assert_eq!(follows, Follows::LengthAndValue);
                        assert_eq!(strip_filename(loc), l2);
                        assert_eq!(rest[..8], len.to_le_bytes());
                        assert_eq!(&rest[8..], value);
                    }
                    (Command::ReadAttr(loc), Command::ReadAttr(l2)) => {
                        assert_eq!(strip_filename(loc), l2);
                        assert!(rest.is_empty());
                    }
                    (Command::Print { .. }, Command::Print { .. }) => {}
                    (a, b) => assert_eq!(a, b, "{numbering:?}"),
                }
            }
            // The names binary cannot carry are refused before anything is written.
            let mut out = Vec::new();
            let missing = Command::ReadAttr(AttrLoc::Device {
                dev: "iio:device0",
                name: "nope",
            });
            assert!(Dialect::Binary(numbering)
                .encode(&missing, &[], Some(&data), &mut out)
                .is_err());
            assert!(Dialect::Binary(numbering)
                .encode(&Command::Version, &[], Some(&data), &mut out)
                .is_err());
            assert!(out.is_empty());
        }
        // NOP only exists in the 2026 numbering.
        let mut out = Vec::new();
        assert!(Dialect::Binary(Numbering::Libiio10)
            .encode(&Command::Nop, &[], None, &mut out)
            .is_err());
        assert!(out.is_empty());
        // Requests for what the context does not have: the errno iiod answers.
        let h = |op, dev, code| Header {
            client_id: 0,
            op,
            dev,
            code,
        };
        let n = Numbering::Main2026;
        let errno = |h: Header| decode_command(&h, n, &data).map(|(c, _)| c.err());
        assert_eq!(errno(h(3, 9, 0)), Some(Some(19)));
        assert_eq!(errno(h(3, 0, 7 << 16)), Some(Some(22)));
        assert_eq!(errno(h(6, 0, 5)), Some(Some(22)));
        assert_eq!(errno(h(16, 0, 44)), Some(Some(19)));
        assert_eq!(decode_command(&h(40, 0, 0), n, &data), None);
    }

    /// A server-decoded channel attribute has no file name.
    fn strip_filename(loc: AttrLoc<'_>) -> AttrLoc<'_> {
        match loc {
            AttrLoc::Channel {
                dev,
                channel,
                output,
                name,
                ..
            } => AttrLoc::Channel {
                dev,
                channel,
                output,
                name,
                filename: "",
            },
            l => l,
        }
    }
}
