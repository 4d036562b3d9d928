//! The app crate's test harness (`core/app/tests/app_support`: the real service on
//! loopback, a fault-injecting proxy, a phone's data directory), plus the FFI
//! object opened on such a phone.
#![allow(dead_code)]

#[path = "../../../app/tests/app_support/mod.rs"]
mod shared;

pub use shared::*;

use std::sync::Arc;

use takedown_core::{KeyProvider, Takedown, file_key_provider};

/// Opening the FFI object on a test [`Phone`].
pub trait PhoneFfi {
    /// A key provider over the phone's key file.
    fn key_provider(&self) -> Arc<dyn KeyProvider>;
    /// The FFI object, with short timeouts.
    fn open(&self, url: &str) -> Arc<Takedown>;
}

impl PhoneFfi for Phone {
    fn key_provider(&self) -> Arc<dyn KeyProvider> {
        file_key_provider(self.key_path().display().to_string())
    }
    fn open(&self, url: &str) -> Arc<Takedown> {
        Takedown::open_with_options(
            self.data_dir().display().to_string(),
            url.to_string(),
            self.key_provider(),
            fast_options(),
        )
        .expect("open")
    }
}
