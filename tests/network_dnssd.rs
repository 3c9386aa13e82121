//! DNS-SD discovery of iiod with real peers only: Debian's `iiod` 0.24 registering
//! `_iio._tcp` with a real `avahi-daemon` in a "board" network namespace, reached over a
//! veth pair from a "client" network namespace (see `network_harness::DnssdBoard`).
//! Root only; without root, the Debian packages (`iiod libiio-utils dbus-daemon iproute2`)
//! or a way to `apt-get download` avahi-daemon, the test says it is skipped.

mod network_harness;

use network_harness::{DnssdBoard, IIOD_PORT};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// libiio's own discovery (`iio_info -S ip`, avahi-client over the board's dbus) lists the
/// board's iiod, and the client namespace reaches that iiod over the veth pair.
#[test]
fn libiio_discovers_the_board_and_the_client_reaches_it() {
    let Some(board) = DnssdBoard::start() else {
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
