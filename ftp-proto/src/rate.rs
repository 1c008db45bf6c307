//! Bandwidth limits: a token bucket that reads no clock (time is passed in).
//!
//! [`TokenBucket::take`] lets the bytes go at once and answers how long the sender must pause
//! afterwards so that, on average, no more than the rate passes: the bucket may go into debt
//! by one chunk, which keeps the arithmetic to one subtraction per chunk and never stalls a
//! chunk larger than the burst. A driver holds one bucket per session, per user and per
//! server (for each direction) and pauses for the longest of their answers.

use std::time::{Duration, Instant};

/// A token bucket: `rate` bytes per second, up to `burst` bytes saved up.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: u64,
    burst: u64,
    /// Bytes that may go now; negative: owed.
    tokens: i128,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `rate` bytes per second (at least 1) and `burst` bytes (at least 1).
    pub fn new(rate: u64, burst: u64, now: Instant) -> Self {
        let burst = burst.max(1);
        Self {
            rate: rate.max(1),
            burst,
            tokens: i128::from(burst),
            last: now,
        }
    }

    /// The rate, bytes per second.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// `n` bytes go at `now`: how long to pause before the next ones.
    pub fn take(&mut self, n: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = self.last.max(now);
        let earned = elapsed.as_nanos() * u128::from(self.rate) / 1_000_000_000;
        let earned = i128::try_from(earned).unwrap_or(i128::MAX);
        self.tokens = self
            .tokens
            .saturating_add(earned)
            .min(i128::from(self.burst))
            .saturating_sub(i128::from(n));
        if self.tokens >= 0 {
            return Duration::ZERO;
        }
        let owed = self.tokens.unsigned_abs();
        let nanos = owed.saturating_mul(1_000_000_000) / u128::from(self.rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, 500, t0);
        assert_eq!(b.take(500, t0), Duration::ZERO);
        // 250 bytes more, with nothing saved: a quarter of a second owed.
        assert_eq!(b.take(250, t0), Duration::from_millis(250));
        // After the pause the debt is paid.
        let t1 = t0 + Duration::from_millis(250);
        assert_eq!(b.take(0, t1), Duration::ZERO);
        // A long idle time saves up the burst only.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!(b.take(500, t2), Duration::ZERO);
        assert_eq!(b.take(1000, t2), Duration::from_secs(1));
    }

    #[test]
    fn the_average_rate_holds() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10_000, 1000, t0);
        let mut now = t0;
        let mut sent = 0u64;
        while sent < 100_000 {
            now += b.take(4096, now);
            sent += 4096;
        }
        let secs = now.duration_since(t0).as_secs_f64();
        let rate = sent as f64 / secs;
        assert!((9_000.0..=11_000.0).contains(&rate), "{rate} B/s");
    }

    #[test]
    fn time_never_runs_backwards() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, 100, t0 + Duration::from_secs(1));
        assert_eq!(b.take(100, t0), Duration::ZERO);
        assert_eq!(b.take(50, t0), Duration::from_millis(500));
    }
}
