//! The progress bar of input hashing: drawn only on a terminal, and only once hashing has
//! taken long enough to be worth watching.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cache::digest::Progress;

/// Hashing shorter than this shows no bar.
const DELAY: Duration = Duration::from_millis(300);

/// Shows a byte progress bar on stderr after [`DELAY`].
pub(super) struct HashProgress {
    enabled: bool,
    started: Mutex<Option<Instant>>,
    total: AtomicU64,
    done: AtomicU64,
    bar: Mutex<Option<ProgressBar>>,
}

impl HashProgress {
    /// A reporter that draws only when stderr is a terminal and `quiet` is off.
    pub(super) fn new(quiet: bool) -> Self {
        HashProgress {
            enabled: !quiet && std::io::stderr().is_terminal(),
            started: Mutex::new(None),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            bar: Mutex::new(None),
        }
    }
}

impl Progress for HashProgress {
    fn start(&self, _files: usize, bytes: u64) {
        if !self.enabled {
            return;
        }
        self.total.fetch_add(bytes, Ordering::Relaxed);
        if let Ok(mut s) = self.started.lock() {
            s.get_or_insert_with(Instant::now);
        }
        if let Ok(bar) = self.bar.lock()
            && let Some(bar) = bar.as_ref()
        {
            bar.set_length(self.total.load(Ordering::Relaxed));
        }
    }

    fn advance(&self, bytes: u64) {
        if !self.enabled {
            return;
        }
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let Ok(mut bar) = self.bar.lock() else { return };
        let Some(started) = self.started.lock().ok().and_then(|s| *s) else {
            return;
        };
        let elapsed = started.elapsed();
        if bar.is_none() && elapsed >= DELAY {
            let b = ProgressBar::with_draw_target(
                Some(self.total.load(Ordering::Relaxed)),
                ProgressDrawTarget::stderr(),
            );
            b.set_style(
                ProgressStyle::with_template(
                    "hashing inputs {wide_bar} {binary_bytes}/{binary_total_bytes} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            *bar = Some(b);
        }
        if let Some(b) = bar.as_ref() {
            b.set_position(done);
            // The rate since hashing began: the bar itself starts late, so its own estimate
            // would count everything hashed before it appeared as instantaneous.
            let secs = elapsed.as_secs_f64().max(0.001);
            b.set_message(format!("{:.0} MiB/s", done as f64 / secs / 1048576.0));
        }
    }

    fn finish(&self) {
        if let Ok(mut bar) = self.bar.lock()
            && let Some(b) = bar.take()
        {
            b.finish_and_clear();
        }
    }
}
