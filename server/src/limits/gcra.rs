//! The rate algorithm: GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp). A rate of `N`
//! per `P` admits a burst of `N`, then one request every `P / N`. Each key holds only its "theoretical arrival time"
//! (TAT); a key whose TAT is in the past is exactly as if it were absent, which is what makes eviction free of
//! side effects.
//!
//! Times are microseconds on a monotonic clock chosen by the caller: pure, so the tests pin them.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// `N` requests per `period`, with a burst of `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

impl Rate {
    pub const fn new(count: u32, period: Duration) -> Self {
        Rate { count, period }
    }

    /// Time between two requests at the sustained rate, in µs (at least 1).
    fn interval_us(&self) -> i64 {
        (self.period.as_micros() as i64 / i64::from(self.count.max(1))).max(1)
    }

    /// How far ahead of now the TAT may run before a request is refused: the room for the burst.
    fn tolerance_us(&self) -> i64 {
        self.period.as_micros() as i64 - self.interval_us()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.period.as_secs();
        if self.period.subsec_nanos() != 0 {
            write!(f, "{}/{}ms", self.count, self.period.as_millis())
        } else if secs.is_multiple_of(3600) {
            write!(f, "{}/{}h", self.count, secs / 3600)
        } else if secs.is_multiple_of(60) {
            write!(f, "{}/{}m", self.count, secs / 60)
        } else {
            write!(f, "{}/{}s", self.count, secs)
        }
    }
}

/// `N/PERIOD`, the period a number with a unit `ms`, `s`, `m` or `h` (`20/10s`, `600/1m`); `N/s` means `N/1s`.
impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || format!("`{text}` is not a rate: write N/PERIOD, e.g. `20/10s` or `600/1m` (units ms, s, m, h)");
        let (count, period) = text.trim().split_once('/').ok_or_else(wrong)?;
        let count: u32 = count.trim().parse().map_err(|_| wrong())?;
        let period = period.trim();
        let digits = period.find(|c: char| !c.is_ascii_digit()).unwrap_or(period.len());
        let (amount, unit) = period.split_at(digits);
        let amount: u64 = if amount.is_empty() { 1 } else { amount.parse().map_err(|_| wrong())? };
        let period = match unit {
            "ms" => Duration::from_millis(amount),
            "s" => Duration::from_secs(amount),
            "m" => Duration::from_secs(amount * 60),
            "h" => Duration::from_secs(amount * 3600),
            _ => return Err(wrong()),
        };
        if count == 0 || period.is_zero() {
            return Err(format!("`{text}`: a rate needs at least one request in a period longer than zero"));
        }
        Ok(Rate { count, period })
    }
}

/// One bucket: the theoretical arrival time of the next request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bucket {
    tat_us: i64,
}

impl Bucket {
    /// Takes one request at `now_us`, or says how long to wait before one is allowed.
    pub fn take(&mut self, rate: &Rate, now_us: i64) -> Result<(), Duration> {
        let tat = self.tat_us.max(now_us);
        let allowed_at = tat - rate.tolerance_us();
        if now_us < allowed_at {
            return Err(Duration::from_micros((allowed_at - now_us) as u64));
        }
        self.tat_us = tat + rate.interval_us();
        Ok(())
    }

    /// Gives back the request last taken (one interval of the TAT), as if it had never come. At rest the bucket
    /// stays at rest: a TAT in the past means the same whatever its value.
    pub fn refund(&mut self, rate: &Rate) {
        self.tat_us -= rate.interval_us();
    }

    /// A bucket at rest (full burst again) is the same as no bucket: it can be forgotten.
    fn idle(&self, now_us: i64) -> bool {
        self.tat_us <= now_us
    }
}

/// Most keys one limiter keeps. Past it (after evicting the idle ones), a new key is admitted without being
/// tracked: memory stays bounded under a flood of distinct keys, at the price of leniency for the newcomers.
pub const MAX_KEYS: usize = 100_000;
/// Below this many keys the map is never swept.
const MIN_SWEEP: usize = 1_024;

/// Buckets by key (a visitor id, an address, an app id) under one rate.
#[derive(Debug)]
pub struct KeyedLimiter {
    rate: Rate,
    max_keys: usize,
    state: Mutex<Keyed>,
}

#[derive(Debug)]
struct Keyed {
    buckets: HashMap<String, Bucket>,
    /// The map is swept of idle buckets when it reaches this size (then set to twice what is left).
    sweep_at: usize,
}

impl KeyedLimiter {
    pub fn new(rate: Rate) -> Self {
        Self::with_max_keys(rate, MAX_KEYS)
    }

