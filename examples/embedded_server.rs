//! An application that serves its own context to libiio's network clients from a thread,
//! next to its own work, and stops the server when it is done: `ferroio::server` embedded.
//!
//! `cargo run --example embedded_server -- local:fixtures/iio-dummy-6.1 30 12345`
//! serves the captured fixture on 127.0.0.1:12345 for 30 seconds; meanwhile, from another
//! terminal, `ferroio info -u ip:127.0.0.1:12345` or `iio_info -u ip:127.0.0.1:12345`.

use ferroio::server::{Server, ServerOptions};
use std::time::Duration;

fn main() -> Result<(), ferroio::Error> {
    let mut args = std::env::args().skip(1);
    let uri = args.next().unwrap_or_else(|| "local:".into());
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(30);
    let port: u16 = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);

    let ctx = ferroio::Context::from_uri(&uri)?;
    let server = Server::bind(
        &ctx,
        ServerOptions::new()
            .bind(std::net::Ipv4Addr::LOCALHOST.into())
            .port(port)
            .announce(false)
            .logger(|line| eprintln!("server: {line}")),
    )?;
    println!("serving {uri} on {}", server.local_addrs()[0]);
    let stop = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.run());

    // The application's own work goes on here; the same context is usable meanwhile.
    for _ in 0..seconds {
        std::thread::sleep(Duration::from_secs(1));
    }
    println!("{} devices served; stopping", ctx.num_devices());
    stop.shutdown();
    thread.join().expect("the server thread")?;
    Ok(())
}
