//! Hostile and broken servers, played by small in-process fakes on 127.0.0.1: what the real
//! iiod never does. Every case must end in a typed error (or the right value) quickly:
//! never a panic, a hang, or an allocation of what the server claims. Also the binary
//! protocol's numbering probe against servers of either numbering and of none (the real
//! libiio 1.x servers are in `network_libiio1.rs`), and ZPRINT with a real zstd frame.

use ferroio::network::{Dialect, Numbering, Options, Protocol};
use ferroio::{Context, Error};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const XML: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?><context name="local" version-major="0" "#,
    r#"version-minor="24" version-git="v0.24" description="fake server">"#,
    r#"<device id="iio:device0" name="adc"><channel id="voltage0" type="input">"#,
    r#"<scan-element index="0" format="le:s16/16&gt;&gt;0" />"#,
    r#"<attribute name="raw" filename="in_voltage0_raw" /></channel>"#,
    r#"<attribute name="sampling_frequency" /><attribute name="a b" />"#,
    r#"<attribute name="buffer" /></device>"#,
    r#"<device id="trigger0" name="trig"><attribute name="sampling_frequency" /></device>"#,
    r#"<device id="iio:device1" name="dac"><channel id="voltage0" type="output">"#,
    r#"<scan-element index="0" format="le:u16/16&gt;&gt;0" /></channel></device>"#,
    r#"</context>"#
);

/// A fake server: runs `script` on each of up to `conns` accepted connections, reporting
/// every command line it received. Stops when the test drops the client or after 20 s.
struct Fake {
    port: u16,
    lines: mpsc::Receiver<String>,
    _thread: JoinHandle<()>,
}

type Script = fn(&mut Peer);

struct Peer {
    r: BufReader<TcpStream>,
    w: TcpStream,
    seen: mpsc::Sender<String>,
}

impl Peer {
    /// The next command line (without CR LF); empty at end of stream.
    fn line(&mut self) -> String {
        let mut l = String::new();
        let _ = self.r.read_line(&mut l);
        let l = l.trim_end_matches(['\r', '\n']).to_string();
        let _ = self.seen.send(l.clone());
        l
    }
    fn send(&mut self, b: &[u8]) {
        let _ = self.w.write_all(b);
    }
    /// A binary response frame to client `id`: `code`, then `payload`.
    fn respond(&mut self, id: u16, code: i32, payload: &[u8]) {
        let mut h = id.to_le_bytes().to_vec();
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&code.to_le_bytes());
        h.extend_from_slice(payload);
        self.send(&h);
    }
    /// Answers a 0.x client's opening: BINARY refused, TIMEOUT accepted, ZPRINT refused,
    /// and returns after reading PRINT.
    fn text_opening(&mut self) {
        assert_eq!(self.line(), "BINARY");
        self.text_opening_after_binary();
    }
    /// The rest of [`Peer::text_opening`] once BINARY has been read.
    fn text_opening_after_binary(&mut self) {
        self.send(b"-22\n");
        assert!(self.line().starts_with("TIMEOUT"));
        self.send(b"0\n");
        assert_eq!(self.line(), "ZPRINT");
        self.send(b"-22\n");
        assert_eq!(self.line(), "PRINT");
    }
    fn print_ok(&mut self) {
        self.send(format!("{}\n{XML}\n", XML.len()).as_bytes());
    }
    /// Waits (bounded) until the client goes away.
    fn drain(&mut self) {
        let mut sink = [0u8; 1024];
        while let Ok(n) = self.r.read(&mut sink) {
            if n == 0 {
                break;
            }
        }
    }
    /// The common start of the buffer scripts: a context connection (it opens with BINARY)
    /// gets the normal opening and the XML and is served until the client goes away
    /// (`None`); a buffer connection (text only, so its first line is TIMEOUT) gets TIMEOUT
    /// and OPEN accepted (`Some` of the OPEN line).
    fn buffer_opening(&mut self) -> Option<String> {
        let first = self.line();
        if first == "BINARY" {
            self.text_opening_after_binary();
            self.print_ok();
            self.drain();
            return None;
        }
        assert!(first.starts_with("TIMEOUT"), "{first}");
        self.send(b"0\n");
        let open = self.line();
        self.send(b"0\n");
        Some(open)
    }
}

fn fake(conns: usize, script: Script) -> Fake {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        l.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut handled = 0;
        while handled < conns && Instant::now() < deadline {
            match l.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let mut p = Peer {
                        r: BufReader::new(s.try_clone().unwrap()),
                        w: s,
                        seen: tx.clone(),
                    };
                    // One thread per connection: a buffer connects while the context's
                    // connection is still open.
                    std::thread::spawn(move || script(&mut p));
                    handled += 1;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    });
    Fake {
        port,
        lines: rx,
        _thread: thread,
    }
}

fn open(f: &Fake, timeout_ms: u64) -> ferroio::Result<Context> {
    Context::from_network(
        &format!("127.0.0.1:{}", f.port),
        &Options::new().timeout(Some(Duration::from_millis(timeout_ms))),
    )
}

/// Opens and expects a failure within a bounded time.
fn open_fails(script: Script) -> Error {
    let f = fake(1, script);
    let t0 = Instant::now();
    let err = open(&f, 1000).expect_err("the context must not be created");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    err
}

