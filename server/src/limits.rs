//! Per-client rate limits and bad-credential throttling (ADR 0104).
//!
//! Both are kept in process memory, keyed by the client's IP address. With
//! several replicas behind a load balancer each replica limits on its own
//! (the effective limit is the per-replica limit times the replicas).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before stale ones are swept.
const SWEEP_AT: usize = 100_000;

/// Token bucket per client IP.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second == 0` disables the limiter.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request's token; `false` when the client is over its limit.
    pub fn allow(&self, ip: IpAddr) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let mut b = self.buckets.lock().expect("rate limiter lock");
        if b.len() > SWEEP_AT {
            let full = Duration::from_secs_f64(self.burst / self.per_second);
            b.retain(|_, (_, t)| now.duration_since(*t) < full);
        }
        let (tokens, last) = b.entry(ip).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What a failed guess counts against: the client's address, and the case
/// it aimed at (when it named one).
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Source(IpAddr),
    Target(String),
}

/// Counts wrong guesses (case tokens, API keys) per source address and per
/// target case in a fixed window. Once either reaches the limit, wrong
/// guesses from that source or at that case are answered 429 until the
/// window ends. It never refuses the right secret: the caller checks the
/// secret first and consults the throttle only for a wrong one (ADR 0104).
pub struct AuthThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<Key, (u32, Instant)>>,
}

impl AuthThrottle {
    /// `max_failures` per `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn over(&self, f: &HashMap<Key, (u32, Instant)>, k: &Key, now: Instant) -> bool {
        matches!(f.get(k), Some((n, start)) if *n >= self.max_failures && now.duration_since(*start) < self.window)
    }

    /// `true` while wrong guesses from `ip`, or aimed at `target`, get 429.
    pub fn blocked(&self, ip: IpAddr, target: Option<&str>) -> bool {
        let now = Instant::now();
        let f = self.failures.lock().expect("throttle lock");
        self.over(&f, &Key::Source(ip), now)
            || target.is_some_and(|t| self.over(&f, &Key::Target(t.to_string()), now))
    }

    /// Records one wrong guess from `ip`, aimed at `target` when it named one.
    pub fn fail(&self, ip: IpAddr, target: Option<&str>) {
        let now = Instant::now();
        let mut f = self.failures.lock().expect("throttle lock");
        if f.len() > SWEEP_AT {
            let w = self.window;
            f.retain(|_, (_, s)| now.duration_since(*s) < w);
        }
        let keys =
            std::iter::once(Key::Source(ip)).chain(target.map(|t| Key::Target(t.to_string())));
        for k in keys {
            let e = f.entry(k).or_insert((0, now));
            if now.duration_since(e.1) >= self.window {
                *e = (0, now);
            }
            e.0 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses() {
        let r = RateLimiter::new(1, 3);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(r.allow(ip) && r.allow(ip) && r.allow(ip));
        assert!(!r.allow(ip));
        assert!(r.allow(other));
        assert!(RateLimiter::new(0, 0).allow(ip));
    }

    #[test]
    fn throttle_blocks_after_max_failures_and_forgets_after_window() {
        let t = AuthThrottle::new(2, Duration::from_millis(50));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        t.fail(ip, None);
        assert!(!t.blocked(ip, None));
        t.fail(ip, None);
        assert!(t.blocked(ip, None));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!t.blocked(ip, None));
    }

    #[test]
    fn throttle_counts_per_source_and_per_target() {
        let t = AuthThrottle::new(2, Duration::from_secs(60));
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
        );
        // Two sources, one guess each, at the same case: the case is locked
        // for wrong guesses from anyone, the sources are not.
        t.fail(a, Some("TD-AAAA-AAAA-AAAA"));
        t.fail(b, Some("TD-AAAA-AAAA-AAAA"));
        assert!(t.blocked(c, Some("TD-AAAA-AAAA-AAAA")));
        assert!(!t.blocked(a, Some("TD-BBBB-BBBB-BBBB")));
        assert!(!t.blocked(a, None));
        // One source, guesses at two cases: the source is locked everywhere.
        t.fail(c, Some("TD-CCCC-CCCC-CCCC"));
        t.fail(c, Some("TD-DDDD-DDDD-DDDD"));
        assert!(t.blocked(c, Some("TD-EEEE-EEEE-EEEE")));
        assert!(t.blocked(c, None));
    }
}
