//! The UniFFI surface: the only place with `#[uniffi::export]`. Each submodule holds
//! thin wrappers over a plain-Rust module; no logic lives here. Panics are caught at
//! every export so none crosses the FFI.

pub mod app;
pub mod fingerprint;
pub mod video;

pub use fingerprint::FingerprintError;

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Run `f`, turning a panic into [`FingerprintError::Other`].
pub(crate) fn guarded<T>(
    f: impl FnOnce() -> Result<T, FingerprintError>,
) -> Result<T, FingerprintError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(FingerprintError::Other {
            reason: "unexpected failure while hashing".into(),
        })
    })
}
