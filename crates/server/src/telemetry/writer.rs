//! Where log lines go: appended to one buffer in memory by the thread that logs, and written
//! to stderr by a thread of their own, a burst at a time. A request's thread never makes a
//! system call for its line, and the writing thread is woken once per burst, not per line:
//! `tracing-appender`'s channel woke it for every line whenever it had caught up, which cost
//! a purchase about a microsecond (BENCHMARKS.md, "The feed when nobody follows it").
//!
//! Lines keep the order they were logged in. Should stderr block (a stuck reader) and the
//! buffer reach [`LIMIT`], further lines are dropped and counted, and the count is written
//! once stderr moves again: checkout never waits for its log.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long the writer lets a burst gather after its first line, before one write: a line
/// reaches stderr at most this late. Each burst costs a wake-up of this thread (and of the
/// request that logs its first line); at 1 ms, purchases made bursts of 15–30 lines where
/// health checks, answered faster, made them of 80–100.
const GATHER: Duration = Duration::from_millis(10);

/// Bytes held for a blocked stderr before lines are dropped.
const LIMIT: usize = 16 * 1024 * 1024;

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    dropped: u64,
    closing: bool,
}

/// The lines waiting to be written, shared by every logging thread and the writer.
#[derive(Default)]
pub(super) struct Shared {
    pending: Mutex<Pending>,
    /// Signalled when the first line of a burst arrives, and at shutdown.
    arrived: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A thread that panicked while appending left whole lines or none: keep going.
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The `tracing-subscriber` writer: cheap to clone, one per subscriber.
#[derive(Clone)]
pub(super) struct Lines(Arc<Shared>);

/// Keeps the writing thread; dropping it writes what is left and stops the thread.
#[must_use = "dropping the guard stops the log writer"]
pub struct Flush {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts the writing thread.
pub(super) fn start() -> (Lines, Flush) {
    let shared = Arc::new(Shared::default());
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn({
            let shared = shared.clone();
            move || write_out(&shared, &mut std::io::stderr())
        })
        .expect("the log writer thread starts");
    (
        Lines(shared.clone()),
        Flush {
            shared,
            thread: Some(thread),
        },
    )
}

/// The writing thread: waits for a burst's first line, lets the burst gather, writes it.
fn write_out(shared: &Shared, out: &mut impl Write) {
    let mut spare = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.lines.is_empty() && pending.dropped == 0 && !pending.closing {
            pending = shared
                .arrived
                .wait(pending)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        let closing = pending.closing;
        if !closing {
            drop(pending);
            std::thread::sleep(GATHER);
            pending = shared.lock();
        }
        std::mem::swap(&mut pending.lines, &mut spare);
        let dropped = std::mem::take(&mut pending.dropped);
        drop(pending);
        if dropped > 0 {
            let _ = writeln!(out, "log: {dropped} lines dropped while stderr was blocked");
        }
        // Nowhere to report a failed write to: the lines are lost, as they would be.
        let _ = out.write_all(&spare).and_then(|()| out.flush());
        spare.clear();
        if closing {
            return;
        }
    }
}

impl Write for &Shared {
    /// One call per line: the formatter hands each event over whole.
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.lock();
        if pending.lines.len() + line.len() > LIMIT {
            pending.dropped += 1;
            return Ok(line.len());
        }
        let first = pending.lines.is_empty();
        pending.lines.extend_from_slice(line);
        drop(pending);
        if first {
            self.arrived.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Each line is written through a borrow of the shared buffer: nothing is cloned per line.
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = &'a Shared;

    fn make_writer(&'a self) -> Self::Writer {
        &self.0
    }
}

impl std::fmt::Debug for Flush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flush").finish_non_exhaustive()
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.arrived.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines from many threads come out whole and in the order each thread logged them;
    /// what is left at shutdown is written too.
    #[test]
    fn lines_come_out_whole_and_in_order() {
        let shared = Arc::new(Shared::default());
        let out = Arc::new(Mutex::new(Vec::new()));
        let writer = std::thread::spawn({
            let (shared, out) = (shared.clone(), out.clone());
            move || write_out(&shared, &mut *out.lock().unwrap())
        });
        let loggers: Vec<_> = (0..8)
            .map(|t| {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let mut lines = &*shared;
                    for i in 0..2_000 {
                        lines.write_all(format!("thread {t} line {i}\n").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for logger in loggers {
            logger.join().unwrap();
        }
        shared.lock().closing = true;
        shared.arrived.notify_one();
        writer.join().unwrap();
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let mut next = [0; 8];
        for line in text.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            let (t, i): (usize, usize) = (words[1].parse().unwrap(), words[3].parse().unwrap());
            assert_eq!(i, next[t], "thread {t}'s lines in order: {line}");
            next[t] += 1;
        }
        assert_eq!(next, [2_000; 8], "every line written");
    }

    /// With stderr stuck, lines past the limit are dropped and counted, not queued forever.
    #[test]
    fn a_full_buffer_drops_lines_and_says_so() {
        let shared = Arc::new(Shared::default());
        let mut lines = &*shared;
        let line = vec![b'x'; 1024];
        for _ in 0..(LIMIT / 1024 + 10) {
            lines.write_all(&line).unwrap();
        }
        assert_eq!(shared.lock().dropped, 10);
        shared.lock().closing = true;
        let mut out = Vec::new();
        write_out(&shared, &mut out);
        assert!(String::from_utf8_lossy(&out).starts_with("log: 10 lines dropped"));
        assert_eq!(out.iter().filter(|&&b| b == b'x').count(), LIMIT / 1024 * 1024);
    }
}
