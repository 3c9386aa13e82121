//! The real Debian `iiod` 0.24 for the network tests, started and stopped by each test.
//!
//! Each server runs in its own private mount and network namespace
//! (`../shared/tools/iio-fake-sysfs/in-fake-ns.sh`): the namespace has only `lo`, so the
//! server (which binds the wildcard address) is reachable from nowhere else, and every
//! server gets port 30431 to itself. A fake sysfs tree (`mkfake.sh`) stands in for the
//! kernel, or `iiod -u xml:FILE` serves a context description. Clients reach it from inside
//! the namespace: libiio's tools through `nsenter -t PID -n`, our library from a thread that
//! joined the namespace with `setns` (its sockets stay there), our CLI through `nsenter`.
//!
//! Stopping: iiod ignores SIGTERM, so the harness SIGKILLs the server's process group (it is
//! the group leader: the scripts `exec` down to iiod) and reaps it; every tool it runs is
//! bounded in time and killed by PID when late. Everything needs root; without it (or
//! without iiod, unshare, nsenter or `../shared`) [`RealIiod::start_fake`] returns `None`
//! after printing why, and the test returns.
//!
//! [`DnssdBoard`] is the DNS-SD variant: iiod plus a real avahi-daemon (fetched, not
//! installed) in a "board" namespace, joined by a veth pair to a "client" namespace
//! (`dnssd-board.sh`).

#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What a missing prerequisite looks like, or `None` when the real server can run here.
pub fn skip_reason() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("not root (the namespaces need it)".into());
    }
    for tool in ["iiod", "unshare", "nsenter", "iio_info", "iio_attr"] {
        if !have(tool) {
            return Some(format!(
                "'{tool}' is not installed (Debian: iiod libiio-utils util-linux)"
            ));
        }
    }
    if tools_dir().is_none() {
        return Some("../shared/tools/iio-fake-sysfs is not present".into());
    }
    None
}

/// Whether a program is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn tools_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/iio-fake-sysfs");
    p.join("in-fake-ns.sh").is_file().then_some(p)
}

/// `../shared/contexts/NAME`.
pub fn shared_context(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/contexts")
        .join(name);
    p.is_file().then_some(p)
}

/// The servers the network tests run against: Debian's iiod 0.24 (the reference) and
/// `ferroio serve` (this build), which must be a drop-in for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// Debian's `iiod` 0.24.
    Iiod,
    /// `ferroio serve`.
    Ferroio,
}

/// Both servers, the reference first.
pub const PEERS: [Peer; 2] = [Peer::Iiod, Peer::Ferroio];

/// Runs a test body against each server in turn (saying which on stdout, shown when a test
/// fails).
pub fn each_peer(test: fn(Peer)) {
    for peer in PEERS {
        println!("--- against {peer:?}");
        test(peer);
    }
}

impl Peer {
    /// This server on the fake sysfs tree (`mkfake.sh`).
    pub fn start_fake(self) -> Option<RealIiod> {
        match self {
            Peer::Iiod => RealIiod::start_fake(),
            Peer::Ferroio => RealIiod::start_program(
                Path::new(env!("CARGO_BIN_EXE_ferroio")),
                &["serve", "--no-announce"],
            ),
        }
    }

    /// `ferroio serve` with extra arguments on the fake tree (`None` for iiod, which takes
    /// none of them).
    pub fn start_fake_with(self, args: &[&str]) -> Option<RealIiod> {
        match self {
            Peer::Iiod => RealIiod::start_fake(),
            Peer::Ferroio => {
                let mut all = vec!["serve", "--no-announce"];
                all.extend_from_slice(args);
                RealIiod::start_program(Path::new(env!("CARGO_BIN_EXE_ferroio")), &all)
            }
        }
    }

    /// This server serving a context description.
    pub fn start_xml(self, file: &Path) -> Option<RealIiod> {
        match self {
            Peer::Iiod => RealIiod::start_xml(file),
            Peer::Ferroio => {
                let arg = format!("xml:{}", file.display());
                RealIiod::start_program(
                    Path::new(env!("CARGO_BIN_EXE_ferroio")),
                    &["serve", "--no-announce", "-u", &arg],
                )
            }
        }
    }
}

/// One running iiod (or `ferroio serve`) in its namespace.
pub struct RealIiod {
    dir: tempfile::TempDir,
    child: Child,
    pid: i32,
}

