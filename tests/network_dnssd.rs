//! DNS-SD discovery of iiod with real peers only: Debian's `iiod` 0.24 registering
//! `_iio._tcp` with a real `avahi-daemon` in a "board" network namespace, reached over a
//! veth pair from a "client" network namespace (see `network_harness::DnssdBoard`); and the
//! same board with `ferroio serve` answering multicast DNS itself (avahi there publishes
//! nothing, not even the host's address: it only browses for libiio's scan).
//! ferroio, in the client namespace, asks the link itself (multicast DNS, no daemon); the
//! reference is libiio 0.24, run in the board namespace where avahi's dbus is.
//! Root only; without root, the Debian packages (`iiod libiio-utils dbus-daemon iproute2`)
//! or a way to `apt-get download` avahi-daemon, the test says it is skipped.

mod network_harness;

use network_harness::{bounded, each_peer, DnssdBoard, Peer, IIOD_PORT};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// libiio's own discovery (`iio_info -S ip`, avahi-client over the board's dbus) lists the
/// board's iiod, and the client namespace reaches that iiod over the veth pair.
#[test]
fn libiio_discovers_the_board_and_the_client_reaches_it() {
    each_peer(libiio_discovers_the_board_and_the_client_reaches_it_on);
}

fn libiio_discovers_the_board_and_the_client_reaches_it_on(peer: Peer) {
    let Some(board) = DnssdBoard::start(peer) else {
        return;
    };
    println!(
        "board up in {:?}: {} ({}) at {}, client {} (netns {})",
        board.started_in(),
        board.host_name(),
        board.service_name(),
        board.board_ip(),
        board.client_ip(),
        board.client_netns_path().display()
    );

    // The reference: libiio's scan, run where avahi's dbus is.
    let scan = board.run_in_board("iio_info", &["-S", "ip"]);
    println!("iio_info -S ip (in the board):\n{scan}");
    let want = format!(
        "0: {} (Analog Devices PlutoSDR Rev.C (Z7010-AD9363A)), \
         serial=1044734c960500111e002e0041984fc267 [ip:{}]",
        board.board_ip(),
        board.mdns_name()
    );
    assert!(scan.contains(&want), "expected `{want}` in:\n{scan}");

    // The record itself, as avahi's own browser resolves it.
    let browse = board.run_in_board(
        board.avahi_tool("avahi-browse").to_str().unwrap(),
        &["-rtp", "_iio._tcp"],
    );
    println!("avahi-browse -rtp _iio._tcp (in the board):\n{browse}");
    let resolved = format!(
        "=;{};IPv4;{};_iio._tcp;local;{};{};{IIOD_PORT};",
        board.board_interface(),
        board.service_name().replace(' ', "\\032"),
        board.mdns_name(),
        board.board_ip()
    );
    assert!(
        browse.contains(&resolved),
        "expected `{resolved}` in:\n{browse}"
    );

    // From the client namespace: the board's iiod answers over the veth pair, and nothing
    // listens on the client's own loopback (it really is another namespace).
    let addr = SocketAddr::from((board.board_ip(), IIOD_PORT));
    let (version, local) = board.in_client_netns(|| {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect {addr} from the client namespace: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"VERSION\r\n").unwrap();
        let mut line = String::new();
        BufReader::new(&s).read_line(&mut line).unwrap();
        let local = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], IIOD_PORT)),
            Duration::from_secs(1),
        );
        (line, local.is_ok())
    });
    println!("VERSION from the client namespace: {version:?}");
    assert!(
        version.starts_with("0.24"),
        "iiod's VERSION reply: {version:?}"
    );
    assert!(
        !local,
        "127.0.0.1:{IIOD_PORT} answered in the client namespace"
    );
}

const PLUTO_MODEL: &str = "Analog Devices PlutoSDR Rev.C (Z7010-AD9363A)";

