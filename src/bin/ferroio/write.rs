//! `ferroio write`: libiio's `iio_writedev` — read raw scans (the device's layout) from stdin
//! and push them to an output buffer, block after block; `--cyclic` repeats the first block
//! until Ctrl-C. Ctrl-C stops cleanly and restores the device.

use crate::read::{fail, StreamArgs};
use crate::stop::StopOnSignal;
use clap::Args;
use ferroio::Error;
use std::io::Read;
use std::process::ExitCode;

/// Arguments of `ferroio write`.
#[derive(Args)]
pub struct WriteArgs {
    #[command(flatten)]
    stream: StreamArgs,
    /// Repeat the first block until Ctrl-C.
    #[arg(short = 'c', long = "cyclic")]
    cyclic: bool,
}

/// Reads up to `buf.len()` bytes; fewer only at end of input.
fn fill(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub fn run(args: WriteArgs) -> ExitCode {
    let s = &args.stream;
    let (ctx, dev) = match s.device() {
        Ok(x) => x,
        Err(code) => return code,
    };
    let builder = match s.builder(&ctx, &dev, true) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let mut buf = match builder.cyclic(args.cyclic).build() {
        Ok(b) => b,
        Err(e) => return fail(&format!("cannot open the buffer of {}", dev.id()), &e),
    };
    s.describe(&buf);
    let cancel = buf.cancel_handle();
    let stop = match StopOnSignal::new(move || cancel.cancel()) {
        Ok(h) => h,
        Err(e) => return fail("signal handler", &e),
    };
    let sb = buf.scan_bytes();
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut left = s.samples;
    let mut status = ExitCode::SUCCESS;
    loop {
        if stop.stopped() {
            break;
        }
        let mut want = buf.samples();
        if s.samples != 0 {
            want = want.min(usize::try_from(left).unwrap_or(usize::MAX));
        }
        let scans = match fill(&mut input, &mut buf.data_mut()[..want * sb]) {
            Ok(n) => n / sb,
            Err(e) => {
                status = fail("reading stdin", &e);
                break;
            }
        };
        if scans == 0 {
            break;
        }
        match buf.push_partial(scans) {
            Ok(_) => {}
            Err(Error::Cancelled { .. }) => break,
            Err(e) => {
                status = fail("push", &e);
                break;
            }
        }
        if args.cyclic {
            // the block repeats (in the kernel, or in the buffer's pusher thread): wait for
            // Ctrl-C
            while !stop.stopped() {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            break;
        }
        if s.samples != 0 {
            left -= scans as u64;
            if left == 0 {
                break;
            }
        }
        if scans < want {
            break; // end of input
        }
    }
    if let Err(e) = buf.close() {
        return fail("restoring the device", &e);
    }
    status
}
