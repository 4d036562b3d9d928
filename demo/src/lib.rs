//! `takedown-demo`: the whole Takedown system on one machine, in one process.
//!
//! The binary (`takedown-demo`, also `takedown demo`) starts the real hash-list
//! service on loopback with a temporary SQLite file, plays a teen through the
//! phone core (`takedown-app`) and a platform through the platform kit
//! (`takedown-platform`), and prints each step in plain words. The system tests
//! in `tests/` use the same pieces:
//!
//! * [`samples`] — generated photos, their re-uploads and unrelated photos;
//! * [`service`] — the service in-process on loopback;
//! * [`teen`] — the phone core's calls, as the apps make them through the FFI;
//! * [`platform`] — the kit's calls: sync, scan, feedback.

#![warn(missing_docs)]

pub mod platform;
pub mod samples;
pub mod service;
pub mod teen;

/// Why a step failed, in words (no file names, tokens or fingerprints).
#[derive(Debug)]
pub struct DemoError(pub String);

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

impl From<takedown_app::Error> for DemoError {
    fn from(e: takedown_app::Error) -> Self {
        DemoError(format!("phone core: {e}"))
    }
}

impl From<takedown_platform::Error> for DemoError {
    fn from(e: takedown_platform::Error) -> Self {
        DemoError(format!("platform kit: {e}"))
    }
}

impl From<service::StartError> for DemoError {
    fn from(e: service::StartError) -> Self {
        DemoError(format!("service: {e}"))
    }
}

impl From<std::io::Error> for DemoError {
    fn from(e: std::io::Error) -> Self {
        DemoError(format!("file system: {}", e.kind()))
    }
}

/// Result of the demo's steps.
pub type Result<T, E = DemoError> = std::result::Result<T, E>;
