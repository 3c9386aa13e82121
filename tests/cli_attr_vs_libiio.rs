//! `ferroio attr` next to the real libiio 0.24 `iio_attr` on the same contexts: the same
//! lines and exit status. Runs when Debian's `iio_attr` is installed (`scripts/test.sh`
//! installs it) and `../shared` is present; otherwise it says it is skipped.
//!
//! - XML contexts from `../shared/contexts` (structure only; every read is ENOSYS).
//! - The real-kernel fixture, read by libiio inside a private mount namespace
//!   (`../shared/tools/iio-fake-sysfs/in-fake-ns.sh`, root only). Cases that touch the
//!   documented divergences (README: `in_sampling_frequency`, the NUL-terminated
//!   `current_timestamp_clock`, write-only files that a copied tree lets root read) are left
//!   out here; `tests/sysfs_fixture.rs` covers them.

mod common;

use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs a command; stdout and stderr merged in order as a shell would show them with 2>&1.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("spawn");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    format!("{text}rc={}", out.status.code().unwrap_or(-1))
}

fn ours_as_libiio(text: String) -> String {
    text.replace("ferroio attr: ", "iio_attr: ")
}

const XML_CASES: &[&str] = &[
    "-d",
    "-c",
    "-B",
    "-D",
    "-C",
    "-C uri",
    "-C nothing",
    "-d iio:device0",
    "-c iio:device0",
    "-c -s iio:device0",
    "-c -o iio:device0",
    "-c -i iio:device0",
    "-c iio:device0 . scale",
    "-c iio:device0 voltage0",
    "-c iio:device0 voltage0 raw",
    "-c iio:device0 voltage0 raw 5",
    "-c iio:device0 nochan",
    "-d iio:device0 noattr",
    "-d nodevice",
    "-B iio:device0",
    "-B . .",
    "-D iio:device0",
    "-q -c iio:device0 voltage0 raw",
    "-I -c IIO:DEVICE0 VOLTAGE0",
];

#[test]
fn attr_on_xml_contexts_matches_iio_attr() {
    let Some(shared) = common::shared_dir() else {
        println!("skipped: ../shared is not present");
        return;
    };
    if !have("iio_attr") {
        println!("skipped: libiio's iio_attr is not installed (scripts/test.sh installs it)");
        return;
    }
    let ours = env!("CARGO_BIN_EXE_ferroio");
    let mut compared = 0;
    for file in [
        "pyadi-iio__adxl355.xml",
        "pyadi-iio__ad7124-8.xml",
        "pyadi-iio__pluto.xml",
        "iio-emu__adalm2000.xml",
        "pyadi-iio__ad9081.xml",
    ] {
        let path = shared.join("contexts").join(file);
        let uri = format!("xml:{}", path.display());
        for case in XML_CASES {
            let args: Vec<&str> = case.split(' ').collect();
            let theirs = run(Command::new("iio_attr").arg("-u").arg(&uri).args(&args));
            let mine = ours_as_libiio(run(Command::new(ours)
                .arg("attr")
                .arg("-u")
                .arg(&uri)
                .args(&args)));
            assert_eq!(mine, theirs, "{file}: attr {case}");
            compared += 1;
        }
    }
    println!("{compared} iio_attr invocations compared");
}

const LOCAL_CASES: &[&str] = &[
    "-B",
    "-D",
    "-C uri",
    "-c dummy0 voltage0",
    "-c dummy0 voltage0 raw",
    "-c -s dummy0",
    "-c -i dummy0 voltage0",
    "-c dummy0 accel_x calibscale",
    "-c dummy0 voltage1-voltage2",
    "-c dummy0 steps",
    "-c dummy0 voltage0 raw 5",
    "-c -o dummy0 voltage0 raw 42",
    "-q -d trig0 sampling_frequency 60",
    "-d trig0 sampling_frequency 50",
    "-d trig0",
    "-B dummy0",
    "-B dummy0 direction",
    "-d nothere",
    "-c dummy0 nochan",
    "-d dummy0 noattr",
];

#[test]
fn attr_on_the_kernel_fixture_matches_iio_attr_in_a_namespace() {
    let Some(shared) = common::shared_dir() else {
        println!("skipped: ../shared is not present");
        return;
    };
    let ns = shared.join("tools/iio-fake-sysfs/in-fake-ns.sh");
    if !have("iio_attr") || !have("unshare") || !ns.exists() {
        println!("skipped: needs iio_attr, unshare and ../shared/tools/iio-fake-sysfs");
        return;
    }
    if rustix::process::geteuid().as_raw() != 0 {
        println!("skipped: mount namespaces need root");
        return;
    }
    let ours = env!("CARGO_BIN_EXE_ferroio");
    for case in LOCAL_CASES {
        let args: Vec<&str> = case.split(' ').collect();
        let mut outputs = Vec::new();
        for tool in [&["iio_attr"][..], &[ours, "attr"][..]] {
            // A fresh tree for each run: writes must not leak from one tool to the other.
            let fixture = common::fixture_copy("iio-dummy-6.1");
            let root = tempfile::tempdir().unwrap();
            for d in ["sys", "debug", "dev"] {
                std::fs::create_dir(root.path().join(d)).unwrap();
            }
            std::fs::rename(fixture.path().join("bus"), root.path().join("sys/bus")).unwrap();
            outputs.push(run(Command::new(&ns)
                .env("NONET", "1")
                .arg(root.path())
                .args(tool)
                .args(&args)));
        }
        let mine = ours_as_libiio(outputs.pop().unwrap());
        let theirs = outputs.pop().unwrap();
        assert_eq!(mine, theirs, "attr {case}");
    }
}
