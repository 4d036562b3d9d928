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

/// Counts failed authentications per client IP in a fixed window; once a
/// client reaches the limit it is refused (429) until the window ends.
pub struct AuthThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
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

    /// `true` while the client must wait.
    pub fn blocked(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let f = self.failures.lock().expect("throttle lock");
        matches!(f.get(&ip), Some((n, start)) if *n >= self.max_failures && now.duration_since(*start) < self.window)
    }

    /// Records one failed attempt.
    pub fn fail(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut f = self.failures.lock().expect("throttle lock");
        if f.len() > SWEEP_AT {
            let w = self.window;
            f.retain(|_, (_, s)| now.duration_since(*s) < w);
        }
        let e = f.entry(ip).or_insert((0, now));
        if now.duration_since(e.1) >= self.window {
            *e = (0, now);
        }
        e.0 += 1;
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
        t.fail(ip);
        assert!(!t.blocked(ip));
        t.fail(ip);
        assert!(t.blocked(ip));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!t.blocked(ip));
    }
}
