//! DNS-SD for `ferroio serve` without Avahi: a multicast DNS responder (RFC 6762) that
//! answers for the service `iiod on HOST._iio._tcp.local` (the instance name iiod registers),
//! its SRV and TXT records and the address of `HOST.local`, so that `iio_info -S ip`,
//! `ferroio info -S`, `ip:` without a host and `ip:HOST.local` find the board.
//!
//! It only answers questions (no unsolicited announcement, so no probing either): browsers
//! ask, and a board that also runs Avahi keeps answering for its own names. The address
//! given is the one this host uses towards the querier (or the server's `--bind` address),
//! so a board on several links answers each with its own address there. At the end a
//! goodbye (TTL 0) withdraws the service from the caches that heard of it.
//!
//! IPv4 only (the group 224.0.0.251), on every interface but loopback; interfaces that come
//! up later are joined within half a minute. Port 5353 is shared (SO_REUSEADDR and
//! SO_REUSEPORT) with any other responder. Queries come from anyone on the link: they are
//! parsed by the bounds-checked reader of `network::mdns` and only ever answered about us.

use crate::buffer::{wait_fd, Cancel, EventFdCancel, Waited};
use crate::error::Error;
use crate::network::mdns::{self, Answer, Question, Rdata, MDNS};
use rustix::event::PollFlags;
use rustix::net::sockopt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Interfaces are looked for again this often.
const REJOIN: Duration = Duration::from_secs(30);

/// TTL of our records (RFC 6762 §10: 120 s for records naming hosts; we use it throughout),
/// and at most this in answers to legacy unicast queriers (§6.7).
const TTL: u32 = 120;
const LEGACY_TTL: u32 = 10;

/// Addresses remembered for the goodbye.
const MAX_LINKS: usize = 16;

/// The names this server answers for.
#[derive(Debug, Clone)]
struct Names {
    /// `iiod on HOST._iio._tcp.local`.
    instance: String,
    /// `HOST.local`.
    host: String,
    port: u16,
}

/// The running responder; dropping it says goodbye and stops it.
pub(super) struct Announcer {
    stop: Arc<EventFdCancel>,
    thread: Option<JoinHandle<()>>,
    instance: String,
}

impl Announcer {
    /// Starts answering for a server on `port`. `Ok(None)`: nothing to announce (a server
    /// bound to a loopback address is not on any link).
    pub(super) fn start(port: u16, bind: Option<IpAddr>) -> io::Result<Option<Announcer>> {
        let fixed = match bind {
            Some(IpAddr::V4(a)) if a.is_loopback() => return Ok(None),
            Some(IpAddr::V6(a)) if a.is_loopback() => return Ok(None),
            Some(IpAddr::V4(a)) if !a.is_unspecified() => Some(a),
            Some(IpAddr::V6(a)) if !a.is_unspecified() => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                    "the responder announces IPv4 addresses only, and the server listens on {a}"
                ),
                ))
            }
            _ => None,
        };
        let host = host_label();
        let names = Names {
            instance: format!("{}._iio._tcp.local", instance_label(&host)),
            host: format!("{host}.local"),
            port,
        };
        let sock = open_socket()?;
        let mut joined = Vec::new();
        join_links(&sock, &mut joined);
        let stop = EventFdCancel::new()?;
        let instance = names.instance.clone();
        let stopper = stop.clone();
        let thread = std::thread::Builder::new()
            .name("mdns responder".into())
            .spawn(move || respond(sock, names, fixed, joined, &stopper))?;
        Ok(Some(Announcer {
            stop,
            thread: Some(thread),
            instance,
        }))
    }

    /// The service instance announced.
    pub(super) fn instance(&self) -> &str {
        &self.instance
    }
}

