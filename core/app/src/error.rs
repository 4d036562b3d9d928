//! The internal error of the phone core. It is converted to the small public
//! error of the FFI in one place (`ffi::app`). Messages never hold personal data:
//! no fingerprints, tokens, labels, file names or paths.

/// Everything that can go wrong inside the phone core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The history database could not be read or written.
    #[error("storage: {0}")]
    Storage(String),
    /// The file is not a SQLite database, or is damaged.
    #[error("the history file is damaged or is not a database")]
    Corrupt,
    /// The file is a SQLite database of some other application.
    #[error("the history file belongs to another application")]
    Foreign,
    /// The history was written by a newer version of the app.
    #[error(
        "the history was written by a newer version (schema {found}, this version knows {known})"
    )]
    TooNew {
        /// `user_version` of the file.
        found: u32,
        /// Latest schema this build knows.
        known: u32,
    },
    /// The key does not open this history.
    #[error("the key does not open this history")]
    WrongKey,
    /// The history exists but the host has no key for it.
    #[error("the key for this history is missing")]
    KeyMissing,
    /// The host's key provider failed or gave an unusable key.
    #[error("key provider: {0}")]
    KeyProvider(String),
    /// The answers make the case ineligible; nothing was stored or sent. Carries
    /// every reason, for the explanation screen.
    #[error("not eligible: {0:?}")]
    NotEligible(Vec<crate::eligibility::IneligibleReason>),
    /// Input that cannot be submitted (bad fingerprint text, no items, …).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Fingerprints that cannot be submitted (malformed hex, quality out of range,
    /// a video without frames).
    #[error("invalid fingerprint: {0}")]
    InvalidMedia(String),
    /// No case or item with this id in the history.
    #[error("no such {0} in the history")]
    NotFound(&'static str),
    /// The service could not be reached (or answered 5xx / timed out).
    #[error("the service cannot be reached right now ({0})")]
    Offline(String),
    /// The service refused the request (4xx); retrying will not help.
    #[error("the service refused the request: {code} ({status})")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The service's stable error code.
        code: String,
        /// The service's explanation (it never echoes secrets).
        message: String,
    },
    /// The work was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// A recovery key as typed does not check out: the 1-based group to look
    /// at again, or 0 when it has the wrong length. Nothing was sent.
    #[error("the recovery key looks mistyped (group {0})")]
    RecoveryKeyInvalid(u8),
    /// The caller's deadline passed before the work was done. What was sent is
    /// recorded; the rest stays queued.
    #[error("the deadline passed")]
    DeadlineExceeded,
    /// "Delete everything" was refused: withdrawals are still queued, and deleting
    /// the history would drop them together with the token that can send them.
    /// Flush first, or delete with `force`.
    #[error("{0} withdrawal(s) are still waiting to be sent")]
    WithdrawalsPending(u32),
    /// The device is out of space; nothing was written.
    #[error("the device is full")]
    DiskFull,
    /// The host's key store cannot be used right now (a locked keychain during a
    /// background task). Try again later; nothing was changed.
    #[error("the key store is unavailable right now")]
    KeyStoreUnavailable,
    /// Another core object is already open in this process (one per process).
    #[error("the core is already open in this process")]
    AlreadyOpen,
    /// The object was closed (after "delete everything").
    #[error("this history was deleted; open the core again")]
    Closed,
    /// A bug or an unexpected state.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt,
            Some(ErrorCode::DiskFull) => Error::DiskFull,
            // A stored value this version cannot read (an unknown state, a malformed
            // hash): the file is damaged, never a silent default.
            _ if matches!(e, rusqlite::Error::FromSqlConversionFailure(..)) => Error::Corrupt,
            // rusqlite's Display holds SQL text and messages, never bound values.
            _ => Error::Storage(e.to_string()),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            return Error::DiskFull;
        }
        // io::Error's Display never includes the path.
        Error::Storage(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("encoding: {}", e.classify() as u8))
    }
}

/// Result with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
