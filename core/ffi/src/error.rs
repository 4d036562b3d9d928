//! The one error the apps see, [`TakedownError`], and the one panic guard every
//! export runs in (`guarded`, `guarded_async`). Internal errors of the
//! fingerprint and app crates become a [`TakedownError`] here, in one place.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use takedown_app::Error;
use takedown_app::eligibility::IneligibleReason;
use takedown_fingerprint::hashing::HashError;
use takedown_fingerprint::video::VideoError;

/// What went wrong, in the few kinds an app acts on. Every call of the library
/// fails with this one type. Messages hold no personal data (no fingerprints,
/// tokens, labels, file names or paths).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum TakedownError {
    /// The service cannot be reached right now (no network, timeout, service
    /// trouble). Anything queued stays queued: call `flush` later.
    #[error("offline: {reason}")]
    Offline {
        /// A class: `offline`, `timeout`, `http_503`, `rate_limited`…
        reason: String,
    },
    /// The service refused the request; retrying will not help.
    #[error("the service refused the request: {code}")]
    ServiceRejected {
        /// The service's stable error code (`case_withdrawn`, `invalid_field`…).
        code: String,
        /// Its explanation.
        reason: String,
    },
    /// The eligibility answers do not allow a case; nothing was stored or sent.
    #[error("not eligible")]
    NotEligible {
        /// Every reason, for the explanation screen.
        reasons: Vec<IneligibleReason>,
    },
    /// Media that cannot be fingerprinted (damaged, unsupported, too large, empty,
    /// a video without frames) or fingerprints that cannot be submitted (malformed,
    /// quality out of range). Media that cannot be hashed within `hashSelection` is
    /// reported per item instead.
    #[error("invalid media: {reason}")]
    InvalidMedia {
        /// What is wrong.
        reason: String,
    },
    /// A video longer, larger or with more frames than allowed: tell the user it
    /// cannot be submitted as a video (its exact hashes still can).
    #[error("over the limit: {reason}")]
    LimitExceeded {
        /// Which limit, for the user.
        reason: String,
    },
    /// A call with arguments that cannot be used (unknown id, a case not sent yet,
    /// a withdrawn case, a malformed hash, a file that cannot be read, a frame that
    /// does not fit its declared size).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// The key from the key provider does not open this history, or is missing.
    /// Nothing was changed; the history can only be deleted.
    #[error("the key does not open this history")]
    WrongKey,
    /// The history cannot be used: damaged, another app's file, written by a newer
    /// version, disk full, or deleted. Nothing was overwritten.
    #[error("storage: {reason}")]
    Storage {
        /// What is wrong.
        reason: String,
    },
    /// The work was cancelled (its `CancelToken`, `VideoHasher.cancel`, or the
    /// calling coroutine / task).
    #[error("cancelled")]
    Cancelled,
    /// A recovery key as typed does not check out; nothing was sent. Ask the
    /// user to look at `group` again (1–7), or at the whole key when `group`
    /// is 0 (wrong length).
    #[error("the recovery key looks mistyped (group {group})")]
    RecoveryKeyInvalid {
        /// The 1-based group that is wrong, or 0 for a wrong length.
        group: u32,
    },
    /// The call's deadline passed; what was done is kept, the rest stays queued.
    #[error("the deadline passed")]
    DeadlineExceeded,
    /// `deleteEverything(force = false)` refused: withdrawals are still queued and
    /// would be lost with the history. Flush, or warn the user and force.
    #[error("{count} withdrawal(s) still queued")]
    WithdrawalsPending {
        /// How many.
        count: u32,
    },
    /// The device is full; nothing was written.
    #[error("the device is full")]
    DiskFull,
    /// The key store cannot be used right now (a locked keychain during a
    /// background task, Keystore busy). Nothing changed; try again later. A key
    /// provider returns this error to say so.
    #[error("the key store is unavailable")]
    KeyStoreUnavailable,
    /// The history was written by a newer version of the app (after a
    /// downgrade). Nothing was changed.
    #[error("the history is from a newer version (schema {found}, known {known})")]
    TooNew {
        /// The file's schema.
        found: u32,
        /// The newest schema this version knows.
        known: u32,
    },
    /// Another `Takedown` object is open on this history in this process: keep
    /// one per process.
    #[error("the core is already open in this process")]
    AlreadyOpen,
    /// Anything else (a bug); the operation did not complete.
    #[error("internal error: {reason}")]
    Other {
        /// Details for a bug report.
        reason: String,
    },
}

