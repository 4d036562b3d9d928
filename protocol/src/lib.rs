//! Wire types shared by the Takedown hash-list service and its clients.
//!
//! Everything that crosses the network between the phone core, the service
//! and participating platforms is defined here, as plain serde types. The
//! request types reject unknown fields, and [`decode`] turns any JSON body
//! into either a fully validated request or a [`FieldError`] that names the
//! offending field (for example `items[2].image.pdq`).
//!
//! The crate is deliberately small (serde, serde_json, hex, sha2 for the
//! recovery-key verifier): the phone core links it too.

#![warn(missing_docs)]

mod case;
mod errors;
mod feedback;
mod hashes;
mod limits;
mod matching;
mod recovery;
mod status;
mod sync;
mod validation;

pub use case::*;
pub use errors::*;
pub use feedback::*;
pub use hashes::*;
pub use limits::*;
pub use matching::*;
pub use recovery::*;
pub use status::*;
pub use sync::*;
pub use validation::*;
