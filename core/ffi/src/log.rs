//! The logger hook: the core's log events forwarded to the host (Logcat,
//! `os_log`). Only the core's own events are forwarded, and they carry classes
//! and codes (`op`, `class`, `status`, `code`, `attempt`) — never fingerprints,
//! tokens, labels, file names or paths.

use std::fmt::Write as _;
use std::sync::{Arc, RwLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// How important a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Failures worth attention (a refusal by the service, a damaged entry).
    Warn,
    /// Normal operation (an operation postponed).
    Info,
    /// Details (retries).
    Debug,
}

/// Receives the core's log lines: route them to Logcat or `os_log`.
#[uniffi::export(with_foreign)]
pub trait Logger: Send + Sync {
    /// One line: `target` is the core's module (`takedown_app::outbox`),
    /// `message` the event with its fields.
    fn log(&self, level: LogLevel, target: String, message: String);
}

static LOGGER: RwLock<Option<Arc<dyn Logger>>> = RwLock::new(None);
static INSTALL: std::sync::Once = std::sync::Once::new();

/// Sets (or clears) the logger. The first call installs the forwarding
/// subscriber for the process (when the host did not install another one).
#[uniffi::export]
pub fn set_logger(logger: Option<Arc<dyn Logger>>) {
    if let Ok(mut l) = LOGGER.write() {
        *l = logger;
    }
    INSTALL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(Forward);
    });
}

struct Forward;

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl Subscriber for Forward {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.target().starts_with("takedown") && *m.level() <= Level::DEBUG
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let logger = LOGGER.read().ok().and_then(|l| l.clone());
        let Some(logger) = logger else { return };
        let m = event.metadata();
        let level = match *m.level() {
            Level::ERROR | Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            _ => LogLevel::Debug,
        };
        let mut line = Line(String::new());
        event.record(&mut line);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            logger.log(level, m.target().to_string(), line.0.clone())
        }));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
