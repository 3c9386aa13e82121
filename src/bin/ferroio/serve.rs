//! `ferroio serve`: iiod in the same binary. Serves a context to libiio's clients over TCP
//! until SIGINT or SIGTERM, then closes every client's buffers (the devices are put back)
//! and exits.

use crate::stop::StopOnSignal;
use crate::ContextArgs;
use clap::Args;
use ferroio::server::{Server, ServerOptions, DEFAULT_PORT};
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    context: ContextArgs,
    /// TCP port (0: any free one, printed at start).
    #[arg(short = 'p', long = "port", default_value_t = DEFAULT_PORT)]
    port: u16,
    /// Listen on this address only (default: every IPv6 and IPv4 address).
    #[arg(long = "bind", value_name = "ADDR")]
    bind: Option<IpAddr>,
    /// Refuse attribute writes, trigger changes and output buffers.
    #[arg(long = "read-only")]
    read_only: bool,
    /// The most client connections at once (each libiio client uses one, plus one per
    /// buffer).
    #[arg(long = "max-clients", value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    max_clients: u32,
    /// Close a connection that sends no command for this many seconds (default: never, as
    /// iiod).
    #[arg(long = "idle-timeout", value_name = "SECS")]
    idle_timeout: Option<u64>,
    /// Do not answer multicast DNS (DNS-SD `_iio._tcp`).
    #[arg(long = "no-announce")]
    no_announce: bool,
    /// Refuse libiio 1.x's binary protocol (its clients then speak text). The binary
    /// protocol is served in libiio main's opcode numbering; clients built from libiio
    /// 1.0 use an earlier one that no server can tell on the wire: give this option where
    /// such clients connect.
    #[arg(long = "no-binary")]
    no_binary: bool,
}

pub fn run(args: ServeArgs) -> ExitCode {
    let ctx = match args.context.open() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut options = ServerOptions::new()
        .port(args.port)
        .read_only(args.read_only)
        .max_clients(args.max_clients as usize)
        .idle_timeout(args.idle_timeout.map(Duration::from_secs))
        .announce(!args.no_announce)
        .binary(!args.no_binary)
        .verbose(args.context.verbose)
        .logger(|line| eprintln!("ferroio serve: {line}"));
    if let Some(addr) = args.bind {
        options = options.bind(addr);
    }
    let server = match Server::bind(&ctx, options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ferroio serve: cannot serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    let handle = server.shutdown_handle();
    let _signals = match StopOnSignal::new(move || handle.shutdown()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ferroio serve: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferroio serve: {e}");
            ExitCode::FAILURE
        }
    }
}