impl RealIiod {
    /// iiod serving the fake sysfs tree (`mkfake.sh`: fake-adc, fake-dac, trigger0).
    pub fn start_fake() -> Option<RealIiod> {
        Self::start(&[])
    }

    /// iiod serving a context description (`iiod -u xml:FILE`).
    pub fn start_xml(file: &Path) -> Option<RealIiod> {
        let arg = format!("xml:{}", file.display());
        Self::start(&["-u", &arg])
    }

    /// iiod with extra arguments.
    pub fn start(args: &[&str]) -> Option<RealIiod> {
        Self::start_program(Path::new("iiod"), args)
    }

    /// Another iiod (a libiio 1.x build, [`libiio1`]) serving the fake sysfs tree.
    pub fn start_program(program: &Path, args: &[&str]) -> Option<RealIiod> {
        if let Some(why) = skip_reason() {
            println!("skipped: {why}");
            return None;
        }
        let tools = tools_dir()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = dir.path().join("fake");
        let out = bounded(
            Command::new(tools.join("mkfake.sh")).arg(&fake),
            Duration::from_secs(20),
        );
        assert!(out.status.success(), "mkfake.sh failed: {out:?}");
        let child = spawn_logged(
            Command::new(tools.join("in-fake-ns.sh"))
                .arg(&fake)
                .arg(program)
                .args(args),
            &dir.path().join("iiod.log"),
        );
        let pid = child.id() as i32;
        let server = RealIiod { dir, child, pid };
        server.wait_listening();
        Some(server)
    }

    /// Waits (at most 10 s) until iiod accepts connections in its namespace.
    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The namespace exists once the scripts exec'd into it; then try the port.
            let ready = self
                .in_netns(|| {
                    std::net::TcpStream::connect_timeout(
                        &"127.0.0.1:30431".parse().unwrap(),
                        Duration::from_millis(200),
                    )
                    .is_ok()
                })
                .unwrap_or(false);
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "iiod did not start listening within 10 s; log: {}",
                std::fs::read_to_string(self.dir.path().join("iiod.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's process id (its network namespace is `/proc/PID/ns/net`).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The fake tree's root (`sys/bus/iio/devices/...`, `debug/iio/...`, `dev/iio:deviceN`).
    pub fn fake_root(&self) -> PathBuf {
        self.dir.path().join("fake")
    }

    /// A device's directory in the fake tree.
    pub fn fake_device(&self, id: &str) -> PathBuf {
        self.fake_root().join("sys/bus/iio/devices").join(id)
    }

    /// Runs `f` on a thread inside the server's network namespace: sockets it opens reach
    /// the server at 127.0.0.1:30431. `None` when the namespace is not (yet) there.
    pub fn in_netns<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Option<T> {
        in_netns_of(self.pid, f)
    }

    /// A command run inside the server's network namespace (`nsenter -t PID -n PROGRAM`).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t").arg(self.pid.to_string()).arg("-n").arg(program);
        c
    }

    /// Runs a command in the namespace, bounded to 30 s: what it prints with `2>&1` (one
    /// pipe, so lines keep their order) and its exit code, as one text ending in `rc=N`.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let out = bounded(
            self.command("sh")
                .arg("-c")
                .arg("\"$0\" \"$@\" 2>&1")
                .arg(program)
                .args(args),
            Duration::from_secs(30),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        format!("{text}rc={}", out.status.code().unwrap_or(-1))
    }

    /// Like [`RealIiod::run`], in the server's mount namespace too (where the fake tree is
    /// mounted over `/sys/bus`, `/sys/kernel/debug` and `/dev`).
    pub fn run_in_mounts(&self, program: &str, args: &[&str]) -> String {
        let out = bounded(
            Command::new("nsenter")
                .arg("-t")
                .arg(self.pid.to_string())
                .args(["-m", "-n", "sh", "-c", "\"$0\" \"$@\" 2>&1"])
                .arg(program)
                .args(args),
            Duration::from_secs(30),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        format!("{text}rc={}", out.status.code().unwrap_or(-1))
    }

    /// Like [`RealIiod::run`], stdout bytes only, with stdin from `input`.
    pub fn run_bytes(&self, program: &str, args: &[&str], input: &[u8]) -> Output {
        bounded_with_input(
            self.command(program).args(args),
            input,
            Duration::from_secs(30),
        )
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("iiod.log")).unwrap_or_default()
    }
}

