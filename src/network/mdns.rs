//! DNS-SD over multicast DNS (RFC 6762, RFC 6763) without a daemon: how `ip:` with no host,
//! `ip:NAME.local` and network scans find iiod servers (libiio asks Avahi for the same), and
//! the wire format `ferroio serve`'s responder answers them with (`parse_query`,
//! `response`).
//!
//! Queries are one-shot: a UDP socket on an ephemeral port sends the question to
//! `224.0.0.251:5353` on every IPv4 interface of the calling thread's network namespace
//! (`/proc/thread-self/net/dev`, loopback left out, each chosen with `IP_MULTICAST_IF`), and
//! responders answer it directly, to that port (RFC 6762 §6.7, "legacy unicast"), so nothing
//! binds port 5353 and a running Avahi is no obstacle. Browsing asks for the PTR records of
//! `_iio._tcp.local`; instances whose SRV target or address did not come along in the
//! additional records are asked for in a second round.
//!
//! Answers must echo the query's random id and come from port 5353; they are not checked
//! to come from the local link (RFC 6762 §11), which a blind sender off the link would
//! have to beat by guessing the id and our port within the window.
//!
//! Packets come from anyone on the link, so parsing trusts nothing: every length and name
//! pointer is checked against the packet, compression pointers must point backwards, names
//! are bounded (255 bytes, 128 labels), and a packet that breaks any rule is dropped whole.
//! The number of services, addresses and packets kept is bounded too.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// The mDNS group and port.
pub(crate) const MDNS: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(224, 0, 0, 251), 5353);
/// The DNS-SD service type iiod registers.
pub(crate) const IIO_SERVICE: &str = "_iio._tcp.local";
/// Largest mDNS packet (RFC 6762 §17: 9000 bytes on the wire).
pub(crate) const MAX_PACKET: usize = 9000;
/// Services and addresses kept at most: a busy or hostile link cannot grow the result.
const MAX_SERVICES: usize = 64;
const MAX_ADDRS: usize = 16;

pub(crate) const TYPE_A: u16 = 1;
pub(crate) const TYPE_PTR: u16 = 12;
pub(crate) const TYPE_TXT: u16 = 16;
pub(crate) const TYPE_AAAA: u16 = 28;
pub(crate) const TYPE_SRV: u16 = 33;
pub(crate) const TYPE_ANY: u16 = 255;
const CLASS_IN: u16 = 1;
const CLASS_ANY: u16 = 255;

/// One iiod found by [`browse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The service instance name (`iiod on board._iio._tcp.local`).
    pub instance: String,
    /// The host the SRV record names (`board.local`), without the final dot.
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// The host's addresses, IPv4 first, in the order they arrived.
    pub addrs: Vec<IpAddr>,
}

/// A resource record of a response, reduced to what DNS-SD needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// `name PTR target`.
    Ptr { name: String, target: String },
    /// `name SRV priority weight port target`.
    Srv {
        name: String,
        port: u16,
        target: String,
    },
    /// An address of `name`.
    Addr { name: String, addr: IpAddr },
}

/// Why a packet was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) String);

