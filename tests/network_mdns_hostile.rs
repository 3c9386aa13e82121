//! Hostile multicast DNS answers, from an in-process fake responder: anyone on a link can
//! answer a DNS-SD query, so what avahi never sends is played here. The fake lives in a
//! network namespace of the test's own (a veth pair, multicast on, so the query
//! loops back to it); root only, skipped with a message otherwise.
//!
//! Every case must end with the right services (or none), within the browse window: never
//! a panic, a hang, or an unbounded result.

mod network_harness;

use ferroio::network::mdns::browse;
use network_harness::in_netns_of;
use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A network namespace with a veth pair `d0`/`d1` (d0: 10.99.0.1/24, multicast on, the mDNS
/// route), kept alive by
/// a `sleep` this test started and kills (by PID) when dropped.
struct Netns {
    child: Child,
}

impl Netns {
    fn new() -> Option<Netns> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: not root (the test makes a network namespace)");
            return None;
        }
        if !network_harness::have("unshare") || !network_harness::have("ip") {
            eprintln!("skipped: needs unshare (util-linux) and ip (iproute2)");
            return None;
        }
        let child = Command::new("unshare")
            .args(["-n", "sleep", "60"])
            .stdin(Stdio::null())
            .spawn()
            .ok()?;
        let ns = Netns { child };
        let pid = ns.pid();
        // Wait until unshare has made the namespace.
        let t0 = Instant::now();
        while in_netns_of(pid, || ()).is_none() {
            if t0.elapsed() > Duration::from_secs(5) {
                eprintln!("skipped: unshare -n did not make a namespace");
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let setup = "ip link set lo up && ip link add d0 type veth peer name d1 && \
                     ip link set d0 multicast on && ip link set d1 up && ip link set d0 up && \
                     ip addr add 10.99.0.1/24 dev d0 && ip route add 224.0.0.0/4 dev d0";
        let ok = Command::new("nsenter")
            .args(["-t", &pid.to_string(), "-n", "sh", "-c", setup])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: could not set up a veth pair in the namespace");
            return None;
        }
        Some(ns)
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn name(out: &mut Vec<u8>, n: &str) {
    for l in n.split('.') {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
}

fn rr(out: &mut Vec<u8>, owner: &str, ty: u16, rdata: &[u8]) {
    name(out, owner);
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&0x8001u16.to_be_bytes());
    out.extend_from_slice(&120u32.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
}

/// A response (id echoed) announcing `instances` services on host `host` at 10.99.0.7.
fn answer(id: u16, instances: &[String], host: &str) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&0x8400u16.to_be_bytes());
    p.extend_from_slice(&0u16.to_be_bytes());
    p.extend_from_slice(&((instances.len() * 2 + 1) as u16).to_be_bytes());
    p.extend_from_slice(&[0; 4]);
    for inst in instances {
        let mut target = Vec::new();
        name(&mut target, &format!("{inst}._iio._tcp.local"));
        rr(&mut p, "_iio._tcp.local", 12, &target);
        let mut srv = vec![0, 0, 0, 0, 0x76, 0xdf];
        name(&mut srv, host);
        rr(&mut p, &format!("{inst}._iio._tcp.local"), 33, &srv);
    }
    rr(&mut p, host, 1, &[10, 99, 0, 7]);
    p
}

/// Runs `respond` for every query the fake receives within `window` + 1 s, with the
/// query's id and a socket to answer from (port 5353), while `browse(window)` runs in the
/// namespace. Returns what browse found and how long it took.
fn against<F>(window: Duration, respond: F) -> (Vec<ferroio::network::mdns::Service>, Duration)
where
    F: Fn(&UdpSocket, std::net::SocketAddr, u16) + Send + Sync,
{
    let ns = Netns::new();
    let Some(ns) = ns else {
        return (Vec::new(), Duration::ZERO);
    };
    in_netns_of(ns.pid(), || {
        let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 5353)).unwrap();
        sock.join_multicast_v4(&Ipv4Addr::new(224, 0, 0, 251), &Ipv4Addr::new(10, 99, 0, 1))
            .unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut buf = [0u8; 9000];
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok((n, from)) = sock.recv_from(&mut buf) {
                        if n >= 12 && buf[2] & 0x80 == 0 {
                            respond(&sock, from, u16::from_be_bytes([buf[0], buf[1]]));
                        }
                    }
                }
            });
            let t0 = Instant::now();
            let found = browse(window).unwrap();
            let took = t0.elapsed();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            (found, took)
        })
    })
    .expect("join the test namespace")
}

#[test]
fn garbage_and_loops_are_dropped_and_the_good_answer_still_counts() {
    let (found, took) = against(Duration::from_millis(600), |sock, to, id| {
        // Garbage, a name pointer to itself, a record count beyond the packet, an answer
        // with another id: all dropped.
        let _ = sock.send_to(b"\xff\xfe garbage", to);
        let mut looped = answer(id, &[], "x.local")[..12].to_vec();
        looped[7] = 1;
        looped.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
        let _ = sock.send_to(&looped, to);
        let mut overcount = answer(id, &["a".into()], "a.local");
        overcount[6] = 0x7f;
        let _ = sock.send_to(&overcount, to);
        let _ = sock.send_to(&answer(id ^ 0x5555, &["stranger".into()], "s.local"), to);
        let _ = sock.send_to(&answer(id, &["good board".into()], "good.local"), to);
    });
    if took.is_zero() {
        return; // skipped
    }
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].instance, "good board._iio._tcp.local");
    assert_eq!(found[0].host, "good.local");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[test]
fn a_flood_of_services_is_bounded() {
    let (found, took) = against(Duration::from_millis(600), |sock, to, id| {
        for k in 0..100 {
            let names: Vec<String> = (0..40).map(|i| format!("s{k}-{i}")).collect();
            let _ = sock.send_to(&answer(id, &names, "flood.local"), to);
        }
    });
    if took.is_zero() {
        return;
    }
    assert!(!found.is_empty());
    assert!(found.len() <= 64, "{} services kept", found.len());
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[test]
fn answers_not_from_the_mdns_port_are_ignored() {
    let (found, took) = against(Duration::from_millis(400), |_sock, to, id| {
        let other = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        let _ = other.send_to(&answer(id, &["spoof".into()], "spoof.local"), to);
    });
    if took.is_zero() {
        return;
    }
    assert!(found.is_empty(), "{found:?}");
}
