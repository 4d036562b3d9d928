//! The app object: [`Takedown`], one per app process. Thin wrappers over
//! [`takedown_app::App`]. Async methods run on tokio (`async_runtime = "tokio"`):
//! Kotlin sees `suspend fun`, Swift sees `async`. The synchronous methods touch only
//! the local database (a few milliseconds): call them off the UI thread all the
//! same.

use std::sync::Arc;

use takedown_app::eligibility::{self, Eligibility, EligibilityAnswers};
use takedown_app::history::CaseRecord;
use takedown_app::outbox::{FlushReport, SubmitOutcome};
use takedown_app::selection::{self, HostFrame, SelectionInput};
use takedown_app::status::{CaseChanges, CaseStatusView};
use takedown_app::{
    self as app, App, Cancel, Change, Error, FileKeyStore, KeyStore, NetworkOptions,
};

use crate::error::{TakedownError, guarded, guarded_async};
use crate::records::{HashedItem, HistoryItem, SubmitItem};
use crate::video::PushedVideo;

/// The host's safe place for the 32-byte history key: Android Keystore (wrap the
/// key with a Keystore key) or iOS Keychain. The core generates the key on first
/// use and asks the host to keep it.
#[uniffi::export(with_foreign)]
pub trait KeyProvider: Send + Sync {
    /// The stored key, or `None` when none was stored yet.
    fn load_key(&self) -> Result<Option<Vec<u8>>, TakedownError>;
    /// Keep this new key (called once, when a history is created).
    fn store_key(&self, key: Vec<u8>) -> Result<(), TakedownError>;
    /// Delete the key irrecoverably (called by "delete everything").
    fn delete_key(&self) -> Result<(), TakedownError>;
}

struct HostKeys(Arc<dyn KeyProvider>);

fn key_err(e: TakedownError) -> Error {
    match e {
        TakedownError::KeyStoreUnavailable => Error::KeyStoreUnavailable,
        other => Error::KeyProvider(other.to_string()),
    }
}

impl KeyStore for HostKeys {
    fn load(&self) -> app::Result<Option<Vec<u8>>> {
        self.0.load_key().map_err(key_err)
    }
    fn store(&self, key: &[u8]) -> app::Result<()> {
        self.0.store_key(key.to_vec()).map_err(key_err)
    }
    fn delete(&self) -> app::Result<()> {
        self.0.delete_key().map_err(key_err)
    }
}

struct FileKeyProvider(FileKeyStore);

impl KeyProvider for FileKeyProvider {
    fn load_key(&self) -> Result<Option<Vec<u8>>, TakedownError> {
        Ok(self.0.load()?)
    }
    fn store_key(&self, key: Vec<u8>) -> Result<(), TakedownError> {
        Ok(self.0.store(&key)?)
    }
    fn delete_key(&self) -> Result<(), TakedownError> {
        Ok(self.0.delete()?)
    }
}

/// A key provider keeping the key in a file (desktop and tests; on phones use the
/// Keystore / Keychain).
#[uniffi::export]
pub fn file_key_provider(path: String) -> Arc<dyn KeyProvider> {
    Arc::new(FileKeyProvider(FileKeyStore::new(path)))
}

/// Reads a recovery key as a person typed it (any case, spaces or dashes,
/// `O` for `0`, `I`/`L` for `1`) and returns its written form, or
/// `RecoveryKeyInvalid` naming the group to check again. For checking the
/// restore form as the user types; no network.
#[uniffi::export]
pub fn normalize_recovery_key(input: String) -> Result<String, TakedownError> {
    guarded(|| takedown_app::recovery::normalize_recovery_key(&input))
}

/// Applies the eligibility rule to the attestation answers (no network, nothing
/// stored). Show the reasons' explanations when not eligible.
#[uniffi::export]
pub fn check_eligibility(answers: EligibilityAnswers) -> Eligibility {
    eligibility::check(&answers)
}

