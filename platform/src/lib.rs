//! The Takedown platform kit: what a participating platform runs.
//!
//! * [`store`] — the local copy of the hash list in one SQLite file (entries,
//!   sync cursor, malformed-record counter, feedback queue).
//! * [`sync`] — delta sync from the service, one transaction per page, tolerant
//!   reader, classified retries (`docs/adr/0403-platform-sync.md`).
//! * [`matcher`] — PDQ (through the index), MD5/SHA-256 and vPDQ matching.
//! * [`expand`] — query expansion: dihedral variants and border trimming.
//! * [`scan`] — scanning files and directories.
//! * [`feedback`] — the persisted feedback queue.
//! * [`sidecar`] — the HTTP sidecar (`serve`).
//! * [`cli`] — clap arguments and `run_*` functions of the commands.

#![warn(missing_docs)]

// Fingerprints come from one place only; the lead switches this alias to the
// fingerprint crate at merge (same module paths).
pub(crate) use takedown_fingerprint as fingerprint;

pub mod cli;
pub mod client;
pub mod error;
pub mod expand;
pub mod feedback;
pub mod matcher;
pub mod scan;
pub mod sidecar;
pub mod store;
pub mod sync;

/// The exact PDQ range-search index (`takedown-pdq-index`, ADR 0400).
pub use takedown_pdq_index as index;

pub use error::{Error, Result};
