//! `ferroio serve` as a drop-in for iiod, judged by libiio 0.24's own clients (Debian's tools
//! and Python binding) on the fake sysfs tree, each server in its own namespace (see
//! `network_harness`): what `iio_info`, `iio_attr` print through `ferroio serve` is what
//! they print through iiod, and what `iio_info -u local:` prints on the same tree; the
//! Python binding opens the context and reads a buffer. (Buffers through `iio_readdev` and
//! `iio_writedev`, and ferroio's own client, run against both servers in
//! `network_buffers.rs` and `network_real_iiod.rs`.) libiio 1.x's tools (built from
//! `../shared/peers/libiio-1.x`): a current one speaks the binary protocol to ferroio serve
//! (text to iiod 0.24) and sees and moves the same through either; its attribute writes
//! change exactly the attribute named, its output reaches the device byte for byte. Root
//! only; otherwise each test says it is skipped.

mod network_harness;

mod common;

use network_harness::{Libiio1, Peer, PEERS};
use std::io::Write;

const URI: &str = "ip:127.0.0.1";

/// `iio_info`'s text after the line that counts the devices (the lines above it name the
/// backend and its context attributes, which differ between `local:` and `ip:`).
fn devices_part(info: &str) -> String {
    let mut lines = info.lines();
    lines
        .by_ref()
        .find(|l| l.starts_with("IIO context has") && l.ends_with("devices:"))
        .unwrap_or_else(|| panic!("no device list in:\n{info}"));
    lines.collect::<Vec<_>>().join("\n")
}

#[test]
fn iio_info_through_ferroio_serve_is_iio_info_through_iiod_and_local() {
    let Some(iiod) = Peer::Iiod.start_fake() else {
        return;
    };
    let via_iiod = iiod.run("iio_info", &["-u", URI]);
    drop(iiod);
    let Some(ours) = Peer::Ferroio.start_fake() else {
        return;
    };
    let via_ours = ours.run("iio_info", &["-u", URI]);
    assert!(via_ours.contains("fake-adc"), "{via_ours}\n{}", ours.log());
    assert_eq!(via_ours, via_iiod);
    // The same tree, read locally by libiio in the server's mount namespace.
    let local = ours.run_in_mounts("iio_info", &["-u", "local:"]);
    assert!(local.contains("local backend"), "{local}");
    assert_eq!(devices_part(&via_ours), devices_part(&local));
}

#[test]
fn iio_attr_through_ferroio_serve_is_iio_attr_through_iiod() {
    let cases: &[&str] = &[
        "-d",
        "-c",
        "-B",
        "-D",
        "-C",
        "-d iio:device0",
        "-d fake-adc sampling_frequency",
        "-c iio:device0",
        "-c -o iio:device1",
        "-c iio:device0 voltage0 raw",
        "-c iio:device0 . scale",
        "-B iio:device0",
        "-D iio:device0 direct_reg_access",
        "-d iio:device0 nothing",
        "-c iio:device0 nochan",
        "-d nodevice",
        // Writes, then the value read back.
        "-d iio:device0 sampling_frequency 2000",
        "-d iio:device0 sampling_frequency",
        "-c iio:device0 voltage1 calibbias -3",
        "-c iio:device0 voltage1 calibbias",
        "-D iio:device0 direct_reg_access 0x1f",
        "-D iio:device0 direct_reg_access",
    ];
    let mut outputs = Vec::new();
    for peer in [Peer::Iiod, Peer::Ferroio] {
        let Some(srv) = peer.start_fake() else {
            return;
        };
        let out: Vec<String> = cases
            .iter()
            .map(|case| {
                let args: Vec<&str> = ["-u", URI].into_iter().chain(case.split(' ')).collect();
                srv.run("iio_attr", &args)
            })
            .collect();
        outputs.push(out);
    }
    for (i, case) in cases.iter().enumerate() {
        assert_eq!(outputs[1][i], outputs[0][i], "iio_attr {case}");
    }
    // Equal, and right: the listing names the devices, the writes read back (the last
    // read of each is after its write).
    let of = |case: &str| &outputs[1][cases.iter().rposition(|c| *c == case).unwrap()];
    assert!(
        of("-d").contains("adc-label") && of("-d").contains("fake-dac"),
        "{}",
        of("-d")
    );
    assert!(of("-d iio:device0 sampling_frequency").contains("2000"));
    assert!(of("-c iio:device0 voltage1 calibbias").contains("-3"));
    assert!(of("-D iio:device0 direct_reg_access").contains("0x1f"));
}