/// Progress of hashing a selection, called from a worker thread.
#[uniffi::export(with_foreign)]
pub trait HashProgress: Send + Sync {
    /// `done` of `total` items are hashed (called after each item, `done` increasing).
    fn on_progress(&self, done: u32, total: u32);
}

/// Cancels long work (hashing, flushing, submitting, refreshing) and sets
/// deadlines. Create one, pass it to as many calls as you like, call `cancel`:
/// every call using it stops (`Cancelled`). A call that ends — or whose
/// coroutine / `Task` is cancelled — never cancels the token itself, so a token
/// kept by a screen works for its next call too.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken(Cancel);

#[uniffi::export]
impl CancelToken {
    /// A fresh token, not cancelled, no deadline.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    /// A token that also stops the work after `timeout_ms` milliseconds: a flush
    /// returns what it did with `deadlineReached`, other calls fail with
    /// `DeadlineExceeded`. Use the time a `BGTask` or WorkManager gives you.
    #[uniffi::constructor]
    pub fn with_timeout_ms(timeout_ms: u64) -> Arc<Self> {
        Arc::new(CancelToken(
            Cancel::new().with_timeout(std::time::Duration::from_millis(timeout_ms)),
        ))
    }
    /// Asks the work to stop; it fails with `TakedownError.Cancelled`.
    pub fn cancel(&self) {
        self.0.cancel();
    }
    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
    /// A token cancelled with this one, or on its own (without cancelling this
    /// one); it keeps this one's deadline. The Swift `Task` wrappers use it.
    pub fn child(&self) -> Arc<CancelToken> {
        Arc::new(CancelToken(self.0.child()))
    }
}

/// The token of one call: a child of the caller's token (or a fresh one), cancelled
/// when the call's future is dropped (the host cancelled the coroutine / task).
fn call_token(cancel: Option<Arc<CancelToken>>) -> (Cancel, CancelOnDrop) {
    let call = match cancel {
        Some(c) => c.0.child(),
        None => Cancel::new(),
    };
    (call.clone(), CancelOnDrop(call))
}

/// Told about every change of the queue, the history or the stored status —
/// including those a background flush makes. Turn it into a `Flow`
/// (`callbackFlow`) or an `AsyncStream`, and re-read what the screen shows.
/// Called on the thread that made the change: post to the main thread, return.
#[uniffi::export(with_foreign)]
pub trait ChangeListener: Send + Sync {
    /// Something changed.
    fn on_change(&self, change: Change);
}

struct HostListener(Arc<dyn ChangeListener>);

impl app::ChangeListener for HostListener {
    fn on_change(&self, change: Change) {
        // A host exception must not unwind into the core.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.on_change(change)));
    }
}

/// Everything the app shows about one case, in one read (no network).
#[derive(Debug, Clone, uniffi::Record)]
pub struct CaseDetail {
    /// The case.
    pub case: CaseRecord,
    /// Its items, oldest first.
    pub items: Vec<HistoryItem>,
    /// The latest stored status, if it was ever refreshed.
    pub status: Option<CaseStatusView>,
    /// What changed since the user last looked, if it was ever refreshed.
    pub changes: Option<CaseChanges>,
}

/// Opens the core off the caller's thread (the history is checked, migrated and
/// its key fetched from the key provider: call it from a coroutine / `Task`,
/// never on the main thread). See [`Takedown::open`].
#[uniffi::export(async_runtime = "tokio")]
pub async fn open_takedown(
    data_dir: String,
    service_url: String,
    key_provider: Arc<dyn KeyProvider>,
    options: NetworkOptions,
) -> Result<Arc<Takedown>, TakedownError> {
    let work = tokio::task::spawn_blocking(move || {
        Takedown::open_with_options(data_dir, service_url, key_provider, options)
    });
    match work.await {
        Ok(r) => r,
        Err(_) => Err(TakedownError::Other {
            reason: "opening failed".into(),
        }),
    }
}

