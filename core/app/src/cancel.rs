//! Cancellation and deadlines for the long calls (hashing, flushing, submitting,
//! refreshing). A [`Cancel`] is cheap to clone; [`Cancel::child`] makes a token
//! that is cancelled with its parent but can be cancelled on its own without
//! touching the parent — so a call can stop *its* work (the host dropped the
//! future, a Swift `Task` was cancelled) and the host's handle stays usable for
//! the next call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use takedown_fingerprint::video::CancelToken;

use super::error::{Error, Result};

#[derive(Default)]
struct Inner {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
    children: Mutex<Vec<Weak<Inner>>>,
    /// The fingerprint crate's flag, set together with ours (videos).
    video: CancelToken,
}

impl Inner {
    fn cancel(&self) {
        if self.flag.swap(true, Ordering::SeqCst) {
            return;
        }
        self.video.cancel();
        self.notify.notify_waiters();
        let children = match self.children.lock() {
            Ok(mut c) => std::mem::take(&mut *c),
            Err(_) => Vec::new(),
        };
        for c in children.iter().filter_map(Weak::upgrade) {
            c.cancel();
        }
    }
}

/// A cancellation token, optionally with a deadline.
#[derive(Clone, Default)]
pub struct Cancel {
    inner: Arc<Inner>,
    deadline: Option<Instant>,
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel")
            .field("cancelled", &self.inner.flag.load(Ordering::SeqCst))
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Why work stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// [`Cancel::cancel`] (of this token or a parent).
    Cancelled,
    /// The deadline passed.
    Deadline,
}

impl Cancel {
    /// A fresh token: not cancelled, no deadline.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token cancelled when `self` is, or on its own; it keeps `self`'s deadline.
    pub fn child(&self) -> Cancel {
        let child = Arc::new(Inner::default());
        if let Ok(mut c) = self.inner.children.lock() {
            c.retain(|w| w.strong_count() > 0);
            c.push(Arc::downgrade(&child));
        }
        if self.inner.flag.load(Ordering::SeqCst) {
            child.cancel();
        }
        Cancel {
            inner: child,
            deadline: self.deadline,
        }
    }

    /// A child token that also stops after `d` (the earlier of `d` and any
    /// deadline it inherits).
    pub fn with_timeout(&self, d: Duration) -> Cancel {
        let mut c = self.child();
        let at = Instant::now().checked_add(d);
        c.deadline = match (c.deadline, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        c
    }

    /// Asks the work to stop. Idempotent; children are cancelled too.
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether [`Cancel::cancel`] was called on this token or a parent.
    pub fn is_cancelled(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// Why the work must stop now, if it must.
    pub fn stopped(&self) -> Option<Stop> {
        if self.is_cancelled() {
            Some(Stop::Cancelled)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(Stop::Deadline)
        } else {
            None
        }
    }

    /// [`Error::Cancelled`] or [`Error::DeadlineExceeded`] when the work must stop.
    pub fn check(&self) -> Result<()> {
        match self.stopped() {
            None => Ok(()),
            Some(Stop::Cancelled) => Err(Error::Cancelled),
            Some(Stop::Deadline) => Err(Error::DeadlineExceeded),
        }
    }

    /// The deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The fingerprint crate's token for this one (set when this one is cancelled;
    /// deadlines are checked between items).
    pub fn video_token(&self) -> CancelToken {
        self.inner.video.clone()
    }

    /// Completes when the token is cancelled or its deadline passes.
    pub async fn stopped_async(&self) -> Stop {
        loop {
            let notified = self.inner.notify.notified();
            if let Some(s) = self.stopped() {
                return s;
            }
            match self.deadline {
                Some(d) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(d.into()) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Runs `work` until it finishes or the token stops it (the work is dropped
    /// then: an in-flight request is abandoned, which the outbox's idempotency
    /// keys make safe).
    pub async fn run<T>(&self, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        self.check()?;
        tokio::select! {
            biased;
            s = self.stopped_async() => Err(match s {
                Stop::Cancelled => Error::Cancelled,
                Stop::Deadline => Error::DeadlineExceeded,
            }),
            r = work => r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_stops_with_its_parent_but_not_the_other_way() {
        let parent = Cancel::new();
        let a = parent.child();
        a.cancel();
        assert!(a.is_cancelled());
        assert!(
            !parent.is_cancelled(),
            "a call's own cancel leaves the handle usable"
        );
        let b = parent.child();
        assert!(!b.is_cancelled());
        parent.cancel();
        assert!(b.is_cancelled());
        assert!(b.video_token().is_cancelled());
        assert!(
            parent.child().is_cancelled(),
            "children of a cancelled token start cancelled"
        );
    }

    #[tokio::test]
    async fn deadlines_and_cancel_stop_async_work() {
        let c = Cancel::new().with_timeout(Duration::from_millis(30));
        let r = c.run(async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        });
        assert!(matches!(r.await, Err(Error::DeadlineExceeded)));
        let c = Cancel::new();
        let c2 = c.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            c2.cancel();
        });
        let r = c
            .child()
            .run(async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .await;
        assert!(matches!(r, Err(Error::Cancelled)));
    }
}
