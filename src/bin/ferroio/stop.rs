//! Ctrl-C (SIGINT) and SIGTERM for the streaming subcommands: the first signal runs a stop
//! action (cancelling the buffer or event stream, whose blocked call then returns, so the
//! normal drop path restores the device); a second signal exits at once.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Signal handling for as long as it lives.
pub struct StopOnSignal {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
    stopped: Arc<AtomicBool>,
}

impl StopOnSignal {
    /// Runs `action` on the first SIGINT or SIGTERM.
    pub fn new(action: impl Fn() + Send + 'static) -> std::io::Result<StopOnSignal> {
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let handle = signals.handle();
        let stopped = Arc::new(AtomicBool::new(false));
        let flag = stopped.clone();
        let thread = std::thread::spawn(move || {
            for sig in signals.forever() {
                if flag.swap(true, Ordering::SeqCst) {
                    // a second signal: the user wants out now
                    std::process::exit(128 + sig);
                }
                action();
            }
        });
        Ok(StopOnSignal {
            handle,
            thread: Some(thread),
            stopped,
        })
    }

    /// Whether a signal arrived.
    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}

impl Drop for StopOnSignal {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
