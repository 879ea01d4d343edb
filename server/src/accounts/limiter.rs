//! Sign-in throttling: after `MAX_PER_EMAIL` failures for one email, or `MAX_PER_ADDRESS` from one client address,
//! within `WINDOW_MS`, sign-ins for it are refused (429 `rate_limited`, `Retry-After`) until the oldest failure
//! leaves the window, whatever the password. A success clears the email's failures.
//!
//! In memory: right for one node. Several nodes would share it through the database or a cache (not built yet).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_PER_EMAIL: usize = 5;
pub const MAX_PER_ADDRESS: usize = 20;
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

    fn each(&self) -> [(&str, usize); 2] {
        [(&self.email, MAX_PER_EMAIL), (&self.address, MAX_PER_ADDRESS)]
    }
}

#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl LoginLimiter {
    /// `Some(seconds to wait)` while either key is over its limit at `now`.
    pub fn retry_after(&self, keys: &Keys, now: i64) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let mut wait_ms = 0i64;
        for (key, max) in keys.each() {
            if let Some(times) = map.get_mut(key) {
                while times.front().is_some_and(|t| now - t >= WINDOW_MS) {
                    times.pop_front();
                }
                if times.len() >= max {
                    // Allowed again when enough failures have left the window.
                    let nth = times[times.len() - max];
                    wait_ms = wait_ms.max(nth + WINDOW_MS - now);
                }
            }
        }
        (wait_ms > 0).then(|| (wait_ms as u64).div_ceil(1000).max(1))
    }

    pub fn record_failure(&self, keys: &Keys, now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, times| times.back().is_some_and(|t| now - t < WINDOW_MS));
        }
        for (key, _) in keys.each() {
            map.entry(key.to_owned()).or_default().push_back(now);
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

    #[test]
    fn email_limit_then_release_after_the_window() {
        let l = LoginLimiter::default();
        let k = Keys::new("Ann@Example.com", "10.0.0.1");
        for i in 0..MAX_PER_EMAIL as i64 {
            assert_eq!(l.retry_after(&k, i * 1000), None);
            l.record_failure(&k, i * 1000);
        }
        let same_email = Keys::new(" ann@example.com", "10.0.0.2");
        assert_eq!(l.retry_after(&same_email, 5000), Some(((WINDOW_MS - 5000) / 1000) as u64));
        assert_eq!(l.retry_after(&same_email, WINDOW_MS - 1), Some(1), "rounded up to a whole second");
        assert_eq!(l.retry_after(&same_email, WINDOW_MS), None, "the first failure left the window");
        assert_eq!(l.retry_after(&Keys::new("other@example.com", "10.0.0.1"), 5000), None);
    }

    #[test]
    fn address_limit_across_emails_and_success_clears_the_email() {
        let l = LoginLimiter::default();
        for i in 0..MAX_PER_ADDRESS {
            let k = Keys::new(&format!("u{i}@example.com"), "10.0.0.9");
            assert_eq!(l.retry_after(&k, 0), None);
            l.record_failure(&k, 0);
        }
        assert!(l.retry_after(&Keys::new("new@example.com", "10.0.0.9"), 10).is_some());
        assert!(l.retry_after(&Keys::new("new@example.com", "10.0.0.8"), 10).is_none());
        let k = Keys::new("b@example.com", "10.0.0.7");
        for _ in 0..MAX_PER_EMAIL {
            l.record_failure(&k, 0);
        }
        assert!(l.retry_after(&k, 1).is_some());
        l.record_success(&k);
        assert!(l.retry_after(&k, 1).is_none());
    }
}