#[test]
fn the_python_binding_opens_the_context_and_reads_a_buffer() {
    let Some(srv) = Peer::Ferroio.start_fake() else {
        return;
    };
    if !std::path::Path::new("/usr/bin/python3").exists() {
        println!("skipped: /usr/bin/python3 is not installed");
        return;
    }
    // Two blocks of four 16-byte scans (two s12/16 channels and the timestamp).
    let data: Vec<u8> = (0..128u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut feed = common::hold_fifo(&srv.fake_root().join("dev/iio:device0"));
    feed.write_all(&data).unwrap();
    let script = r#"
import sys, iio
ctx = iio.Context("ip:127.0.0.1")
print(ctx.name, len(ctx.devices), ctx.find_device("fake-adc").id)
dev = ctx.find_device("iio:device0")
print(dev.find_channel("voltage0").attrs["raw"].value)
for ch in dev.channels:
    if ch.scan_element and not ch.output:
        ch.enabled = True
buf = iio.Buffer(dev, 4)
out = bytearray()
for _ in range(2):
    buf.refill()
    out += buf.read()
print(out.hex())
"#;
    let text = python(&srv, &["-c", script]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "network 3 iio:device0");
    assert_eq!(lines[1], "1234");
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(lines[2], hex);
}

/// libiio 1.x's tools through `ferroio serve` as through iiod 0.24: a current (main)
/// client speaks the binary protocol to ferroio serve (text to iiod 0.24); a client of the
/// earlier snapshot, whose numbering no server can tell on the wire, is served with
/// `--no-binary` and speaks text.
#[test]
fn libiio_1x_tools_through_ferroio_serve_as_through_iiod() {
    for (which, args) in [
        (Libiio1::Main, &[][..]),
        (Libiio1::Earlier, &["--no-binary"][..]),
    ] {
        let Some(prefix) = network_harness::libiio1(which) else {
            return;
        };
        let lib = format!("LD_LIBRARY_PATH={}", prefix.join("lib").display());
        let tool = |name: &str| prefix.join("bin").join(name).display().to_string();
        let mut infos = Vec::new();
        for peer in PEERS {
            let Some(srv) = peer.start_fake_with(args) else {
                return;
            };
            let info = srv.run("env", &[&lib, &tool("iio_info"), "-u", URI]);
            assert!(info.contains("fake-adc"), "{which:?} {peer:?}: {info}");
            infos.push(info);
            // A capture: two blocks of four 16-byte scans, held in the device FIFO.
            let data: Vec<u8> = (0..128u32).map(|i| (i * 13 + 1) as u8).collect();
            let mut feed = common::hold_fifo(&srv.fake_root().join("dev/iio:device0"));
            feed.write_all(&data).unwrap();
            let out = srv.run_bytes(
                "env",
                &[
                    &lib,
                    &tool("iio_readdev"),
                    "-u",
                    URI,
                    "-b",
                    "4",
                    "-s",
                    "8",
                    "iio:device0",
                ],
                b"",
            );
            assert_eq!(
                out.stdout,
                data,
                "{which:?} {peer:?}: iio_readdev: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(
            infos[1], infos[0],
            "libiio 1.x ({which:?}) iio_info through ferroio serve and through iiod 0.24"
        );
    }
}

/// libiio 1.x (main) over the binary protocol of ferroio serve: each `iio_attr` write
/// changes exactly the file it names, and `iio_writedev` (its `iio_rwdev -w`) delivers
/// exactly the bytes written.
#[test]
fn libiio_1x_writes_through_ferroio_serve_in_binary() {
    let Some(prefix) = network_harness::libiio1(Libiio1::Main) else {
        return;
    };
    let Some(srv) = Peer::Ferroio.start_fake_with(&["-v"]) else {
        return;
    };
    let lib = format!("LD_LIBRARY_PATH={}", prefix.join("lib").display());
    let tool = |name: &str| prefix.join("bin").join(name).display().to_string();
    let root = srv.fake_root();
    let devices = root.join("sys/bus/iio/devices");
    let state = || {
        let mut all = common::sysfs_state(&devices);
        all.extend(common::sysfs_state(&root.join("debug")));
        all
    };
    for (args, file, value) in [
        (
            &["-c", "iio:device0", "voltage0", "offset", "5"][..],
            "iio:device0/in_voltage0_offset",
            "5",
        ),
        (
            &["-c", "iio:device0", "voltage1", "calibbias", "-3"][..],
            "iio:device0/in_voltage1_calibbias",
            "-3",
        ),
        (
            &["-d", "iio:device0", "sampling_frequency", "100"][..],
            "iio:device0/sampling_frequency",
            "100",
        ),
        (
            &["-c", "-o", "iio:device1", "voltage0", "raw", "777"][..],
            "iio:device1/out_voltage0_raw",
            "777",
        ),
        (
            &["-D", "iio:device0", "direct_reg_access", "0x1f"][..],
            "iio:iio:device0/direct_reg_access",
            "0x1f",
        ),
    ] {
        let before = state();
        let mut all = vec![lib.as_str()];
        let attr = tool("iio_attr");
        all.push(&attr);
        all.extend(["-u", URI]);
        all.extend(args);
        let out = srv.run("env", &all);
        let after = state();
        let changed: Vec<String> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(v))
            .map(|(k, v)| format!("{} = {v}", k.display()))
            .collect();
        let want = file.replace("iio:iio:", "");
        assert_eq!(
            changed.len(),
            1,
            "{args:?}: {changed:?}\n{out}\n{}",
            srv.log()
        );
        assert!(
            changed[0].ends_with(&format!("{want} = {value}")),
            "{args:?}: {changed:?}"
        );
    }
    assert!(srv.log().contains("WriteChnAttr"), "binary: {}", srv.log());
    // Output: 3 blocks of 4 two-byte scans into the DAC's FIFO, through ferroio serve and
    // through iiod 1.x: the same bytes arrive. (libiio 1.x's iio_writedev does not push
    // the last block it fills: 2 of the 3 blocks arrive through either server.)
    let data = common::pattern(24, 11);
    let mut arrived = Vec::new();
    for server in ["ferroio serve", "iiod 1.x"] {
        let srv = match server {
            "ferroio serve" => Peer::Ferroio.start_fake(),
            _ => network_harness::RealIiod::start_program(&prefix.join("sbin/iiod"), &[]),
        };
        let Some(srv) = srv else {
            return;
        };
        let mut dac = common::hold_fifo(&srv.fake_root().join("dev/iio:device1"));
        let out = srv.run_bytes(
            "env",
            &[
                &lib,
                &tool("iio_writedev"),
                "-u",
                URI,
                "-b",
                "4",
                "-s",
                "12",
                "iio:device1",
            ],
            &data,
        );
        assert!(out.status.success(), "{server}: {out:?}\n{}", srv.log());
        arrived.push(common::read_fifo(&mut dac, 16));
        // Nothing more comes.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let mut rest = [0u8; 64];
        assert!(
            std::io::Read::read(&mut dac, &mut rest).is_err(),
            "{server}: more came"
        );
    }
    assert_eq!(arrived[0], data[..16]);
    assert_eq!(arrived[1], arrived[0]);
}

/// The Python binding of libiio 1.x (PyPI `pylibiio` 1.0, over the library built from the
/// 4e3cfe61 snapshot), as pyadi-iio uses it: opens the context on `ferroio serve` (in the
/// binary protocol) and reads two blocks of a buffer.
#[test]
fn the_python_binding_of_libiio_1x_reads_a_buffer() {
    let Some(prefix) = network_harness::libiio1(Libiio1::Main) else {
        return;
    };
    let Some(wheel) = pylibiio() else {
        return;
    };
    let Some(srv) = Peer::Ferroio.start_fake_with(&["-v"]) else {
        return;
    };
    let data: Vec<u8> = (0..128u32).map(|i| (i * 11 + 5) as u8).collect();
    let mut feed = common::hold_fifo(&srv.fake_root().join("dev/iio:device0"));
    feed.write_all(&data).unwrap();
    // The binding looks the library up with find_library("iio"), which finds Debian's 0.24:
    // point it at the built 1.x one. And the wheel on PyPI is newer than the snapshot by one
    // function, iio_context_get_version_patch (a local query of the library's own version,
    // nothing on the wire): the snapshot lacks it, so it answers 0 here.
    let script = r#"
import sys, ctypes, ctypes.util
lib, wheel = sys.argv[1], sys.argv[2]
found = ctypes.util.find_library
ctypes.util.find_library = lambda n: lib if n == "iio" else found(n)
getitem = ctypes.CDLL.__getitem__
def lookup(self, name):
    try:
        return getitem(self, name)
    except AttributeError:
        if name != "iio_context_get_version_patch":
            raise
        self._patch = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_void_p)(lambda ctx: 0)
        return self._patch
ctypes.CDLL.__getitem__ = lookup
sys.path.insert(0, wheel)
import iio
ctx = iio.Context("ip:127.0.0.1")
dev = ctx.find_device("iio:device0")
print(ctx.name, len(ctx.devices), dev.id)
mask = iio.ChannelsMask(dev)
mask.channels = [dev.find_channel(c) for c in ("voltage0", "voltage1", "timestamp")]
stream = iio.Stream(dev.get_buffer(0), mask, 4)
out = bytearray()
for _, block in zip(range(2), stream):
    out += block.read()
print(out.hex())
"#;
    let lib = prefix.join("lib/libiio.so.1").display().to_string();
    let wheel = wheel.display().to_string();
    let text = python(&srv, &["-c", script, &lib, &wheel]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "ip 3 iio:device0");
    let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(lines[1], hex);
    assert!(srv.log().contains("OpenBuffer"), "binary: {}", srv.log());
}