/// Appends `name` (dot-separated, no final dot) in DNS label form.
fn put_name(out: &mut Vec<u8>, name: &str) -> Result<(), Malformed> {
    let mut total = 1;
    for label in name.split('.').filter(|l| !l.is_empty()) {
        if label.len() > 63 {
            return Err(Malformed(format!(
                "label '{label}' is longer than 63 bytes"
            )));
        }
        total += label.len() + 1;
        if total > 255 {
            return Err(Malformed(format!("name '{name}' is longer than 255 bytes")));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

/// A query with one question per `(name, type)`; `id` is echoed by legacy unicast answers.
pub(crate) fn query(id: u16, questions: &[(&str, u16)]) -> Result<Vec<u8>, Malformed> {
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0u16.to_be_bytes()); // standard query
    q.extend_from_slice(&(questions.len() as u16).to_be_bytes());
    q.extend_from_slice(&[0; 6]); // no answers, authority or additional records
    for (name, ty) in questions {
        put_name(&mut q, name)?;
        q.extend_from_slice(&ty.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
    Ok(q)
}

/// A bounds-checked reader over one packet.
struct Reader<'a> {
    p: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.p.len())
            .ok_or_else(|| Malformed(format!("truncated at byte {}", self.at)))?;
        let b = &self.p[self.at..end];
        self.at = end;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A possibly compressed name starting here; the reader moves past its in-place part.
    fn name(&mut self) -> Result<String, Malformed> {
        let (name, next) = read_name(self.p, self.at)?;
        self.at = next;
        Ok(name)
    }
}

/// Whether two names are the same DNS name (ASCII case does not count).
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Decodes the name at `start` of `p`; returns it (dot-separated, no final dot, case kept:
/// compare names with [`same_name`]) and the offset just after its in-place part.
fn read_name(p: &[u8], start: usize) -> Result<(String, usize), Malformed> {
    let mut out: Vec<u8> = Vec::new();
    let mut at = start;
    let mut next = None;
    let mut labels = 0;
    let mut wire_len = 1;
    // Each pointer must go strictly backwards, so following them ends.
    let mut limit = start;
    loop {
        let len = *p
            .get(at)
            .ok_or_else(|| Malformed(format!("name at byte {start} runs past the packet")))?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    let name = String::from_utf8_lossy(&out).into_owned();
                    return Ok((name, next.unwrap_or(at + 1)));
                }
                let label = p
                    .get(at + 1..at + 1 + len as usize)
                    .ok_or_else(|| Malformed(format!("label at byte {at} runs past the packet")))?;
                labels += 1;
                wire_len += label.len() + 1;
                if labels > 128 || wire_len > 255 {
                    return Err(Malformed(format!("name at byte {start} is too long")));
                }
                if !out.is_empty() {
                    out.push(b'.');
                }
                for &c in label {
                    if c == b'.' || c == b'\\' || c.is_ascii_control() {
                        // Instance names may hold any UTF-8; dots and control bytes inside a
                        // label are escaped as in zone files, so names stay unambiguous.
                        out.extend_from_slice(format!("\\{c:03}").as_bytes());
                    } else {
                        out.push(c);
                    }
                }
                at += 1 + len as usize;
            }
            0xc0 => {
                let lo = *p
                    .get(at + 1)
                    .ok_or_else(|| Malformed(format!("pointer at byte {at} is cut off")))?;
                let target = (usize::from(len & 0x3f) << 8) | usize::from(lo);
                if target >= limit {
                    return Err(Malformed(format!(
                        "name pointer at byte {at} does not point backwards"
                    )));
                }
                next.get_or_insert(at + 2);
                // Pointer hops count like labels, so chains of them stay cheap to follow.
                labels += 1;
                if labels > 128 {
                    return Err(Malformed(format!("name at byte {start} is too long")));
                }
                limit = target;
                at = target;
            }
            _ => return Err(Malformed(format!("reserved label type at byte {at}"))),
        }
    }
}

