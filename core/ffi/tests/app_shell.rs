//! The calls the app shells need, through the exported object: a reusable cancel
//! handle, deadlines, async open, one object per process, idempotent queueing,
//! the change listener after a background flush, resubmitting, cancelling a
//! queued case, the case detail, "delete everything" with withdrawals queued,
//! the logger hook, and the smallest host-decoded picture.

mod app_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app_support::{Fault, Phone, PhoneFfi, Proxy, Service, fast_options, photo_png};
use takedown_app::eligibility::{AgeWhenMade, EligibilityAnswers, SubmitterRole};
use takedown_app::history::CaseState;
use takedown_core::{
    CancelToken, ChangeListener, LogLevel, Logger, MediaInput, SubmitItem, TakedownError,
    open_takedown, set_logger,
};

fn eligible() -> EligibilityAnswers {
    EligibilityAnswers {
        age_when_made: AgeWhenMade::Under18,
        submitter: SubmitterRole::PersonShown,
    }
}

async fn items(td: &takedown_core::Takedown, seeds: &[u32]) -> Vec<SubmitItem> {
    let inputs = seeds
        .iter()
        .map(|s| MediaInput::ImageBytes {
            bytes: photo_png(*s, 160, 120),
        })
        .collect();
    td.hash_selection(inputs, None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|h| SubmitItem {
            fingerprint: h.fingerprint.unwrap(),
            label: None,
        })
        .collect()
}

/// Bug 2: a handle used by a finished call (or by a call whose future was
/// dropped) still works for the next call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_handle_is_reusable_after_any_call() {
    let phone = Phone::new();
    let td = phone.open("http://127.0.0.1:9");
    let handle = CancelToken::new();
    let one = || {
        vec![MediaInput::ImageBytes {
            bytes: photo_png(3, 320, 240),
        }]
    };
    td.hash_selection(one(), None, Some(handle.clone()))
        .await
        .unwrap();
    assert!(!handle.is_cancelled());
    let again = td.hash_selection(one(), None, Some(handle.clone())).await;
    assert!(again.is_ok(), "{again:?}");
    // A dropped call (a cancelled coroutine) stops its own work only.
    let big: Vec<_> = (0..20)
        .map(|_| MediaInput::ImageBytes {
            bytes: photo_png(4, 800, 600),
        })
        .collect();
    let r = tokio::time::timeout(
        Duration::from_millis(50),
        td.hash_selection(big, None, Some(handle.clone())),
    )
    .await;
    assert!(r.is_err());
    assert!(!handle.is_cancelled());
    assert!(
        td.hash_item(one().remove(0), Some(handle.clone()))
            .await
            .is_ok()
    );
    // Cancelling the handle stops the next call.
    handle.cancel();
    let r = td.hash_item(one().remove(0), Some(handle.clone())).await;
    assert!(matches!(r, Err(TakedownError::Cancelled)), "{r:?}");
    // A deadline already past.
    let r = td
        .hash_selection(one(), None, Some(CancelToken::with_timeout_ms(0)))
        .await;
    assert!(matches!(r, Err(TakedownError::DeadlineExceeded)), "{r:?}");
}

#[derive(Default)]
struct Seen(AtomicUsize, Mutex<Vec<takedown_app::Change>>);