    pub fn with_max_keys(rate: Rate, max_keys: usize) -> Self {
        let state = Keyed { buckets: HashMap::new(), sweep_at: MIN_SWEEP.min(max_keys) };
        KeyedLimiter { rate, max_keys, state: Mutex::new(state) }
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Takes one request for `key` at `now_us`, or says how long to wait.
    pub fn check(&self, key: &str, now_us: i64) -> Result<(), Duration> {
        // The guarded map holds plain timestamps: a panic elsewhere leaves nothing half-written.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = state.buckets.get_mut(key) {
            return bucket.take(&self.rate, now_us);
        }
        if state.buckets.len() >= state.sweep_at {
            state.buckets.retain(|_, b| !b.idle(now_us));
            let left = state.buckets.len();
            state.sweep_at = (left * 2).clamp(MIN_SWEEP.min(self.max_keys), self.max_keys);
        }
        let mut bucket = Bucket::default();
        let taken = bucket.take(&self.rate, now_us);
        if state.buckets.len() < self.max_keys {
            state.buckets.insert(key.to_owned(), bucket);
        }
        taken
    }

    /// Gives back the request `key` last had admitted (a later check refused what it was for).
    pub fn refund(&self, key: &str) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = state.buckets.get_mut(key) {
            bucket.refund(&self.rate);
        }
    }

    /// Keys currently tracked.
    pub fn len(&self) -> usize {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn parses_and_prints_rates() {
        assert_eq!("20/10s".parse::<Rate>(), Ok(Rate::new(20, Duration::from_secs(10))));
        assert_eq!("600/1m".parse::<Rate>(), Ok(Rate::new(600, Duration::from_secs(60))));
        assert_eq!("5/s".parse::<Rate>(), Ok(Rate::new(5, Duration::from_secs(1))));
        assert_eq!(" 3 / 250ms ".parse::<Rate>(), Ok(Rate::new(3, Duration::from_millis(250))));
        assert_eq!("100/2h".parse::<Rate>(), Ok(Rate::new(100, Duration::from_secs(7200))));
        for bad in ["", "20", "0/1s", "5/0s", "5/1d", "x/1s", "-1/1s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
        for text in ["20/10s", "600/1m", "100/2h", "3/250ms"] {
            assert_eq!(text.parse::<Rate>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn a_burst_then_one_per_interval() {
        let rate = Rate::new(4, Duration::from_secs(2)); // one every 0.5 s
        let mut b = Bucket::default();
        for _ in 0..4 {
            assert_eq!(b.take(&rate, 0), Ok(()));
        }
        assert_eq!(b.take(&rate, 0), Err(Duration::from_millis(500)));
        assert_eq!(b.take(&rate, S / 4), Err(Duration::from_millis(250)), "a refusal costs nothing");
        assert_eq!(b.take(&rate, S / 2), Ok(()));
        assert!(b.take(&rate, S / 2).is_err());
        // After a whole period of rest the full burst is back.
        let rested = S / 2 + 2 * S;
        for _ in 0..4 {
            assert_eq!(b.take(&rate, rested), Ok(()));
        }
        assert!(b.take(&rate, rested).is_err());
    }

    #[test]
    fn a_refund_gives_back_exactly_one_request() {
        let l = KeyedLimiter::new(Rate::new(2, Duration::from_secs(10)));
        assert!(l.check("a", 0).is_ok());
        assert!(l.check("a", 0).is_ok());
        assert!(l.check("a", 0).is_err());
        l.refund("a");
        assert!(l.check("a", 0).is_ok(), "the refunded request's room is back");
        assert!(l.check("a", 0).is_err(), "and only that one");
        l.refund("unknown");
        assert!(l.check("unknown", 0).is_ok());
    }

    #[test]
    fn keys_are_independent() {
        let l = KeyedLimiter::new(Rate::new(1, Duration::from_secs(60)));
        assert!(l.check("a", 0).is_ok());
        assert_eq!(l.check("a", 0), Err(Duration::from_secs(60)));
        assert!(l.check("b", 0).is_ok());
        assert_eq!(l.check("a", 59 * S), Err(Duration::from_secs(1)));
        assert!(l.check("a", 60 * S).is_ok());
    }

    #[test]
    fn idle_buckets_are_evicted_and_memory_stays_bounded() {
        let l = KeyedLimiter::new(Rate::new(2, Duration::from_secs(1)));
        // 50 000 distinct keys, one request each, 100 µs apart: a bucket rests 0.5 s after its request, so about
        // 5 000 are live at any time; sweeping at twice what was left keeps the map within 10 000.
        let mut peak = 0;
        for i in 0..50_000i64 {
            assert!(l.check(&format!("10.0.{}.{}", i / 256, i % 256), i * 100).is_ok());
            peak = peak.max(l.len());
        }
        assert!(peak <= 10_000, "peak {peak}");
        // An hour later every old bucket is idle: the next sweeps drop all of them, and only the new keys remain.
        let later = 3_600 * S;
        for i in 0..20_000 {
            assert!(l.check(&format!("late-{i}"), later).is_ok());
        }
        assert_eq!(l.len(), 20_000);
    }

    #[test]
    fn a_full_map_still_limits_the_keys_it_holds() {
        let l = KeyedLimiter::with_max_keys(Rate::new(1, Duration::from_secs(60)), 3);
        for key in ["a", "b", "c"] {
            assert!(l.check(key, 0).is_ok());
        }
        assert!(l.check("d", 0).is_ok(), "untracked past the cap");
        assert_eq!(l.len(), 3);
        assert!(l.check("a", 1).is_err(), "tracked keys stay limited");
    }
}