/// One picked item to hash.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum MediaInput {
    /// An image file by path: a file the app can read (its own cache or files
    /// directory — copy a `content://` or Photos item there, or pass its bytes).
    /// Only the fingerprints are kept, never the path. Videos have no path input
    /// here: decoding one by path needs ffmpeg, which phones do not have; hash them
    /// with `VideoHasher` and pass `Video`. (The desktop CLI decodes video files
    /// through `takedown-app` directly.)
    ImageFile {
        /// The file.
        path: String,
    },
    /// An image file's bytes (JPEG, PNG, WebP, GIF, TIFF, BMP).
    ImageBytes {
        /// The encoded file.
        bytes: Vec<u8>,
    },
    /// Pixels the host decoded (HEIC on iOS, an Android `Bitmap`), with the encoded
    /// file's bytes for MD5/SHA-256.
    ///
    /// **Smallest size: the picture's own size** (`originalWidth` ×
    /// `originalHeight` from the file's header, either orientation, ±1 pixel);
    /// anything smaller is refused with `InvalidMedia`, because PDQ of a
    /// downscaled decode drifts from what platforms compute (up to 28 bits
    /// measured at 2048 px). Android: `ImageDecoder` without `setTargetSize` (or
    /// with the header size from `ImageDecoder.OnHeaderDecodedListener`), or
    /// `BitmapFactory` with `inSampleSize = 1`. iOS: `CGImageSourceCreateImageAtIndex`,
    /// not a thumbnail; a `CGImageSourceCreateThumbnailAtIndex` thumbnail only with
    /// `kCGImageSourceThumbnailMaxPixelSize` ≥ the longer original side.
    ImagePixels {
        /// RGBA, 4 bytes per pixel, as a viewer sees it (orientation applied).
        rgba: Vec<u8>,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes per row (`width * 4` when packed).
        stride: u32,
        /// The encoded file the pixels came from.
        file_bytes: Vec<u8>,
        /// Width in the file's header (`ImageDecoder.ImageInfo.size`,
        /// `kCGImagePropertyPixelWidth`).
        original_width: u32,
        /// Height in the file's header.
        original_height: u32,
    },
    /// A video hashed by the app with `VideoHasher` (push the file bytes too, for
    /// MD5/SHA-256).
    Video {
        /// What `VideoHasher.finish()` returned.
        fingerprints: PushedVideo,
    },
}

impl From<MediaInput> for SelectionInput {
    fn from(m: MediaInput) -> Self {
        match m {
            MediaInput::ImageFile { path } => SelectionInput::ImageFile(path),
            MediaInput::ImageBytes { bytes } => SelectionInput::ImageBytes(bytes),
            MediaInput::ImagePixels {
                rgba,
                width,
                height,
                stride,
                file_bytes,
                original_width,
                original_height,
            } => SelectionInput::ImagePixels {
                rgba,
                width,
                height,
                stride,
                file_bytes,
                original_width,
                original_height,
            },
            MediaInput::Video { fingerprints } => SelectionInput::VideoHashed {
                md5: fingerprints.md5,
                sha256: fingerprints.sha256,
                frames: fingerprints
                    .frames
                    .into_iter()
                    .map(|f| HostFrame {
                        t: f.t,
                        pdq: f.pdq,
                        quality: f.quality,
                    })
                    .collect(),
            },
        }
    }
}

/// Cancels when dropped: a dropped call stops its work (never the host's token).
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// The phone core: one per app process. Holds the encrypted history, the outbox
/// and the service client.
///
/// Typical flow: `hashSelection` → `checkEligibility` → `submitCase` → later
/// `flush` (WorkManager / BGTaskScheduler, connectivity changes), `refreshAll` +
/// `changesSinceSeen` for the status screen, `addItems`, `withdrawItem`,
/// `withdrawCase`, `deleteEverything`.
#[derive(uniffi::Object)]
pub struct Takedown {
    inner: App,
}

#[uniffi::export(async_runtime = "tokio")]
impl Takedown {
    /// Opens (or creates) the history in `data_dir` for the service at
    /// `service_url` (`https://…`; `http://` only to loopback), with the key from
    /// `key_provider`. Fails — without changing anything — on a damaged or foreign
    /// file (`Storage`) or a key that does not open it (`WrongKey`).
    #[uniffi::constructor]
    pub fn open(
        data_dir: String,
        service_url: String,
        key_provider: Arc<dyn KeyProvider>,
    ) -> Result<Arc<Self>, TakedownError> {
        Self::open_with_options(
            data_dir,
            service_url,
            key_provider,
            NetworkOptions::default(),
        )
    }

