//! The whole phone flow through the exported `Takedown` object against the real
//! service on loopback: hash with progress, eligibility refusal, submit, restart,
//! status and changes since last look, add, withdraw item and case, delete
//! everything — with every request body captured and checked for leaks.

mod app_support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use app_support::{Phone, PhoneFfi, Proxy, Service, fixture, photo_png};
use takedown_app::eligibility::{AgeWhenMade, EligibilityAnswers, IneligibleReason, SubmitterRole};
use takedown_app::history::{CaseState, HistoryItemState};
use takedown_app::selection::ItemErrorKind;
use takedown_core::SubmitItem;
use takedown_core::{HashProgress, MediaInput, TakedownError, check_eligibility};

struct Recorder(Mutex<Vec<(u32, u32)>>);

impl HashProgress for Recorder {
    fn on_progress(&self, done: u32, total: u32) {
        self.0.lock().unwrap().push((done, total));
    }
}

fn eligible() -> EligibilityAnswers {
    EligibilityAnswers {
        age_when_made: AgeWhenMade::Under18,
        submitter: SubmitterRole::PersonShown,
    }
}

/// `true` when `haystack` holds any 64-byte window of `needle`.
fn shares_a_window(haystack: &[u8], needle: &[u8]) -> bool {
    if haystack.len() < 64 || needle.len() < 64 {
        return false;
    }
    let windows: HashSet<&[u8]> = haystack.windows(64).collect();
    needle.windows(64).any(|w| windows.contains(w))
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    haystack.windows(n.len()).any(|w| w == n)
}