/// What `/usr/bin/python3 ARGS` prints in the server's namespace; it must succeed.
fn python(srv: &network_harness::RealIiod, args: &[&str]) -> String {
    let out = srv.run_bytes("/usr/bin/python3", args, b"");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        srv.log()
    );
    text
}

/// `pylibiio` 1.0 from PyPI, unpacked once into the peer cache (a wheel is a zip of pure
/// Python): its directory, or `None` after saying why.
fn pylibiio() -> Option<std::path::PathBuf> {
    let Some(cache) = network_harness::peer_cache_dir() else {
        println!("skipped: no peer cache directory");
        return None;
    };
    let dir = cache.join("pylibiio-1.0");
    if dir.join("iio/__init__.py").is_file() {
        return Some(dir);
    }
    let download = cache.join("pylibiio-download");
    let got = std::process::Command::new("/usr/bin/python3")
        .args(["-m", "pip", "download", "--no-deps", "pylibiio==1.0", "-d"])
        .arg(&download)
        .output();
    let wheel = download.join("pylibiio-1.0-py3-none-any.whl");
    if !matches!(&got, Ok(o) if o.status.success()) || !wheel.is_file() {
        println!("skipped: pylibiio 1.0 could not be fetched from PyPI: {got:?}");
        return None;
    }
    let tmp = cache.join("pylibiio-1.0.partial");
    let _ = std::fs::remove_dir_all(&tmp);
    let unzipped = std::process::Command::new("/usr/bin/python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&wheel)
        .arg(&tmp)
        .status();
    assert!(
        matches!(unzipped, Ok(s) if s.success()),
        "unpacking {wheel:?}"
    );
    // Another test process may have finished first: either copy will do.
    let _ = std::fs::rename(&tmp, &dir);
    Some(dir)
}
