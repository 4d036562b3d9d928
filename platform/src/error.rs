//! One error type for the kit. Messages never carry fingerprints, API keys,
//! file names or paths.

/// Why an operation of the platform kit failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The local SQLite file could not be read or written.
    #[error("local database: {0}")]
    Db(#[from] rusqlite::Error),
    /// A local file could not be read or written.
    #[error("local file: {0}")]
    Io(#[from] std::io::Error),
    /// The service could not be reached or answered with a transient failure
    /// (`class`: `offline`, `timeout`, `http_5xx`, `rate_limited`, `bad_response`).
    #[error("the service is unavailable ({0}); retry later")]
    Transient(String),
    /// The service refused the request; retrying will not help.
    #[error("the service refused the request (HTTP {status}, {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The service's error code.
        code: String,
        /// The service's message.
        message: String,
    },
    /// The service broke the sync protocol (for example a cursor going backwards).
    #[error("the service broke the sync protocol: {0}")]
    Protocol(String),
    /// Bad configuration or arguments.
    #[error("{0}")]
    Config(String),
    /// The local database was changed by another process while syncing.
    #[error("another process synced this data directory at the same time; retry")]
    Conflict,
}

impl Error {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transient(_))
    }
}

/// Result with the kit's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