    /// [`Takedown::open`] with network tuning (timeouts, retry attempts, backoff).
    #[uniffi::constructor]
    pub fn open_with_options(
        data_dir: String,
        service_url: String,
        key_provider: Arc<dyn KeyProvider>,
        options: NetworkOptions,
    ) -> Result<Arc<Self>, TakedownError> {
        guarded(|| {
            let inner = App::open(
                data_dir.as_ref(),
                &service_url,
                Arc::new(HostKeys(key_provider)),
                options,
            )?;
            Ok::<_, Error>(Arc::new(Takedown { inner }))
        })
    }

    /// Hashes a selection off the caller's thread. Reports progress after each
    /// item, stops with `Cancelled` when `cancel` is triggered (or the call is
    /// cancelled). Per-item failures are in the results, in input order; items
    /// with `lowQuality` can only be found as exact copies (tell the user).
    pub async fn hash_selection(
        &self,
        items: Vec<MediaInput>,
        progress: Option<Arc<dyn HashProgress>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Vec<HashedItem>, TakedownError> {
        let (token, _stop_on_drop) = call_token(cancel);
        let inputs: Vec<SelectionInput> = items.into_iter().map(Into::into).collect();
        let work = tokio::task::spawn_blocking(move || {
            let report = |done: u32, total: u32| {
                if let Some(p) = &progress {
                    p.on_progress(done, total);
                }
            };
            guarded(|| selection::hash_selection(inputs, &report, &token))
        });
        match work.await {
            Ok(r) => Ok(r?.into_iter().map(Into::into).collect()),
            Err(_) => Err(TakedownError::Other {
                reason: "the hashing task failed".into(),
            }),
        }
    }

    /// Hashes one item off the caller's thread — the way to hash a large
    /// selection on a phone: hand in one picture at a time, so 50 photos are
    /// never in memory at once. `index` and `duplicateGroup` are left for the
    /// caller. Stops with `Cancelled` / `DeadlineExceeded` through `cancel` or a
    /// cancelled coroutine / task.
    #[uniffi::method(default(cancel = None))]
    pub async fn hash_item(
        &self,
        item: MediaInput,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<HashedItem, TakedownError> {
        let (token, _stop_on_drop) = call_token(cancel);
        let input: SelectionInput = item.into();
        let work =
            tokio::task::spawn_blocking(move || guarded(|| selection::hash_item(input, &token)));
        match work.await {
            Ok(r) => Ok(r?.into()),
            Err(_) => Err(TakedownError::Other {
                reason: "the hashing task failed".into(),
            }),
        }
    }

    /// Queues a case and returns it at once (nothing is sent here: the queue
    /// sends it — call `flush`, or let the scheduled job do it). `requestId` is
    /// any text the app keeps for this "send" (a UUID made when the user tapped
    /// it): a retry with the same id returns the same case, never a second one.
    /// Checks eligibility first (`NotEligible`: nothing stored).
    pub fn queue_case(
        &self,
        request_id: String,
        answers: EligibilityAnswers,
        items: Vec<SubmitItem>,
    ) -> Result<CaseRecord, TakedownError> {
        guarded(|| {
            eligibility::attestations(&answers).map_err(Error::NotEligible)?;
            let items = to_app_items(items)?;
            self.inner.queue_case(&request_id, &answers, &items)
        })
    }

    /// Opens a case: checks eligibility (`NotEligible`: nothing stored or sent),
    /// queues the case like `queueCase` (the same `requestId` never opens a
    /// second case), then tries to send it until `cancel` stops it. When offline
    /// the case stays queued (`sent == false`) and `flush` sends it later; a
    /// cancel or error after queueing leaves it queued too.
    #[uniffi::method(default(cancel = None))]
    pub async fn submit_case(
        &self,
        request_id: String,
        answers: EligibilityAnswers,
        items: Vec<SubmitItem>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<SubmitOutcome, TakedownError> {
        let (token, _stop_on_drop) = call_token(cancel);
        guarded_async(async move {
            // Refusal first: not eligible (every reason) before malformed items.
            eligibility::attestations(&answers).map_err(Error::NotEligible)?;
            let items = to_app_items(items)?;
            self.inner
                .submit_request(&request_id, &answers, &items, &token)
                .await
        })
        .await
    }

    /// Adds items to a case (queued, then sent like `submitCase`).
    pub async fn add_items(
        &self,
        case_id: i64,
        items: Vec<SubmitItem>,
    ) -> Result<SubmitOutcome, TakedownError> {
        guarded_async(async move {
            let items = to_app_items(items)?;
            self.inner.add_items(case_id, &items).await
        })
        .await
    }

    /// Withdraws one item (queued, then sent). Platforms drop it on their next sync.
    pub async fn withdraw_item(&self, item_id: i64) -> Result<FlushReport, TakedownError> {
        guarded_async(self.inner.withdraw_item(item_id)).await
    }

    /// Withdraws a whole case (queued, then sent).
    pub async fn withdraw_case(&self, case_id: i64) -> Result<FlushReport, TakedownError> {
        guarded_async(self.inner.withdraw_case(case_id)).await
    }

    /// Queues a refused case (or the refused items of an open case) again with
    /// fresh keys; returns how many items. Send with `flush`.
    pub fn resubmit_case(&self, case_id: i64) -> Result<u32, TakedownError> {
        guarded(|| self.inner.resubmit(case_id))
    }

    /// Cancels a queued case: removed from the history when it cannot have
    /// reached the service yet (`true`); otherwise its withdrawal is queued
    /// (`false`).
    pub async fn cancel_queued_case(&self, case_id: i64) -> Result<bool, TakedownError> {
        guarded_async(self.inner.cancel_queued_case(case_id)).await
    }

    /// Sends everything queued, until `cancel` is cancelled (`Cancelled`) or its
    /// deadline passes (a report with `deadlineReached`; the rest stays queued).
    /// Call it from WorkManager / BGTaskScheduler (pass the time you have) and
    /// when connectivity returns; schedule the next run for `nextAttemptAtMs`
    /// when something is still pending.
    #[uniffi::method(default(cancel = None))]
    pub async fn flush(
        &self,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<FlushReport, TakedownError> {
        let (token, _stop_on_drop) = call_token(cancel);
        guarded_async(async move { self.inner.flush_until(&token).await }).await
    }

    /// Operations waiting to be sent.
    pub fn pending_operations(&self) -> Result<u32, TakedownError> {
        guarded(|| self.inner.pending_operations())
    }

    /// Fetches one case's status from the service, stores it, and returns what
    /// changed since the user last looked.
    pub async fn refresh_status(&self, case_id: i64) -> Result<CaseChanges, TakedownError> {
        guarded_async(self.inner.refresh_status(case_id)).await
    }

    /// Refreshes every sent case; returns their changes since the user last
    /// looked. Stops through `cancel` (`Cancelled`, or at its deadline what was
    /// refreshed so far).
    #[uniffi::method(default(cancel = None))]
    pub async fn refresh_all(
        &self,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Vec<CaseChanges>, TakedownError> {
        let (token, _stop_on_drop) = call_token(cancel);
        guarded_async(async move { self.inner.refresh_all_until(&token).await }).await
    }

    /// Brings a case back into this history from its number and recovery key
    /// (after "delete everything", a reinstall or on a new phone). The service
    /// gives a fresh token, so the phone that had the case loses access to
    /// it; status, `addItems` and withdrawals then work here. Items of a
    /// restored case have no fingerprints on this phone (`md5` is `None`).
    /// Restoring a case this history holds replaces its token. Errors:
    /// `RecoveryKeyInvalid` (mistyped, nothing sent), `InvalidInput` (not a
    /// case number), `ServiceRejected` with code `not_found` (unknown case or
    /// wrong key; repeated wrong keys are throttled: `rate_limited`), `Offline`.
    #[uniffi::method(default(cancel = None))]
    pub async fn restore_case(
        &self,
        case_number: String,
        recovery_key: String,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<CaseRecord, TakedownError> {
        let (token, _stop_on_drop) = call_token(cancel);
        guarded_async(async move {
            self.inner
                .restore_case(&case_number, &recovery_key, &token)
                .await
        })
        .await
    }

    /// One case with its items, latest status and changes (no network).
    pub fn case_detail(&self, case_id: i64) -> Result<CaseDetail, TakedownError> {
        guarded(|| {
            Ok::<_, Error>(CaseDetail {
                case: self.inner.case(case_id)?,
                items: self
                    .inner
                    .list_items(Some(case_id))?
                    .into_iter()
                    .map(Into::into)
                    .collect(),
                status: self.inner.case_status(case_id)?,
                changes: self.inner.case_changes(case_id)?,
            })
        })
    }

    /// Sets (or clears, with `null` / `nil`) the change listener.
    pub fn set_listener(&self, listener: Option<Arc<dyn ChangeListener>>) {
        self.inner.set_listener(
            listener.map(|l| Arc::new(HostListener(l)) as Arc<dyn app::ChangeListener>),
        );
    }

    /// Cases with changes since the user last looked (from stored snapshots, no
    /// network): "2 copies removed since your last visit".
    pub fn changes_since_seen(&self) -> Result<Vec<CaseChanges>, TakedownError> {
        guarded(|| self.inner.changes_since_seen())
    }

    /// Changes of one case since the user last looked; `None` before a refresh.
    pub fn case_changes(&self, case_id: i64) -> Result<Option<CaseChanges>, TakedownError> {
        guarded(|| self.inner.case_changes(case_id))
    }

    /// Marks the latest status of a case as seen by the user.
    pub fn mark_seen(&self, case_id: i64) -> Result<(), TakedownError> {
        guarded(|| self.inner.mark_seen(case_id))
    }

    /// The latest stored status of a case (no network); `None` before a refresh.
    pub fn case_status(&self, case_id: i64) -> Result<Option<CaseStatusView>, TakedownError> {
        guarded(|| self.inner.case_status(case_id))
    }

    /// Every case in the history, newest first.
    pub fn list_cases(&self) -> Result<Vec<CaseRecord>, TakedownError> {
        guarded(|| self.inner.list_cases())
    }

    /// Items of one case, or of all cases when `case_id` is `None`, oldest first.
    pub fn list_items(&self, case_id: Option<i64>) -> Result<Vec<HistoryItem>, TakedownError> {
        guarded(|| {
            Ok::<_, Error>(
                self.inner
                    .list_items(case_id)?
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            )
        })
    }

    /// Sets or clears the user's private label of an item (encrypted, never sent).
    pub fn set_label(&self, item_id: i64, label: Option<String>) -> Result<(), TakedownError> {
        guarded(|| self.inner.set_label(item_id, label.as_deref()))
    }

    /// Deletes the whole history and the key irrecoverably. With withdrawals
    /// still queued it refuses with `WithdrawalsPending` (they would be lost
    /// with the only token that can send them) unless `force` is set: flush
    /// first, or warn the user and force. This object is closed afterwards
    /// (calls fail with `Storage`); open a new one to start over.
    #[uniffi::method(default(force = false))]
    pub fn delete_everything(&self, force: bool) -> Result<(), TakedownError> {
        guarded(|| {
            if force {
                self.inner.delete_everything_force()
            } else {
                self.inner.delete_everything()
            }
        })
    }
}

fn to_app_items(items: Vec<SubmitItem>) -> Result<Vec<app::outbox::SubmitItem>, Error> {
    items.into_iter().map(TryInto::try_into).collect()
}

impl Takedown {
    /// The plain-Rust core (tests and the CLI).
    pub fn core(&self) -> &App {
        &self.inner
    }
}
