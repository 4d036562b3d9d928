//! End to end, on loopback: the real hash-list service (in-process, its own
//! SQLite file), the phone core (`takedown-app`) and the platform kit
//! (`takedown-platform`), each through its public API (via the demo crate's thin
//! helpers, which the `takedown-demo` binary uses too).
//!
//! 1. The service runs.
//! 2. A case with several photos is created through the phone core.
//! 3. The kit syncs.
//! 4. A directory scan finds exactly the re-uploaded copies (re-encoded, resized,
//!    rotated, mirrored, letterboxed, captioned) among unrelated photos.
//! 5. Feedback is sent.
//! 6. The case status, read through the phone core, shows the matches and removals.
//! 7. The case is withdrawn.
//! 8. After the next sync, the same scan finds nothing.

use std::collections::{BTreeMap, HashMap};

use takedown_demo::platform::Platform;
use takedown_demo::samples::{Reupload, SampleSet, SampleSpec};
use takedown_demo::service::LocalService;
use takedown_demo::teen::{self, Phone};
use takedown_platform::matcher::HashKind;
use takedown_protocol::Outcome;
use takedown_robustness::photos::SizeRange;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_goes_from_the_phone_to_a_platform_and_is_withdrawn() {
    // 1. The service runs.
    let service = LocalService::start().await.expect("service starts");
    let work = tempfile::tempdir().unwrap();

    let spec = SampleSpec {
        originals: 3,
        copies_per_original: 5,
        unrelated: 12,
        seed: 4242,
        sizes: SizeRange::SMALL,
    };
    let set = tokio::task::spawn_blocking(move || SampleSet::generate(&spec))
        .await
        .unwrap();
    // Every kind of re-upload is in the folder.
    for k in Reupload::ALL {
        assert!(
            set.uploads
                .iter()
                .any(|u| u.copy_of.map(|c| c.1) == Some(k)),
            "{k:?} missing"
        );
    }

    // 2. A case with several photos, through the phone core.
    let answers = teen::ANSWERS;
    assert!(teen::check_eligibility(&answers).eligible);
    let files: Vec<Vec<u8>> = set.originals.iter().map(|o| o.jpeg.clone()).collect();
    let fingerprints = teen::hash_photos(&files).expect("the photos hash");
    assert!(
        fingerprints
            .iter()
            .all(|f| !f.low_quality && f.pdq.is_some())
    );
    let phone = Phone::open(&work.path().join("phone"), &service.url).expect("phone opens");
    let case = phone.submit(&answers, &fingerprints).await.expect("submit");
    assert!(case.case_number.starts_with("TD-"), "{}", case.case_number);
    // The service gives the teen per-case item numbers, never global ids
    // (ADR 0110); the status names items by them, in order of submission.
    assert_eq!(case.service_item_ids, [1, 2, 3]);
    let photo_of: HashMap<i64, usize> = case
        .service_item_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i))
        .collect();

    // 3. The kit syncs.
    let key = service.register_platform("system-test").await.unwrap();
    let mut platform =
        Platform::open(&work.path().join("platform"), &service.url, &key).expect("kit opens");
    let r = platform.sync().await.expect("sync");
    assert_eq!((r.added, r.withdrawn, r.malformed), (3, 0, 0));
    assert_eq!(platform.listed(), 3);
    // Hits name global ids: which photo a hit is, the test knows from the
    // fingerprint on the kit's list (it computed every photo's fingerprint).
    let photo_of_hit: HashMap<i64, usize> = platform
        .listed_md5s()
        .unwrap()
        .into_iter()
        .map(|(id, md5)| {
            let photo = fingerprints.iter().position(|f| f.md5.0 == md5);
            (id, photo.expect("every listed item is one of the photos"))
        })
        .collect();
    assert_eq!(photo_of_hit.len(), 3);

    // 4. The scan finds exactly the re-uploads, each as its own photo.
    let uploads = work.path().join("uploads");
    let paths = set.write_uploads(&uploads).unwrap();
    let scanned = platform.scan(&uploads);
    assert_eq!(scanned.len(), set.uploads.len());
    // Per photo: (matched, removed) as the service should count them.
    let mut expected_feedback: BTreeMap<usize, (u32, u32)> = BTreeMap::new();
    let mut removed = 0u32;
    for (path, res) in &scanned {
        let i = paths
            .iter()
            .position(|p| p == path)
            .expect("a file we wrote");
        let up = &set.uploads[i];
        assert!(res.error.is_none(), "{}: {:?}", up.name, res.error);
        match up.copy_of {
            Some((orig, kind)) => {
                let photos: Vec<usize> =
                    res.hits.iter().map(|h| photo_of_hit[&h.item_id]).collect();
                assert_eq!(
                    photos,
                    vec![orig],
                    "{} ({kind:?}) should match photo {orig} only",
                    up.name
                );
                let hit = &res.hits[0];
                assert_eq!(hit.hash, HashKind::Pdq, "{kind:?}");
                assert!(hit.distance <= 31);
                let variant = hit.variant.as_deref().unwrap_or("");
                match kind {
                    Reupload::Rotated | Reupload::Mirrored => {
                        assert_ne!(variant, "original", "{kind:?} needs a dihedral variant")
                    }
                    Reupload::Letterboxed => {
                        assert!(variant.starts_with("trimmed"), "{kind:?}: {variant}")
                    }
                    // A caption bar is found by whichever variant is nearest
                    // (`bar-cut-20` against a listed edge cut, `bar-filled`, or
                    // the picture itself); the recall per variant is the
                    // robustness tool's to measure (ADR 0410).
                    Reupload::Reencoded | Reupload::Resized | Reupload::Captioned => {}
                }
                // 5. Feedback: every copy is a match; every other one is removed.
                platform.feedback(hit.item_id, Outcome::Matched).unwrap();
                // The service counts a platform once per item and outcome
                // (ADR 0109), however many copies it reports.
                let e = expected_feedback.entry(orig).or_default();
                e.0 = 1;
                if i % 2 == 0 {
                    platform.feedback(hit.item_id, Outcome::Removed).unwrap();
                    e.1 = 1;
                    removed += 1;
                }
            }
            None => assert!(
                res.hits.is_empty(),
                "unrelated {} matched {:?}",
                up.name,
                res.hits
            ),
        }
    }
    let copies = set.copies() as u32;
    assert_eq!(copies, 15);
    let fr = platform.flush_feedback().await.expect("feedback sent");
    assert_eq!(
        (fr.confirmed, fr.duplicates, fr.rejected, fr.pending),
        ((copies + removed) as usize, 0, 0, 0)
    );
    // Nothing left to send: a second flush sends nothing.
    assert_eq!(platform.flush_feedback().await.unwrap().confirmed, 0);
    // The routine sync after that tells the service the kit holds the whole list.
    let r = platform.sync().await.unwrap();
    assert_eq!(r.added + r.withdrawn, 0);

    // 6. The status through the phone core.
    let status = phone.status(case.case_id).await.expect("status");
    assert!(status.active);
    assert_eq!(status.totals.active_items, 3);
    let items_found: u32 = expected_feedback.values().map(|e| e.0).sum();
    let items_removed: u32 = expected_feedback.values().map(|e| e.1).sum();
    assert_eq!(items_found, 3, "every photo has a copy among the uploads");
    assert!(
        items_removed >= 1 && removed > items_removed,
        "a removal counts once per item"
    );
    assert_eq!(status.totals.matches, items_found);
    assert_eq!(status.totals.removals, items_removed);
    assert_eq!(status.totals.platforms_synced_all, 1);
    for it in &status.items {
        let photo = photo_of[&it.service_item_id];
        let want = expected_feedback.get(&photo).copied().unwrap_or_default();
        assert_eq!(
            (it.matches, it.removals),
            want,
            "item {}",
            it.service_item_id
        );
        assert_eq!(it.platforms_synced, 1);
    }

    // 7. The case is withdrawn.
    phone.withdraw(case.case_id).await.expect("withdraw");
    let status = phone.status(case.case_id).await.unwrap();
    assert!(!status.active);
    assert_eq!(status.totals.withdrawn_items, 3);

    // 8. After the next sync, the same scan finds nothing.
    let r = platform.sync().await.unwrap();
    assert_eq!((r.added, r.withdrawn), (0, 3));
    assert_eq!(platform.listed(), 0);
    let again = platform.scan(&uploads);
    assert_eq!(again.len(), set.uploads.len());
    for (path, res) in &again {
        assert!(res.hits.is_empty(), "{} still matches", path.display());
    }
    service.stop().await;
}
