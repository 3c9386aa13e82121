//! Our `ip:` client next to libiio 0.24's tools, both against the real Debian `iiod` 0.24
//! serving the same context, and again against `ferroio serve` in its place (see
//! `network_harness` for how the servers are run and stopped).
//! Root only; without root or the Debian packages `iiod libiio-utils` each test says it is
//! skipped.
//!
//! Compared: the whole `iio_info` text (context, every attribute value, triggers),
//! `iio_attr` reads and writes in both directions, trigger set/get, and
//! served XML contexts (where every read is ENOSYS).

mod network_harness;

use ferroio::Context;
use network_harness::{each_peer, Peer};
use std::time::Duration;

const OURS: &str = env!("CARGO_BIN_EXE_ferroio");
const URI: &str = "ip:127.0.0.1";

fn ours_as_libiio(text: String) -> String {
    text.replace("ferroio attr: ", "iio_attr: ")
}

#[test]
fn info_and_xml_match_libiio_on_the_fake_tree() {
    each_peer(info_and_xml_match_libiio_on_the_fake_tree_on);
}

fn info_and_xml_match_libiio_on_the_fake_tree_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    let theirs = srv.run("iio_info", &["-u", URI]);
    let mine = srv.run(OURS, &["info", "-u", URI]);
    assert!(theirs.contains("fake-adc"), "{theirs}\n{}", srv.log());
    assert_eq!(mine, theirs);

    // `iio_genxml -u ip:` is not compared: libiio 0.24 prints the XML it cached before the
    // network backend renamed the context and added `ip,ip-addr` (name "xml", uri
    // "local:"); ours prints the context as it is.

    // A port in the URI, and the library's view of the same context.
    let mine_port = srv.run(OURS, &["info", "-u", "ip:127.0.0.1:30431"]);
    let theirs_port = srv.run("iio_info", &["-u", "ip:127.0.0.1:30431"]);
    assert_eq!(mine_port, theirs_port);
    srv.in_netns(|| {
        let ctx = Context::from_uri(URI).unwrap();
        assert_eq!(ctx.name(), "network");
        assert_eq!(ctx.attr("ip,ip-addr"), Some("127.0.0.1"));
        assert_eq!(ctx.attr("uri"), Some(URI));
        let adc = ctx.get_device("fake-adc").unwrap();
        assert_eq!(adc.label(), Some("adc-label"));
        let v0 = adc.get_channel("voltage0", false).unwrap();
        assert_eq!(v0.attr_read_int("raw").unwrap(), 1234);
        assert_eq!(adc.debug_attr_read_str("direct_reg_access").unwrap(), "0x0");
        assert_eq!(adc.buffer_attr_read::<i64>("data_available").ok(), Some(0));
        assert!(adc.trigger().unwrap().is_none());
        // No trigger directory: ENOENT, as the server says.
        let dac = ctx.get_device("fake-dac").unwrap();
        assert_eq!(dac.trigger().unwrap_err().errno(), 2);
    })
    .unwrap();
}

const ATTR_CASES: &[&str] = &[
    "-d",
    "-c",
    "-B",
    "-D",
    "-C",
    "-C uri",
    "-d iio:device0",
    "-d fake-adc sampling_frequency",
    "-d trigger0 sampling_frequency",
    "-c iio:device0",
    "-c -o iio:device1",
    "-c iio:device0 voltage0 raw",
    "-c iio:device0 . scale",
    "-c iio:device0 voltage2-voltage3",
    "-c fake-dac voltage0 powerdown_mode_available",
    "-B iio:device0",
    "-D iio:device0 direct_reg_access",
    "-d iio:device0 nothing",
    "-c iio:device0 nochan",
    "-d nodevice",
];

#[test]
fn attr_reads_match_iio_attr() {
    each_peer(attr_reads_match_iio_attr_on);
}

fn attr_reads_match_iio_attr_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    for case in ATTR_CASES {
        let args: Vec<&str> = ["-u", URI].into_iter().chain(case.split(' ')).collect();
        let theirs = srv.run("iio_attr", &args);
        let mut mine_args = vec!["attr"];
        mine_args.extend(&args);
        let mine = ours_as_libiio(srv.run(OURS, &mine_args));
        assert_eq!(mine, theirs, "attr {case}");
    }
}

#[test]
fn writes_and_triggers_agree_both_ways() {
    each_peer(writes_and_triggers_agree_both_ways_on);
}

