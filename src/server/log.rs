//! The server's log: one line per client connect/disconnect and per error, and with
//! `verbose` one per command. Lines go to whatever the embedding application gives
//! ([`super::ServerOptions::logger`]); the CLI prints them on stderr.

use super::Logger as Sink;

/// The server's logger (cheap to clone).
#[derive(Clone)]
pub(super) struct Log {
    sink: Option<Sink>,
    verbose: bool,
}

impl Log {
    pub(super) fn new(sink: Option<Sink>, verbose: bool) -> Log {
        Log { sink, verbose }
    }

    /// Connects, disconnects, starting and stopping.
    pub(super) fn info(&self, line: &str) {
        if let Some(s) = &self.sink {
            s(line);
        }
    }

    /// Something went wrong.
    pub(super) fn error(&self, line: &str) {
        if let Some(s) = &self.sink {
            s(&format!("error: {line}"));
        }
    }

    /// Per command and per buffer event, with `verbose` only (the line is made only then).
    pub(super) fn detail(&self, line: impl FnOnce() -> String) {
        if self.verbose() {
            self.info(&line());
        }
    }

    /// Whether per-command lines are wanted (to skip formatting them otherwise).
    pub(super) fn verbose(&self) -> bool {
        self.verbose && self.sink.is_some()
    }
}
