//! Exponential backoff with full jitter, capped: the delay before the next try after `failures` failed tries is
//! uniform in `[0, min(cap, base · 2^(failures-1))]` ("full jitter"). Jitter spreads the reconnects of many devices
//! after a server restart; the cap keeps a long outage from pushing retries hours away.
//!
//! Pure: the random draw is a parameter ([`Backoff::delay_with`]) so tests pin it; [`Backoff::delay`] draws one.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Ceiling of the first retry's delay.
    pub base: Duration,
    /// No delay ever exceeds this.
    pub cap: Duration,
}

impl Backoff {
    /// Queued messages: first retry within 0.5 s, never more than 30 s apart.
    pub const SEND: Backoff = Backoff { base: Duration::from_millis(500), cap: Duration::from_secs(30) };
    /// The realtime socket: first reconnect within 0.5 s, never more than 30 s apart.
    pub const RECONNECT: Backoff = Backoff { base: Duration::from_millis(500), cap: Duration::from_secs(30) };

    /// The largest delay allowed after `failures` consecutive failures (0 failures: no delay).
    pub fn ceiling(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        // 2^(failures-1), saturating well before overflow: 2^20 × base already exceeds any sane cap.
        let factor = 1u32 << (failures - 1).min(20);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter with a given draw: `unit` is a uniform sample of `[0, 1)` (clamped into it).
    pub fn delay_with(&self, failures: u32, unit: f64) -> Duration {
        let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
        self.ceiling(failures).mul_f64(unit)
    }

    /// Full jitter with a fresh random draw.
    pub fn delay(&self, failures: u32) -> Duration {
        self.delay_with(failures, random_unit())
    }
}

/// A uniform sample of `[0, 1)`. Jitter needs spread, not cryptographic quality: the standard library's per-instance
/// random SipHash keys give that without a dependency.
pub fn random_unit() -> f64 {
    let bits = std::collections::hash_map::RandomState::new().build_hasher().finish();
    // 53 random bits → the mantissa of a double in [0, 1).
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(5) };

    #[test]
    fn ceilings_double_then_cap() {
        let got: Vec<u128> = (0..10).map(|f| B.ceiling(f).as_millis()).collect();
        assert_eq!(got, vec![0, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        assert_eq!(B.ceiling(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        assert_eq!(B.delay_with(3, 0.0), Duration::ZERO);
        assert_eq!(B.delay_with(3, 0.5), Duration::from_millis(200));
        assert_eq!(B.delay_with(3, 1.0), Duration::from_millis(400));
        assert_eq!(B.delay_with(3, f64::NAN), Duration::ZERO);
        assert_eq!(B.delay_with(3, 7.0), Duration::from_millis(400));
    }

    #[test]
    fn random_draws_stay_in_range_and_vary() {
        let draws: Vec<f64> = (0..64).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let first = draws[0];
        assert!(draws.iter().any(|u| *u != first), "64 identical draws");
        for f in 0..12 {
            assert!(B.delay(f) <= B.ceiling(f));
        }
    }
}