impl Drop for RealIiod {
    fn drop(&mut self) {
        // iiod ignores SIGTERM: SIGKILL for the whole group.
        kill_group(&mut self.child, self.pid);
    }
}

/// Kills the process group a script started with [`spawn_logged`] leads (`pid` is the
/// leader, `child`), then reaps the leader.
fn kill_group(child: &mut Child, pid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs `f` on a fresh thread that joined the network namespace of process `pid` with
/// `setns` (sockets it opens live there). `None` when that process is not (yet) in a
/// namespace of its own.
pub fn in_netns_of<T: Send>(pid: i32, f: impl FnOnce() -> T + Send) -> Option<T> {
    let ns_path = format!("/proc/{pid}/ns/net");
    std::thread::scope(|s| {
        s.spawn(|| {
            let ns = std::fs::File::open(&ns_path).ok()?;
            let mine = std::fs::read_link("/proc/thread-self/ns/net").ok()?;
            let theirs = std::fs::read_link(&ns_path).ok()?;
            if mine == theirs {
                // The scripts have not unshared yet.
                return None;
            }
            rustix::thread::move_into_link_name_space(
                std::os::fd::AsFd::as_fd(&ns),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .ok()?;
            Some(f())
        })
        .join()
        .expect("test thread in the namespace panicked")
    })
}

/// Starts a server script as the leader of its own process group (so dropping it can kill
/// everything it started), stdout and stderr into `log`.
fn spawn_logged(cmd: &mut Command, log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("log");
    cmd.stdin(Stdio::null())
        .stdout(file.try_clone().expect("log"))
        .stderr(file)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"))
}

/// Runs a command to completion within `limit`, killing it (by PID) when late.
pub fn bounded(cmd: &mut Command, limit: Duration) -> Output {
    bounded_with_input(cmd, &[], limit)
}

/// [`bounded`] with bytes on stdin.
pub fn bounded_with_input(cmd: &mut Command, input: &[u8], limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let stdin = child.stdin.take();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        if let Some(mut s) = stdin {
            let _ = std::io::Write::write_all(&mut s, &input);
        }
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let st = child.wait().expect("wait");
            panic!("{cmd:?} did not finish within {limit:?} ({st})");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = feeder.join();
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

/// The port iiod listens on.
pub const IIOD_PORT: u16 = 30431;

/// The two libiio 1.x snapshots of `../shared/peers/libiio-1.x`, one per opcode numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Libiio1 {
    /// 4e3cfe61 (2026-08): libiio main's current numbering (event attributes, NOP).
    Main,
    /// 2d314beb (2026-06): the earlier libiio 1.0 numbering.
    Earlier,
}

impl Libiio1 {
    /// The short commit id, as the tarball names it.
    pub fn commit(self) -> &'static str {
        match self {
            Libiio1::Main => "4e3cfe61",
            Libiio1::Earlier => "2d314beb",
        }
    }
}

/// Where built peers are kept (outside the repository): `$FERROIO_PEER_CACHE`, else
/// `$XDG_CACHE_HOME/ferroio-peers`, else `$HOME/.cache/ferroio-peers`.
pub fn peer_cache_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("FERROIO_PEER_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("ferroio-peers")))
        .or_else(|| env("HOME").map(|p| p.join(".cache/ferroio-peers")))
}

/// A build of libiio 1.x (library, tools, iiod) from the tarball in
/// `../shared/peers/libiio-1.x`, made once with its `build.sh` (which installs the Debian
/// build packages it lacks) into the peer cache and reused after: its prefix (`sbin/iiod`,
/// `bin/iio_*`, `lib`). Concurrent tests wait for one build (`flock`). `None` after
/// printing why when the machine cannot have it (not root, no `../shared`).
pub fn libiio1(which: Libiio1) -> Option<PathBuf> {
    if !rustix::process::geteuid().is_root() {
        println!("skipped: not root (building libiio 1.x installs Debian packages)");
        return None;
    }
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/peers/libiio-1.x");
    let tarball = peers.join(format!("libiio-1.0-{}.tar.gz", which.commit()));
    if !tarball.is_file() {
        println!("skipped: {} is not present", tarball.display());
        return None;
    }
    let Some(cache) = peer_cache_dir() else {
        println!("skipped: no peer cache directory (set FERROIO_PEER_CACHE or HOME)");
        return None;
    };
    std::fs::create_dir_all(&cache).expect("peer cache");
    let prefix = cache.join(format!("libiio1-{}", which.commit()));
    let mut cmd = Command::new("flock");
    cmd.arg(cache.join(".build.lock"))
        .arg(peers.join("build.sh"))
        .arg(&tarball)
        .arg(&prefix);
    if which == Libiio1::Earlier {
        // That snapshot's emu backend does not build (build.sh's notes).
        cmd.env("EXTRA_CMAKE_OPTS", "-DWITH_EMU_BACKEND=OFF");
    }
    let out = bounded(&mut cmd, Duration::from_secs(900));
    assert!(
        out.status.success(),
        "building libiio {} failed:\n{}\n{}",
        which.commit(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(prefix)
}

/// A DNS-SD "board": real Debian iiod 0.24 and a real avahi-daemon (with a private
/// dbus-daemon) in a board network namespace, joined by a veth pair to a client network
/// namespace (`dnssd-board.sh`).
///
/// iiod registers `_iio._tcp` with avahi itself (service `iiod on HOST`, port 30431), avahi
/// answers mDNS on the board's end of the veth pair only (IPv4, `allow-interfaces`). The
/// client namespace holds a sleeping process and the other end of the pair, with a route
/// for 224.0.0.0/4: a thread that joined it ([`DnssdBoard::in_client_netns`]) can query
/// 224.0.0.251:5353 and connect to the board's address, which is all it can see.
///
/// avahi-daemon is not installed on the host (its postinst would start a daemon on the
/// host network): `dnssd-board.sh fetch` downloads it and the libraries the host lacks with
/// `apt-get download` into a cache outside the repository (`$FERROIO_NET_CACHE`, else
/// `$XDG_CACHE_HOME/ferroio-net`, else `$HOME/.cache/ferroio-net`) and unpacks them there.
///
/// Stopping kills the script's process group (every process it started is in it); the
/// namespaces and the veth pair (which never exists in the host namespace) vanish with
/// their last process.
pub struct DnssdBoard {
    dir: tempfile::TempDir,
    child: Child,
    leader: i32,
    board_pid: i32,
    client_pid: i32,
    n: u8,
    host: String,
    avahi_root: PathBuf,
    started_in: Duration,
    first_scan: String,
}

/// The board's dbus socket, inside its private `/run`.
const BOARD_DBUS: &str = "unix:path=/run/dbus/system_bus_socket";

/// The context the default board serves: PlutoSDR (4 devices, `hw_model`, `hw_serial`).
pub const DNSSD_CONTEXT: &str = "pyadi-iio__pluto.xml";

/// The default board host name.
pub const DNSSD_HOST: &str = "ferroio-board";

fn dnssd_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/network_harness/dnssd-board.sh")
}

/// Where the downloaded avahi packages are kept (outside the repository).
pub fn net_cache_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("FERROIO_NET_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|p| p.join("ferroio-net")))
        .or_else(|| env("HOME").map(|p| p.join(".cache/ferroio-net")))
}

/// What a missing prerequisite of [`DnssdBoard`] looks like (avahi itself is fetched by
/// [`DnssdBoard::start`]).
pub fn dnssd_skip_reason() -> Option<String> {
    if let Some(why) = skip_reason() {
        return Some(why);
    }
    for (tool, pkg) in [
        ("ip", "iproute2"),
        ("dbus-daemon", "dbus-daemon"),
        ("dbus-send", "dbus-bin"),
        ("flock", "util-linux"),
        ("timeout", "coreutils"),
    ] {
        if !have(tool) {
            return Some(format!("'{tool}' is not installed (Debian: {pkg})"));
        }
    }
    if shared_context(DNSSD_CONTEXT).is_none() {
        return Some(format!("../shared/contexts/{DNSSD_CONTEXT} is not present"));
    }
    if net_cache_dir().is_none() {
        return Some("no cache directory (set HOME or FERROIO_NET_CACHE)".into());
    }
    None
}

/// Downloads/unpacks avahi (once, cached): its root, or why it cannot be had here.
fn fetch_avahi() -> Result<PathBuf, String> {
    let cache = net_cache_dir().ok_or("no cache directory")?;
    let out = bounded(
        Command::new(dnssd_script()).arg("fetch").arg(&cache),
        Duration::from_secs(300),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match out.status.code() {
        Some(0) => Ok(PathBuf::from(stdout)),
        Some(3) => Err(stdout),
        _ => panic!(
            "dnssd-board.sh fetch failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

impl DnssdBoard {
    /// The default board: host `ferroio-board`, `peer` serving the PlutoSDR context.
    pub fn start(peer: Peer) -> Option<DnssdBoard> {
        let ctx = shared_context(DNSSD_CONTEXT);
        match ctx {
            Some(ctx) => Self::start_with(DNSSD_HOST, &ctx, peer),
            None => {
                println!("skipped: ../shared/contexts/{DNSSD_CONTEXT} is not present");
                None
            }
        }
    }

    /// A board with host name `host` (also avahi's host name: `HOST.local`) whose server
    /// serves `context` (`iiod -u xml:FILE`, or `ferroio serve -u xml:FILE` answering
    /// multicast DNS itself). Returns once `iio_info -S ip` in the board lists the service
    /// (at most ~45 s); `None` after printing why when the machine cannot run it.
    pub fn start_with(host: &str, context: &Path, peer: Peer) -> Option<DnssdBoard> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        if let Some(why) = dnssd_skip_reason() {
            println!("skipped: {why}");
            return None;
        }
        let t0 = Instant::now();
        let avahi_root = match fetch_avahi() {
            Ok(p) => p,
            Err(why) => {
                println!("skipped: {why}");
                return None;
            }
        };
        // Each board's addresses live in its own pair of namespaces, so they cannot
        // clash; distinct numbers only keep logs apart.
        let n = (NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 250 + 2) as u8;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(dnssd_script());
        if peer == Peer::Ferroio {
            cmd.env("DNSSD_SERVER", env!("CARGO_BIN_EXE_ferroio"));
        }
        let child = spawn_logged(
            cmd.arg("run")
                .arg(dir.path())
                .arg(&avahi_root)
                .arg(host)
                .arg(n.to_string())
                .arg(context),
            &dir.path().join("board.log"),
        );
        let leader = child.id() as i32;
        let mut board = DnssdBoard {
            dir,
            child,
            leader,
            board_pid: 0,
            client_pid: 0,
            n,
            host: host.to_string(),
            avahi_root,
            started_in: Duration::ZERO,
            first_scan: String::new(),
        };
        if let Err(why) = board.wait_ready(Duration::from_secs(30)) {
            println!("skipped: {why}");
            return None;
        }
        board.board_pid = board.read_pid("board.pid");
        board.client_pid = board.read_pid("client.pid");
        board.first_scan = board.wait_listed(Duration::from_secs(15));
        board.started_in = t0.elapsed();
        Some(board)
    }

    /// Waits for `DIR/ready`; `Err(reason)` when the script gave up for a reason of the
    /// machine's (exit 3 + `DIR/skip`); panics on anything else.
    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if self.dir.path().join("ready").exists() {
                return Ok(());
            }
            if let Some(st) = self.child.try_wait().expect("wait") {
                let skip = std::fs::read_to_string(self.dir.path().join("skip"));
                match (st.code(), skip) {
                    (Some(3), Ok(why)) => return Err(why.trim().to_string()),
                    _ => panic!("dnssd-board.sh exited ({st}); logs:\n{}", self.log()),
                }
            }
            assert!(
                Instant::now() < deadline,
                "the DNS-SD board was not up within {limit:?}; logs:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn read_pid(&self, name: &str) -> i32 {
        let text = std::fs::read_to_string(self.dir.path().join(name)).expect(name);
        text.trim().parse().expect(name)
    }

    /// Polls `iio_info -S ip` in the board until it lists this board's service; its output.
    fn wait_listed(&self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        let want = format!("[ip:{}]", self.mdns_name());
        loop {
            let out = self.run_in_board("iio_info", &["-S", "ip"]);
            if out.contains(&want) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "iio_info -S ip did not list {want} within {limit:?}; last output:\n{out}\nlogs:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// How long [`DnssdBoard::start_with`] took (fetch check + namespaces + daemons + until
    /// the service was listed).
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The `iio_info -S ip` output that ended the start-up wait (ends in `rc=N`).
    pub fn first_scan(&self) -> &str {
        &self.first_scan
    }

    /// The board's host name (its UTS name and avahi's host name).
    pub fn host_name(&self) -> &str {
        &self.host
    }

    /// `HOST.local`, the name avahi publishes an A record for.
    pub fn mdns_name(&self) -> String {
        format!("{}.local", self.host)
    }

    /// The DNS-SD service instance iiod registers: `iiod on HOST` (type `_iio._tcp`).
    pub fn service_name(&self) -> String {
        format!("iiod on {}", self.host)
    }

    /// The board's address (its end of the veth pair).
    pub fn board_ip(&self) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::new(10, 77, self.n, 1)
    }

    /// The client's address.
    pub fn client_ip(&self) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::new(10, 77, self.n, 2)
    }

    /// The board's end of the veth pair (in the board namespace).
    pub fn board_interface(&self) -> String {
        format!("fio-b{}", self.n)
    }

    /// The client's end of the veth pair (in the client namespace).
    pub fn client_interface(&self) -> String {
        format!("fio-c{}", self.n)
    }

    /// A process in the board's namespaces (mount, network, UTS).
    pub fn board_pid(&self) -> i32 {
        self.board_pid
    }

    /// The process holding the client network namespace.
    pub fn client_pid(&self) -> i32 {
        self.client_pid
    }

    /// `/proc/PID/ns/net` of the client namespace (open it and `setns` to join).
    pub fn client_netns_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.client_pid))
    }

    /// Runs `f` on a thread inside the client network namespace.
    pub fn in_client_netns<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        in_netns_of(self.client_pid, f).expect("cannot join the client namespace")
    }

    /// Runs `f` on a thread inside the board network namespace.
    pub fn in_board_netns<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        in_netns_of(self.board_pid, f).expect("cannot join the board namespace")
    }

    /// A command run inside the board's namespaces (`nsenter -m -n -u`: its private `/run`
    /// holds the dbus socket), with `DBUS_SYSTEM_BUS_ADDRESS` set and `LD_LIBRARY_PATH`
    /// reaching the unpacked avahi libraries (for [`DnssdBoard::avahi_tool`]).
    pub fn board_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t")
            .arg(self.board_pid.to_string())
            .args(["-m", "-n", "-u"])
            .arg(program)
            .env("DBUS_SYSTEM_BUS_ADDRESS", BOARD_DBUS)
            .env("LD_LIBRARY_PATH", self.avahi_libdir());
        c
    }

    /// A command run inside the client network namespace (`nsenter -n`).
    pub fn client_command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t")
            .arg(self.client_pid.to_string())
            .arg("-n")
            .arg(program);
        c
    }

    /// Runs a command in the board, bounded to 30 s: its output (`2>&1`) then `rc=N`.
    pub fn run_in_board(&self, program: &str, args: &[&str]) -> String {
        run_merged(self.board_command("sh"), program, args)
    }

    /// Runs a command in the client namespace, bounded to 30 s: output then `rc=N`.
    pub fn run_in_client(&self, program: &str, args: &[&str]) -> String {
        run_merged(self.client_command("sh"), program, args)
    }

    /// A tool from the unpacked avahi-utils (`avahi-browse`, `avahi-resolve`, ...), to run
    /// with [`DnssdBoard::board_command`] / [`DnssdBoard::run_in_board`].
    pub fn avahi_tool(&self, name: &str) -> PathBuf {
        self.avahi_root.join("usr/bin").join(name)
    }

    /// `usr/lib/<multiarch triplet>` of the unpacked packages.
    fn avahi_libdir(&self) -> PathBuf {
        let lib = self.avahi_root.join("usr/lib");
        std::fs::read_dir(&lib)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("libavahi-core.so.7").exists() || p.join("libdaemon.so.0").exists())
            .unwrap_or(lib)
    }

    /// The script's, dbus', avahi's and iiod's logs so far.
    pub fn log(&self) -> String {
        let mut all = String::new();
        for name in ["board.log", "dbus.log", "avahi.log", "iiod.log"] {
            let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
            all.push_str(&format!("--- {name}\n{text}"));
        }
        all
    }
}

/// `sh -c '"$0" "$@" 2>&1' PROGRAM ARGS` on `base`, bounded to 30 s, as text ending `rc=N`.
fn run_merged(mut base: Command, program: &str, args: &[&str]) -> String {
    let out = bounded(
        base.arg("-c")
            .arg("\"$0\" \"$@\" 2>&1")
            .arg(program)
            .args(args),
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    format!("{text}rc={}", out.status.code().unwrap_or(-1))
}

impl Drop for DnssdBoard {
    fn drop(&mut self) {
        // Every process the script started is in its process group.
        kill_group(&mut self.child, self.leader);
    }
}