/// stdout of a command, bounded in time; `(stdout, exit code)`.
fn stdout_of(mut cmd: std::process::Command) -> (String, Option<i32>) {
    let out = bounded(&mut cmd, Duration::from_secs(60));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

/// `ferroio info -S ip` from the client namespace prints what `iio_info -S ip` prints on the
/// board (byte for byte); the library's `scan` gives the same URI and description.
#[test]
fn ferroio_scan_lists_what_libiio_lists() {
    each_peer(ferroio_scan_lists_what_libiio_lists_on);
}

fn ferroio_scan_lists_what_libiio_lists_on(peer: Peer) {
    let Some(board) = DnssdBoard::start(peer) else {
        return;
    };
    let mut theirs = board.board_command("iio_info");
    theirs.args(["-S", "ip"]);
    let (theirs, their_rc) = stdout_of(theirs);
    let mut ours = board.client_command(env!("CARGO_BIN_EXE_ferroio"));
    ours.args(["info", "-S", "ip"]);
    let t0 = Instant::now();
    let (ours, our_rc) = stdout_of(ours);
    println!("iio_info -S ip (board, exit {their_rc:?}):\n{theirs}");
    println!(
        "ferroio info -S ip (client, exit {our_rc:?}, {:?}):\n{ours}",
        t0.elapsed()
    );
    assert!(
        theirs.contains(&board.mdns_name()),
        "libiio found nothing:\n{theirs}"
    );
    assert_eq!(ours, theirs);
    // libiio 0.24 exits 1 after a successful scan; ferroio says success.
    assert_eq!(our_rc, Some(0));

    let found = board.in_client_netns(|| ferroio::scan(Some("ip")).unwrap());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].uri, format!("ip:{}", board.mdns_name()));
    assert!(found[0]
        .description
        .starts_with(&format!("{} ({PLUTO_MODEL}), serial=", board.board_ip())));

    // The raw DNS-SD answer, as the library's browse sees it.
    let services = board
        .in_client_netns(|| ferroio::network::mdns::browse(Duration::from_millis(1500)).unwrap());
    assert_eq!(services.len(), 1, "{services:?}");
    let s = &services[0];
    assert_eq!(
        s.instance,
        format!("{}._iio._tcp.local", board.service_name())
    );
    assert_eq!(s.host, board.mdns_name());
    assert_eq!(s.port, IIOD_PORT);
    assert_eq!(s.addrs, vec![std::net::IpAddr::V4(board.board_ip())]);
}

/// `ip:` with no host opens the board found by DNS-SD; `ip:NAME.local`, unknown to the
/// system resolver, resolves through multicast DNS; `info -u ip:NAME.local` prints what
/// libiio prints for the same URI, and `info -a ip` picks the only board.
#[test]
fn ip_without_host_and_local_names_reach_the_board() {
    each_peer(ip_without_host_and_local_names_reach_the_board_on);
}

fn ip_without_host_and_local_names_reach_the_board_on(peer: Peer) {
    let Some(board) = DnssdBoard::start(peer) else {
        return;
    };
    let name = board.mdns_name();
    let (model, local_model, took) = board.in_client_netns(|| {
        let ctx = ferroio::Context::from_uri("ip:").unwrap();
        let model = ctx.attr("hw_model").map(str::to_string);
        let t0 = Instant::now();
        let ctx = ferroio::Context::from_uri(&format!("ip:{name}")).unwrap();
        (
            model,
            ctx.attr("hw_model").map(str::to_string),
            t0.elapsed(),
        )
    });
    assert_eq!(model.as_deref(), Some(PLUTO_MODEL));
    assert_eq!(local_model.as_deref(), Some(PLUTO_MODEL));
    println!("ip:{name} opened in {took:?}");

    let uri = format!("ip:{name}");
    let mut theirs = board.board_command("iio_info");
    theirs.args(["-u", &uri]);
    let (theirs, their_rc) = stdout_of(theirs);
    let mut ours = board.client_command(env!("CARGO_BIN_EXE_ferroio"));
    ours.args(["info", "-u", &uri]);
    let (ours, our_rc) = stdout_of(ours);
    assert_eq!(their_rc, Some(0), "{theirs}");
    assert_eq!(our_rc, Some(0), "{ours}");
    assert!(ours.contains(PLUTO_MODEL));
    assert_eq!(ours, theirs, "info -u {uri}");

    let mut auto = board.client_command(env!("CARGO_BIN_EXE_ferroio"));
    auto.args(["info", "-a", "ip"]);
    let (auto, auto_rc) = stdout_of(auto);
    assert_eq!(auto_rc, Some(0), "{auto}");
    let first = format!("Using auto-detected IIO context at URI \"{uri}\"\n");
    assert!(auto.starts_with(&first), "{auto}");
    assert_eq!(
        &auto[first.len()..],
        ours,
        "info -a ip prints the context it picked"
    );
}

/// A `.local` name nobody answers for is an error naming both resolvers, given within the
/// multicast DNS window (1.5 s), not after a hang.
#[test]
fn an_unknown_local_name_is_a_clear_error() {
    each_peer(an_unknown_local_name_is_a_clear_error_on);
}

fn an_unknown_local_name_is_a_clear_error_on(peer: Peer) {
    let Some(board) = DnssdBoard::start(peer) else {
        return;
    };
    let (unknown, took) = board.in_client_netns(|| {
        let t0 = Instant::now();
        let unknown = ferroio::Context::from_uri("ip:no-such-board.local");
        (unknown.map(|_| ()), t0.elapsed())
    });
    let e = unknown.unwrap_err().to_string();
    assert!(e.contains("multicast DNS"), "{e}");
    assert!(e.contains("ip:no-such-board.local"), "{e}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}