impl From<Error> for TakedownError {
    fn from(e: Error) -> Self {
        match e {
            Error::Offline(reason) => TakedownError::Offline { reason },
            Error::Rejected { code, message, .. } => TakedownError::ServiceRejected {
                code,
                reason: message,
            },
            Error::NotEligible(reasons) => TakedownError::NotEligible { reasons },
            Error::InvalidInput(reason) => TakedownError::InvalidInput { reason },
            Error::InvalidMedia(reason) => TakedownError::InvalidMedia { reason },
            Error::NotFound(_) => TakedownError::InvalidInput {
                reason: e.to_string(),
            },
            Error::WrongKey | Error::KeyMissing => TakedownError::WrongKey,
            Error::TooNew { found, known } => TakedownError::TooNew { found, known },
            Error::DeadlineExceeded => TakedownError::DeadlineExceeded,
            Error::WithdrawalsPending(count) => TakedownError::WithdrawalsPending { count },
            Error::DiskFull => TakedownError::DiskFull,
            Error::KeyStoreUnavailable => TakedownError::KeyStoreUnavailable,
            Error::AlreadyOpen => TakedownError::AlreadyOpen,
            Error::Storage(_) | Error::Corrupt | Error::Foreign | Error::Closed => {
                TakedownError::Storage {
                    reason: e.to_string(),
                }
            }
            Error::Cancelled => TakedownError::Cancelled,
            Error::RecoveryKeyInvalid(group) => TakedownError::RecoveryKeyInvalid {
                group: group.into(),
            },
            Error::KeyProvider(_) | Error::Internal(_) => TakedownError::Other {
                reason: e.to_string(),
            },
        }
    }
}

impl From<HashError> for TakedownError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Io(reason) => TakedownError::InvalidInput {
                reason: format!("cannot read the file: {reason}"),
            },
            other => TakedownError::InvalidMedia {
                reason: other.to_string(),
            },
        }
    }
}

impl From<VideoError> for TakedownError {
    fn from(e: VideoError) -> Self {
        let reason = e.to_string();
        match e {
            VideoError::Cancelled => TakedownError::Cancelled,
            VideoError::TooLong { .. }
            | VideoError::TooManyFrames { .. }
            | VideoError::BadDimensions { .. } => TakedownError::LimitExceeded { reason },
            VideoError::BadFrame(_) | VideoError::BadOption(_) => {
                TakedownError::InvalidInput { reason }
            }
            // A file that cannot be read, or a machine without ffmpeg: not the
            // media's fault.
            VideoError::Io(reason) => TakedownError::Other { reason },
            VideoError::FfmpegMissing | VideoError::Stalled => TakedownError::Other { reason },
            VideoError::Unreadable(_)
            | VideoError::NoVideoStream
            | VideoError::NoFrames
            | VideoError::Decode(_) => TakedownError::InvalidMedia { reason },
        }
    }
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TakedownError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TakedownError::Other {
            reason: format!("host callback failed: {}", e.reason),
        }
    }
}

/// What a caught panic becomes.
fn panicked() -> TakedownError {
    TakedownError::Other {
        reason: "unexpected failure".into(),
    }
}

/// Runs `f`, turning its error into a [`TakedownError`] and a panic into
/// [`TakedownError::Other`]: no panic crosses the FFI. Every synchronous export
/// goes through here.
pub(crate) fn guarded<T, E: Into<TakedownError>>(
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, TakedownError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(panicked()),
    }
}

