//! Case access that survives a lost or wiped phone (issue 11, ADR 0112):
//! submit, delete everything, restore on a fresh history with the case number
//! and recovery key, then status, add and withdraw — against the real service
//! on loopback.

mod app_support;

use app_support::{Phone, Proxy, Service, photo_items};
use takedown_app::eligibility::{AgeWhenMade, EligibilityAnswers, SubmitterRole};
use takedown_app::history::{CaseState, HistoryItemState};
use takedown_app::outbox::SubmitItem;
use takedown_app::recovery::normalize_recovery_key;
use takedown_app::{Cancel, Error};

fn answers(submitter: SubmitterRole) -> EligibilityAnswers {
    EligibilityAnswers {
        age_when_made: AgeWhenMade::Under18,
        submitter,
    }
}

fn items(seeds: &[u32]) -> Vec<SubmitItem> {
    photo_items(seeds, None)
}

fn mistype(key: &str, at: usize) -> String {
    let mut b = key.as_bytes().to_vec();
    b[at] = if b[at] == b'7' { b'8' } else { b'7' };
    String::from_utf8(b).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_delete_everything_restore_then_add_and_withdraw() {
    let svc = Service::start().await;
    let proxy = Proxy::start(&svc.url).await;
    let phone = Phone::new();
    let app = phone.open_app(&proxy.url);

    // The key exists from the moment the case is queued, offline or not.
    let queued = app
        .queue_case(
            "tap-1",
            &answers(SubmitterRole::ParentOrGuardian),
            &items(&[1, 2]),
        )
        .unwrap();
    let key = queued.recovery_key.clone().expect("a recovery key");
    assert_eq!(normalize_recovery_key(&key).unwrap(), key);
    assert_eq!(key.len(), 41);
    app.flush().await.unwrap();
    let case = app.case(queued.id).unwrap();
    let number = case.case_number.clone().unwrap();
    assert_eq!(case.recovery_key.as_deref(), Some(key.as_str()), "kept");
    // Only the verifier went out, never the key.
    let sent: Vec<String> = proxy
        .captured()
        .iter()
        .map(|c| String::from_utf8_lossy(&c.body).into_owned())
        .collect();
    assert!(sent.iter().any(|b| b.contains("\"recovery_verifier\"")));
    let compact = key.replace('-', "");
    assert!(
        sent.iter()
            .all(|b| !b.contains(&key) && !b.contains(&compact)),
        "the key itself never leaves at creation"
    );
    // The key is sealed at rest.
    drop(app);
    let raw = std::fs::read(phone.history_path()).unwrap();
    assert!(
        !raw.windows(compact.len()).any(|w| w == compact.as_bytes())
            && !raw.windows(key.len()).any(|w| w == key.as_bytes()),
        "the recovery key is not stored in the clear"
    );
    let app = phone.open_app(&proxy.url);
    // A platform finds and removes the first picture.
    svc.platform_reports("plat-a", &[1], "removed").await;
    app.delete_everything().unwrap();
    drop(app);

    // A new phone (or the same one after a reinstall).
    let phone2 = Phone::new();
    let app = phone2.open_app(&proxy.url);
    let before = proxy.requests();
    assert!(matches!(
        app.restore_case(&number, &mistype(&key, 8), &Cancel::new())
            .await,
        Err(Error::RecoveryKeyInvalid(2))
    ));
    assert!(matches!(
        app.restore_case(&number, &key[..30], &Cancel::new()).await,
        Err(Error::RecoveryKeyInvalid(0))
    ));
    assert_eq!(proxy.requests(), before, "a mistyped key sends nothing");
    let other = app
        .queue_case("other", &answers(SubmitterRole::PersonShown), &items(&[9]))
        .unwrap();
    let other_key = other.recovery_key.clone().unwrap();
    app.cancel_queued_case(other.id).await.unwrap();
    match app.restore_case(&number, &other_key, &Cancel::new()).await {
        Err(Error::Rejected { code, .. }) => assert_eq!(code, "not_found"),
        e => panic!("a wrong key is refused, got {e:?}"),
    }
    assert!(app.list_cases().unwrap().is_empty(), "nothing stored");

    let typed = number.to_lowercase().replace('-', " ");
    let restored = app
        .restore_case(&typed, &key.to_lowercase(), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(restored.case_number.as_deref(), Some(number.as_str()));
    assert_eq!(restored.state, CaseState::Open);
    assert_eq!(restored.submitter, SubmitterRole::ParentOrGuardian);
    assert_eq!(restored.item_count, 2);
    assert_eq!(restored.recovery_key.as_deref(), Some(key.as_str()));
    let listed = app.list_items(Some(restored.id)).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|i| i.md5.is_none() && i.sha256.is_none() && i.pdq.is_none()),
        "fingerprints stay on the phone that made them"
    );
    assert_eq!(
        listed.iter().map(|i| i.service_item_id).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    let status = app.case_status(restored.id).unwrap().unwrap();
    assert_eq!(status.totals.active_items, 2);
    assert_eq!(status.totals.removals, 1, "what platforms did is there");
    assert_eq!(status.items[0].item_id, Some(listed[0].id));

    // Add a picture, withdraw one of the restored ones, then the case.
    let added = app.add_items(restored.id, &items(&[3])).await.unwrap();
    assert!(added.sent);
    app.withdraw_item(listed[1].id).await.unwrap();
    app.refresh_status(restored.id).await.unwrap();
    let status = app.case_status(restored.id).unwrap().unwrap();
    assert_eq!(
        (status.totals.active_items, status.totals.withdrawn_items),
        (2, 1)
    );
    app.withdraw_case(restored.id).await.unwrap();
    app.refresh_status(restored.id).await.unwrap();
    assert_eq!(app.case(restored.id).unwrap().state, CaseState::Withdrawn);
    assert!(
        app.list_items(Some(restored.id))
            .unwrap()
            .iter()
            .all(|i| i.state == HistoryItemState::Withdrawn)
    );
    assert_eq!(
        svc.count("SELECT count(*) FROM items WHERE state = 'active'"),
        0
    );
}

/// Restoring a case this history still holds replaces its token instead of
/// adding a second copy, and the phone that lost access gets it back the same
/// way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_elsewhere_revokes_the_old_token_and_restoring_here_reuses_the_case() {
    let svc = Service::start().await;
    let phone_a = Phone::new();
    let a = phone_a.open_app(&svc.url);
    let out = a
        .submit_case(&answers(SubmitterRole::PersonShown), &items(&[4]))
        .await
        .unwrap();
    let case = a.case(out.case_id).unwrap();
    let (number, key) = (case.case_number.unwrap(), case.recovery_key.unwrap());

    let phone_b = Phone::new();
    let b = phone_b.open_app(&svc.url);
    b.restore_case(&number, &key, &Cancel::new()).await.unwrap();
    match a.refresh_status(out.case_id).await {
        Err(Error::Rejected { code, .. }) => assert_eq!(code, "not_found"),
        r => panic!("the lost phone's token is revoked, got {r:?}"),
    }
    let again = a.restore_case(&number, &key, &Cancel::new()).await.unwrap();
    assert_eq!(again.id, out.case_id, "the same case, not a copy");
    assert_eq!(a.list_cases().unwrap().len(), 1);
    let items = a.list_items(Some(out.case_id)).unwrap();
    assert!(items[0].md5.is_some(), "this phone's fingerprints are kept");
    a.refresh_status(out.case_id).await.unwrap();
}