/// Parses a response: the records of its answer, authority and additional sections that
/// DNS-SD uses (PTR, SRV, A, AAAA of class IN); other records are skipped. Queries, and
/// answers to another `id`, give nothing.
pub(crate) fn parse_response(p: &[u8], id: u16) -> Result<Vec<Record>, Malformed> {
    let mut r = Reader { p, at: 0 };
    let got_id = r.u16()?;
    let flags = r.u16()?;
    let qd = r.u16()?;
    let counts = [r.u16()?, r.u16()?, r.u16()?];
    if flags & 0x8000 == 0 {
        return Ok(Vec::new()); // a query (another host's), not an answer
    }
    // Answers to our one-shot queries echo our id (RFC 6762 §6.7); this socket gets no
    // multicast answers (id 0), so anything else is someone else's or forged.
    if got_id != id {
        return Ok(Vec::new());
    }
    // RFC 6762 §18.3, §18.11: a non-zero opcode or rcode means: ignore the message.
    if flags & 0x780f != 0 {
        return Ok(Vec::new());
    }
    for _ in 0..qd {
        r.name()?;
        r.bytes(4)?;
    }
    let mut out = Vec::new();
    for _ in 0..counts.iter().map(|&c| usize::from(c)).sum::<usize>() {
        let name = r.name()?;
        let ty = r.u16()?;
        let class = r.u16()? & 0x7fff; // the top bit is mDNS's cache-flush flag
        r.bytes(4)?; // TTL
        let len = usize::from(r.u16()?);
        let rdata_at = r.at;
        let rdata = r.bytes(len)?;
        if class != CLASS_IN {
            continue;
        }
        match ty {
            TYPE_PTR => {
                let (target, _) = read_name(p, rdata_at)?;
                out.push(Record::Ptr { name, target });
            }
            TYPE_SRV => {
                if len < 7 {
                    return Err(Malformed(format!("SRV record of {len} bytes")));
                }
                let port = u16::from_be_bytes([rdata[4], rdata[5]]);
                let (target, _) = read_name(p, rdata_at + 6)?;
                out.push(Record::Srv { name, port, target });
            }
            TYPE_A if len == 4 => out.push(Record::Addr {
                name,
                addr: IpAddr::from([rdata[0], rdata[1], rdata[2], rdata[3]]),
            }),
            TYPE_AAAA if len == 16 => {
                let mut b = [0u8; 16];
                b.copy_from_slice(rdata);
                out.push(Record::Addr {
                    name,
                    addr: IpAddr::from(b),
                });
            }
            TYPE_A | TYPE_AAAA => {
                return Err(Malformed(format!("address record of {len} bytes")));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The interfaces of the calling thread's network namespace, loopback left out.
pub(crate) fn interfaces() -> Vec<String> {
    let Ok(text) = std::fs::read_to_string("/proc/thread-self/net/dev") else {
        return Vec::new();
    };
    text.lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_string()))
        .filter(|n| n != "lo" && !n.is_empty())
        .collect()
}

/// A socket that sends queries on every interface and receives the unicast answers.
struct Querier {
    sock: UdpSocket,
    ifindexes: Vec<u32>,
    id: u16,
}

impl Querier {
    fn new() -> io::Result<Querier> {
        let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        // RFC 6762 §11: mDNS packets go out with TTL 255.
        sock.set_multicast_ttl_v4(255)?;
        let ifindexes = interfaces()
            .iter()
            .filter_map(|n| rustix::net::netdevice::name_to_index(sock.as_fd(), n).ok())
            .collect();
        // A random id: answers must echo it, so blind forgeries have to guess it too.
        let mut r = [0u8; 2];
        let got = rustix::rand::getrandom(&mut r, rustix::rand::GetRandomFlags::empty());
        if !matches!(got, Ok(2)) {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            r = ((nanos ^ std::process::id()) as u16).to_le_bytes();
        }
        let id = u16::from_le_bytes(r) | 1;
        Ok(Querier {
            sock,
            ifindexes,
            id,
        })
    }

    /// Sends `questions` on every interface (or the default one when there is none);
    /// fails only when no send worked.
    fn send(&self, questions: &[(&str, u16)]) -> io::Result<()> {
        let packet = query(self.id, questions)
            .map_err(|m| io::Error::new(io::ErrorKind::InvalidInput, m.0))?;
        let mut last = None;
        let mut sent = false;
        for &ix in &self.ifindexes {
            let r = rustix::net::sockopt::set_ip_multicast_if_with_ifindex(
                self.sock.as_fd(),
                MDNS.ip(),
                &Ipv4Addr::UNSPECIFIED,
                ix,
            )
            .map_err(io::Error::from)
            .and_then(|()| self.sock.send_to(&packet, MDNS).map(|_| ()));
            match r {
                Ok(()) => sent = true,
                Err(e) => last = Some(e),
            }
        }
        if !sent {
            if let Err(e) = self.sock.send_to(&packet, MDNS) {
                return Err(last.unwrap_or(e));
            }
        }
        Ok(())
    }

    /// Collects answer records until `deadline`, or until `done` says enough.
    fn collect(
        &self,
        deadline: Instant,
        records: &mut Vec<Record>,
        mut done: impl FnMut(&[Record]) -> bool,
    ) -> io::Result<()> {
        let mut buf = vec![0u8; MAX_PACKET];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || done(records) {
                return Ok(());
            }
            self.sock.set_read_timeout(Some(left))?;
            match self.sock.recv_from(&mut buf) {
                Ok((n, from)) => {
                    // Answers come from port 5353 (RFC 6762 §6.7); anything else is not one.
                    if from.port() != MDNS.port() {
                        continue;
                    }
                    if let Ok(recs) = parse_response(&buf[..n], self.id) {
                        if records.len() < 16 * MAX_SERVICES {
                            records.extend(recs);
                        }
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether an address can be connected to as it is: IPv6 link-local addresses need the
/// interface they came from, which an answer over IPv4 does not tell.
fn usable(addr: &IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !a.is_unspecified() && !a.is_broadcast() && !a.is_multicast(),
        IpAddr::V6(a) => {
            !a.is_unspecified() && !a.is_multicast() && (a.segments()[0] & 0xffc0) != 0xfe80
        }
    }
}

/// Builds the services the records describe, in the order their PTR records came.
fn assemble(records: &[Record], service: &str) -> Vec<Service> {
    let mut instances: Vec<&str> = Vec::new();
    let mut srv: HashMap<String, (&str, u16)> = HashMap::new();
    let mut addrs: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for r in records {
        match r {
            Record::Ptr { name, target } if same_name(name, service) => {
                if !instances.iter().any(|i| same_name(i, target)) && instances.len() < MAX_SERVICES
                {
                    instances.push(target);
                }
            }
            Record::Srv { name, port, target } => {
                srv.entry(name.to_ascii_lowercase())
                    .or_insert((target, *port));
            }
            Record::Addr { name, addr } if usable(addr) => {
                let v = addrs.entry(name.to_ascii_lowercase()).or_default();
                if !v.contains(addr) && v.len() < MAX_ADDRS {
                    v.push(*addr);
                }
            }
            Record::Addr { .. } | Record::Ptr { .. } => {}
        }
    }
    instances
        .iter()
        .map(|inst| {
            let (host, port) = srv
                .get(&inst.to_ascii_lowercase())
                .copied()
                .unwrap_or(("", 0));
            let mut a = addrs
                .get(&host.to_ascii_lowercase())
                .cloned()
                .unwrap_or_default();
            a.sort_by_key(|ip| ip.is_ipv6());
            Service {
                instance: inst.to_string(),
                host: host.to_string(),
                port,
                addrs: a,
            }
        })
        .collect()
}

/// Finds the iiod servers on the local links within `window`: every instance of
/// `_iio._tcp.local` that answered, with its host, port and addresses (instances whose
/// SRV record or usable address never came are left out; IPv6 link-local addresses are
/// not usable without their interface, which an answer over IPv4 does not tell).
pub fn browse(window: Duration) -> io::Result<Vec<Service>> {
    let q = Querier::new()?;
    let start = Instant::now();
    let mut records = Vec::new();
    q.send(&[(IIO_SERVICE, TYPE_PTR)])?;
    // Three fifths of the window for the answers; the rest, in two rounds, to ask for SRV
    // records and addresses that did not come along (responders usually send them with the
    // PTR answer). Names with escaped bytes cannot be asked for again and are skipped.
    q.collect(start + window * 3 / 5, &mut records, |_| false)?;
    for (round, end) in [(1, window * 4 / 5), (2, window)] {
        let partial = assemble(&records, IIO_SERVICE);
        let mut questions: Vec<(String, u16)> = Vec::new();
        for s in &partial {
            if s.host.is_empty() && round == 1 {
                questions.push((s.instance.clone(), TYPE_SRV));
            } else if !s.host.is_empty() && s.addrs.is_empty() {
                questions.push((s.host.clone(), TYPE_A));
            }
        }
        questions.retain(|(n, _)| !n.contains('\\'));
        questions.dedup();
        questions.truncate(16);
        if questions.is_empty() {
            break;
        }
        let qs: Vec<(&str, u16)> = questions.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        q.send(&qs)?;
        q.collect(start + end, &mut records, |_| false)?;
    }
    Ok(assemble(&records, IIO_SERVICE)
        .into_iter()
        .filter(|s| !s.host.is_empty() && s.port != 0 && !s.addrs.is_empty())
        .collect())
}

/// The addresses of `host` (a `.local` name) by an mDNS query, waiting at most `window`
/// and returning as soon as an answer came. Empty when nobody answered. IPv6 link-local
/// addresses are left out (their interface is not known).
pub fn resolve_host(host: &str, window: Duration) -> io::Result<Vec<IpAddr>> {
    let host = host.trim_end_matches('.');
    let q = Querier::new()?;
    q.send(&[(host, TYPE_A)])?;
    let mut records = Vec::new();
    let ours = |r: &Record| matches!(r, Record::Addr { name, addr } if same_name(name, host) && usable(addr));
    q.collect(Instant::now() + window, &mut records, |recs| {
        recs.iter().any(ours)
    })?;
    let mut out = Vec::new();
    for r in &records {
        if let Record::Addr { addr, .. } = r {
            if ours(r) && !out.contains(addr) && out.len() < MAX_ADDRS {
                out.push(*addr);
            }
        }
    }
    Ok(out)
}

/// Whether `host` is a multicast-DNS name (`*.local`).
pub(crate) fn is_local_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').as_bytes();
    h.len() > 6 && h[h.len() - 6..].eq_ignore_ascii_case(b".local")
}

/// `SocketAddr`s of `host:port` through mDNS (for `ip:NAME.local` when the system resolver
/// does not know `.local`, as in a static binary without nss-mdns).
pub(crate) fn socket_addrs(host: &str, port: u16, window: Duration) -> io::Result<Vec<SocketAddr>> {
    Ok(resolve_host(host, window)?
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

/// One question of a query (the responder's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Question {
    /// The name asked about (dot-separated, no final dot).
    pub(crate) name: String,
    /// The record type (`TYPE_ANY` for all).
    pub(crate) ty: u16,
    /// The querier asked for a unicast answer (the QU bit).
    pub(crate) unicast: bool,
}

/// The most questions of one query a responder looks at.
const MAX_QUESTIONS: usize = 32;

/// Parses a query: its id and questions of class IN (or ANY). `Ok(None)` for a response or
/// a message with an opcode or rcode (RFC 6762 §18.3, §18.11: ignored).
pub(crate) fn parse_query(p: &[u8]) -> Result<Option<(u16, Vec<Question>)>, Malformed> {
    let mut r = Reader { p, at: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let qd = usize::from(r.u16()?);
    r.bytes(6)?;
    if flags & 0x8000 != 0 || flags & 0x780f != 0 {
        return Ok(None);
    }
    let mut out = Vec::new();
    for _ in 0..qd.min(MAX_QUESTIONS) {
        let name = r.name()?;
        let ty = r.u16()?;
        let class = r.u16()?;
        if class & 0x7fff == CLASS_IN || class & 0x7fff == CLASS_ANY {
            out.push(Question {
                name,
                ty,
                unicast: class & 0x8000 != 0,
            });
        }
    }
    Ok(Some((id, out)))
}

/// The data of a record a responder sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rdata {
    /// A pointer to a name (service type to instance).
    Ptr(String),
    /// The instance's host and port.
    Srv { port: u16, target: String },
    /// The instance's text record: no keys (one empty string, RFC 6763 §6.1).
    EmptyTxt,
    /// An IPv4 address of the host.
    A(Ipv4Addr),
}

/// A record a responder sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// Its owner name.
    pub(crate) name: String,
    /// Seconds it may be cached (0: goodbye).
    pub(crate) ttl: u32,
    /// mDNS's cache-flush bit (records only this host owns, in multicast answers).
    pub(crate) flush: bool,
    /// Its data.
    pub(crate) data: Rdata,
}

impl Answer {
    fn put(&self, out: &mut Vec<u8>) -> Result<(), Malformed> {
        put_name(out, &self.name)?;
        let ty = match self.data {
            Rdata::Ptr(_) => TYPE_PTR,
            Rdata::Srv { .. } => TYPE_SRV,
            Rdata::EmptyTxt => TYPE_TXT,
            Rdata::A(_) => TYPE_A,
        };
        out.extend_from_slice(&ty.to_be_bytes());
        let class = if self.flush {
            0x8000 | CLASS_IN
        } else {
            CLASS_IN
        };
        out.extend_from_slice(&class.to_be_bytes());
        out.extend_from_slice(&self.ttl.to_be_bytes());
        let mut rdata = Vec::new();
        match &self.data {
            Rdata::Ptr(target) => put_name(&mut rdata, target)?,
            Rdata::Srv { port, target } => {
                rdata.extend_from_slice(&[0, 0, 0, 0]); // priority, weight
                rdata.extend_from_slice(&port.to_be_bytes());
                put_name(&mut rdata, target)?;
            }
            Rdata::EmptyTxt => rdata.push(0),
            Rdata::A(ip) => rdata.extend_from_slice(&ip.octets()),
        }
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
        Ok(())
    }
}

/// A response: `id` and `questions` are echoed for a legacy unicast querier (RFC 6762
/// §6.7); multicast responses have id 0 and no questions.
pub(crate) fn response(
    id: u16,
    questions: &[Question],
    answers: &[Answer],
    additional: &[Answer],
) -> Result<Vec<u8>, Malformed> {
    let mut p = Vec::with_capacity(512);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&0x8400u16.to_be_bytes()); // response, authoritative
    p.extend_from_slice(&(questions.len() as u16).to_be_bytes());
    p.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    p.extend_from_slice(&0u16.to_be_bytes());
    p.extend_from_slice(&(additional.len() as u16).to_be_bytes());
    for q in questions {
        put_name(&mut p, &q.name)?;
        p.extend_from_slice(&q.ty.to_be_bytes());
        p.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
    for a in answers.iter().chain(additional) {
        a.put(&mut p)?;
    }
    if p.len() > MAX_PACKET {
        return Err(Malformed(format!("a response of {} bytes", p.len())));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response packet built by hand: header + records given as raw bytes.
    fn packet(id: u16, records: &[Vec<u8>]) -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&0x8400u16.to_be_bytes()); // response, authoritative
        p.extend_from_slice(&0u16.to_be_bytes());
        p.extend_from_slice(&(records.len() as u16).to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        for r in records {
            p.extend_from_slice(r);
        }
        p
    }

    fn rr(name: &str, ty: u16, rdata: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        put_name(&mut r, name).unwrap();
        r.extend_from_slice(&ty.to_be_bytes());
        r.extend_from_slice(&(0x8000 | CLASS_IN).to_be_bytes()); // cache-flush set
        r.extend_from_slice(&120u32.to_be_bytes());
        r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        r.extend_from_slice(rdata);
        r
    }

    fn name_bytes(n: &str) -> Vec<u8> {
        let mut v = Vec::new();
        put_name(&mut v, n).unwrap();
        v
    }

    #[test]
    fn query_wire_format() {
        let q = query(0x1234, &[("_iio._tcp.local", TYPE_PTR)]).unwrap();
        let mut want = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x04_iio\x04_tcp\x05local\x00\x00\x0c\x00\x01");
        assert_eq!(q, want);
        assert!(query(1, &[(&"x".repeat(64), TYPE_A)]).is_err());
        assert!(query(1, &[(&["a"; 200].join("."), TYPE_A)]).is_err());
    }

    #[test]
    fn a_browse_answer_assembles_into_a_service() {
        let mut srv = vec![0, 0, 0, 0, 0x76, 0xdf]; // priority, weight, port 30431
        srv.extend(name_bytes("Board.local"));
        let p = packet(
            7,
            &[
                rr(
                    IIO_SERVICE,
                    TYPE_PTR,
                    &name_bytes("iiod on board._iio._tcp.local"),
                ),
                rr("iiod on board._iio._tcp.local", TYPE_SRV, &srv),
                rr("board.local", TYPE_A, &[10, 0, 0, 5]),
                // Link-local: unusable without its interface, dropped.
                rr(
                    "board.local",
                    TYPE_AAAA,
                    &[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                ),
                rr(
                    "BOARD.local",
                    TYPE_AAAA,
                    &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                ),
                rr("board.local", 16, b"\x00"), // TXT: skipped
            ],
        );
        let recs = parse_response(&p, 7).unwrap();
        assert_eq!(recs.len(), 5);
        let s = assemble(&recs, IIO_SERVICE);
        assert_eq!(
            s,
            vec![Service {
                instance: "iiod on board._iio._tcp.local".into(),
                // The case the SRV record gave; matched to the A records without case.
                host: "Board.local".into(),
                port: 30431,
                addrs: vec!["10.0.0.5".parse().unwrap(), "2001:db8::1".parse().unwrap()],
            }]
        );
        // Someone else's answer (another id), a multicast-style answer (id 0), queries, and
        // messages with an opcode or rcode give nothing.
        assert!(parse_response(&p, 8).unwrap().is_empty());
        let mut z = p.clone();
        z[0] = 0;
        z[1] = 0;
        assert!(parse_response(&z, 7).unwrap().is_empty());
        let mut q = p.clone();
        q[2] = 0;
        assert!(parse_response(&q, 7).unwrap().is_empty());
        for (byte, bit) in [(2, 0x08), (3, 0x03)] {
            let mut o = p.clone();
            o[byte] |= bit;
            assert!(parse_response(&o, 7).unwrap().is_empty());
        }
    }

    #[test]
    fn pointer_chains_are_bounded() {
        // The label "a" at byte 12, then `hops` pointers, each to the one before; returns
        // the bytes and where the last pointer is.
        let chain = |hops: usize| {
            let mut p = vec![0u8; 12];
            p.extend_from_slice(b"\x01a\x00");
            let mut prev = 12usize;
            for _ in 0..hops {
                let at = p.len();
                p.extend_from_slice(&[0xc0 | (prev >> 8) as u8, prev as u8]);
                prev = at;
            }
            (p, prev)
        };
        let (p, last) = chain(100);
        assert_eq!(read_name(&p, last).unwrap(), ("a".to_string(), last + 2));
        let (p, last) = chain(200);
        assert!(read_name(&p, last).is_err(), "200 hops are refused");
    }

    #[test]
    fn compression_pointers() {
        // PTR whose target points back to the question-free record name.
        let mut p = packet(99, &[]);
        p[7] = 1; // one answer
        let name_at = p.len();
        p.extend(name_bytes("_iio._tcp.local"));
        p.extend_from_slice(&TYPE_PTR.to_be_bytes());
        p.extend_from_slice(&CLASS_IN.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 10]);
        let rdata = [b"\x04inst".as_slice(), &[0xc0, name_at as u8]].concat();
        p.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        p.extend_from_slice(&rdata);
        let recs = parse_response(&p, 99).unwrap();
        assert_eq!(
            recs,
            vec![Record::Ptr {
                name: "_iio._tcp.local".into(),
                target: "inst._iio._tcp.local".into()
            }]
        );
    }

    #[test]
    fn hostile_packets_are_dropped_not_followed() {
        // A pointer to itself, a forward pointer, and two pointers chasing each other.
        for name in [vec![0xc0u8, 12], vec![0xc0, 40], vec![0x40, 0]] {
            let mut p = packet(0, &[]);
            p[7] = 1;
            p.extend(&name);
            p.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
            assert!(parse_response(&p, 0).is_err(), "{name:?}");
        }
        let mut p = packet(0, &[]);
        p[7] = 1;
        p.extend_from_slice(&[0xc0, 14, 0xc0, 12]);
        assert!(parse_response(&p, 0).is_err());
        // Truncations of a good packet at every length: errors, never panics.
        let good = packet(
            0,
            &[rr(IIO_SERVICE, TYPE_PTR, &name_bytes("x._iio._tcp.local"))],
        );
        for n in 0..good.len() {
            assert!(parse_response(&good[..n], 0).is_err(), "cut at {n}");
        }
        // A record count far beyond the bytes, a short SRV, a 5-byte A record.
        let mut p = good.clone();
        p[6] = 0xff;
        assert!(parse_response(&p, 0).is_err());
        assert!(parse_response(&packet(0, &[rr("a.local", TYPE_SRV, &[0; 6])]), 0).is_err());
        assert!(parse_response(&packet(0, &[rr("a.local", TYPE_A, &[1; 5])]), 0).is_err());
        // A name of 300 bytes made of many labels.
        let long: Vec<u8> = std::iter::repeat_n([3u8, b'a', b'b', b'c'], 80)
            .flatten()
            .chain([0])
            .collect();
        let mut p = packet(0, &[]);
        p[7] = 1;
        p.extend(long);
        p.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
        assert!(parse_response(&p, 0).is_err());
    }

    #[test]
    fn odd_labels_stay_unambiguous() {
        let mut r = Vec::new();
        r.extend_from_slice(b"\x04a.b\x07\x05local\x00");
        let (n, next) = read_name(&r, 0).unwrap();
        assert_eq!(n, "a\\046b\\007.local");
        assert_eq!(next, r.len());
    }

    #[test]
    fn local_names() {
        assert!(is_local_name("pluto.local"));
        assert!(!is_local_name("ééééx"), "no panic on multi-byte characters");
        assert!(is_local_name("платa.local"));
        assert!(is_local_name("Pluto.LOCAL."));
        assert!(!is_local_name("local"));
        assert!(!is_local_name(".local"));
        assert!(!is_local_name("pluto.example"));
    }
}
