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
use takedown_app::{self as app, App, Error, FileKeyStore, KeyStore, NetworkOptions};
use takedown_fingerprint::video;

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
    Error::KeyProvider(e.to_string())
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

/// Cancels long work (hashing a selection). Create one, pass it, call `cancel`.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken(video::CancelToken);

#[uniffi::export]
impl CancelToken {
    /// A fresh token, not cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    /// Asks the work to stop; it fails with `TakedownError.Cancelled`.
    pub fn cancel(&self) {
        self.0.cancel();
    }
    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// One picked item to hash.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum MediaInput {
    /// An image file by path (desktop). Only the fingerprints are kept, never the path.
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
    },
    /// A video file by path (desktop, decoded with ffmpeg).
    VideoFile {
        /// The file.
        path: String,
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
            } => SelectionInput::ImagePixels {
                rgba,
                width,
                height,
                stride,
                file_bytes,
            },
            MediaInput::VideoFile { path } => SelectionInput::VideoFile(path),
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

/// Cancels when dropped: a dropped hashing call stops its workers.
struct CancelOnDrop(video::CancelToken);

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
        let token = cancel.map(|c| c.0.clone()).unwrap_or_default();
        let _stop_on_drop = CancelOnDrop(token.clone());
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

    /// Opens a case: checks eligibility (`NotEligible`: nothing stored or sent),
    /// writes the case to the history and the outbox, then tries to send it. When
    /// offline the case stays queued (`sent == false`) and `flush` sends it later.
    pub async fn submit_case(
        &self,
        answers: EligibilityAnswers,
        items: Vec<SubmitItem>,
    ) -> Result<SubmitOutcome, TakedownError> {
        guarded_async(async move {
            // Refusal first: not eligible (every reason) before malformed items.
            eligibility::attestations(&answers).map_err(Error::NotEligible)?;
            let items = to_app_items(items)?;
            self.inner.submit_case(&answers, &items).await
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

    /// Sends everything queued. Call it from WorkManager / BGTaskScheduler and when
    /// connectivity returns; schedule the next run after `retryAfterMs` when
    /// something is still pending.
    pub async fn flush(&self) -> Result<FlushReport, TakedownError> {
        guarded_async(self.inner.flush()).await
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

    /// Refreshes every sent case; returns their changes since the user last looked.
    pub async fn refresh_all(&self) -> Result<Vec<CaseChanges>, TakedownError> {
        guarded_async(self.inner.refresh_all()).await
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

    /// Deletes the whole history and the key irrecoverably. This object is closed
    /// afterwards (calls fail with `Storage`); open a new one to start over.
    pub fn delete_everything(&self) -> Result<(), TakedownError> {
        guarded(|| self.inner.delete_everything())
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
