//! Feedback means what the teen needs to know, and the status stays small:
//! a platform counts once per item and outcome however many event ids it
//! sends, the timeline is bounded, large cases page their items, revoked
//! platforms are not counted, and feedback on a withdrawn item counts.

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::{Value, json};

both_backends!(
    a_platform_counts_once_per_item_and_outcome_however_many_events_it_sends,
    the_status_of_a_10000_item_case_is_bounded_and_pages_through_every_item,
    revoked_platforms_do_not_count_as_synced,
    feedback_on_a_withdrawn_item_is_accepted_and_counted,
);

async fn post_events(h: &Http, key: &str, events: Vec<Value>) -> Value {
    let r = h
        .post("/v1/feedback", Some(key), &json!({"events": events}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

async fn a_platform_counts_once_per_item_and_outcome_however_many_events_it_sends(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let items = vec![image_item(), image_item()];
    let (number, token, ids) = create_case(h, items.clone()).await;
    assert_eq!(ids, [1, 2]);
    // Platforms name the global id they synced, not the submitter's number.
    let item = global_id(h, &s.platform_key, &items[0]).await;
    // One platform: 20 000 distinct event ids, all "matched" on one item.
    let mut accepted = 0;
    for batch in 0..20 {
        let events = (0..1000)
            .map(|i| json!({"event_id": format!("m-{batch}-{i}"), "item_id": item, "outcome": "matched"}))
            .collect();
        accepted += post_events(h, &s.platform_key, events).await["accepted"]
            .as_u64()
            .unwrap();
    }
    assert_eq!(accepted, 20_000, "every event id is recorded once");
    // A second platform finds it and removes it (twice, with two ids).
    let p2 = takedown_server::admin::create_platform(&s.store, "second")
        .await
        .unwrap();
    post_events(
        h,
        &p2,
        vec![
            json!({"event_id": "a", "item_id": item, "outcome": "matched"}),
            json!({"event_id": "b", "item_id": item, "outcome": "removed"}),
            json!({"event_id": "c", "item_id": item, "outcome": "removed"}),
        ],
    )
    .await;
    let r = h.get(&format!("/v1/cases/{number}"), Some(&token)).await;
    assert_eq!(r.status, 200);
    assert!(r.body.len() < 4096, "status is {} bytes", r.body.len());
    let st = r.json();
    // Found on 2 platforms, removed on 1.
    assert_eq!(st["items"][0]["matches"], 2, "{st}");
    assert_eq!(st["items"][0]["removals"], 1);
    assert_eq!(st["items"][1]["matches"], 0);
    assert_eq!(st["summary"]["matches"], 2);
    assert_eq!(st["summary"]["removals"], 1);
    // One timeline entry per platform, item and outcome.
    let kinds: Vec<&str> = st["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["case_created", "matched", "matched", "removed"]);
    // The old response shape for a small case: no paging fields.
    assert!(st.get("items_total").is_none() && st.get("timeline_omitted").is_none());
    // The phone core's type still reads it.
    let _: takedown_protocol::CaseStatus = serde_json::from_slice(&r.body).unwrap();
    s.stop().await;
}

async fn the_status_of_a_10000_item_case_is_bounded_and_pages_through_every_item(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let (number, token, mut all) = create_case(h, (0..1000).map(|_| image_item()).collect()).await;
    for _ in 0..9 {
        let items: Vec<Value> = (0..1000).map(|_| image_item()).collect();
        let r = h
            .post(
                &format!("/v1/cases/{number}/items"),
                Some(&token),
                &json!({"idempotency_key": idem_key(), "items": items}),
            )
            .await;
        assert!(r.status == 201, "{}", r.text());
        all.extend(
            r.json()["item_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap()),
        );
    }
    assert_eq!(all, (1..=10_000).collect::<Vec<i64>>(), "per-case numbers");
    // Feedback (by the global ids a platform syncs, in order of addition) on
    // many items makes a long timeline.
    let (entries, _) = h.sync_all(&s.platform_key, 0, 50_000).await;
    let gids: Vec<i64> = entries
        .iter()
        .map(|e| e["item_id"].as_i64().unwrap())
        .collect();
    assert_eq!(gids.len(), 10_000);
    for chunk in gids[..3000].chunks(1000) {
        let events = chunk
            .iter()
            .map(|id| json!({"event_id": format!("x{id}"), "item_id": id, "outcome": "removed"}))
            .collect();
        post_events(h, &s.platform_key, events).await;
    }
    let path = format!("/v1/cases/{number}");
    let r = h.get(&path, Some(&token)).await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.len() < 150_000,
        "status of a 10 000-item case is {} bytes",
        r.body.len()
    );
    let st = r.json();
    assert_eq!(
        st["summary"]["active_items"], 10_000,
        "totals cover every item"
    );
    assert_eq!(st["summary"]["removals"], 3000);
    assert_eq!(st["items_total"], 10_000);
    assert_eq!(
        st["items"].as_array().unwrap().len() as u32,
        takedown_protocol::STATUS_ITEMS_MAX
    );
    let tl = st["timeline"].as_array().unwrap().len();
    assert_eq!(tl, takedown_protocol::STATUS_TIMELINE_MAX);
    assert_eq!(st["timeline_omitted"].as_u64().unwrap() as usize, 3010 - tl);
    assert_eq!(
        st["timeline"][tl - 1]["kind"],
        "removed",
        "the newest are kept"
    );
    // Paging visits every item exactly once, in order.
    let mut seen = Vec::new();
    let mut after = 0i64;
    loop {
        let r = h
            .get(
                &format!("{path}?items_after={after}&items_limit=400"),
                Some(&token),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let st = r.json();
        for it in st["items"].as_array().unwrap() {
            seen.push(it["item_id"].as_i64().unwrap());
        }
        match st["next_items_after"].as_i64() {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(seen, all);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 10_000);
    for bad in [
        "items_limit=0",
        "items_limit=501",
        "items_after=-1",
        "items_after=x",
    ] {
        let r = h.get(&format!("{path}?{bad}"), Some(&token)).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.text());
    }
    s.stop().await;
}

async fn revoked_platforms_do_not_count_as_synced(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let (number, token, _) = create_case(h, vec![image_item()]).await;
    let p2 = takedown_server::admin::create_platform(&s.store, "leaving")
        .await
        .unwrap();
    // A platform acknowledges what it has by coming back from its cursor.
    for key in [&s.platform_key, &p2] {
        let (_, end) = h.sync_all(key, 0, 100).await;
        h.sync_all(key, end, 100).await;
    }
    let st = h
        .get(&format!("/v1/cases/{number}"), Some(&token))
        .await
        .json();
    assert_eq!(st["items"][0]["platforms_synced"], 2);
    assert!(
        takedown_server::admin::revoke_platform(&s.store, "leaving")
            .await
            .unwrap()
    );
    let st = h
        .get(&format!("/v1/cases/{number}"), Some(&token))
        .await
        .json();
    assert_eq!(st["items"][0]["platforms_synced"], 1, "{st}");
    assert_eq!(st["summary"]["platforms_synced_all"], 1);
    s.stop().await;
}

/// Decided in ADR 0109: a platform may find or remove a copy before it has
/// synced the withdrawal, and what happened to the picture stays true, so the
/// feedback is accepted and counts on the (withdrawn) item like any other.
async fn feedback_on_a_withdrawn_item_is_accepted_and_counted(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let item = image_item();
    let (number, token, ids) = create_case(h, vec![item.clone()]).await;
    let gid = global_id(h, &s.platform_key, &item).await;
    let r = h
        .post(
            &format!("/v1/cases/{number}/items/{}/withdraw", ids[0]),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = post_events(
        h,
        &s.platform_key,
        vec![json!({"event_id": "late", "item_id": gid, "outcome": "removed"})],
    )
    .await;
    assert_eq!(v["accepted"], 1);
    let st = h
        .get(&format!("/v1/cases/{number}"), Some(&token))
        .await
        .json();
    assert_eq!(st["items"][0]["state"], "withdrawn");
    assert_eq!(st["items"][0]["removals"], 1);
    s.stop().await;
}