/// [`guarded`] for async exports: polls the call's future, turning a panic into
/// [`TakedownError::Other`]. Dropping it drops the work (the host cancelled the
/// coroutine or task).
pub(crate) fn guarded_async<'a, T, E>(
    f: impl Future<Output = Result<T, E>> + Send + 'a,
) -> impl Future<Output = Result<T, TakedownError>> + 'a
where
    T: 'a,
    E: Into<TakedownError> + 'a,
{
    // Lifetime-erasing box: the future borrows `self` only for the call.
    let boxed: Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>> = Box::pin(f);
    Guarded(boxed)
}

struct Guarded<'a, T, E>(Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>);

impl<T, E: Into<TakedownError>> Future for Guarded<'_, T, E> {
    type Output = Result<T, TakedownError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(Poll::Ready(r)) => Poll::Ready(r.map_err(Into::into)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(panicked())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_other_errors() {
        let r: Result<(), TakedownError> = guarded(|| -> Result<(), Error> { panic!("boom") });
        assert!(matches!(r, Err(TakedownError::Other { .. })));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let r: Result<(), TakedownError> = rt.block_on(guarded_async(async {
            tokio::task::yield_now().await;
            if true {
                panic!("boom");
            }
            Ok::<(), Error>(())
        }));
        assert!(matches!(r, Err(TakedownError::Other { .. })));
        let r: Result<u8, TakedownError> = rt.block_on(guarded_async(async { Ok::<u8, Error>(7) }));
        assert_eq!(r.unwrap(), 7);
    }

    #[test]
    fn internal_errors_map_to_what_the_app_acts_on() {
        type Check = fn(&TakedownError) -> bool;
        let cases: Vec<(Error, Check)> = vec![
            (Error::Offline("timeout".into()), |e| {
                matches!(e, TakedownError::Offline { .. })
            }),
            (
                Error::Rejected {
                    status: 409,
                    code: "case_withdrawn".into(),
                    message: String::new(),
                },
                |e| matches!(e, TakedownError::ServiceRejected { code, .. } if code == "case_withdrawn"),
            ),
            (
                Error::NotEligible(vec![
                    IneligibleReason::AdultWhenMade,
                    IneligibleReason::SubmitterNotEntitled,
                ]),
                |e| matches!(e, TakedownError::NotEligible { reasons } if reasons.len() == 2),
            ),
            (Error::KeyMissing, |e| matches!(e, TakedownError::WrongKey)),
            (Error::WrongKey, |e| matches!(e, TakedownError::WrongKey)),
            (Error::Corrupt, |e| {
                matches!(e, TakedownError::Storage { .. })
            }),
            (Error::Foreign, |e| {
                matches!(e, TakedownError::Storage { .. })
            }),
            (Error::Closed, |e| {
                matches!(e, TakedownError::Storage { .. })
            }),
            (Error::Cancelled, |e| matches!(e, TakedownError::Cancelled)),
            (Error::DeadlineExceeded, |e| {
                matches!(e, TakedownError::DeadlineExceeded)
            }),
            (Error::WithdrawalsPending(2), |e| {
                matches!(e, TakedownError::WithdrawalsPending { count: 2 })
            }),
            (Error::DiskFull, |e| matches!(e, TakedownError::DiskFull)),
            (Error::KeyStoreUnavailable, |e| {
                matches!(e, TakedownError::KeyStoreUnavailable)
            }),
            (Error::TooNew { found: 9, known: 3 }, |e| {
                matches!(e, TakedownError::TooNew { found: 9, known: 3 })
            }),
            (Error::AlreadyOpen, |e| {
                matches!(e, TakedownError::AlreadyOpen)
            }),
            (Error::InvalidMedia("x".into()), |e| {
                matches!(e, TakedownError::InvalidMedia { .. })
            }),
            (Error::NotFound("case"), |e| {
                matches!(e, TakedownError::InvalidInput { .. })
            }),
        ];
        for (internal, check) in cases {
            let text = internal.to_string();
            let public = TakedownError::from(internal);
            assert!(check(&public), "{text} -> {public:?}");
        }
    }
}