impl Drop for Announcer {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// This host's name as one DNS label (the first label of the node name; dots could not be
/// in it, other characters are kept, as Avahi does).
fn host_label() -> String {
    let uname = rustix::system::uname();
    let node = uname.nodename().to_string_lossy().into_owned();
    let first = node.split('.').next().unwrap_or("").trim();
    let label: String = first.chars().filter(|c| !c.is_control()).collect();
    let label = if label.is_empty() || label == "(none)" {
        "ferroio".to_string()
    } else {
        label
    };
    truncate_label(&label, 63)
}

/// iiod's instance name, `iiod on HOST`, cut to a DNS label.
fn instance_label(host: &str) -> String {
    truncate_label(&format!("iiod on {host}"), 63)
}

fn truncate_label(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// UDP port 5353, shared with any other responder, with multicast looped back (a client on
/// this host hears us too).
fn open_socket() -> io::Result<UdpSocket> {
    use rustix::net::{bind, ipproto, socket, AddressFamily, SocketType};
    let fd = socket(AddressFamily::INET, SocketType::DGRAM, Some(ipproto::UDP))?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    sockopt::set_socket_reuseport(&fd, true)?;
    bind(&fd, &SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, MDNS.port()))?;
    let sock = UdpSocket::from(fd);
    sockopt::set_ip_multicast_ttl(&sock, 255)?;
    sockopt::set_ip_multicast_loop(&sock, true)?;
    sock.set_nonblocking(true)?;
    Ok(sock)
}

/// Joins the mDNS group on every interface not joined yet.
fn join_links(sock: &UdpSocket, joined: &mut Vec<u32>) {
    for name in mdns::interfaces() {
        let Ok(ix) = rustix::net::netdevice::name_to_index(sock.as_fd(), &name) else {
            continue;
        };
        if joined.contains(&ix) {
            continue;
        }
        if sockopt::set_ip_add_membership_with_ifindex(sock, MDNS.ip(), &Ipv4Addr::UNSPECIFIED, ix)
            .is_ok()
        {
            joined.push(ix);
        }
    }
}

/// The address this host uses to reach `peer` (no packet is sent).
fn local_towards(peer: IpAddr) -> Option<Ipv4Addr> {
    let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    s.connect(SocketAddr::new(peer, 9)).ok()?;
    match s.local_addr().ok()?.ip() {
        IpAddr::V4(a) if !a.is_unspecified() => Some(a),
        _ => None,
    }
}

/// What to answer to `questions`: `(answers, additional records)`.
fn answers_for(
    questions: &[Question],
    names: &Names,
    addr: Ipv4Addr,
    ttl: u32,
    multicast: bool,
) -> (Vec<Answer>, Vec<Answer>) {
    let rr = |name: &str, data: Rdata, unique: bool| Answer {
        name: name.to_string(),
        ttl,
        flush: unique && multicast,
        data,
    };
    let ptr = || rr(mdns::IIO_SERVICE, Rdata::Ptr(names.instance.clone()), false);
    let srv = || {
        rr(
            &names.instance,
            Rdata::Srv {
                port: names.port,
                target: names.host.clone(),
            },
            true,
        )
    };
    let txt = || rr(&names.instance, Rdata::EmptyTxt, true);
    let a = || rr(&names.host, Rdata::A(addr), true);
    let mut answers = Vec::new();
    let mut extra = Vec::new();
    let any = mdns::TYPE_ANY;
    for q in questions {
        let is = |name: &str| mdns::same_name(&q.name, name);
        if is("_services._dns-sd._udp.local") && (q.ty == mdns::TYPE_PTR || q.ty == any) {
            answers.push(rr(
                "_services._dns-sd._udp.local",
                Rdata::Ptr(mdns::IIO_SERVICE.to_string()),
                false,
            ));
        } else if is(mdns::IIO_SERVICE) && (q.ty == mdns::TYPE_PTR || q.ty == any) {
            answers.push(ptr());
            extra.extend([srv(), txt(), a()]);
        } else if is(&names.instance) {
            if q.ty == mdns::TYPE_SRV || q.ty == any {
                answers.push(srv());
                extra.push(a());
            }
            if q.ty == mdns::TYPE_TXT || q.ty == any {
                answers.push(txt());
            }
        } else if is(&names.host) && (q.ty == mdns::TYPE_A || q.ty == any) {
            answers.push(a());
        }
    }
    // Each record once (questions may overlap), answers before additional records.
    let mut unique: Vec<Answer> = Vec::new();
    for r in answers {
        if !unique.contains(&r) {
            unique.push(r);
        }
    }
    let mut more: Vec<Answer> = Vec::new();
    for r in extra {
        if !unique.contains(&r) && !more.contains(&r) {
            more.push(r);
        }
    }
    (unique, more)
}

/// The responder's loop: answer queries until stopped, then say goodbye.
fn respond(
    sock: UdpSocket,
    names: Names,
    fixed: Option<Ipv4Addr>,
    mut joined: Vec<u32>,
    stop: &EventFdCancel,
) {
    let mut buf = vec![0u8; mdns::MAX_PACKET];
    let mut links: Vec<Ipv4Addr> = Vec::new();
    let mut next_rejoin = Instant::now() + REJOIN;
    loop {
        // New interfaces are looked for on time, busy link or not.
        let now = Instant::now();
        if now >= next_rejoin {
            join_links(&sock, &mut joined);
            next_rejoin = now + REJOIN;
        }
        match wait_fd(
            stop,
            "multicast DNS responder",
            Path::new("udp:5353"),
            sock.as_fd(),
            PollFlags::IN,
            Some(next_rejoin),
        ) {
            Ok(Waited::Ready) => {}
            Ok(Waited::TimedOut) => continue,
            Err(Error::Cancelled { .. }) => break,
            Err(_) => {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        }
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let Ok(Some((id, questions))) = mdns::parse_query(&buf[..n]) else {
            continue;
        };
        // A querier on another port is a one-shot ("legacy") resolver: it gets a unicast
        // answer echoing its id and questions (RFC 6762 §6.7).
        let legacy = from.port() != MDNS.port();
        let unicast = legacy || questions.iter().any(|q| q.unicast);
        let ttl = if legacy { LEGACY_TTL } else { TTL };
        // Most queries on a link are about others: only ours cost a route lookup.
        let ours = |addr| answers_for(&questions, &names, addr, ttl, !unicast);
        if ours(Ipv4Addr::UNSPECIFIED).0.is_empty() {
            continue;
        }
        let Some(addr) = fixed.or_else(|| local_towards(from.ip())) else {
            continue;
        };
        let (answers, extra) = ours(addr);
        let (id, echoed): (u16, &[Question]) = if legacy { (id, &questions) } else { (0, &[]) };
        let Ok(packet) = mdns::response(id, echoed, &answers, &extra) else {
            continue;
        };
        if unicast {
            let _ = sock.send_to(&packet, from);
        } else {
            if sockopt::set_ip_multicast_if(&sock, &addr).is_err() {
                continue;
            }
            let _ = sock.send_to(&packet, MDNS);
            if !links.contains(&addr) && links.len() < MAX_LINKS {
                links.push(addr);
            }
        }
    }
    // Goodbye (RFC 6762 §10.1): the pointer to our instance, with TTL 0, on every link we
    // answered over multicast.
    let bye = Answer {
        name: mdns::IIO_SERVICE.to_string(),
        ttl: 0,
        flush: false,
        data: Rdata::Ptr(names.instance.clone()),
    };
    if let Ok(packet) = mdns::response(0, &[], &[bye], &[]) {
        for addr in links {
            if sockopt::set_ip_multicast_if(&sock, &addr).is_ok() {
                let _ = sock.send_to(&packet, MDNS);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names {
            instance: "iiod on board._iio._tcp.local".into(),
            host: "board.local".into(),
            port: 30431,
        }
    }

    fn q(name: &str, ty: u16) -> Question {
        Question {
            name: name.into(),
            ty,
            unicast: false,
        }
    }

    #[test]
    fn a_browse_gets_the_instance_with_its_host_and_address() {
        let ip = Ipv4Addr::new(192, 168, 7, 2);
        let (ans, extra) = answers_for(
            &[q("_IIO._tcp.local", mdns::TYPE_PTR)],
            &names(),
            ip,
            TTL,
            true,
        );
        assert_eq!(ans.len(), 1);
        assert_eq!(
            ans[0].data,
            Rdata::Ptr("iiod on board._iio._tcp.local".into())
        );
        assert!(!ans[0].flush, "a shared record");
        assert_eq!(extra.len(), 3);
        assert!(extra.iter().all(|e| e.flush));
        // What the client side of `network::mdns` makes of it.
        let packet = mdns::response(7, &[], &ans, &extra).unwrap();
        let recs = mdns::parse_response(&packet, 7).unwrap();
        assert!(recs.contains(&mdns::Record::Srv {
            name: "iiod on board._iio._tcp.local".into(),
            port: 30431,
            target: "board.local".into()
        }));
        assert!(recs.contains(&mdns::Record::Addr {
            name: "board.local".into(),
            addr: IpAddr::V4(ip)
        }));
    }

    #[test]
    fn only_our_names_are_answered() {
        let ip = Ipv4Addr::new(10, 0, 0, 1);
        for question in [
            q("other._iio._tcp.local", mdns::TYPE_SRV),
            q("board.local", mdns::TYPE_AAAA),
            q("elsewhere.local", mdns::TYPE_A),
            q("_http._tcp.local", mdns::TYPE_PTR),
        ] {
            let (ans, extra) =
                answers_for(std::slice::from_ref(&question), &names(), ip, TTL, true);
            assert!(ans.is_empty() && extra.is_empty(), "{question:?}");
        }
        let (ans, _) = answers_for(&[q("BOARD.local", mdns::TYPE_ANY)], &names(), ip, 10, false);
        assert_eq!(ans.len(), 1);
        assert_eq!(ans[0].ttl, 10);
        assert!(!ans[0].flush, "no cache-flush bit in unicast answers");
    }

    #[test]
    fn queries_parse_and_echo() {
        let packet = mdns::query(0x1234, &[(mdns::IIO_SERVICE, mdns::TYPE_PTR)]).unwrap();
        let (id, qs) = mdns::parse_query(&packet).unwrap().unwrap();
        assert_eq!(id, 0x1234);
        assert_eq!(qs, vec![q("_iio._tcp.local", mdns::TYPE_PTR)]);
        // A response is not a query; a truncated packet is refused.
        let resp = mdns::response(1, &[], &[], &[]).unwrap();
        assert_eq!(mdns::parse_query(&resp).unwrap(), None);
        assert!(mdns::parse_query(&packet[..packet.len() - 2]).is_err());
    }

    #[test]
    fn labels_stay_labels() {
        assert_eq!(instance_label("board"), "iiod on board");
        let long = "x".repeat(80);
        assert_eq!(instance_label(&long).len(), 63);
        assert!(host_label().len() <= 63 && !host_label().contains('.'));
    }
}
