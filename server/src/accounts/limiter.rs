//! Sign-in throttling: after `N` failures for one email within `PERIOD` (`--limit-sign-in-failures-per-email`,
//! default 5 in 15 minutes), or `N` from one client address (`--limit-sign-in-failures-per-address`, default 20 in
//! 15 minutes), sign-ins for it are refused (429 `rate_limited`, `Retry-After`) until the oldest of those failures
//! is `PERIOD` old, whatever the password. A success clears the email's failures.
//!
//! A rate here is a window of failures, not a GCRA bucket: a sliding log of the last `N` failure times per key, so
//! that a locked email stays locked for the whole period and a success can clear it (docs/decisions.md #15).
//!
//! In memory: right for one node. Several nodes would share it through the database or a cache (not built yet).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::error::ApiError;
use crate::limits::gcra::Rate;
use crate::limits::refusal;

/// Keys kept before the empty ones are swept.
const SWEEP_ABOVE: usize = 10_000;

/// What a sign-in attempt is counted against.
#[derive(Debug, Clone)]
pub struct Keys {
    email: String,
    address: String,
}

impl Keys {
    /// `email` as the client typed it (compared lowercased and trimmed), `address` the client's.
    pub fn new(email: &str, address: &str) -> Self {
        Keys { email: format!("e:{}", email.trim().to_lowercase()), address: format!("a:{address}") }
    }
}

/// One key's limit: at most `max` failures within `window_ms`.
#[derive(Debug, Clone, Copy)]
struct Window {
    rate: Rate,
    max: usize,
    window_ms: i64,
    what: &'static str,
}

impl Window {
    fn new(rate: Rate, what: &'static str) -> Self {
        Window { rate, max: rate.count as usize, window_ms: rate.period.as_millis() as i64, what }
    }
}

#[derive(Debug)]
pub struct LoginLimiter {
    per_email: Window,
    per_address: Window,
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl LoginLimiter {
    /// `per_email` and `per_address`: `N/PERIOD`, at most `N` failures within any `PERIOD`.
    pub fn new(per_email: Rate, per_address: Rate) -> Self {
        LoginLimiter {
            per_email: Window::new(per_email, "failed sign-ins for this email"),
            per_address: Window::new(per_address, "failed sign-ins from this address"),
            failures: Mutex::default(),
        }
    }

    fn each<'k>(&self, keys: &'k Keys) -> [(&'k str, Window); 2] {
        [(&keys.email, self.per_email), (&keys.address, self.per_address)]
    }

    /// The refusal while either key is over its limit at `now` (Unix ms): the one with the longer wait.
    pub fn check(&self, keys: &Keys, now: i64) -> Result<(), ApiError> {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let mut longest: Option<(i64, Window)> = None;
        for (key, limit) in self.each(keys) {
            let Some(times) = map.get_mut(key) else { continue };
            while times.front().is_some_and(|t| now - t >= limit.window_ms) {
                times.pop_front();
            }
            if times.len() >= limit.max {
                // Allowed again when enough failures have left the window.
                let wait = times[times.len() - limit.max] + limit.window_ms - now;
                if wait > 0 && longest.is_none_or(|(w, _)| wait > w) {
                    longest = Some((wait, limit));
                }
            }
        }
        match longest {
            Some((wait_ms, limit)) => Err(refusal(limit.what, limit.rate, Duration::from_millis(wait_ms as u64))),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, keys: &Keys, now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > SWEEP_ABOVE {
            let longest = self.per_email.window_ms.max(self.per_address.window_ms);
            map.retain(|_, times| times.back().is_some_and(|t| now - t < longest));
        }
        for (key, limit) in self.each(keys) {
            let times = map.entry(key.to_owned()).or_default();
            times.push_back(now);
            // Only the last `max` failures decide: older ones are never read again.
            while times.len() > limit.max {
                times.pop_front();
            }
        }
    }

    /// A successful sign-in forgets the email's failures (not the address's).
    pub fn record_success(&self, keys: &Keys) {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(&keys.email);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::LimitSettings;

    const MIN: i64 = 60_000;

    fn defaults() -> LoginLimiter {
        let s = LimitSettings::default();
        LoginLimiter::new(s.sign_in_failures_per_email, s.sign_in_failures_per_address)
    }

    fn wait(l: &LoginLimiter, k: &Keys, now: i64) -> Option<u64> {
        l.check(k, now).err().map(|e| e.retry_after_secs.unwrap())
    }

    #[test]
    fn email_limit_then_release_after_the_window() {
        let l = defaults();
        let k = Keys::new("Ann@Example.com", "10.0.0.1");
        for i in 0..5 {
            assert_eq!(wait(&l, &k, i * 1000), None);
            l.record_failure(&k, i * 1000);
        }
        let same_email = Keys::new(" ann@example.com", "10.0.0.2");
        assert_eq!(wait(&l, &same_email, 5000), Some(((15 * MIN - 5000) / 1000) as u64));
        let e = l.check(&same_email, 5000).unwrap_err();
        assert_eq!(e.message, "too many failed sign-ins for this email (limit 5/15m): retry in 895 s");
        assert_eq!(wait(&l, &same_email, 15 * MIN - 1), Some(1), "rounded up to a whole second");
        assert_eq!(wait(&l, &same_email, 15 * MIN), None, "the first failure left the window");
        assert_eq!(wait(&l, &Keys::new("other@example.com", "10.0.0.1"), 5000), None);
    }

    #[test]
    fn address_limit_across_emails_and_success_clears_the_email() {
        let l = defaults();
        for i in 0..20 {
            let k = Keys::new(&format!("u{i}@example.com"), "10.0.0.9");
            assert_eq!(wait(&l, &k, 0), None);
            l.record_failure(&k, 0);
        }
        let e = l.check(&Keys::new("new@example.com", "10.0.0.9"), 10).unwrap_err();
        assert!(e.message.contains("failed sign-ins from this address (limit 20/15m)"), "{}", e.message);
        assert!(wait(&l, &Keys::new("new@example.com", "10.0.0.8"), 10).is_none());
        let k = Keys::new("b@example.com", "10.0.0.7");
        for _ in 0..5 {
            l.record_failure(&k, 0);
        }
        assert!(wait(&l, &k, 1).is_some());
        l.record_success(&k);
        assert!(wait(&l, &k, 1).is_none());
    }

    #[test]
    fn each_key_has_its_own_count_and_period() {
        let l = LoginLimiter::new(Rate::new(2, Duration::from_secs(60)), Rate::new(3, Duration::from_secs(600)));
        let k = Keys::new("c@example.com", "10.0.0.5");
        l.record_failure(&k, 0);
        l.record_failure(&k, 1000);
        assert_eq!(wait(&l, &k, 1000), Some(59), "two failures lock the email for a minute");
        l.record_success(&k);
        l.record_failure(&Keys::new("d@example.com", "10.0.0.5"), 2000);
        // The address has three failures in ten minutes: its wait (the longer) is the one given.
        let e = l.check(&Keys::new("e@example.com", "10.0.0.5"), 2000).unwrap_err();
        assert_eq!(e.retry_after_secs, Some(598));
        assert!(e.message.contains("from this address (limit 3/10m)"), "{}", e.message);
        assert_eq!(wait(&l, &k, 10 * MIN), None);
    }
}