fn file_bytes(p: &std::path::Path) -> Vec<u8> {
    let mut all = std::fs::read(p).unwrap_or_default();
    let mut wal = p.as_os_str().to_owned();
    wal.push("-wal");
    all.extend(std::fs::read(wal).unwrap_or_default());
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_flow_through_the_app_object() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let secret_name = "IMG_20240611_secret_beach.png";
    let photo_path = phone.dir.path().join(secret_name);
    let photo1 = photo_png(1, 640, 480);
    let photo2 = photo_png(2, 640, 480);
    std::fs::write(&photo_path, &photo1).unwrap();
    let flat = std::fs::read(fixture("flat-80x60.png")).unwrap();

    let td = phone.open(&proxy.url);

    // Hash a selection off the caller's thread, with progress and per-item results.
    let rec = Arc::new(Recorder(Mutex::new(Vec::new())));
    let hashed = td
        .hash_selection(
            vec![
                MediaInput::ImageFile {
                    path: photo_path.display().to_string(),
                },
                MediaInput::ImageBytes {
                    bytes: photo2.clone(),
                },
                MediaInput::ImageBytes {
                    bytes: flat.clone(),
                },
                MediaInput::ImageBytes {
                    bytes: b"certainly not an image".to_vec(),
                },
            ],
            Some(rec.clone()),
            None,
        )
        .await
        .expect("hash");
    assert_eq!(
        *rec.0.lock().unwrap(),
        vec![(1, 4), (2, 4), (3, 4), (4, 4)],
        "progress after every item, increasing"
    );
    assert_eq!(hashed.len(), 4);
    let f1 = hashed[0].fingerprint.clone().expect("photo 1");
    let f2 = hashed[1].fingerprint.clone().expect("photo 2");
    let f3 = hashed[2].fingerprint.clone().expect("flat picture");
    assert!(f1.quality.unwrap() >= 50 && !f1.low_quality);
    assert!(f3.low_quality, "a flat picture has PDQ quality < 50");
    assert_eq!(
        hashed[3].error.as_ref().unwrap().kind,
        ItemErrorKind::InvalidMedia
    );
    assert!(hashed[3].fingerprint.is_none());
    assert_ne!(hashed[0].duplicate_group, hashed[1].duplicate_group);

    // Not eligible: an explainable error, nothing stored, nothing sent.
    let adult = EligibilityAnswers {
        age_when_made: AgeWhenMade::Adult,
        submitter: SubmitterRole::SomeoneElse,
    };
    let verdict = check_eligibility(adult);
    assert!(!verdict.eligible);
    assert_eq!(
        verdict.reasons,
        vec![
            IneligibleReason::AdultWhenMade,
            IneligibleReason::SubmitterNotEntitled
        ]
    );
    let item = |f: &takedown_core::ItemFingerprint, label: Option<&str>| SubmitItem {
        fingerprint: f.clone(),
        label: label.map(str::to_string),
    };
    match td
        .submit_case("r-adult".into(), adult, vec![item(&f1, None)], None)
        .await
    {
        Err(TakedownError::NotEligible { reasons }) => {
            assert!(reasons.contains(&IneligibleReason::AdultWhenMade))
        }
        other => panic!("expected NotEligible, got {other:?}"),
    }
    assert_eq!(
        proxy.requests(),
        0,
        "nothing is sent for a non-eligible case"
    );
    assert!(td.list_cases().unwrap().is_empty());

    // Submit: written, then sent; the service holds it once.
    let label = "beach day with Alex";
    let out = td
        .submit_case(
            "r-first".into(),
            eligible(),
            vec![item(&f1, Some(label)), item(&f3, None)],
            None,
        )
        .await
        .expect("submit");
    assert!(out.sent, "{out:?}");
    assert_eq!(out.flush.sent, 1);
    let number = out.case_number.clone().expect("case number");
    assert_eq!(svc.cases(), 1);
    assert_eq!(svc.items(), 2);
    let case_id = out.case_id;

    // Restart the object: the history is all there.
    drop(td);
    let td = phone.open(&proxy.url);
    let cases = td.list_cases().unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].case_number.as_deref(), Some(number.as_str()));
    assert_eq!(cases[0].state, CaseState::Open);
    assert_eq!(cases[0].item_count, 2);
    assert_eq!(cases[0].pending_operations, 0);
    let items = td.list_items(Some(case_id)).unwrap();
    assert_eq!(items[0].label.as_deref(), Some(label));
    assert_eq!(items[0].pdq, f1.pdq);
    assert_eq!(items[0].state, HistoryItemState::Active);
    assert!(items[1].low_quality);
    let remote1 = items[0].service_item_id.expect("service id");

    // Status: first look, then nothing new, then a platform removes a copy.
    let ch = td.refresh_status(case_id).await.expect("refresh");
    assert!(ch.first_look && ch.has_changes);
    assert_eq!(ch.now.active_items, 2);
    td.mark_seen(case_id).unwrap();
    assert!(td.changes_since_seen().unwrap().is_empty());
    let ch = td.refresh_status(case_id).await.unwrap();
    assert!(!ch.has_changes, "{ch:?}");

    svc.platform_reports("platform-a", &[remote1], "removed")
        .await;
    let all = td.refresh_all(None).await.expect("refresh all");
    assert_eq!(all.len(), 1);
    assert!(all[0].has_changes && !all[0].first_look);
    assert_eq!(all[0].new_removals, 1);
    assert_eq!(all[0].platforms_synced_all, 1);
    assert_eq!(all[0].platforms_synced_all_before, 0);
    let since = td.changes_since_seen().unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].new_removals, 1);
    let view = td.case_status(case_id).unwrap().expect("status");
    let st1 = view
        .items
        .iter()
        .find(|i| i.item_id == Some(items[0].id))
        .unwrap();
    assert_eq!(st1.removals, 1);
    td.mark_seen(case_id).unwrap();
    assert!(td.changes_since_seen().unwrap().is_empty());

    // Add an item, then withdraw it.
    let add = td
        .add_items(case_id, vec![item(&f2, None)])
        .await
        .expect("add");
    assert!(add.sent);
    assert_eq!(svc.items(), 3);
    let added = add.item_ids[0];
    let rep = td.withdraw_item(added).await.expect("withdraw item");
    assert_eq!(rep.sent, 1);
    let items = td.list_items(Some(case_id)).unwrap();
    let w = items.iter().find(|i| i.id == added).unwrap();
    assert_eq!(w.state, HistoryItemState::Withdrawn);
    assert_eq!(
        svc.count("SELECT count(*) FROM items WHERE withdrawn_at IS NOT NULL"),
        1
    );
    let ch = td.refresh_status(case_id).await.unwrap();
    assert_eq!(ch.newly_withdrawn_items, 1);

    // Withdraw the whole case.
    td.withdraw_case(case_id).await.expect("withdraw case");
    assert_eq!(td.list_cases().unwrap()[0].state, CaseState::Withdrawn);
    assert!(
        td.list_items(Some(case_id))
            .unwrap()
            .iter()
            .all(|i| i.state == HistoryItemState::Withdrawn)
    );
    let view = {
        td.refresh_status(case_id).await.unwrap();
        td.case_status(case_id).unwrap().unwrap()
    };
    assert!(!view.active);
    assert_eq!(svc.cases(), 1, "one case at the service, ever");

    // Privacy: no request carries image bytes, file names or paths.
    let captured = proxy.captured();
    assert!(captured.len() >= 8, "{}", captured.len());
    let dir = phone.dir.path().display().to_string();
    for c in &captured {
        for img in [&photo1, &photo2, &flat] {
            assert!(
                !shares_a_window(&c.body, img),
                "{} {} carries image bytes",
                c.method,
                c.path
            );
        }
        for needle in [secret_name, "secret_beach", dir.as_str(), label, "Alex"] {
            assert!(
                !contains(&c.body, needle),
                "{} body leaks {needle:?}",
                c.path
            );
            assert!(!c.path.contains(needle), "path leaks {needle:?}");
        }
        let ua = c
            .headers
            .iter()
            .find(|(k, _)| k == "user-agent")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        assert!(ua.starts_with("takedown-core/"), "user agent {ua:?}");
        assert!(!ua.to_lowercase().contains("linux"), "user agent {ua:?}");
    }

    // At rest: the label and the case token are sealed.
    let token = proxy
        .responses()
        .iter()
        .find_map(|b| {
            serde_json::from_slice::<serde_json::Value>(b)
                .ok()
                .and_then(|v| {
                    v.get("case_token")
                        .and_then(|t| t.as_str())
                        .map(String::from)
                })
        })
        .expect("a create answer");
    let at_rest = file_bytes(&phone.history_path());
    assert!(!at_rest.is_empty());
    assert!(!contains(&at_rest, &token), "token stored in clear");
    assert!(!contains(&at_rest, label), "label stored in clear");
    assert!(!contains(&at_rest, secret_name), "file name stored");
    assert!(!shares_a_window(&at_rest, &photo1), "pixels stored");

    // Delete everything: history and key gone, the object closed.
    td.delete_everything(false).expect("delete everything");
    assert!(!phone.history_path().exists());
    assert!(!phone.key_path().exists());
    assert!(matches!(
        td.list_cases(),
        Err(TakedownError::Storage { .. })
    ));
    drop(td);
    let td = phone.open(&proxy.url);
    assert!(td.list_cases().unwrap().is_empty(), "a fresh history");
    assert!(phone.key_path().exists(), "with a new key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_fingerprints_and_unknown_ids_are_refused_before_anything_is_sent() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let td = phone.open(&proxy.url);
    let good = td
        .hash_selection(
            vec![MediaInput::ImageBytes {
                bytes: photo_png(3, 200, 150),
            }],
            None,
            None,
        )
        .await
        .unwrap()[0]
        .fingerprint
        .clone()
        .unwrap();
    assert_eq!(good.edge_cuts.len(), 2, "a picture has its two edge cuts");
    let mut bad = good.clone();
    bad.pdq = Some("zz".repeat(32));
    // Edge cuts the host damaged: bad hex, a quality over 100, one edge twice,
    // three cuts, cuts on a video.
    let mut bad_cut_hex = good.clone();
    bad_cut_hex.edge_cuts[1].pdq = "0".repeat(63);
    let mut bad_cut_quality = good.clone();
    bad_cut_quality.edge_cuts[0].quality = 101;
    let mut same_edge = good.clone();
    same_edge.edge_cuts[1].edge = same_edge.edge_cuts[0].edge;
    let mut three = good.clone();
    three.edge_cuts.push(good.edge_cuts[0].clone());
    let mut video_cut = good.clone();
    video_cut.kind = takedown_app::selection::MediaKind::Video;
    video_cut.pdq = None;
    video_cut.quality = None;
    video_cut.frames = vec![takedown_core::FrameFingerprint {
        t: 0.0,
        pdq: good.pdq.clone().unwrap(),
        quality: 80,
    }];
    for (i, bad) in [
        bad,
        bad_cut_hex,
        bad_cut_quality,
        same_edge,
        three,
        video_cut,
    ]
    .into_iter()
    .enumerate()
    {
        let r = td
            .submit_case(
                format!("r-bad-{i}"),
                eligible(),
                vec![SubmitItem {
                    fingerprint: bad,
                    label: None,
                }],
                None,
            )
            .await;
        assert!(
            matches!(r, Err(TakedownError::InvalidMedia { .. })),
            "{i}: {r:?}"
        );
    }
    let r = td
        .submit_case("r-empty".into(), eligible(), vec![], None)
        .await;
    assert!(
        matches!(r, Err(TakedownError::InvalidInput { .. })),
        "{r:?}"
    );
    let r = td
        .add_items(
            4242,
            vec![SubmitItem {
                fingerprint: good,
                label: None,
            }],
        )
        .await;
    assert!(
        matches!(r, Err(TakedownError::InvalidInput { .. })),
        "{r:?}"
    );
    assert!(matches!(
        td.withdraw_item(4242).await,
        Err(TakedownError::InvalidInput { .. })
    ));
    assert!(matches!(
        td.refresh_status(4242).await,
        Err(TakedownError::InvalidInput { .. })
    ));
    assert!(td.list_cases().unwrap().is_empty());
    assert_eq!(proxy.requests(), 0);
}
