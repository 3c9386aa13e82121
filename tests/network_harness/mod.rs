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

/// One running iiod in its namespace.
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
        let log = std::fs::File::create(dir.path().join("iiod.log")).expect("log");
        let child = Command::new(tools.join("in-fake-ns.sh"))
            .arg(&fake)
            .arg("iiod")
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start iiod");
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
        let ns_path = format!("/proc/{}/ns/net", self.pid);
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
        // iiod ignores SIGTERM: kill its process group, then reap the leader.
        if let Some(pid) = rustix::process::Pid::from_raw(self.pid) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