impl ChangeListener for Seen {
    fn on_change(&self, change: takedown_app::Change) {
        self.1.lock().unwrap().push(change);
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_calls_work_through_the_exported_object() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let td = open_takedown(
        phone.data_dir().display().to_string(),
        proxy.url.clone(),
        phone.key_provider(),
        fast_options(),
    )
    .await
    .expect("async open");
    // One object per process.
    let second = open_takedown(
        phone.data_dir().display().to_string(),
        proxy.url.clone(),
        phone.key_provider(),
        fast_options(),
    )
    .await;
    assert!(matches!(second, Err(TakedownError::AlreadyOpen)));

    let seen = Arc::new(Seen::default());
    td.set_listener(Some(seen.clone()));
    let its = items(&td, &[10, 11]).await;
    let a = td
        .queue_case("req-a".into(), eligible(), its.clone())
        .unwrap();
    let b = td
        .queue_case("req-a".into(), eligible(), its.clone())
        .unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(a.state, CaseState::Pending);
    assert_eq!(td.list_cases().unwrap().len(), 1);
    // A background flush (another task) tells the listener.
    let before = seen.0.load(Ordering::SeqCst);
    let bg = td.clone();
    let r = tokio::spawn(async move { bg.flush(None).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((r.sent, r.pending), (1, 0));
    assert!(seen.0.load(Ordering::SeqCst) > before);

    // The case detail.
    td.refresh_status(a.id).await.unwrap();
    let d = td.case_detail(a.id).unwrap();
    assert_eq!(d.case.state, CaseState::Open);
    assert_eq!(d.items.len(), 2);
    assert_eq!(d.status.as_ref().unwrap().totals.active_items, 2);
    assert!(d.changes.unwrap().first_look);

    // A refusal, then resubmitting.
    proxy.push_fault(Fault::Status(422));
    let r = td
        .submit_case("req-b".into(), eligible(), items(&td, &[12]).await, None)
        .await;
    assert!(
        matches!(r, Err(TakedownError::ServiceRejected { .. })),
        "{r:?}"
    );
    let refused = td.list_cases().unwrap()[0].clone();
    assert_eq!(refused.state, CaseState::Rejected);
    assert_eq!(td.resubmit_case(refused.id).unwrap(), 1);
    let r = td.flush(None).await.unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(
        td.case_detail(refused.id).unwrap().case.state,
        CaseState::Open
    );

    // Cancelling a queued case before it is sent.
    let q = td
        .queue_case("req-c".into(), eligible(), items(&td, &[13]).await)
        .unwrap();
    assert!(td.cancel_queued_case(q.id).await.unwrap());
    assert_eq!(td.list_cases().unwrap().len(), 2);

    // A flush under a deadline while the service hangs.
    td.queue_case("req-d".into(), eligible(), items(&td, &[14]).await)
        .unwrap();
    proxy.push_fault(Fault::Hold(Duration::from_secs(10)));
    let t = Instant::now();
    let r = td
        .flush(Some(CancelToken::with_timeout_ms(300)))
        .await
        .unwrap();
    assert!(r.deadline_reached);
    assert_eq!(r.pending, 1);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(r.next_attempt_at_ms.is_some());
    td.flush(None).await.unwrap();
    assert_eq!(svc.cases(), 3);

    // "Delete everything" with a withdrawal queued: refused, then forced.
    let first_item = td.list_items(Some(a.id)).unwrap()[0].id;
    td.core().enqueue_withdraw_item(first_item).unwrap();
    let r = td.delete_everything(false);
    assert!(
        matches!(r, Err(TakedownError::WithdrawalsPending { count: 1 })),
        "{r:?}"
    );
    td.delete_everything(true).unwrap();
    assert!(!phone.history_path().exists());
}

struct Lines(Mutex<Vec<(LogLevel, String, String)>>);

impl Logger for Lines {
    fn log(&self, level: LogLevel, target: String, message: String) {
        self.0.lock().unwrap().push((level, target, message));
    }
}

/// The logger hook gets the core's events, without tokens, fingerprints,
/// numbers or paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logger_hook_gets_events_without_personal_data() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let td = phone.open(&proxy.url);
    let lines = Arc::new(Lines(Mutex::new(Vec::new())));
    set_logger(Some(lines.clone()));
    let its = items(&td, &[20]).await;
    for _ in 0..3 {
        proxy.push_fault(Fault::Status(503));
    }
    let out = td
        .submit_case("req-log".into(), eligible(), its.clone(), None)
        .await
        .unwrap();
    assert!(!out.sent);
    let out = td.flush(None).await.unwrap();
    assert_eq!(out.sent, 1);
    set_logger(None);
    let got = lines.0.lock().unwrap().clone();
    assert!(
        got.iter().any(|(l, t, m)| *l == LogLevel::Info
            && t == "takedown_app::outbox"
            && m.contains("postponed")),
        "{got:?}"
    );
    let number = td.list_cases().unwrap()[0].case_number.clone().unwrap();
    let pdq = its[0].fingerprint.pdq.clone().unwrap();
    let dir = phone.dir.path().display().to_string();
    for (_, _, m) in &got {
        assert!(
            !m.contains(&number) && !m.contains(&pdq) && !m.contains(&dir),
            "{m}"
        );
        assert!(!m.contains(&its[0].fingerprint.sha256));
    }
}

/// Issue 9's phone path: host-decoded pixels must be the picture's own size;
/// a downscaled decode is refused, the full-size one equals the file's PDQ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_pixels_below_the_original_size_are_refused() {
    let phone = Phone::new();
    let td = phone.open("http://127.0.0.1:9");
    let png = photo_png(30, 640, 480);
    let img = image::load_from_memory(&png).unwrap().to_rgba8();
    let small = image::imageops::thumbnail(&img, 320, 240);
    let pixels = |rgba: Vec<u8>, w: u32, h: u32| MediaInput::ImagePixels {
        rgba,
        width: w,
        height: h,
        stride: w * 4,
        file_bytes: png.clone(),
        original_width: 640,
        original_height: 480,
    };
    let full = td
        .hash_item(pixels(img.clone().into_raw(), 640, 480), None)
        .await
        .unwrap();
    let from_file = td
        .hash_item(MediaInput::ImageBytes { bytes: png.clone() }, None)
        .await
        .unwrap();
    assert_eq!(
        full.fingerprint.as_ref().unwrap().pdq,
        from_file.fingerprint.as_ref().unwrap().pdq,
        "full-size pixels give the file's PDQ"
    );
    let r = td
        .hash_item(pixels(small.into_raw(), 320, 240), None)
        .await
        .unwrap();
    assert!(r.fingerprint.is_none());
    let e = r.error.unwrap();
    assert_eq!(e.kind, takedown_app::selection::ItemErrorKind::InvalidMedia);
    // Rotated upright (either orientation) is accepted.
    let rotated = image::imageops::rotate90(&img);
    let r = td
        .hash_item(pixels(rotated.into_raw(), 480, 640), None)
        .await
        .unwrap();
    assert!(r.fingerprint.is_some(), "{:?}", r.error);
}
