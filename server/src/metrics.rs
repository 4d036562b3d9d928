//! Prometheus metrics, kept in process memory and rendered as text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters and latency histograms of the service.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, &'static str, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    /// Cases created (not counting idempotent replays).
    pub cases_created: AtomicU64,
    /// Cases whose access was restored with a recovery key.
    pub cases_restored: AtomicU64,
    /// Items added to the list (with cases or later).
    pub items_added: AtomicU64,
    /// Items withdrawn.
    pub items_withdrawn: AtomicU64,
    /// Change-log entries served to platforms.
    pub sync_entries: AtomicU64,
    /// Feedback events recorded.
    pub feedback_events: AtomicU64,
    /// Failed case-token or API-key checks.
    pub auth_failures: AtomicU64,
    /// Requests refused by the rate limiter or the auth throttle.
    pub rate_limited: AtomicU64,
}

impl Metrics {
    /// Records one finished request (route is the matched route template).
    pub fn observe(&self, route: &str, method: &'static str, status: u16, took: Duration) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((route.to_string(), method, status))
            .or_default() += 1;
        let secs = took.as_secs_f64();
        let mut l = self.latency.lock().expect("metrics lock");
        let h = l.entry(route.to_string()).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Prometheus text exposition format.
    pub fn render(&self, backend: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP takedown_info Service build and storage backend.");
        let _ = writeln!(s, "# TYPE takedown_info gauge");
        let _ = writeln!(
            s,
            "takedown_info{{version=\"{}\",backend=\"{backend}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            s,
            "# HELP takedown_http_requests_total HTTP requests by route, method and status."
        );
        let _ = writeln!(s, "# TYPE takedown_http_requests_total counter");
        for ((route, method, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                s,
                "takedown_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            s,
            "# HELP takedown_http_request_duration_seconds Request latency by route."
        );
        let _ = writeln!(s, "# TYPE takedown_http_request_duration_seconds histogram");
        for (route, h) in self.latency.lock().expect("metrics lock").iter() {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "takedown_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                s,
                "takedown_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                s,
                "takedown_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                s,
                "takedown_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        for (name, help, c) in [
            (
                "takedown_cases_created_total",
                "Cases created.",
                &self.cases_created,
            ),
            (
                "takedown_cases_restored_total",
                "Case accesses restored with a recovery key.",
                &self.cases_restored,
            ),
            (
                "takedown_items_added_total",
                "Items added to the list.",
                &self.items_added,
            ),
            (
                "takedown_items_withdrawn_total",
                "Items withdrawn.",
                &self.items_withdrawn,
            ),
            (
                "takedown_sync_entries_served_total",
                "Change-log entries served to platforms.",
                &self.sync_entries,
            ),
            (
                "takedown_feedback_events_total",
                "Feedback events recorded.",
                &self.feedback_events,
            ),
            (
                "takedown_auth_failures_total",
                "Failed token or API key checks.",
                &self.auth_failures,
            ),
            (
                "takedown_rate_limited_total",
                "Requests refused by rate limits or throttling.",
                &self.rate_limited,
            ),
        ] {
            let _ = writeln!(s, "# HELP {name} {help}");
            let _ = writeln!(s, "# TYPE {name} counter");
            let _ = writeln!(s, "{name} {}", c.load(Ordering::Relaxed));
        }
        s
    }
}
