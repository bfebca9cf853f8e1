//! The log, set up in one place for every command, so that no place in the code can flood it: a
//! full disk fails every write, and each failure logged its line (30,968 lines, 5.3 MB in 20 s).
//! A place that logs more than a few lines in a window has the rest counted instead, and the
//! count is said before its next line is let through.

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
    tracing_subscriber::registry().with(levels).with(lines.with_filter(Throttle::default())).init();
}

/// Logs to a file (no colour).
pub fn init_file(file: std::fs::File) {
    init(Mutex::new(file), false);
}

/// How many lines each place in the code has logged in its current window.
#[derive(Default)]
pub struct Throttle {
    places: Mutex<HashMap<Identifier, Place>>,
}

struct Place {
    since: Instant,
    logged: u32,
    left_out: u64,
}

/// What the throttle says of a line.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    log: bool,
    /// Lines from the same place left out in the window that just ended, to be said first.
    left_out_before: u64,
}

impl Throttle {
    fn judge(&self, place: Identifier, now: Instant) -> Verdict {
        let Ok(mut places) = self.places.lock() else { return Verdict { log: true, left_out_before: 0 } };
        let p = places.entry(place).or_insert(Place { since: now, logged: 0, left_out: 0 });
        let mut left_out_before = 0;
        if now.duration_since(p.since) >= WINDOW {
            left_out_before = std::mem::take(&mut p.left_out);
            (p.since, p.logged) = (now, 0);
        }
        let log = p.logged < LINES_PER_WINDOW;
        if log {
            p.logged += 1;
        } else {
            p.left_out += 1;
        }
        Verdict { log, left_out_before }
    }
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
        let verdict = self.judge(meta.callsite(), Instant::now());
        if verdict.left_out_before > 0 {
            // Logged after the lock is let go: this line comes back through this filter.
            let place = format!("{}:{}", meta.file().unwrap_or("?"), meta.line().unwrap_or(0));
            let n = verdict.left_out_before;
            tracing::warn!(target: COUNT_TARGET, "{n} more lines from {place} were left out (at most {LINES_PER_WINDOW} per {}s); the next follows", WINDOW.as_secs());
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
        let verdicts: Vec<bool> = (0..15).map(|_| throttle.judge(place(), t0).log).collect();
        assert_eq!(verdicts.iter().filter(|v| **v).count(), LINES_PER_WINDOW as usize);
        assert!(verdicts[..LINES_PER_WINDOW as usize].iter().all(|v| *v), "the first ones go through");
        let next = throttle.judge(place(), t0 + WINDOW);
        assert_eq!(next, Verdict { log: true, left_out_before: 5 }, "a new window says what was left out");
        assert_eq!(throttle.judge(place(), t0 + WINDOW).left_out_before, 0, "once");
    }
}
