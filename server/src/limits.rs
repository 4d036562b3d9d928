//! Per-client rate limits and bad-credential throttling (ADR 0104).
//!
//! Both are kept in process memory, keyed by the client's IP address. With
//! several replicas behind a load balancer each replica limits on its own
//! (the effective limit is the per-replica limit times the replicas).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most entries a limiter table holds. Sources beyond it share one overflow
/// entry until a sweep makes room, so a flood from many addresses is
/// limited as one client and the table never grows past this.
pub const MAX_ENTRIES: usize = 65_536;

/// Stale entries are swept at most this often (one pass over at most
/// [`MAX_ENTRIES`] entries), so a request costs O(1) amortised.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Whom a limit applies to: an IPv4 address, or an IPv6 /64 (what one
/// subscriber is given); `Overflow` stands for every source that did not
/// fit in a full table.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Source {
    V4(u32),
    V6(u64),
    Overflow,
}

impl Source {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Source::V4(u32::from(a)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Source::V4(u32::from(v4)),
                None => Source::V6((u128::from(a) >> 64) as u64),
            },
        }
    }
}

/// A map bounded in entries, swept of stale entries by time.
struct Table<K, V> {
    map: HashMap<K, V>,
    last_sweep: Instant,
}

impl<K: Eq + Hash, V> Table<K, V> {
    fn new() -> Self {
        Self {
            map: HashMap::new(),
            last_sweep: Instant::now(),
        }
    }

    /// Sweeps when due; then the entry for `k`, or for `overflow` when the
    /// table is full and `k` is not in it.
    fn entry(
        &mut self,
        k: K,
        overflow: K,
        now: Instant,
        fresh: impl Fn(&V) -> bool,
        init: impl FnOnce() -> V,
    ) -> &mut V {
        if now.duration_since(self.last_sweep) >= SWEEP_EVERY {
            self.map.retain(|_, v| fresh(v));
            self.last_sweep = now;
        }
        let k = if self.map.len() >= MAX_ENTRIES && !self.map.contains_key(&k) {
            overflow
        } else {
            k
        };
        self.map.entry(k).or_insert_with(init)
    }
}

/// Token bucket per client IP (IPv6: per /64).
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<Table<Source, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second == 0` disables the limiter.
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(Table::new()),
        }
    }

    /// Entries held (for tests and metrics).
    pub fn entries(&self) -> usize {
        self.buckets.lock().map(|b| b.map.len()).unwrap_or(0)
    }

    /// Takes one request's token; `false` when the client is over its limit.
    pub fn allow(&self, ip: IpAddr) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let Ok(mut b) = self.buckets.lock() else {
            return true;
        };
        // A bucket that has refilled is the same as no bucket.
        let full = Duration::from_secs_f64(self.burst / self.per_second);
        let (tokens, last) = b.entry(
            Source::of(ip),
            Source::Overflow,
            now,
            |(_, t)| now.duration_since(*t) < full,
            || (self.burst, now),
        );
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
    Source(Source),
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
    failures: Mutex<Table<Key, (u32, Instant)>>,
}

impl AuthThrottle {
    /// `max_failures` per `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            failures: Mutex::new(Table::new()),
        }
    }

    /// Entries held (for tests and metrics).
    pub fn entries(&self) -> usize {
        self.failures.lock().map(|f| f.map.len()).unwrap_or(0)
    }

    fn over(&self, f: &Table<Key, (u32, Instant)>, k: &Key, now: Instant) -> bool {
        let over = |k: &Key| matches!(f.map.get(k), Some((n, start)) if *n >= self.max_failures && now.duration_since(*start) < self.window);
        over(k)
            || (f.map.len() >= MAX_ENTRIES
                && !f.map.contains_key(k)
                && over(&match k {
                    Key::Source(_) => Key::Source(Source::Overflow),
                    Key::Target(_) => Key::Target(String::new()),
                }))
    }

    /// `true` while wrong guesses from `ip`, or aimed at `target`, get 429.
    pub fn blocked(&self, ip: IpAddr, target: Option<&str>) -> bool {
        let now = Instant::now();
        let Ok(f) = self.failures.lock() else {
            return true;
        };
        self.over(&f, &Key::Source(Source::of(ip)), now)
            || target.is_some_and(|t| self.over(&f, &Key::Target(t.to_string()), now))
    }

    /// Records one wrong guess from `ip`, aimed at `target` when it named one.
    pub fn fail(&self, ip: IpAddr, target: Option<&str>) {
        let now = Instant::now();
        let Ok(mut f) = self.failures.lock() else {
            return;
        };
        let w = self.window;
        let keys = std::iter::once(Key::Source(Source::of(ip)))
            .chain(target.map(|t| Key::Target(t.to_string())));
        for k in keys {
            let overflow = match k {
                Key::Source(_) => Key::Source(Source::Overflow),
                Key::Target(_) => Key::Target(String::new()),
            };
            let e = f.entry(
                k,
                overflow,
                now,
                |(_, s)| now.duration_since(*s) < w,
                || (0, now),
            );
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

    /// A million distinct source addresses: the tables stay bounded, the
    /// flood is limited as one overflow client, and an IPv6 /64 is one source.
    #[test]
    fn a_million_sources_keep_the_tables_bounded() {
        let r = RateLimiter::new(1, 2);
        let t = AuthThrottle::new(3, Duration::from_secs(900));
        let mut refused = 0u32;
        for i in 0..1_000_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            if !r.allow(ip) {
                refused += 1;
            }
            t.fail(ip, Some(&format!("TD-{i:012}")));
        }
        assert!(r.entries() <= MAX_ENTRIES + 1, "{}", r.entries());
        assert!(t.entries() <= MAX_ENTRIES + 2, "{}", t.entries());
        assert!(
            refused > 500_000,
            "sources past the table share one bucket: {refused}"
        );
        // Known sources keep their own entries.
        let first = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000));
        assert!(!t.blocked(first, None));
        // Every address of one IPv6 /64 is one source.
        let r = RateLimiter::new(1, 3);
        let mut allowed = 0;
        for i in 0..1000u128 {
            let ip = IpAddr::V6(std::net::Ipv6Addr::from((0x2001_0db8u128 << 96) | i));
            allowed += u32::from(r.allow(ip));
        }
        assert_eq!(allowed, 3);
        assert_eq!(r.entries(), 1);
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