fn writes_and_triggers_agree_both_ways_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    srv.in_netns(|| {
        let ctx = Context::from_uri(URI).unwrap();
        let adc = ctx.get_device("iio:device0").unwrap();
        let dac = ctx.get_device("iio:device1").unwrap();

        // Ours writes, libiio reads.
        adc.attr_write("sampling_frequency", &2000).unwrap();
        dac.get_channel("voltage0", true)
            .unwrap()
            .attr_write("raw", &777)
            .unwrap();
        adc.debug_attr_write("direct_reg_access", "0x1f").unwrap();
        let read = |args: &[&str]| {
            // Fully named, iio_attr prints the bare value (and with -q, nothing at all).
            let mut all = vec!["-u", URI];
            all.extend(args);
            srv.run("iio_attr", &all)
        };
        assert_eq!(
            read(&["-d", "iio:device0", "sampling_frequency"]),
            "2000\nrc=0"
        );
        assert_eq!(
            read(&["-o", "-c", "iio:device1", "voltage0", "raw"]),
            "777\nrc=0"
        );
        assert_eq!(
            read(&["-D", "iio:device0", "direct_reg_access"]),
            "0x1f\nrc=0"
        );
        // And ours reads back the same.
        assert_eq!(adc.attr_read_str("sampling_frequency").unwrap(), "2000");

        // libiio writes, ours reads.
        let w = read(&["-d", "trigger0", "sampling_frequency", "75"]);
        assert!(w.ends_with("rc=0"), "{w}");
        let trig = ctx.get_device("trigger0").unwrap();
        assert_eq!(trig.attr_read_int("sampling_frequency").unwrap(), 75);
        let w = read(&["-c", "iio:device0", "voltage1", "calibbias", "-3"]);
        assert!(w.ends_with("rc=0"), "{w}");
        let v1 = adc.get_channel("voltage1", false).unwrap();
        assert_eq!(v1.attr_read_int("calibbias").unwrap(), -3);

        // Triggers: set by us, seen by iio_info; cleared by us; set on the server side.
        adc.set_trigger(Some(&trig)).unwrap();
        assert_eq!(adc.trigger().unwrap(), Some(trig.clone()));
        let info = srv.run("iio_info", &["-u", URI]);
        assert!(
            info.contains("Current trigger: trigger0(fake-trig)"),
            "{info}"
        );
        adc.set_trigger(None).unwrap();
        assert_eq!(adc.trigger().unwrap(), None);
        let info = srv.run("iio_info", &["-u", URI]);
        assert!(!info.contains("Current trigger:"), "{info}");
    })
    .unwrap();
    // The file the server wrote holds what we sent and nothing else: iiod writes the bytes
    // as they came (the value and its NUL), ferroio serve the value.
    let raw = std::fs::read(srv.fake_device("iio:device1").join("out_voltage0_raw")).unwrap();
    let want: &[u8] = match peer {
        Peer::Iiod => b"777\0",
        Peer::Ferroio => b"777",
    };
    assert_eq!(raw, want);
}

#[test]
fn values_cannot_inject_commands() {
    each_peer(values_cannot_inject_commands_on);
}

fn values_cannot_inject_commands_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    srv.in_netns(|| {
        let ctx = Context::from_uri(URI).unwrap();
        let adc = ctx.get_device("iio:device0").unwrap();
        // The value is length-framed: its line breaks and spaces travel as data.
        let hostile = "1\r\nWRITE iio:device0 sampling_frequency 2\r\n9\r\nEXIT\r\n";
        adc.get_channel("voltage0", false)
            .unwrap()
            .attr_write("raw", hostile)
            .unwrap();
        assert_eq!(adc.attr_read_int("sampling_frequency").unwrap(), 1000);
        // The connection is still in step.
        assert_eq!(
            adc.attr_read_str("sampling_frequency_available").unwrap(),
            "100 1000 10000"
        );
    })
    .unwrap();
    let raw = std::fs::read(srv.fake_device("iio:device0").join("in_voltage0_raw")).unwrap();
    let mut want = b"1\r\nWRITE iio:device0 sampling_frequency 2\r\n9\r\nEXIT\r\n".to_vec();
    if peer == Peer::Iiod {
        want.push(0);
    }
    assert_eq!(raw, want);
}

#[test]
fn served_xml_contexts_match_iio_info() {
    let mut compared = 0;
    for name in [
        "pyadi-iio__ad9081.xml",
        "iio-emu__adalm2000.xml",
        "libiio__xml_adis16488.xml",
        "pyadi-iio__pluto.xml",
    ] {
        let Some(file) = network_harness::shared_context(name) else {
            println!("skipped: {name} is not in ../shared/contexts");
            continue;
        };
        // libiio's iio_info against iiod is the reference for both servers.
        let Some(srv) = Peer::Iiod.start_xml(&file) else {
            return;
        };
        let theirs = srv.run("iio_info", &["-u", URI]);
        let mine = srv.run(OURS, &["info", "-u", URI]);
        assert!(theirs.contains("network backend"), "{name}: {theirs}");
        assert_eq!(mine, theirs, "{name}");
        drop(srv);
        let Some(srv) = Peer::Ferroio.start_xml(&file) else {
            return;
        };
        assert_eq!(
            srv.run("iio_info", &["-u", URI]),
            theirs,
            "{name}: iio_info, ferroio serve"
        );
        assert_eq!(
            srv.run(OURS, &["info", "-u", URI]),
            theirs,
            "{name}: ours, ferroio serve"
        );
        compared += 1;
    }
    println!("{compared} served contexts compared");
    if network_harness::shared_context("pyadi-iio__pluto.xml").is_some() {
        assert!(
            compared > 0,
            "../shared/contexts is here but nothing was compared"
        );
    }
}

#[test]
fn timeout_is_sent_and_calls_keep_working() {
    each_peer(timeout_is_sent_and_calls_keep_working_on);
}

fn timeout_is_sent_and_calls_keep_working_on(peer: Peer) {
    let Some(srv) = peer.start_fake() else {
        return;
    };
    srv.in_netns(|| {
        let ctx = Context::from_uri(URI).unwrap();
        ctx.set_timeout(Duration::from_millis(800)).unwrap();
        ctx.set_timeout(Duration::ZERO).unwrap();
        let trig = ctx.get_device("trigger0").unwrap();
        assert_eq!(trig.attr_read_int("sampling_frequency").unwrap(), 50);
        // An independent clone has its own connection.
        let other = ctx.try_deep_clone().unwrap();
        let t2 = other.get_device("trigger0").unwrap();
        assert_eq!(t2.attr_read_int("sampling_frequency").unwrap(), 50);
        // Nobody listens on this port in the namespace: refused at once, not a hang.
        let err = Context::from_uri("ip:127.0.0.1:30432").unwrap_err();
        assert_eq!(err.errno(), 111, "{err}");
    })
    .unwrap();
}
