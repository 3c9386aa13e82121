//! `ferroio::server` on captured and crafted sysfs trees, without root: the served context
//! reads like the local one through ferroio's own client; replies are iiod 0.24's bytes;
//! buffers move exactly the scans a FIFO stands in for; and hostile clients (names built to
//! escape, garbage, huge lengths, half commands, a thousand connections, a reader that
//! never reads, a killed capture) leave the server up and the device as it was.
//!
//! Real libiio clients against the server are in `server_libiio.rs` (root, namespaces).

mod common;

use ferroio::buffer::ScanLayout;
use ferroio::server::{Server, ServerOptions, ShutdownHandle};
use ferroio::Context;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A server running on a thread, bound to 127.0.0.1 on a free port.
struct Served {
    addr: SocketAddr,
    handle: ShutdownHandle,
    thread: Option<JoinHandle<ferroio::Result<()>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Served {
    fn start(uri: &str, options: ServerOptions) -> Served {
        let ctx = Context::from_uri(uri).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let server = Server::bind(
            &ctx,
            options
                .bind("127.0.0.1".parse().unwrap())
                .port(0)
                .announce(false)
                .verbose(true)
                .logger(move |l| sink.lock().unwrap().push(l.to_string())),
        )
        .unwrap();
        let addr = server.local_addrs()[0];
        let handle = server.shutdown_handle();
        let thread = Some(std::thread::spawn(move || server.run()));
        Served {
            addr,
            handle,
            thread,
            log,
        }
    }

    fn uri(&self) -> String {
        format!("ip:127.0.0.1:{}", self.addr.port())
    }

    fn raw(&self) -> Raw {
        Raw::connect(self.addr)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Stops the server and waits for `run` to return.
    fn stop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            t.join().unwrap().unwrap();
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A raw text-protocol client.
struct Raw {
    s: TcpStream,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Raw { s }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// One reply line, without its `\n`.
    fn line(&mut self) -> String {
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        loop {
            match self.s.read(&mut b) {
                Ok(0) => panic!(
                    "connection closed after {:?}",
                    String::from_utf8_lossy(&out)
                ),
                Ok(_) if b[0] == b'\n' => break,
                Ok(_) => out.push(b[0]),
                Err(e) => panic!("reading a reply line: {e} after {out:?}"),
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.s.read_exact(&mut v).unwrap();
        v
    }

    /// Sends a command line, returns the first reply line.
    fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.line()
    }

    /// A payload reply: `LEN\n` + LEN bytes + `\n`; `Err(code)` for a negative one.
    fn payload(&mut self, line: &str) -> Result<Vec<u8>, i64> {
        let n: i64 = self.cmd(line).parse().unwrap();
        if n < 0 {
            return Err(n);
        }
        let v = self.bytes(n as usize);
        assert_eq!(self.bytes(1), b"\n");
        Ok(v)
    }

    /// Whether the server closed the connection (within `limit`).
    fn closed_within(&mut self, limit: Duration) -> bool {
        self.s.set_read_timeout(Some(limit)).unwrap();
        let mut b = [0u8; 256];
        loop {
            match self.s.read(&mut b) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

/// The iio_dummy capture with a FIFO as iio:device0's node: its root, `local:` URI, the
/// device's directory and the device's state before any test ran.
struct Dummy {
    root: tempfile::TempDir,
    uri: String,
    dir: PathBuf,
    before: BTreeMap<PathBuf, String>,
}

impl Dummy {
    fn new() -> Dummy {
        let root = common::fixture_copy("iio-dummy-6.1");
        common::mkfifo(&root.path().join("dev/iio:device0"));
        let uri = common::local_uri(root.path());
        let dir = dev_dir(root.path());
        let before = common::sysfs_state(&dir);
        Dummy {
            root,
            uri,
            dir,
            before,
        }
    }
}

/// The iio_dummy capture's root alone.
fn dummy() -> tempfile::TempDir {
    Dummy::new().root
}

fn dev_dir(root: &Path) -> PathBuf {
    root.join("bus/iio/devices/iio:device0")
}

/// Waits up to 10 s for `cond`.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Everything a client can see of a context: devices, channels, attributes and values.
fn view(ctx: &Context) -> Vec<String> {
    let val = |r: ferroio::Result<String>| match r {
        Ok(v) => v,
        Err(e) => format!("errno {}", e.errno()),
    };
    let mut out = Vec::new();
    for d in ctx.devices() {
        out.push(format!("device {} {:?} {:?}", d.id(), d.name(), d.label()));
        for a in d.attrs() {
            out.push(format!("  {a} = {}", val(d.attr_read_str(a))));
        }
        for a in d.buffer_attrs() {
            out.push(format!("  buffer {a} = {}", val(d.buffer_attr_read_str(a))));
        }
        for a in d.debug_attrs() {
            out.push(format!("  debug {a} = {}", val(d.debug_attr_read_str(a))));
        }
        out.push(format!(
            "  trigger {:?}",
            d.trigger()
                .map(|t| t.map(|t| t.id().to_string()))
                .map_err(|e| e.errno())
        ));
        for c in d.channels() {
            out.push(format!(
                "  channel {} out={} scan={:?}",
                c.id(),
                c.is_output(),
                c.data_format().map(|f| f.map(|f| f.to_string()).ok())
            ));
            for a in c.attrs() {
                out.push(format!("    {a} = {}", val(c.attr_read_str(a))));
            }
        }
    }
    out
}

#[test]
fn the_served_context_reads_like_the_local_one() {
    let Dummy {
        root: _root, uri, ..
    } = Dummy::new();
    let srv = Served::start(&uri, ServerOptions::new());
    let local = Context::from_uri(&uri).unwrap();
    let remote = Context::from_uri(&srv.uri()).unwrap();
    assert_eq!(remote.name(), "network");
    assert_eq!(view(&remote), view(&local));
    assert!(srv.log().contains("connected (1 of 16)"), "{}", srv.log());
}

#[test]
fn replies_are_iiod_bytes() {
    let Dummy { root, uri, .. } = Dummy::new();
    let ctx = Context::from_uri(&uri).unwrap();
    let srv = Served::start(&uri, ServerOptions::new());
    let mut c = srv.raw();
    // Captured against iiod 0.24 (../shared/protocol/iiod.md §5) on the same kind of tree.
    for (line, want) in [
        ("READ iio:device0 nonexistent", "-2"),
        ("READ iio:device9 sampling_frequency", "-19"),
        ("READ iio:device0 INPUT voltage7 raw", "-6"),
        ("READBUF iio:device0 64", "-9"),
        ("CLOSE iio:device0", "-6"),
        ("OPEN iio:device0 4 7", "-22"),
        ("FOO bar", "-22"),
        ("SETTRIG iio:device0 nosuchtrig", "-2"),
        ("GETTRIG iio_evgen", "-2"),
        ("GETTRIG iio:device0", "0"),
        ("SET iio:device0 BUFFERS_COUNT 8", "0"),
        ("SET iio:device0 BUFFERS_COUNT 0", "-22"),
        ("TIMEOUT 2500", "0"),
        ("VERSION", "0.24.ferroio"),
    ] {
        assert_eq!(c.cmd(line), want, "{line}");
    }
    // Values: LEN (with the NUL), the value, NUL, newline.
    let raw = fs::read_to_string(dev_dir(root.path()).join("in_voltage0_raw")).unwrap();
    let mut want = raw.trim_end().as_bytes().to_vec();
    want.push(0);
    assert_eq!(
        c.payload("READ iio:device0 INPUT voltage0 raw"),
        Ok(want.clone())
    );
    // By name, and in lower case.
    assert_eq!(c.payload("read dummy0 input voltage0 raw"), Ok(want));
    // The context description.
    assert_eq!(c.payload("PRINT").unwrap(), ctx.to_xml().into_bytes());
    let z = c.payload("ZPRINT").unwrap();
    assert_eq!(&z[..4], &[0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
    // A write: the reply counts the bytes sent; the file holds the value.
    c.send(b"WRITE iio:device0 in_sampling_frequency 4\r\n2000");
    assert_eq!(c.line(), "4");
    let f = dev_dir(root.path()).join("in_sampling_frequency");
    assert_eq!(fs::read_to_string(&f).unwrap().trim(), "2000");
    c.send(b"WRITE iio:device0 in_sampling_frequency 5\r\n3000\0");
    assert_eq!(c.line(), "5");
    assert_eq!(fs::read_to_string(&f).unwrap().trim(), "3000");
    // Triggers: set by id, read back by name.
    assert_eq!(c.cmd("SETTRIG iio:device0 trigger0"), "0");
    let name = ctx
        .get_device("trigger0")
        .unwrap()
        .name()
        .unwrap()
        .to_string();
    assert_eq!(c.cmd("GETTRIG iio:device0"), name.len().to_string());
    assert_eq!(c.line(), name);
    assert_eq!(c.cmd("SETTRIG iio:device0"), "0");
    assert_eq!(c.cmd("GETTRIG iio:device0"), "0");
    // Read all: per attribute a big-endian length, the value and its NUL, padding to 4.
    let block = c.payload("READ iio:device0 INPUT voltage0").unwrap();
    let v0 = ctx
        .get_device("iio:device0")
        .unwrap()
        .get_channel("voltage0", false)
        .unwrap();
    let mut at = 0;
    for a in v0.attrs() {
        let len = i32::from_be_bytes(block[at..at + 4].try_into().unwrap());
        let value = v0.attr_read_str(a).unwrap();
        assert_eq!(len as usize, value.len() + 1, "{a}");
        assert_eq!(&block[at + 4..at + 4 + value.len()], value.as_bytes());
        at += 4 + (len as usize).next_multiple_of(4);
    }
    assert_eq!(at, block.len());
    // Write all: the same layout back; a negative length leaves an attribute alone.
    let dev = ctx.get_device("iio:device0").unwrap();
    let mut packed = Vec::new();
    for a in dev.attrs() {
        if a == "in_sampling_frequency" {
            packed.extend_from_slice(&5i32.to_be_bytes());
            packed.extend_from_slice(b"4000\0\0\0\0");
        } else {
            packed.extend_from_slice(&(-1i32).to_be_bytes());
        }
    }
    c.send(format!("WRITE iio:device0 {}\r\n", packed.len()).as_bytes());
    c.send(&packed);
    assert_eq!(c.line(), packed.len().to_string());
    assert_eq!(fs::read_to_string(&f).unwrap().trim(), "4000");
    // An empty line is ignored; EXIT ends the session without a reply.
    c.send(b"\r\nEXIT\r\n");
    assert!(c.closed_within(Duration::from_secs(5)));
}

#[test]
fn names_cannot_reach_outside_the_snapshot() {
    let root = dummy();
    let secret = root.path().join("secret");
    fs::write(&secret, "do not serve me\n").unwrap();
    let dir = dev_dir(root.path());
    std::os::unix::fs::symlink(&secret, dir.join("evil")).unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("in_voltage0_evil")).unwrap();
    let srv = Served::start(&common::local_uri(root.path()), ServerOptions::new());
    let mut c = srv.raw();
    for (line, want) in [
        ("READ iio:device0 ../../../../etc/passwd", "-22"),
        ("READ iio:device0 INPUT voltage0/../../x raw", "-22"),
        ("READ iio:device0 /etc/passwd", "-22"),
        ("READ iio:device0 ..", "-2"),
        ("READ iio:device0 .", "-2"),
        ("READ .. name", "-19"),
        ("READ iio:device0 DEBUG ..", "-2"),
        ("READ iio:device0 BUFFER ../enable", "-22"),
        ("READ iio:device0 evil", "-2"),
        ("READ iio:device0 INPUT voltage0 evil", "-2"),
        ("READ iio:device0 scan_elements", "-2"),
        ("READ iio:device0 uevent", "-2"),
        ("GETTRIG ../../..", "-22"),
    ] {
        assert_eq!(c.cmd(line), want, "{line}");
    }
    // A NUL or a non-UTF-8 byte in a line: not a command.
    c.send(b"READ iio:device0 na\0me\r\n");
    assert_eq!(c.line(), "-22");
    c.send(b"READ iio:device0 \xff\xfe\r\n");
    assert_eq!(c.line(), "-22");
    // Writes through the same names touch nothing.
    let before = common::sysfs_state(&dir);
    c.send(b"WRITE iio:device0 evil 3\r\nabc");
    assert_eq!(c.line(), "-2");
    c.send(b"WRITE iio:device0 ../../x 3\r\n");
    assert_eq!(c.line(), "-22");
    assert_eq!(common::sysfs_state(&dir), before);
    assert_eq!(fs::read_to_string(&secret).unwrap(), "do not serve me\n");
    assert!(!srv.log().contains("do not serve me"));
}

#[test]
fn garbage_and_long_lines_get_errors_and_the_session_goes_on() {
    let root = dummy();
    let srv = Served::start(&common::local_uri(root.path()), ServerOptions::new());
    let mut c = srv.raw();
    // Random bytes, newlines among them: each line is answered -22 (or nothing when blank).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut junk = Vec::new();
    for _ in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        junk.push((seed >> 24) as u8);
    }
    junk.extend_from_slice(b"\nVERSION\r\n");
    c.send(&junk);
    loop {
        let l = c.line();
        if l == "0.24.ferroio" {
            break;
        }
        assert_eq!(l, "-22");
    }
    // A line of 100 kB: read to its end, refused once.
    let mut long = vec![b'A'; 100_000];
    long.extend_from_slice(b"\r\nVERSION\r\n");
    c.send(&long);
    assert_eq!(c.line(), "-22");
    assert_eq!(c.line(), "0.24.ferroio");
    assert!(
        srv.log().contains("a line of 100001 bytes"),
        "{}",
        srv.log()
    );
    // Numbers out of range.
    for line in [
        "OPEN iio:device0 99999999999999999999 0000001f",
        "TIMEOUT -5",
        "READBUF iio:device0 -1",
    ] {
        assert_eq!(c.cmd(line), "-22", "{line}");
    }
}

#[test]
fn lengths_and_half_commands_are_bounded() {
    let root = dummy();
    let f = dev_dir(root.path()).join("in_sampling_frequency");
    let before = fs::read(&f).unwrap();
    let srv = Served::start(
        &common::local_uri(root.path()),
        ServerOptions::new().io_timeout(Duration::from_millis(300)),
    );
    // A value longer than any attribute: disconnected before anything is allocated.
    let mut c = srv.raw();
    c.send(b"WRITE iio:device0 in_sampling_frequency 99999999999\r\n");
    assert!(c.closed_within(Duration::from_secs(5)));
    // Half a line, then silence.
    let mut c = srv.raw();
    c.send(b"READ iio:dev");
    let t = Instant::now();
    assert!(c.closed_within(Duration::from_secs(5)));
    assert!(t.elapsed() >= Duration::from_millis(250));
    // A value that never fully comes: nothing written.
    let mut c = srv.raw();
    c.send(b"WRITE iio:device0 in_sampling_frequency 10\r\n123");
    assert!(c.closed_within(Duration::from_secs(5)));
    assert_eq!(fs::read(&f).unwrap(), before);
    // The next client is served.
    assert_eq!(srv.raw().cmd("VERSION"), "0.24.ferroio");
    let log = srv.log();
    assert!(log.contains("99999999999 bytes announced"), "{log}");
    assert!(log.contains("stalled mid-command"), "{log}");
}

#[test]
fn a_thousand_connections_leave_the_server_up() {
    let root = dummy();
    let srv = Served::start(
        &common::local_uri(root.path()),
        ServerOptions::new().max_clients(16),
    );
    let mut held = Vec::new();
    for _ in 0..1000 {
        match TcpStream::connect(srv.addr) {
            Ok(s) => held.push(s),
            Err(e) => panic!("connect: {e}"),
        }
    }
    // Full: one more is turned away (closed at once) while the others are young.
    let mut late = srv.raw();
    assert!(late.closed_within(Duration::from_secs(5)));
    // The first 16 are served.
    held[0].write_all(b"VERSION\r\n").unwrap();
    let mut c = Raw {
        s: held.swap_remove(0),
    };
    c.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(c.line(), "0.24.ferroio");
    drop(held);
    drop(c);
    eventually("the slots to free", || {
        let mut c = srv.raw();
        c.send(b"VERSION\r\n");
        let mut b = [0u8; 32];
        matches!(c.s.read(&mut b), Ok(n) if n > 0)
    });
    assert!(
        srv.log().contains("refused: 16 clients connected"),
        "{}",
        srv.log()
    );
}

#[test]
fn a_full_server_makes_room_by_closing_the_idlest_connection() {
    let root = dummy();
    let srv = Served::start(
        &common::local_uri(root.path()),
        ServerOptions::new()
            .max_clients(4)
            .evict_idle_after(Duration::from_secs(1)),
    );
    let mut silent: Vec<Raw> = (0..4).map(|_| srv.raw()).collect();
    // One speaks a while after the others connected: it is not the idlest.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(silent[3].cmd("VERSION"), "0.24.ferroio");
    // Before the eviction delay a newcomer is refused, after it gets the idlest's place.
    let mut early = srv.raw();
    assert!(
        early.closed_within(Duration::from_millis(500)),
        "{}",
        srv.log()
    );
    std::thread::sleep(Duration::from_millis(1_200));
    let mut c = srv.raw();
    assert_eq!(c.cmd("VERSION"), "0.24.ferroio");
    // One of the three that never spoke made room; the one that did is still there.
    let closed = silent[..3]
        .iter_mut()
        .filter_map(|s| s.closed_within(Duration::from_millis(500)).then_some(()))
        .count();
    assert_eq!(closed, 1, "{}", srv.log());
    assert_eq!(silent[3].cmd("VERSION"), "0.24.ferroio");
    assert!(srv.log().contains("to make room for"), "{}", srv.log());
}

/// The iio_dummy device, its channel positions by id, and the layout of a set of them.
fn positions(ctx: &Context, ids: &[&str]) -> (Vec<usize>, String) {
    let dev = ctx.get_device("iio:device0").unwrap();
    let pos: Vec<usize> = ids
        .iter()
        .map(|id| dev.get_channel(id, false).unwrap().index())
        .collect();
    let mut words = vec![0u32; dev.num_channels().div_ceil(32)];
    for &p in &pos {
        words[p / 32] |= 1 << (p % 32);
    }
    let mask = words.iter().rev().map(|w| format!("{w:08x}")).collect();
    (pos, mask)
}

fn layout(ctx: &Context, ids: &[&str]) -> ScanLayout {
    let dev = ctx.get_device("iio:device0").unwrap();
    let mut m = ferroio::buffer::ChannelMask::new(dev.num_channels());
    for p in positions(ctx, ids).0 {
        m.enable(p);
    }
    ScanLayout::new(dev.data(), &m).unwrap()
}

/// The scans of `data` (in layout `from`) cut down to layout `to`.
fn cut(data: &[u8], from: &ScanLayout, to: &ScanLayout) -> Vec<u8> {
    let mut out = Vec::new();
    for scan in data.chunks_exact(from.scan_bytes()) {
        let mut s = vec![0u8; to.scan_bytes()];
        for e in to.elements() {
            let src = from.element(e.channel).unwrap().offset;
            let n = e.format.sample_bytes();
            s[e.offset..e.offset + n].copy_from_slice(&scan[src..src + n]);
        }
        out.extend_from_slice(&s);
    }
    out
}

#[test]
fn capture_through_the_server_is_bit_exact() {
    let Dummy {
        root,
        uri,
        dir,
        before,
    } = Dummy::new();
    let srv = Served::start(&uri, ServerOptions::new());
    let mut feed = common::hold_fifo(&root.path().join("dev/iio:device0"));
    let ctx = Context::from_uri(&srv.uri()).unwrap();
    let dev = ctx.get_device("iio:device0").unwrap();
    let mut buf = dev
        .buffer_builder()
        .all_channels(false)
        .samples(64)
        .build()
        .unwrap();
    let scan = buf.scan_bytes();
    let data = common::pattern(scan * 64 * 16, 5);
    feed.write_all(&data).unwrap();
    let mut got = Vec::new();
    for _ in 0..16 {
        assert_eq!(buf.refill().unwrap(), 64);
        got.extend_from_slice(buf.data());
    }
    assert_eq!(got, data);
    // While open, the device's buffer is enabled on the served tree.
    assert_eq!(
        fs::read_to_string(dir.join("buffer/enable"))
            .unwrap()
            .trim(),
        "1"
    );
    buf.close().unwrap();
    // Closed (the client hangs up with requests in flight rather than wait for them):
    // the device is put back as it was.
    eventually("the device to be put back", || {
        common::sysfs_state(&dir) == before
    });
}

#[test]
fn two_readers_of_one_device_each_get_their_channels() {
    let Dummy { root, uri, .. } = Dummy::new();
    let local = Context::from_uri(&uri).unwrap();
    let srv = Served::start(&uri, ServerOptions::new());
    let mut feed = common::hold_fifo(&root.path().join("dev/iio:device0"));
    let a_ids = ["voltage0", "timestamp"];
    let b_ids = ["voltage3-voltage4", "accel_x"];
    let union = layout(
        &local,
        &["voltage0", "voltage3-voltage4", "accel_x", "timestamp"],
    );
    let (a_layout, b_layout) = (layout(&local, &a_ids), layout(&local, &b_ids));
    let mut a = srv.raw();
    let mut b = srv.raw();
    assert_eq!(
        a.cmd(&format!(
            "OPEN iio:device0 8 {}",
            positions(&local, &a_ids).1
        )),
        "0"
    );
    assert_eq!(
        b.cmd(&format!(
            "OPEN iio:device0 8 {}",
            positions(&local, &b_ids).1
        )),
        "0"
    );
    // Both ask before any scan comes: neither may miss one.
    let scans = 8 * 4;
    a.send(format!("READBUF iio:device0 {}\r\n", scans * a_layout.scan_bytes()).as_bytes());
    b.send(format!("READBUF iio:device0 {}\r\n", scans * b_layout.scan_bytes()).as_bytes());
    eventually("both READBUF requests are waiting", || {
        srv.log().matches("waiting for scans").count() == 2
    });
    let data = common::pattern(union.scan_bytes() * scans, 11);
    feed.write_all(&data).unwrap();
    for (c, lay, ids) in [
        (&mut a, &a_layout, &a_ids[..]),
        (&mut b, &b_layout, &b_ids[..]),
    ] {
        let mut got = Vec::new();
        let mut first = true;
        while got.len() < scans * lay.scan_bytes() {
            let n: usize = c.line().parse().unwrap();
            if first {
                assert_eq!(c.line(), positions(&local, ids).1, "the client's own mask");
                first = false;
            }
            got.extend(c.bytes(n));
        }
        assert_eq!(got, cut(&data, &union, lay), "{ids:?}");
    }
    assert_eq!(a.cmd("CLOSE iio:device0"), "0");
    assert_eq!(b.cmd("CLOSE iio:device0"), "0");
}

#[test]
fn a_reader_that_never_reads_blocks_no_one() {
    let Dummy { root, uri, .. } = Dummy::new();
    let local = Context::from_uri(&uri).unwrap();
    let srv = Served::start(
        &uri,
        ServerOptions::new().io_timeout(Duration::from_secs(2)),
    );
    let fifo = root.path().join("dev/iio:device0");
    let _hold = common::hold_fifo(&fifo);
    let all = [
        "voltage0",
        "voltage1-voltage2",
        "voltage3-voltage4",
        "accel_x",
        "timestamp",
    ];
    let lay = layout(&local, &all);
    let mask = positions(&local, &all).1;
    // The stalled one: a small socket buffer, a huge request, never a read.
    let stalled = TcpStream::connect(srv.addr).unwrap();
    rustix::net::sockopt::set_socket_recv_buffer_size(&stalled, 4096).unwrap();
    let mut stalled = Raw { s: stalled };
    assert_eq!(stalled.cmd(&format!("OPEN iio:device0 1024 {mask}")), "0");
    stalled.send(b"READBUF iio:device0 1000000000\r\n");
    // The device produces as fast as it is read, for as long as the test runs.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop_feed = stop.clone();
    let feeder = std::thread::spawn(move || {
        let mut w = common::hold_fifo(&fifo);
        let chunk = common::pattern(64 * 1024, 3);
        while !stop_feed.load(std::sync::atomic::Ordering::SeqCst) {
            // Non-blocking: a full pipe (no reader left) must not keep this thread.
            if w.write(&chunk).is_err() {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    });
    // Another reader of the same device, and attribute reads, go on meanwhile.
    let mut other = srv.raw();
    assert_eq!(other.cmd(&format!("OPEN iio:device0 1024 {mask}")), "0");
    let want = 1024 * 64 * lay.scan_bytes();
    other.send(format!("READBUF iio:device0 {want}\r\n").as_bytes());
    let mut attrs = srv.raw();
    let mut got = 0;
    let mut first = true;
    while got < want {
        let n: usize = other.line().parse().unwrap();
        if first {
            assert_eq!(other.line(), mask);
            first = false;
        }
        got += other.bytes(n).len();
        assert_eq!(attrs.cmd("VERSION"), "0.24.ferroio");
    }
    // The stalled client is dropped once a reply has waited the I/O timeout for it.
    let who = format!("client {} disconnected", stalled.s.local_addr().unwrap());
    eventually("the stalled client to be dropped", || {
        srv.log().contains(&who)
    });
    assert_eq!(other.cmd("CLOSE iio:device0"), "0");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    drop(stalled);
    feeder.join().unwrap();
}

#[test]
fn a_client_killed_mid_capture_leaves_the_device_as_it_found_it() {
    let Dummy {
        root,
        uri,
        dir,
        before,
    } = Dummy::new();
    let srv = Served::start(&uri, ServerOptions::new());
    let mut feed = common::hold_fifo(&root.path().join("dev/iio:device0"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferroio"))
        .args(["read", "-u", &srv.uri(), "-b", "16", "iio:device0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    // Wait until scans flow, then kill it without warning.
    let mut first = [0u8; 64];
    let feeder = std::thread::spawn(move || {
        for i in 0..50u8 {
            if feed.write_all(&common::pattern(4096, i)).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        feed
    });
    out.read_exact(&mut first).unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("buffer/enable"))
            .unwrap()
            .trim(),
        "1"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let _feed = feeder.join().unwrap();
    eventually("the device to be put back", || {
        common::sysfs_state(&dir) == before
    });
    // And the server serves the next client.
    assert_eq!(srv.raw().cmd("VERSION"), "0.24.ferroio");
}

#[test]
fn output_through_the_server_delivers_the_bytes() {
    let root = common::dac_fixture("iio:device0", &[("voltage0", "be:u10/16>>0")]);
    let uri = common::local_uri(root.path());
    let dir = root.path().join("bus/iio/devices/iio:device0");
    let before = common::sysfs_state(&dir);
    let srv = Served::start(&uri, ServerOptions::new());
    let mut dac = common::hold_fifo(&root.path().join("dev/iio:device0"));
    let ctx = Context::from_uri(&srv.uri()).unwrap();
    let dev = ctx.get_device("dac").unwrap();
    let mut buf = dev
        .buffer_builder()
        .channel_named("voltage0", true)
        .samples(4)
        .build()
        .unwrap();
    // A second writer is refused while the first holds it.
    let mut other = srv.raw();
    assert_eq!(other.cmd("OPEN iio:device0 4 00000001"), "-16");
    let ours = common::pattern(8 * 6, 9);
    for block in ours.chunks(8) {
        buf.data_mut().copy_from_slice(block);
        assert_eq!(buf.push().unwrap(), 4);
    }
    buf.close().unwrap();
    assert_eq!(common::read_fifo(&mut dac, ours.len()), ours);
    assert_eq!(common::sysfs_state(&dir), before);
    // A raw WRITEBUF: go-ahead, data, bytes taken; a trailing partial scan is dropped.
    assert_eq!(other.cmd("OPEN iio:device0 4 00000001"), "0");
    other.send(b"WRITEBUF iio:device0 5\r\n");
    assert_eq!(other.line(), "0");
    other.send(&[1, 2, 3, 4, 5]);
    assert_eq!(other.line(), "4");
    assert_eq!(common::read_fifo(&mut dac, 4), [1, 2, 3, 4]);
    assert_eq!(other.cmd("READBUF iio:device0 4"), "-9");
    assert_eq!(other.cmd("CLOSE iio:device0"), "0");
}

#[test]
fn read_only_refuses_every_change() {
    let Dummy {
        root, dir, before, ..
    } = Dummy::new();
    let srv = Served::start(
        &common::local_uri(root.path()),
        ServerOptions::new().read_only(true),
    );
    let mut c = srv.raw();
    c.send(b"WRITE iio:device0 in_sampling_frequency 4\r\n2000");
    assert_eq!(c.line(), "-13");
    c.send(b"WRITE iio:device0 DEBUG direct_reg_access 4\r\n0x10");
    assert_eq!(c.line(), "-13");
    assert_eq!(c.cmd("SETTRIG iio:device0 trigger0"), "-13");
    assert_eq!(c.cmd("SETTRIG iio:device9 trigger0"), "-19");
    assert_eq!(common::sysfs_state(&dir), before);
    // Reading goes on, and so do input buffers.
    assert!(c.payload("READ iio:device0 INPUT voltage0 raw").is_ok());
    let local = Context::from_uri(&common::local_uri(root.path())).unwrap();
    let mask = positions(&local, &["voltage0"]).1;
    assert_eq!(c.cmd(&format!("OPEN iio:device0 4 {mask}")), "0");
    assert_eq!(c.cmd("CLOSE iio:device0"), "0");
    let dac = common::dac_fixture("iio:device0", &[("voltage0", "le:u16/16>>0")]);
    let srv = Served::start(
        &common::local_uri(dac.path()),
        ServerOptions::new().read_only(true),
    );
    assert_eq!(srv.raw().cmd("OPEN iio:device0 4 00000001"), "-13");
}

#[test]
fn shutdown_tells_a_waiting_reader_and_restores_the_device() {
    let Dummy {
        root,
        uri,
        dir,
        before,
    } = Dummy::new();
    let local = Context::from_uri(&uri).unwrap();
    let mut srv = Served::start(&uri, ServerOptions::new());
    let _feed = common::hold_fifo(&root.path().join("dev/iio:device0"));
    let mut c = srv.raw();
    let mask = positions(&local, &["voltage0"]).1;
    assert_eq!(c.cmd(&format!("OPEN iio:device0 4 {mask}")), "0");
    c.send(b"READBUF iio:device0 8\r\n");
    eventually("the READBUF is waiting", || {
        srv.log().contains("waiting for scans")
    });
    let t = Instant::now();
    srv.stop();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(c.line(), "-103");
    assert!(c.closed_within(Duration::from_secs(5)));
    assert_eq!(common::sysfs_state(&dir), before);
    assert!(srv.log().contains("stopped"), "{}", srv.log());
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let root = dummy();
    let ctx = Context::from_uri(&common::local_uri(root.path())).unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let e = Server::bind(
        &ctx,
        ServerOptions::new()
            .bind("127.0.0.1".parse().unwrap())
            .port(port)
            .announce(false),
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("in use"), "{text}");
    // The CLI says the same and exits non-zero.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferroio"))
        .args([
            "serve",
            "-u",
            &common::local_uri(root.path()),
            "--bind",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--no-announce",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot serve") && err.contains("in use"),
        "{err}"
    );
}

#[test]
fn the_cli_serves_until_sigterm_and_puts_the_device_back() {
    let Dummy {
        root,
        uri,
        dir,
        before,
    } = Dummy::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferroio"))
        .args([
            "serve",
            "-u",
            &uri,
            "--bind",
            "127.0.0.1",
            "-p",
            "0",
            "--no-announce",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut err, &mut first).unwrap();
    let port: u16 = first
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {first:?}"));
    let _feed = common::hold_fifo(&root.path().join("dev/iio:device0"));
    let mut c = Raw::connect(SocketAddr::from(([127, 0, 0, 1], port)));
    let local = Context::from_uri(&uri).unwrap();
    let mask = positions(&local, &["voltage0"]).1;
    assert_eq!(c.cmd(&format!("OPEN iio:device0 4 {mask}")), "0");
    assert_ne!(common::sysfs_state(&dir), before);
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("stopped"), "{rest}");
    assert_eq!(common::sysfs_state(&dir), before);
}

/// A raw binary-protocol client (libiio main's numbering) on a fresh connection.
struct Bin(Raw);

impl Bin {
    fn open(srv: &Served) -> Bin {
        let mut r = srv.raw();
        assert_eq!(r.cmd("BINARY"), "0");
        Bin(r)
    }

    /// Sends one frame (header and payload).
    fn send(&mut self, id: u16, op: u8, dev: u8, code: i32, payload: &[u8]) {
        let mut f = id.to_le_bytes().to_vec();
        f.extend_from_slice(&[op, dev]);
        f.extend_from_slice(&code.to_le_bytes());
        f.extend_from_slice(payload);
        self.0.send(&f);
    }

    /// The next response: (client id, code, payload).
    fn response(&mut self) -> (u16, i32, Vec<u8>) {
        let mut h = [0u8; 8];
        self.0.s.read_exact(&mut h).unwrap();
        assert_eq!(h[2], 0, "a response");
        let code = i32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let mut payload = vec![0u8; code.max(0) as usize];
        self.0.s.read_exact(&mut payload).unwrap();
        (u16::from_le_bytes([h[0], h[1]]), code, payload)
    }

    fn call(&mut self, op: u8, dev: u8, code: i32, payload: &[u8]) -> (i32, Vec<u8>) {
        self.send(0, op, dev, code, payload);
        let (id, code, p) = self.response();
        assert_eq!(id, 0);
        (code, p)
    }
}

/// Opcodes of libiio main's numbering used below.
const B_PRINT: u8 = 1;
const B_READ_ATTR: u8 = 3;
const B_READ_CHN_ATTR: u8 = 6;
const B_WRITE_DBG_ATTR: u8 = 10;
const B_OPEN_BUFFER: u8 = 17;
const B_CLOSE_BUFFER: u8 = 18;
const B_ENABLE: u8 = 19;
const B_CREATE_BLOCK: u8 = 21;
const B_TRANSFER: u8 = 23;
const B_CREATE_EVSTREAM: u8 = 26;
const B_READ_EVENT: u8 = 28;
const B_NOP: u8 = 32;

#[test]
fn the_binary_protocol_answers_as_iiod_1x() {
    let Dummy {
        root,
        uri,
        before,
        dir,
    } = Dummy::new();
    let local = Context::from_uri(&uri).unwrap();
    let srv = Served::start(&uri, ServerOptions::new());
    let mut c = Bin::open(&srv);
    assert_eq!(c.call(B_NOP, 0, 0, &[]), (0, vec![]));
    // The description: libiio 1.x's XML, zstd-compressed with its size.
    let (n, z) = c.call(B_PRINT, 0, 0, &[]);
    assert_eq!(n as usize, z.len());
    assert_eq!(&z[..4], &[0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
    // Attributes by their position in the sorted list, as libiio 1.x counts.
    let dev = local.get_device("iio:device0").unwrap();
    let mut names: Vec<String> = dev.data().attrs.iter().map(|a| a.name.clone()).collect();
    names.sort();
    let i = names
        .iter()
        .position(|n| n == "current_timestamp_clock")
        .unwrap() as i32;
    let want = local_value(&dir.join("current_timestamp_clock"));
    let (n, v) = c.call(B_READ_ATTR, 0, i << 16, &[]);
    assert_eq!((n as usize, &v[..want.len()]), (v.len(), want.as_bytes()));
    // A channel attribute: channel index low, attribute index high.
    let chn = dev
        .data()
        .channels
        .iter()
        .position(|c| c.id == "voltage0")
        .unwrap() as i32;
    let mut cnames: Vec<String> = dev.data().channels[chn as usize]
        .attrs
        .iter()
        .map(|a| a.name.clone())
        .collect();
    cnames.sort();
    let raw = cnames.iter().position(|n| n == "raw").unwrap() as i32;
    let (_, v) = c.call(B_READ_CHN_ATTR, 0, (raw << 16) | chn, &[]);
    assert!(v.starts_with(local_value(&dir.join("in_voltage0_raw")).as_bytes()));
    // A debug write whose code carries a channel (libiio 1.0's channel-attribute write,
    // 10 in its numbering) is refused, and nothing is written.
    let mut value = 2u64.to_le_bytes().to_vec();
    value.extend_from_slice(b"5\0");
    assert_eq!(c.call(B_WRITE_DBG_ATTR, 0, 1, &value).0, -22);
    assert_eq!(common::sysfs_state(&dir), before);
    // A buffer: OPEN_BUFFER answers the mask kept; a second OPEN of it: EEXIST.
    let mask = positions(&local, &["voltage0"]).0;
    let mut words = vec![0u32; dev.num_channels().div_ceil(32)];
    for p in &mask {
        words[p / 32] |= 1 << (p % 32);
    }
    let wire: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let (n, back) = c.call(B_OPEN_BUFFER, 0, 0, &wire);
    assert_eq!((n as usize, &back), (wire.len(), &wire));
    let mut other = Bin::open(&srv);
    assert_eq!(other.call(B_OPEN_BUFFER, 0, 0, &wire).0, -17);
    // Two blocks of 4 scans (2 bytes each), queued, then enabled: answered in order, each
    // under its own id.
    let _feed = common::hold_fifo(&root.path().join("dev/iio:device0"));
    let mut feed = common::hold_fifo(&root.path().join("dev/iio:device0"));
    for b in 0..2u16 {
        c.send(
            b + 1,
            B_CREATE_BLOCK,
            0,
            i32::from(b) << 16,
            &8u64.to_le_bytes(),
        );
        assert_eq!(c.response(), (b + 1, 0, vec![]));
    }
    for b in 0..2u16 {
        c.send(
            b + 1,
            B_TRANSFER,
            0,
            i32::from(b) << 16,
            &8u64.to_le_bytes(),
        );
    }
    assert_eq!(c.call(B_ENABLE, 0, 0, &[]).0, 0);
    let data = common::pattern(16, 3);
    feed.write_all(&data).unwrap();
    let first = c.response();
    let second = c.response();
    assert_eq!((first.0, first.1), (1, 8));
    assert_eq!((second.0, second.1), (2, 8));
    assert_eq!([first.2, second.2].concat(), data);
    // CLOSE_BUFFER from the other connection (libiio closes on the context's), then the
    // device is as it was.
    assert_eq!(other.call(B_CLOSE_BUFFER, 0, 0, &[]).0, 0);
    eventually("the device is put back", || {
        common::sysfs_state(&dir) == before
    });
    // An event stream the device cannot give (the fixture's node is a FIFO: no event
    // fd) is its errno, under the stream's id; a READ_EVENT of no stream is EBADF.
    c.send(7, B_CREATE_EVSTREAM, 0, 0, &[]);
    let (id, code, _) = c.response();
    assert_eq!(id, 7);
    assert!(code < 0, "{code}");
    c.send(9, B_READ_EVENT, 0, 0, &[]);
    assert_eq!(c.response(), (9, -9, vec![]));
    // An opcode this numbering does not have ends the session.
    c.send(0, 99, 0, 0, &[]);
    assert!(c.0.closed_within(Duration::from_secs(5)));
    assert!(srv.log().contains("unknown opcode 99"), "{}", srv.log());
}

/// A file's value as an attribute read gives it (without the newline).
fn local_value(p: &Path) -> String {
    // (The capture's files keep what sysfs gave, a NUL after the newline included.)
    fs::read_to_string(p)
        .unwrap()
        .trim_end_matches(['\n', '\0'])
        .to_string()
}

/// A binary output whose device stops taking data: its push waits, but the connection
/// keeps answering, a block queued twice is refused (`-EBUSY`, shifted: not queued), a
/// CLOSE_BUFFER from another connection stops the push at once and gives the device back,
/// and a block of a buffer that is not open ends the session (what follows it cannot be
/// told from scans).
#[test]
fn a_stuck_binary_output_blocks_no_one() {
    let root = common::dac_fixture("iio:device0", &[("voltage0", "le:u16/16>>0")]);
    let uri = common::local_uri(root.path());
    let dir = root.path().join("bus/iio/devices/iio:device0");
    let before = common::sysfs_state(&dir);
    let srv = Served::start(&uri, ServerOptions::new());
    // Held open and never read: the FIFO fills, then the device takes nothing more.
    let _dac = common::hold_fifo(&root.path().join("dev/iio:device0"));
    let mut c = Bin::open(&srv);
    let (n, _) = c.call(B_OPEN_BUFFER, 0, 0, &1u32.to_le_bytes());
    assert_eq!(n, 4);
    let block = 32 * 1024;
    for b in 0..4u16 {
        c.send(
            b + 1,
            B_CREATE_BLOCK,
            0,
            i32::from(b) << 16,
            &(block as u64).to_le_bytes(),
        );
        assert_eq!(c.response(), (b + 1, 0, vec![]));
    }
    let data = vec![0x5au8; block];
    let mut frame = (block as u64).to_le_bytes().to_vec();
    frame.extend_from_slice(&data);
    for b in 0..4u16 {
        c.send(b + 1, B_TRANSFER, 0, i32::from(b) << 16, &frame);
    }
    // The first two fill the FIFO (64 KiB); the third waits in the device.
    for _ in 0..2 {
        let (id, code, _) = c.response();
        assert!(id == 1 || id == 2, "{id}");
        assert_eq!(code, 0);
    }
    // Still answering; block 3 (id 4) is queued, a second TRANSFER of it is refused.
    assert_eq!(c.call(B_NOP, 0, 0, &[]), (0, vec![]));
    c.send(4, B_TRANSFER, 0, 3 << 16, &frame);
    assert_eq!(c.response(), (4, -16 << 16, vec![]));
    // CLOSE_BUFFER from the context's connection: prompt, and the device is back.
    let mut other = Bin::open(&srv);
    let t0 = Instant::now();
    assert_eq!(other.call(B_CLOSE_BUFFER, 0, 0, &[]).0, 0);
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    eventually("the DAC is put back", || {
        common::sysfs_state(&dir) == before
    });
    // A block of the buffer just closed: the session ends.
    other.send(1, B_TRANSFER, 0, 0, &frame);
    assert!(other.0.closed_within(Duration::from_secs(5)));
}

/// Event attributes through ferroio serve in the binary protocol: listed as a local device
/// lists them (`events/` files), read and written by ferroio's client with their own
/// opcodes, each write landing in its file and nowhere else.
#[test]
fn event_attributes_through_the_binary_protocol() {
    let Dummy { root, uri, dir, .. } = Dummy::new();
    let local = Context::from_uri(&uri).unwrap();
    let srv = Served::start(&uri, ServerOptions::new());
    let remote = Context::from_uri(&srv.uri()).unwrap();
    assert!(matches!(
        remote.iiod_dialect(),
        Some(ferroio::network::Dialect::Binary(_))
    ));
    let (ld, rd) = (
        local.get_device("iio:device0").unwrap(),
        remote.get_device("iio:device0").unwrap(),
    );
    let names = ld.event_attrs().unwrap();
    assert!(names.contains(&"in_voltage0_thresh_rising_value".to_string()));
    assert_eq!(rd.event_attrs().unwrap(), names);
    for n in &names {
        assert_eq!(
            rd.event_attr_read_str(n).unwrap(),
            ld.event_attr_read_str(n).unwrap(),
            "{n}"
        );
    }
    let events = dir.join("events");
    let before = common::sysfs_state(&events);
    rd.event_attr_write_str("in_voltage0_thresh_rising_value", "42")
        .unwrap();
    let after = common::sysfs_state(&events);
    let changed: Vec<_> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].0.ends_with("in_voltage0_thresh_rising_value"));
    assert_eq!(changed[0].1, "42");
    drop(root);
}