#[test]
fn huge_announced_length_is_refused_without_allocating() {
    let e = open_fails(|p| {
        p.text_opening();
        p.send(b"9223372036854775807\n");
        p.drain();
    });
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    let e = open_fails(|p| {
        p.text_opening();
        p.send(b"999999999999999999999999\n");
        p.drain();
    });
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
}

#[test]
fn negative_length_is_the_servers_errno() {
    let e = open_fails(|p| {
        p.text_opening();
        p.send(b"-5\n");
        p.drain();
    });
    assert_eq!(e.errno(), 5, "{e}");
    let e = open_fails(|p| {
        p.text_opening();
        p.send(b"-2147483649\n");
        p.drain();
    });
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
}

#[test]
fn truncated_payload_and_truncated_xml() {
    let e = open_fails(|p| {
        p.text_opening();
        p.send(b"1000\n<?xml version=");
    });
    assert!(matches!(e, Error::Network { .. }), "{e}");
    let e = open_fails(|p| {
        p.text_opening();
        let cut = &XML[..XML.len() / 2];
        p.send(format!("{}\n{cut}\n", cut.len()).as_bytes());
        p.drain();
    });
    assert!(matches!(e, Error::Xml { .. }), "{e}");
}

#[test]
fn garbage_and_endless_lines() {
    let e = open_fails(|p| {
        p.line();
        p.send(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        p.drain();
    });
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    let e = open_fails(|p| {
        p.line();
        p.send(&vec![b'7'; 1 << 20]);
        p.drain();
    });
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    let e = open_fails(|p| {
        p.text_opening();
        // The byte after the payload must be a newline.
        p.send(b"10\n<context/>XY");
        p.drain();
    });
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
}

#[test]
fn silent_and_vanishing_servers() {
    // Accepts, reads, never answers: the timeout ends it.
    let e = open_fails(|p| {
        p.line();
        std::thread::sleep(Duration::from_millis(1500));
    });
    assert_eq!(e.errno(), 110, "{e}");
    // Answers half a line and stalls.
    let e = open_fails(|p| {
        p.text_opening();
        p.send(b"31");
        std::thread::sleep(Duration::from_millis(1500));
    });
    assert_eq!(e.errno(), 110, "{e}");
    // Hangs up at once.
    let e = open_fails(|_| {});
    assert!(matches!(e, Error::Network { .. }), "{e}");
}

#[test]
fn bad_attribute_replies_and_recovery() {
    let f = fake(2, |p| {
        // First connection: a good opening, then a hostile attribute reply.
        p.text_opening();
        p.print_ok();
        assert_eq!(p.line(), "READ iio:device0 sampling_frequency");
        p.send(b"4294967296\n");
        p.drain();
    });
    let ctx = open(&f, 1000).unwrap();
    assert_eq!(ctx.name(), "network");
    let dev = ctx.get_device("adc").unwrap();
    let e = dev.attr_read_str("sampling_frequency").unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    // The broken connection was dropped: the next call opens a new one (the fake's second
    // connection runs the same script and fails the same way, which is fine).
    let e = dev.attr_read_str("sampling_frequency").unwrap_err();
    assert!(
        matches!(e, Error::Network { .. } | Error::Protocol { .. }),
        "{e}"
    );
}

#[test]
fn non_utf8_value_and_missing_newline() {
    let f = fake(1, |p| {
        p.text_opening();
        p.print_ok();
        assert_eq!(p.line(), "READ iio:device0 INPUT voltage0 raw");
        p.send(b"3\n\xff\xfe\0\n");
        assert_eq!(p.line(), "READ iio:device0 INPUT voltage0 raw");
        p.send(b"3\n12\0X");
        p.drain();
    });
    let ctx = open(&f, 1000).unwrap();
    let ch = ctx
        .get_device("adc")
        .unwrap()
        .get_channel("voltage0", false)
        .unwrap();
    assert!(matches!(
        ch.attr_read_str("raw").unwrap_err(),
        Error::Protocol { .. }
    ));
    assert!(matches!(
        ch.attr_read_str("raw").unwrap_err(),
        Error::Protocol { .. }
    ));
}

#[test]
fn names_that_would_break_the_line_are_never_sent() {
    let f = fake(1, |p| {
        p.text_opening();
        p.print_ok();
        // Whatever comes next is recorded; the test checks nothing but EXIT arrives.
        loop {
            let l = p.line();
            if l.is_empty() || l == "EXIT" {
                break;
            }
            p.send(b"-22\n");
        }
    });
    {
        let ctx = open(&f, 1000).unwrap();
        let dev = ctx.get_device("adc").unwrap();
        let e = dev.attr_read_str("a b").unwrap_err();
        assert!(matches!(e, Error::InvalidValue { .. }), "{e}");
        let e = dev.attr_write("a b", "1").unwrap_err();
        assert!(matches!(e, Error::InvalidValue { .. }), "{e}");
        // `WRITE iio:device0 buffer 2` would write all buffer attributes.
        let e = dev.attr_write("buffer", "1").unwrap_err();
        assert!(matches!(e, Error::InvalidValue { .. }), "{e}");
        // NUL in a value: refused by the API before any backend.
        let e = dev.attr_write("sampling_frequency", "1\u{0}2").unwrap_err();
        assert!(matches!(e, Error::InvalidValue { .. }), "{e}");
    }
    let seen: Vec<String> = f.lines.try_iter().collect();
    for l in &seen {
        assert!(
            !l.starts_with("READ") && !l.starts_with("WRITE"),
            "{seen:?}"
        );
    }
}

/// Context connections get the normal opening; buffer connections (text only, so their
/// first line is TIMEOUT) get OPEN accepted and then a READBUF reply that goes wrong the way
/// the sample count in OPEN selects.
fn buffer_script(p: &mut Peer) {
    let Some(open) = p.buffer_opening() else {
        return;
    };
    assert!(p.line().starts_with("READBUF iio:device0"));
    match open.as_str() {
        // 8 scans of 2 bytes: 10 of 16 bytes, then silence.
        "OPEN iio:device0 8 00000001" => {
            p.send(b"16\n00000001\n0123456789");
            std::thread::sleep(Duration::from_millis(2500));
        }
        // A chunk larger than asked for.
        "OPEN iio:device0 4 00000001" => p.send(b"100000\n00000001\n"),
        // Something else where the mask line belongs.
        "OPEN iio:device0 2 00000001" => p.send(b"4\nzzzzzzzz\nabcd"),
        // Hangs up mid-block.
        _ => {
            p.send(b"8\n00000001\nabc");
            return;
        }
    }
    p.drain();
}

#[test]
fn buffer_servers_that_break_mid_block() {
    let f = fake(8, buffer_script);
    let ctx = open(&f, 800).unwrap();
    let dev = ctx.get_device("adc").unwrap();
    let buffer = |samples| {
        dev.buffer_builder()
            .channel_named("voltage0", false)
            .samples(samples)
            .build()
            .unwrap()
    };
    let t0 = Instant::now();
    let e = buffer(8).refill().unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    let e = buffer(4).refill().unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    let e = buffer(2).refill().unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    let t0 = Instant::now();
    let e = buffer(16).refill().unwrap_err();
    assert!(matches!(e, Error::Network { .. }), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
}

/// Buffer connections of [`chunking_script`] so far (the second one is a reconnection).
static CHUNKING_CONNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A server that answers multi-block READBUFs legally but unlike the real iiod: chunks
/// that straddle the client's blocks, one chunk for two blocks, replies cut short (`0`) in a
/// block and before any data, then an error. The data is the stream position as a byte.
/// OPEN with 2 samples gets a mask line that is not the one asked for.
fn chunking_script(p: &mut Peer) {
    let Some(open) = p.buffer_opening() else {
        return;
    };
    if open == "OPEN iio:device0 2 00000001" {
        assert_eq!(p.line(), "READBUF iio:device0 4");
        p.send(b"4\n00000003\nabcd");
        p.drain();
        return;
    }
    assert_eq!(open, "OPEN iio:device0 4 00000001");
    let data = |from: usize, n: usize| (from..from + n).map(|i| i as u8).collect::<Vec<u8>>();
    if CHUNKING_CONNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
        // The reconnection: a plain one-chunk reply from position 100.
        assert_eq!(p.line(), "READBUF iio:device0 8");
        p.send(b"8\n00000001\n");
        p.send(&data(100, 8));
        p.drain();
        return;
    }
    // Requests double from one block (8 bytes); two are in flight.
    assert_eq!(p.line(), "READBUF iio:device0 8");
    p.send(b"6\n00000001\n");
    p.send(&data(0, 6));
    p.send(b"2\n");
    p.send(&data(6, 2));
    assert_eq!(p.line(), "READBUF iio:device0 16");
    p.send(b"16\n00000001\n");
    p.send(&data(8, 16));
    assert_eq!(p.line(), "READBUF iio:device0 32");
    p.send(b"12\n00000001\n");
    p.send(&data(24, 12));
    p.send(b"0\n");
    assert_eq!(p.line(), "READBUF iio:device0 64");
    p.send(b"0\n");
    assert_eq!(p.line(), "READBUF iio:device0 128");
    p.send(b"8\n00000001\n");
    p.send(&data(36, 8));
    p.send(b"-5\n");
    p.drain();
}

#[test]
fn readbuf_replies_in_any_chunking_and_cut_short() {
    CHUNKING_CONNS.store(0, std::sync::atomic::Ordering::SeqCst);
    let f = fake(4, chunking_script);
    let ctx = open(&f, 2000).unwrap();
    let dev = ctx.get_device("adc").unwrap();
    let mut buf = dev
        .buffer_builder()
        .channel_named("voltage0", false)
        .samples(4)
        .build()
        .unwrap();
    let t0 = Instant::now();
    let refill = |buf: &mut ferroio::buffer::Buffer, scans: usize, from: u8| {
        assert_eq!(buf.refill().unwrap(), scans);
        let want: Vec<u8> = (from..from + 2 * scans as u8).collect();
        assert_eq!(buf.data(), &want[..]);
    };
    refill(&mut buf, 4, 0);
    refill(&mut buf, 4, 8);
    refill(&mut buf, 4, 16);
    refill(&mut buf, 4, 24);
    // The reply cut short in the block: the scans that came.
    refill(&mut buf, 2, 32);
    // A reply cut short before any data is skipped.
    refill(&mut buf, 4, 36);
    // An error reply: iiod has closed the device; the next refill opens it again.
    let e = buf.refill().unwrap_err();
    assert_eq!(e.errno(), 5, "{e}");
    refill(&mut buf, 4, 100);
    drop(buf);

    let mut other = dev
        .buffer_builder()
        .channel_named("voltage0", false)
        .samples(2)
        .build()
        .unwrap();
    let e = other.refill().unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    assert!(e.to_string().contains("mask"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

/// Connections of [`writebuf_script`] that were told to refuse.
static WRITEBUF_REFUSALS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An output server that takes its time before each go-ahead (so pushes queue up meanwhile)
/// and reports every WRITEBUF's bytes as a line `DATA <hex>`. OPEN with 2 samples: the
/// first such connection refuses its first WRITEBUF (`-5`), later ones serve; with 65536
/// samples the server never gives the go-ahead.
fn writebuf_script(p: &mut Peer) {
    let Some(open) = p.buffer_opening() else {
        return;
    };
    if open == "OPEN iio:device1 65536 00000001" {
        // Never ready.
        p.drain();
        return;
    }
    let refuse = open == "OPEN iio:device1 2 00000001"
        && WRITEBUF_REFUSALS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
    loop {
        let l = p.line();
        if let Some(n) = l.strip_prefix("WRITEBUF iio:device1 ") {
            if refuse {
                p.send(b"-5\n");
                p.drain();
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
            p.send(b"0\n");
            let mut data = vec![0u8; n.parse().unwrap()];
            p.r.read_exact(&mut data).unwrap();
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            let _ = p.seen.send(format!("DATA {hex}"));
            p.send(format!("{}\n", data.len()).as_bytes());
        } else if l == "CLOSE iio:device1" {
            p.send(b"0\n");
        } else {
            return;
        }
    }
}

/// The WRITEBUF payloads a fake reported, in order.
fn writebufs(f: &Fake) -> Vec<Vec<u8>> {
    f.lines
        .try_iter()
        .filter_map(|l| {
            let hex = l.strip_prefix("DATA ")?.to_string();
            Some(
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn pushes_travel_in_batches_and_failures_come_back() {
    WRITEBUF_REFUSALS.store(0, std::sync::atomic::Ordering::SeqCst);
    let f = fake(4, writebuf_script);
    let ctx = open(&f, 2000).unwrap();
    let dev = ctx.get_device("dac").unwrap();
    let t0 = Instant::now();

    // 4-scan blocks of 2 bytes. Pushes return at once; what queues while the server makes
    // the first WRITEBUF wait goes in one; a partial push ends its batch.
    let mut buf = dev
        .buffer_builder()
        .channel_named("voltage0", true)
        .samples(4)
        .build()
        .unwrap();
    let mut sent = Vec::new();
    let pushing = Instant::now();
    for (i, scans) in [4usize, 4, 4, 2, 4, 4].into_iter().enumerate() {
        let block: Vec<u8> = (0..8).map(|k| (i * 16 + k) as u8).collect();
        buf.data_mut().copy_from_slice(&block);
        assert_eq!(buf.push_partial(scans).unwrap(), scans);
        sent.extend_from_slice(&block[..scans * 2]);
    }
    // (One WRITEBUF per push would take 6 x 200 ms.)
    assert!(
        pushing.elapsed() < Duration::from_millis(150),
        "{:?}",
        pushing.elapsed()
    );
    buf.close().unwrap();
    let batches = writebufs(&f);
    assert_eq!(batches.concat(), sent);
    assert!(batches.len() <= 3, "{} WRITEBUFs", batches.len());
    // The partial push (after 3 blocks: 24 + 4 bytes) is the end of a batch.
    let mut ends = batches.iter().scan(0, |at, b| {
        *at += b.len();
        Some(*at)
    });
    assert!(ends.any(|e| e == 28), "{batches:?}");

    // A refused WRITEBUF: the next push says so; the one after opens the buffer again.
    let mut buf = dev
        .buffer_builder()
        .channel_named("voltage0", true)
        .samples(2)
        .build()
        .unwrap();
    buf.data_mut().copy_from_slice(&[1, 2, 3, 4]);
    buf.push().unwrap();
    let e = loop {
        std::thread::sleep(Duration::from_millis(20));
        match buf.push() {
            Ok(_) => assert!(t0.elapsed() < Duration::from_secs(3), "no error came back"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.errno(), 5, "{e}");
    buf.data_mut().copy_from_slice(&[5, 6, 7, 8]);
    buf.push().unwrap();
    buf.close().unwrap();
    assert_eq!(writebufs(&f).concat(), [5, 6, 7, 8]);
    assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
}

#[test]
fn a_full_output_queue_times_out_and_cancel_wakes_it() {
    let f = fake(3, writebuf_script);
    let ctx = open(&f, 2000).unwrap();
    let dev = ctx.get_device("dac").unwrap();
    // 128 KiB blocks: the thread takes 1 MiB and waits for the go-ahead, 1 MiB more queues,
    // then a push has to wait for room.
    let fill = |buf: &mut ferroio::buffer::Buffer| {
        let t0 = Instant::now();
        loop {
            match buf.push() {
                Ok(_) => assert!(t0.elapsed() < Duration::from_secs(3), "never full"),
                Err(e) => break (e, t0.elapsed()),
            }
        }
    };
    let mut buf = dev
        .buffer_builder()
        .channel_named("voltage0", true)
        .samples(65536)
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let (e, took) = fill(&mut buf);
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    drop(buf);

    let mut buf = dev
        .buffer_builder()
        .channel_named("voltage0", true)
        .samples(65536)
        .timeout(None)
        .build()
        .unwrap();
    let cancel = buf.cancel_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        cancel.cancel();
    });
    let (e, took) = fill(&mut buf);
    stopper.join().unwrap();
    assert!(matches!(e, Error::Cancelled { .. }), "{e}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    let t0 = Instant::now();
    buf.close().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
}

/// A libiio 1.x server in binary mode, little-endian headers. `main`: the 2026 numbering
/// (answers NOP); otherwise libiio 1.0's, which (as iiod) ends the session on an opcode it
/// does not have, such as the numbering probe.
fn serve_binary(p: &mut Peer, main: bool) {
    assert_eq!(p.line(), "BINARY");
    p.send(b"0\n");
    let respond = |p: &mut Peer, code: i32, payload: &[u8]| p.respond(0, code, payload);
    // WRITE_ATTR, GETTRIG, SETTRIG, NOP and the number of opcodes of each numbering.
    let (write_attr, gettrig, settrig, nop, count) = if main {
        (9, 15, 16, 32, 33)
    } else {
        (7, 11, 12, 255, 27)
    };
    loop {
        let mut h = [0u8; 8];
        if p.r.read_exact(&mut h).is_err() {
            return;
        }
        let (op, dev, code) = (h[2], h[3], i32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let _ = p.seen.send(format!("op {op} dev {dev} code {code:#x}"));
        if op >= count {
            let _ = p.seen.send(format!("closed on opcode {op}"));
            return;
        }
        match op {
            2 => respond(p, 0, b""),
            1 => respond(p, XML.len() as i32, XML.as_bytes()),
            // READ_ATTR of device 0: sampling_frequency is attribute 2 of the device's
            // sorted list ("a b", "buffer", "sampling_frequency"), as libiio 1.x holds it.
            3 if dev == 0 && code == 0x2_0000 => respond(p, 5, b"1000\0"),
            // READ_CHN_ATTR: channel 0, attribute 0 (raw).
            6 if dev == 0 && code == 0 => respond(p, 3, b"-7\n"),
            // WRITE_ATTR: u64 length + value.
            op if op == write_attr => {
                let mut len = [0u8; 8];
                p.r.read_exact(&mut len).unwrap();
                let mut v = vec![0u8; u64::from_le_bytes(len) as usize];
                p.r.read_exact(&mut v).unwrap();
                let _ = p
                    .seen
                    .send(format!("value {}", String::from_utf8_lossy(&v)));
                respond(p, v.len() as i32, b"");
            }
            // GETTRIG: device index 1 (trigger0).
            op if op == gettrig => respond(p, 1, b""),
            op if op == settrig => respond(p, 0, b""),
            op if op == nop => respond(p, 0, b""),
            _ => respond(p, -22, b""),
        }
    }
}

/// A context on a scripted server, in the binary protocol only, with a 2 s timeout.
fn open_binary(f: &Fake) -> ferroio::Result<Context> {
    Context::from_network(
        &format!("127.0.0.1:{}", f.port),
        &Options::new()
            .timeout(Some(Duration::from_secs(2)))
            .protocol(Protocol::Binary),
    )
}

/// Opens a context on a binary fake and checks every operation went out under the server's
/// numbering: `(read attr, settrig)` opcodes as the server logs them.
fn check_binary_fake(f: Fake, numbering: Numbering, settrig: u8) {
    let ctx = open_binary(&f).unwrap();
    assert_eq!(ctx.iiod_dialect(), Some(Dialect::Binary(numbering)));
    let dev = ctx.get_device("adc").unwrap();
    assert_eq!(dev.attr_read_int("sampling_frequency").unwrap(), 1000);
    let raw = dev.get_channel("voltage0", false).unwrap();
    assert_eq!(raw.attr_read_int("raw").unwrap(), -7);
    dev.attr_write("sampling_frequency", &250).unwrap();
    let trig = ctx.get_device("trigger0").unwrap();
    assert_eq!(dev.trigger().unwrap(), Some(trig.clone()));
    dev.set_trigger(Some(&trig)).unwrap();
    // The server refuses this one.
    let e = trig.attr_read_str("sampling_frequency").unwrap_err();
    assert_eq!(e.errno(), 22, "{e}");
    drop(ctx);
    let seen: Vec<String> = f.lines.iter().take(14).collect();
    // The probe came first and nothing else preceded it.
    assert_eq!(seen[..2], ["BINARY", "op 32 dev 0 code 0x0"], "{seen:?}");
    assert!(
        seen.contains(&"op 3 dev 0 code 0x20000".to_string()),
        "{seen:?}"
    );
    assert!(
        seen.contains(&format!("op {settrig} dev 0 code 0x1")),
        "{seen:?}"
    );
    assert!(seen.contains(&"value 250\0".to_string()), "{seen:?}");
}

#[test]
fn binary_protocol_of_libiio_1_0() {
    // Two connections: the probe ends the first, as iiod 1.0 does.
    let f = fake(2, |p| serve_binary(p, false));
    check_binary_fake(f, Numbering::Libiio10, 12);
}

#[test]
fn binary_protocol_of_libiio_main_2026() {
    let f = fake(1, |p| serve_binary(p, true));
    check_binary_fake(f, Numbering::Main2026, 16);
}

/// A server that accepts BINARY and then answers the probe in a way no known numbering
/// does (`reply`: what it sends back, if anything), and speaks text on a new connection.
fn unknown_numbering(p: &mut Peer, reply: Option<&[u8]>) {
    let first = p.line();
    if first == "BINARY" {
        p.send(b"0\n");
        let mut h = [0u8; 8];
        if p.r.read_exact(&mut h).is_ok() {
            let _ = p.seen.send(format!("probe op {}", h[2]));
            if let Some(r) = reply {
                p.send(r);
            }
        }
        p.drain();
        return;
    }
    assert!(first.starts_with("TIMEOUT"), "{first}");
    p.send(b"0\n");
    assert_eq!(p.line(), "ZPRINT");
    p.send(b"-22\n");
    assert_eq!(p.line(), "PRINT");
    p.print_ok();
    assert_eq!(p.line(), "READ iio:device0 sampling_frequency");
    p.send(b"5\n1000\0\n");
    p.drain();
}

#[test]
fn an_unknown_numbering_is_spoken_to_in_text() {
    // A response with a payload, another opcode, an error code, and silence: none is the
    // NOP answer of a known numbering.
    let scripts: [Script; 4] = [
        |p| unknown_numbering(p, Some(&[0, 0, 0, 0, 4, 0, 0, 0, b'a', b'b', b'c', b'd'])),
        |p| unknown_numbering(p, Some(&[0, 0, 5, 0, 0, 0, 0, 0])),
        |p| unknown_numbering(p, Some(&[0, 0, 0, 0, 0xea, 0xff, 0xff, 0xff])),
        |p| unknown_numbering(p, None),
    ];
    for script in scripts {
        let f = fake(2, script);
        let ctx = open(&f, 700).unwrap();
        assert_eq!(ctx.iiod_dialect(), Some(Dialect::Text));
        let dev = ctx.get_device("adc").unwrap();
        assert_eq!(dev.attr_read_int("sampling_frequency").unwrap(), 1000);
        drop(ctx);
        let seen: Vec<String> = f.lines.iter().take(3).collect();
        // The probe was the one binary command sent.
        assert_eq!(
            seen[..3],
            ["BINARY", "probe op 32", "TIMEOUT 350"],
            "{seen:?}"
        );

        // Asked for binary only, the same server is refused, naming why.
        let f = fake(1, script);
        let e = Context::from_network(
            &format!("127.0.0.1:{}", f.port),
            &Options::new()
                .timeout(Some(Duration::from_millis(700)))
                .protocol(Protocol::Binary),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no known opcode numbering"), "{e}");
    }
}

#[test]
fn binary_refused_by_a_text_server_when_required() {
    let f = fake(1, |p| {
        p.line();
        p.send(b"-22\n");
        p.drain();
    });
    let e = Context::from_network(
        &format!("127.0.0.1:{}", f.port),
        &Options::new().protocol(Protocol::Binary),
    )
    .unwrap_err();
    assert_eq!(e.errno(), 38, "{e}");
}

#[test]
fn zprint_with_a_real_zstd_frame() {
    let Ok(out) = std::process::Command::new("zstd")
        .args(["-3", "-c", "-q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(XML.as_bytes())?;
            c.wait_with_output()
        })
    else {
        println!("skipped: the zstd tool is not installed");
        return;
    };
    assert!(out.status.success());
    let frame = out.stdout;
    // The script is a fn pointer: hand the frame over through a file in the temp dir.
    let path = std::env::temp_dir().join(format!("ferroio-zprint-{}.zst", std::process::id()));
    std::fs::write(&path, &frame).unwrap();
    let f = fake(2, |p| {
        assert_eq!(p.line(), "BINARY");
        p.send(b"-22\n");
        assert!(p.line().starts_with("TIMEOUT"));
        p.send(b"0\n");
        assert_eq!(p.line(), "ZPRINT");
        let path = std::env::temp_dir().join(format!("ferroio-zprint-{}.zst", std::process::id()));
        let mut frame = std::fs::read(path).unwrap();
        if frame.is_empty() {
            // Second run: a frame that is not zstd at all.
            frame = b"not zstd at all".to_vec();
        }
        p.send(format!("{}\n", frame.len()).as_bytes());
        p.send(&frame);
        p.send(b"\n");
        p.drain();
    });
    let ctx = open(&f, 1000).unwrap();
    assert_eq!(ctx.num_devices(), 3);
    assert_eq!(ctx.description(), "127.0.0.1 fake server");
    drop(ctx);
    std::fs::write(&path, b"").unwrap();
    let e = open(&f, 1000).unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    let _ = std::fs::remove_file(&path);
}

/// What a binary block server does wrong (or right) in [`serve_blocks`].
#[derive(Clone, Copy, PartialEq)]
enum Blocks {
    /// Answers each transfer with 2 scans, the later block first.
    Good,
    /// A block response announcing 2 GiB.
    Huge,
    /// A response for a client id no block has.
    StrayId,
    /// A request opcode where a response is due.
    NotAResponse,
    /// OPEN_BUFFER hands back another channel mask.
    OtherMask,
    /// Every transfer fails to be queued (`-EINVAL << 16`).
    EnqueueFails,
}

/// A libiio main (2026 numbering) server that also serves binary blocks, misbehaving as
/// `how` says on the buffer's connection.
fn serve_blocks(p: &mut Peer, how: Blocks) {
    assert_eq!(p.line(), "BINARY");
    p.send(b"0\n");
    let respond = |p: &mut Peer, id: u16, code: i32, payload: &[u8]| p.respond(id, code, payload);
    let mut pending: Vec<u16> = Vec::new();
    let mut sent = 0u8;
    loop {
        let mut h = [0u8; 8];
        if p.r.read_exact(&mut h).is_err() {
            return;
        }
        let id = u16::from_le_bytes([h[0], h[1]]);
        let (op, code) = (h[2], i32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let _ = p.seen.send(format!("op {op} id {id} code {code:#x}"));
        let mut u64_arg = || {
            let mut b = [0u8; 8];
            p.r.read_exact(&mut b).unwrap();
            u64::from_le_bytes(b)
        };
        match op {
            1 => respond(p, 0, XML.len() as i32, XML.as_bytes()),
            2 | 32 | 19 | 20 | 22 | 18 => respond(p, 0, 0, b""),
            // OPEN_BUFFER: one mask word (adc has one channel).
            17 => {
                let mut w = [0u8; 4];
                p.r.read_exact(&mut w).unwrap();
                if how == Blocks::OtherMask {
                    w[0] ^= 2;
                }
                respond(p, 0, 4, &w);
            }
            // CREATE_BLOCK: u64 size.
            21 => {
                let _ = u64_arg();
                respond(p, id, 0, b"");
            }
            // CREATE_EVSTREAM (on the stream's id), READ_EVENT: two events, then none.
            26 => respond(p, id, 0, b""),
            28 if sent < 2 => {
                let mut ev = (0x0001_0002_0000_0003u64 + u64::from(sent))
                    .to_le_bytes()
                    .to_vec();
                ev.extend_from_slice(&(1000i64 * i64::from(sent)).to_le_bytes());
                sent += 1;
                respond(p, id, 16, &ev);
            }
            28 => {}
            // REG_READ: the register holds its address plus one.
            29 => respond(p, 0, 4, &(code as u32).wrapping_add(1).to_le_bytes()),
            // REG_WRITE: u32 value.
            30 => {
                let mut v = [0u8; 4];
                p.r.read_exact(&mut v).unwrap();
                let _ = p.seen.send(format!("value {:#x}", u32::from_le_bytes(v)));
                respond(p, 0, 0, b"");
            }
            // TRANSFER_BLOCK (capture: u64 bytes used, nothing else).
            23 => {
                let _ = u64_arg();
                match how {
                    Blocks::Good => {
                        pending.push(id);
                        if pending.len() == 2 {
                            for id in pending.drain(..).rev() {
                                let scans = [sent, sent, sent + 1, sent + 1];
                                sent += 2;
                                respond(p, id, 4, &scans);
                            }
                        }
                    }
                    Blocks::Huge => respond(p, id, i32::MAX, b""),
                    Blocks::StrayId => respond(p, 99, 4, b"abcd"),
                    Blocks::NotAResponse => {
                        let mut f = id.to_le_bytes().to_vec();
                        f.extend_from_slice(&[23, 0, 4, 0, 0, 0]);
                        p.send(&f);
                    }
                    Blocks::EnqueueFails => respond(p, id, -22 << 16, b""),
                    Blocks::OtherMask => unreachable!("no buffer was opened"),
                }
            }
            _ => respond(p, 0, -22, b""),
        }
    }
}

fn binary_buffer(f: &Fake, samples: usize) -> ferroio::Result<(Context, ferroio::buffer::Buffer)> {
    let ctx = open_binary(f)?;
    let dev = ctx.get_device("adc")?;
    let buf = dev
        .buffer_builder()
        .channel_named("voltage0", false)
        .samples(samples)
        .kernel_buffers(2)
        .build()?;
    Ok((ctx, buf))
}

#[test]
fn binary_blocks_come_in_the_order_the_server_sends_them() {
    let f = fake(2, |p| serve_blocks(p, Blocks::Good));
    let (_ctx, mut buf) = binary_buffer(&f, 2).unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        assert_eq!(buf.refill().unwrap(), 2);
        got.extend_from_slice(buf.data());
    }
    assert_eq!(got, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]);
    buf.close().unwrap();
    drop(_ctx);
    let seen: Vec<String> = f.lines.iter().collect();
    // Both blocks made and queued under their own ids, the buffer enabled once. (Closed
    // with blocks queued, the connection is simply ended: iiod then frees the buffer.)
    for want in [
        "op 21 id 1 code 0x0",
        "op 21 id 2 code 0x10000",
        "op 23 id 1 code 0x0",
        "op 23 id 2 code 0x10000",
        "op 19 id 0 code 0x0",
    ] {
        assert!(seen.iter().any(|l| l == want), "{want}: {seen:?}");
    }
}

#[test]
fn hostile_binary_block_servers_give_errors_not_panics() {
    let cases: [(Script, &str); 4] = [
        (|p| serve_blocks(p, Blocks::Huge), "bytes for block 0"),
        (|p| serve_blocks(p, Blocks::StrayId), "block 98"),
        (
            |p| serve_blocks(p, Blocks::NotAResponse),
            "where a response was due",
        ),
        (
            |p| serve_blocks(p, Blocks::EnqueueFails),
            "queueing a block",
        ),
    ];
    for (script, says) in cases {
        let f = fake(2, script);
        let (_ctx, mut buf) = binary_buffer(&f, 2).unwrap();
        let e = buf.refill().unwrap_err();
        assert!(e.to_string().contains(says), "{says}: {e}");
    }
    let f = fake(2, |p| serve_blocks(p, Blocks::OtherMask));
    let e = binary_buffer(&f, 2).unwrap_err();
    assert!(e.to_string().contains("changed the channel mask"), "{e}");
}

#[test]
fn registers_and_ping_are_one_binary_operation_each() {
    let f = fake(1, |p| serve_blocks(p, Blocks::Good));
    let ctx = open_binary(&f).unwrap();
    let dev = ctx.get_device("adc").unwrap();
    assert_eq!(dev.reg_read(0x40).unwrap(), 0x41);
    dev.reg_write(0x44, 0xdead_beef).unwrap();
    ctx.ping().unwrap();
    drop((dev, ctx));
    let seen: Vec<String> = f.lines.iter().collect();
    for want in [
        "op 29 id 0 code 0x40",
        "op 30 id 0 code 0x44",
        "value 0xdeadbeef",
    ] {
        assert!(seen.iter().any(|l| l == want), "{want}: {seen:?}");
    }
    // The numbering probe, then the ping: both NOP.
    assert_eq!(
        seen.iter().filter(|l| l.starts_with("op 32 ")).count(),
        2,
        "{seen:?}"
    );
}

#[test]
fn events_over_binary_come_one_per_read() {
    let f = fake(2, |p| serve_blocks(p, Blocks::Good));
    let ctx = open_binary(&f).unwrap();
    let dev = ctx.get_device("adc").unwrap();
    let mut events = dev.event_stream().unwrap();
    events.set_timeout(Some(Duration::from_millis(300)));
    let got: Vec<(u64, i64)> = (&mut events)
        .take(2)
        .map(|e| e.unwrap())
        .map(|e| (e.code, e.timestamp))
        .collect();
    assert_eq!(
        got,
        [(0x0001_0002_0000_0003, 0), (0x0001_0002_0000_0004, 1000)]
    );
    // Nothing more: a blocking read times out, a non-blocking one says so at once.
    let e = events.read().unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    events.set_blocking(false);
    assert!(events.read().unwrap().is_none());
    drop((events, dev, ctx));
    let seen: Vec<String> = f.lines.iter().collect();
    assert!(seen.iter().any(|l| l == "op 26 id 1 code 0x0"), "{seen:?}");
    assert_eq!(
        seen.iter().filter(|l| l.starts_with("op 28 ")).count(),
        3,
        "{seen:?}"
    );
}

/// A libiio 1.x description with event attributes (of the device and of a channel).
const XML_EVENTS: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?><context name="local" version-major="1" "#,
    r#"version-minor="0" version-git="4e3cfe61" >"#,
    r#"<device id="iio:device0" name="adc" ><channel id="voltage0" type="input" >"#,
    r#"<attribute name="raw" filename="in_voltage0_raw" />"#,
    r#"<event-attribute name="thresh_rising_en" filename="in_voltage0_thresh_rising_en" />"#,
    r#"<event-attribute name="thresh_rising_value" filename="in_voltage0_thresh_rising_value" />"#,
    r#"</channel><attribute name="sampling_frequency" />"#,
    r#"<event-attribute name="events_enabled" /></device></context>"#
);

/// A libiio main server whose description has event attributes, answering the
/// event-attribute opcodes (7, 8 read; 13, 14 write).
fn serve_event_attrs(p: &mut Peer) {
    assert_eq!(p.line(), "BINARY");
    p.send(b"0\n");
    let respond = |p: &mut Peer, code: i32, payload: &[u8]| p.respond(0, code, payload);
    loop {
        let mut h = [0u8; 8];
        if p.r.read_exact(&mut h).is_err() {
            return;
        }
        let (op, code) = (h[2], i32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let _ = p.seen.send(format!("op {op} code {code:#x}"));
        match op {
            1 => respond(p, XML_EVENTS.len() as i32, XML_EVENTS.as_bytes()),
            2 | 32 => respond(p, 0, b""),
            // The device's attribute 0: events_enabled.
            7 if code == 0 => respond(p, 2, b"1\n"),
            // Channel 0's event attribute 1: thresh_rising_value.
            8 if code == 0x0001_0000 => respond(p, 4, b"123\n"),
            13 | 14 => {
                let mut len = [0u8; 8];
                p.r.read_exact(&mut len).unwrap();
                let mut v = vec![0u8; u64::from_le_bytes(len) as usize];
                p.r.read_exact(&mut v).unwrap();
                let _ = p
                    .seen
                    .send(format!("value {}", String::from_utf8_lossy(&v)));
                respond(p, v.len() as i32, b"");
            }
            _ => respond(p, -22, b""),
        }
    }
}

#[test]
fn event_attributes_travel_with_their_own_opcodes() {
    let f = fake(1, serve_event_attrs);
    let ctx = open_binary(&f).unwrap();
    let dev = ctx.get_device("adc").unwrap();
    assert_eq!(
        dev.event_attrs().unwrap(),
        [
            "events_enabled",
            "in_voltage0_thresh_rising_en",
            "in_voltage0_thresh_rising_value"
        ]
    );
    assert_eq!(dev.event_attr_read_str("events_enabled").unwrap(), "1");
    assert_eq!(
        dev.event_attr_read_str("in_voltage0_thresh_rising_value")
            .unwrap(),
        "123"
    );
    dev.event_attr_write_str("in_voltage0_thresh_rising_en", "1")
        .unwrap();
    dev.event_attr_write_str("events_enabled", "0").unwrap();
    let e = dev.event_attr_read_str("nonexistent").unwrap_err();
    assert!(e.to_string().contains("nonexistent"), "{e}");
    drop((dev, ctx));
    let seen: Vec<String> = f.lines.iter().collect();
    for want in [
        "op 7 code 0x0",
        "op 8 code 0x10000",
        "op 14 code 0x0",
        "value 1\0",
        "op 13 code 0x0",
        "value 0\0",
    ] {
        assert!(seen.iter().any(|l| l == want), "{want}: {seen:?}");
    }
}
