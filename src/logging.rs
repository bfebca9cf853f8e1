//! The log, set up in one place for every command, so that no place in the code can flood it: a
//! full disk fails every write, and each failure logged its line (30,968 lines, 5.3 MB in 20 s).
//! A place that logs more than a few lines in a window has the rest counted instead, and the
//! count is said when its window ends (before its next line, or by a watcher once a window
//! passes, so a burst that stops is reported too).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tracing::callsite::Identifier;
use tracing::{Event, Metadata};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Lines one place in the code logs per window; past them, lines are counted instead.
const LINES_PER_WINDOW: u32 = 10;
const WINDOW: Duration = Duration::from_secs(10);
/// The target of the lines that say how many were left out (never themselves left out).
const COUNT_TARGET: &str = "hookwatch::log";

/// Logs to `writer` at `RUST_LOG`'s levels (default `info`), repeated lines thinned out.
pub fn init<W>(writer: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let levels = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let lines = tracing_subscriber::fmt::layer().with_ansi(ansi).with_writer(writer);
    let throttle = Throttle::default();
    tracing_subscriber::registry().with(levels).with(lines.with_filter(throttle.clone())).init();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(WINDOW);
            throttle.report_ended(Instant::now());
        }
    });
}

/// Logs to a file (no colour).
pub fn init_file(file: std::fs::File) {
    init(Mutex::new(file), false);
}

/// How many lines each place in the code has logged in its current window.
#[derive(Default, Clone)]
pub struct Throttle {
    places: std::sync::Arc<Mutex<HashMap<Identifier, Place>>>,
}

struct Place {
    /// `file:line`, as the count of its left-out lines names it.
    at: String,
    since: Instant,
    logged: u32,
    left_out: u64,
}

impl Place {
    /// Starts a new window if the current one has ended by `now`: how many lines it left out.
    fn roll(&mut self, now: Instant) -> Option<u64> {
        if now.duration_since(self.since) < WINDOW {
            return None;
        }
        (self.since, self.logged) = (now, 0);
        Some(std::mem::take(&mut self.left_out))
    }
}

/// What the throttle says of a line.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    log: bool,
    /// Lines from the same place left out in the window that just ended, to be said first.
    left_out_before: u64,
}

impl Throttle {
    fn judge(&self, place: Identifier, at: impl FnOnce() -> String, now: Instant) -> Verdict {
        let Ok(mut places) = self.places.lock() else { return Verdict { log: true, left_out_before: 0 } };
        let p = places.entry(place).or_insert_with(|| Place { at: at(), since: now, logged: 0, left_out: 0 });
        let left_out_before = p.roll(now).unwrap_or(0);
        let log = p.logged < LINES_PER_WINDOW;
        if log {
            p.logged += 1;
        } else {
            p.left_out += 1;
        }
        Verdict { log, left_out_before }
    }

    /// Says the counts of the windows that have ended with lines left out, and starts new ones.
    fn report_ended(&self, now: Instant) {
        let ended: Vec<(String, u64)> = {
            let Ok(mut places) = self.places.lock() else { return };
            let with_lines_left_out = places.values_mut().filter(|p| p.left_out > 0);
            with_lines_left_out.filter_map(|p| Some((p.at.clone(), p.roll(now)?))).collect()
        };
        // Logged after the lock is let go: each line comes back through this filter.
        for (at, n) in ended {
            left_out(&at, n);
        }
    }
}

fn left_out(at: &str, n: u64) {
    let per = WINDOW.as_secs();
    tracing::warn!(target: COUNT_TARGET, "{n} more lines from {at} were left out (at most {LINES_PER_WINDOW} per {per}s)");
}

impl<S> Filter<S> for Throttle {
    fn enabled(&self, _: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        let meta = event.metadata();
        if meta.target() == COUNT_TARGET {
            return true;
        }
        let at = || format!("{}:{}", meta.file().unwrap_or("?"), meta.line().unwrap_or(0));
        let verdict = self.judge(meta.callsite(), at, Instant::now());
        if verdict.left_out_before > 0 {
            left_out(&at(), verdict.left_out_before);
        }
        verdict.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A place in the code, as the throttle keys it.
    fn place() -> Identifier {
        Identifier(&CALLSITE)
    }

    struct Site;
    impl tracing::Callsite for Site {
        fn set_interest(&self, _: tracing::subscriber::Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            unreachable!("never registered")
        }
    }
    static CALLSITE: Site = Site;

    #[test]
    fn a_place_logs_a_few_lines_per_window_and_the_rest_are_counted_and_said() {
        let (throttle, t0) = (Throttle::default(), Instant::now());
        let at = || "src/x.rs:1".to_string();
        let verdicts: Vec<bool> = (0..15).map(|_| throttle.judge(place(), at, t0).log).collect();
        assert_eq!(verdicts.iter().filter(|v| **v).count(), LINES_PER_WINDOW as usize);
        assert!(verdicts[..LINES_PER_WINDOW as usize].iter().all(|v| *v), "the first ones go through");
        let next = throttle.judge(place(), at, t0 + WINDOW);
        assert_eq!(next, Verdict { log: true, left_out_before: 5 }, "a new window says what was left out");
        assert_eq!(throttle.judge(place(), at, t0 + WINDOW).left_out_before, 0, "once");
    }

    #[test]
    fn a_burst_that_stops_is_reported_when_its_window_ends() {
        let (throttle, t0) = (Throttle::default(), Instant::now());
        for _ in 0..12 {
            throttle.judge(place(), || "src/x.rs:1".to_string(), t0);
        }
        throttle.report_ended(t0 + WINDOW / 2);
        assert_eq!(throttle.places.lock().unwrap()[&place()].left_out, 2, "not before the window ends");
        throttle.report_ended(t0 + WINDOW);
        assert_eq!(throttle.places.lock().unwrap()[&place()].left_out, 0, "said, and a new window begun");
    }
}
