//! The HTTP API over real loopback connections, against both backends.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use takedown_server::Limits;

both_backends!(
    case_lifecycle,
    unknown_case_and_wrong_token_answer_identically_and_are_throttled,
    sync_feedback_and_status,
    bad_input_is_rejected_naming_the_field_without_writing,
    exports_list_active_items,
    concurrent_writers_never_make_sync_skip_an_entry,
    operations_endpoints,
    per_client_rate_limit,
    arbitrary_bodies_never_cause_5xx,
    json_arrays_are_not_accepted_in_place_of_objects,
    json_content_type_is_required_and_bearer_is_case_insensitive,
    concurrent_feedback_from_many_platforms_always_succeeds,
    the_right_secret_is_never_locked_out,
    item_numbers_are_per_case_and_reveal_no_volume,
    a_recovery_key_trades_for_a_fresh_token,
    edge_cuts_are_stored_synced_and_checked,
);

async fn case_lifecycle(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let key = idem_key();
    let body = case_body(&key, vec![image_item(), video_item(3)]);
    let r = h.post("/v1/cases", None, &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let number = created["case_number"].as_str().unwrap().to_string();
    let token = created["case_token"].as_str().unwrap().to_string();
    assert!(number.starts_with("TD-") && number.len() == 17, "{number}");
    assert!(
        token.starts_with("tdc_") && token.len() == 4 + 64,
        "token has 256 bits"
    );
    assert_eq!(created["created"], true);
    let ids: Vec<i64> = serde_json::from_value(created["item_ids"].clone()).unwrap();
    assert_eq!(ids, [1, 2], "per-case item numbers");

    // Retry with the same key and body: same case, same token, nothing new.
    let r = h.post("/v1/cases", None, &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let again = r.json();
    assert_eq!(again["case_number"], created["case_number"]);
    assert_eq!(again["case_token"], created["case_token"]);
    assert_eq!(again["item_ids"], created["item_ids"]);
    assert_eq!(again["created"], false);
    // Same key, different body: conflict, blamed on the key.
    let r = h
        .post("/v1/cases", None, &case_body(&key, vec![image_item()]))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.field().as_deref(), Some("idempotency_key"));
    let (entries, _) = h.sync_all(&s.platform_key, 0, 100).await;
    assert_eq!(entries.len(), 2, "replays and conflicts add nothing");

    // Status, read with a typed-in number (lowercase, spaces).
    let typed = number.to_lowercase().replace('-', " ");
    let r = h
        .get(
            &format!("/v1/cases/{}", typed.replace(' ', "%20")),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let st = r.json();
    assert_eq!(st["case_number"], number.as_str());
    assert_eq!(st["state"], "active");
    assert_eq!(st["summary"]["active_items"], 2);
    assert_eq!(st["items"][1]["kind"], "video");
    assert_eq!(st["items"][0]["platforms_synced"], 0);

    // Add items, idempotently.
    let add = json!({"idempotency_key": idem_key(), "items": [image_item()]});
    let path = format!("/v1/cases/{number}/items");
    let r = h.post(&path, Some(&token), &add).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let added = r.json();
    let r = h.post(&path, Some(&token), &add).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["item_ids"], added["item_ids"]);
    assert_eq!(r.json()["created"], false);
    let new_id = added["item_ids"][0].as_i64().unwrap();
    assert_eq!(new_id, 3, "numbers continue within the case");

    // Withdraw one item (twice: the second is a no-op).
    let wpath = format!("/v1/cases/{number}/items/{}/withdraw", ids[0]);
    let r = h.post(&wpath, Some(&token), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["withdrawn_item_ids"], json!([ids[0]]));
    let r = h.post(&wpath, Some(&token), &json!({})).await;
    assert_eq!(r.json()["withdrawn_item_ids"], json!([]));
    // A number the case does not have is not found, and blamed on item_id;
    // another case numbers its items from 1 again.
    let (_, _, other_ids) = create_case(h, vec![image_item()]).await;
    assert_eq!(other_ids, [1]);
    let r = h
        .post(
            &format!("/v1/cases/{number}/items/4/withdraw"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.field().as_deref(), Some("item_id"));

    // Withdraw the case: the remaining items go.
    let r = h
        .post(
            &format!("/v1/cases/{number}/withdraw"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200);
    let mut w: Vec<i64> = serde_json::from_value(r.json()["withdrawn_item_ids"].clone()).unwrap();
    w.sort();
    let mut want = vec![ids[1], new_id];
    want.sort();
    assert_eq!(w, want);
    let r = h
        .post(
            &path,
            Some(&token),
            &json!({"idempotency_key": idem_key(), "items": [image_item()]}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.code(), "case_withdrawn");

    let st = h
        .get(&format!("/v1/cases/{number}"), Some(&token))
        .await
        .json();
    assert_eq!(st["state"], "withdrawn");
    assert_eq!(st["summary"]["active_items"], 0);
    assert_eq!(st["summary"]["withdrawn_items"], 3);
    assert!(
        st["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "withdrawn" && i["withdrawn_at"].is_i64())
    );
    let kinds: Vec<&str> = st["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "case_created",
            "items_added",
            "item_withdrawn",
            "case_withdrawn"
        ]
    );
    assert_eq!(st["timeline"][0]["count"], 2);
    assert_eq!(st["timeline"][3]["count"], 2);
    s.stop().await;
}

async fn unknown_case_and_wrong_token_answer_identically_and_are_throttled(b: Backend) {
    let limits = Limits {
        max_auth_failures: 4,
        ..test_limits()
    };
    let Some(s) = TestServer::start_with(b, limits, None).await else {
        return;
    };
    let h = &s.http;
    let (number, token, _) = create_case(h, vec![image_item()]).await;
    let wrong = h
        .get(
            &format!("/v1/cases/{number}"),
            Some(&format!("tdc_{}", rand_hex(32))),
        )
        .await;
    let unknown = h.get("/v1/cases/TD-0000-0000-0000", Some(&token)).await;
    let garbage = h.get("/v1/cases/not-a-number", Some(&token)).await;
    assert_eq!(wrong.status, 404);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert_eq!((wrong.status, &wrong.body), (garbage.status, &garbage.body));
    // A missing token is a different, information-free answer.
    let r = h.get(&format!("/v1/cases/{number}"), None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.field().as_deref(), Some("Authorization"));
    // Wrong token on a write: same answer, nothing withdrawn.
    let r = h
        .post(
            &format!("/v1/cases/{number}/withdraw"),
            Some("tdc_nope"),
            &json!({}),
        )
        .await;
    assert_eq!((r.status, &r.body), (wrong.status, &wrong.body));
    // Four failures so far: this client's wrong guesses are now throttled,
    // but the right token still opens the case (issue 10, item 5).
    let r = h
        .get(
            &format!("/v1/cases/{number}"),
            Some(&format!("tdc_{}", rand_hex(32))),
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.code(), "rate_limited");
    let r = h.get(&format!("/v1/cases/{number}"), Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The case is intact.
    let st = s.store.case_auth(&number).await.unwrap().unwrap();
    let status = takedown_server::domain::case_status(&s.store, st.case_id, Default::default())
        .await
        .unwrap();
    assert_eq!(status.summary.active_items, 1);
    s.stop().await;
}

async fn sync_feedback_and_status(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let key = s.platform_key.clone();
    let items = vec![image_item(), image_item(), video_item(2)];
    let (number, token, ids) = create_case(h, items.clone()).await;
    assert_eq!(ids, [1, 2, 3]);
    let other = image_item();
    let (_, _, ids2) = create_case(h, vec![other.clone()]).await;
    assert_eq!(ids2, [1]);

    // No key, bad key: 401 naming Authorization.
    for auth in [None, Some("tdk_wrong")] {
        let r = h.get("/v1/sync?cursor=0", auth).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.field().as_deref(), Some("Authorization"));
    }
    // Paged sync from 0: every addition once, in seq order.
    let (entries, cursor) = h.sync_all(&key, 0, 2).await;
    assert_eq!(entries.len(), 4);
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(cursor, *seqs.last().unwrap());
    // The platform sees global ids (the submitter never does), in order.
    let got: Vec<String> = entries
        .iter()
        .map(|e| e["md5"].as_str().unwrap().to_string())
        .collect();
    let sent: Vec<String> = items.iter().chain([&other]).map(md5_of).collect();
    assert_eq!(got, sent);
    let gids: Vec<i64> = entries
        .iter()
        .map(|e| e["item_id"].as_i64().unwrap())
        .collect();
    assert!(gids.windows(2).all(|w| w[0] < w[1]), "{gids:?}");
    assert!(entries.iter().all(|e| e["op"] == "add"));
    assert_eq!(entries[2]["kind"], "video");
    assert_eq!(entries[2]["frames"].as_array().unwrap().len(), 2);
    assert!(entries[0]["pdq"].is_string() && entries[2].get("pdq").is_none());

    // A page request acknowledges everything up to its cursor: with pages of
    // two, items 1-2 are acknowledged, item 3 only once the platform comes back.
    let st = h
        .get(&format!("/v1/cases/{number}"), Some(&token))
        .await
        .json();
    assert_eq!(st["items"][0]["platforms_synced"], 1);
    assert_eq!(st["items"][2]["platforms_synced"], 0);
    assert_eq!(st["summary"]["platforms_synced_all"], 0);
    let r = h
        .get(&format!("/v1/sync?cursor={cursor}"), Some(&key))
        .await;
    assert_eq!(r.json()["entries"].as_array().unwrap().len(), 0);
    assert_eq!(r.json()["next_cursor"], cursor);
    let st = h
        .get(&format!("/v1/cases/{number}"), Some(&token))
        .await
        .json();
    assert_eq!(st["items"][2]["platforms_synced"], 1);
    assert_eq!(st["summary"]["platforms_synced_all"], 1);

    // A withdrawal reaches the platform in the delta, after the additions.
    h.post(
        &format!("/v1/cases/{number}/items/{}/withdraw", ids[1]),
        Some(&token),
        &json!({}),
    )
    .await;
    let (delta, _) = h.sync_all(&key, cursor, 100).await;
    assert_eq!(delta.len(), 1);
    assert_eq!(delta[0]["op"], "withdraw");
    assert_eq!(delta[0]["item_id"], gids[1]);
    assert_eq!(delta[0]["md5"], entries[1]["md5"]);

    // Feedback flows into the status; repeats are no-ops.
    let fb = json!({"events": [
        {"event_id": "e1", "item_id": gids[0], "outcome": "matched", "reference": "ticket-7"},
        {"event_id": "e2", "item_id": gids[0], "outcome": "removed"},
        {"event_id": "e3", "item_id": gids[2], "outcome": "reviewed_not_violating"},
    ]});
    let r = h.post("/v1/feedback", Some(&key), &fb).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"accepted": 3, "duplicates": 0}));
    let r = h.post("/v1/feedback", Some(&key), &fb).await;
    assert_eq!(r.json(), json!({"accepted": 0, "duplicates": 3}));
    // One unknown item: the whole request is refused and nothing is written.
    let bad = json!({"events": [
        {"event_id": "e4", "item_id": gids[0], "outcome": "matched"},
        {"event_id": "e5", "item_id": 999_999_999, "outcome": "matched"},
    ]});
    let r = h.post("/v1/feedback", Some(&key), &bad).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.field().as_deref(), Some("events[1].item_id"));
    let r = h.post("/v1/feedback", None, &fb).await;
    assert_eq!(r.status, 401);

    let st = h
        .get(&format!("/v1/cases/{number}"), Some(&token))
        .await
        .json();
    assert_eq!(st["items"][0]["matches"], 1);
    assert_eq!(st["items"][0]["removals"], 1);
    assert_eq!(st["items"][2]["reviewed_not_violating"], 1);
    assert_eq!(st["items"][1]["state"], "withdrawn");
    assert_eq!(st["summary"]["matches"], 1);
    assert_eq!(st["summary"]["removals"], 1);
    assert_eq!(st["summary"]["reviewed_not_violating"], 1);
    let fb_events: Vec<&Value> = st["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            ["matched", "removed", "reviewed_not_violating"].contains(&e["kind"].as_str().unwrap())
        })
        .collect();
    assert_eq!(fb_events.len(), 3);
    // The platform reference is never shown to the victim.
    assert!(!st.to_string().contains("ticket-7"));

    // A second platform counts separately; a revoked key stops working.
    let key2 = takedown_server::admin::create_platform(&s.store, "second")
        .await
        .unwrap();
    let (_, c2) = h.sync_all(&key2, 0, 1000).await;
    h.get(&format!("/v1/sync?cursor={c2}"), Some(&key2)).await;
    let st = h
        .get(&format!("/v1/cases/{number}"), Some(&token))
        .await
        .json();
    assert_eq!(st["items"][0]["platforms_synced"], 2);
    assert!(
        takedown_server::admin::revoke_platform(&s.store, "second")
            .await
            .unwrap()
    );
    assert_eq!(h.get("/v1/sync", Some(&key2)).await.status, 401);
    s.stop().await;
}

async fn bad_input_is_rejected_naming_the_field_without_writing(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let good = || case_body(&idem_key(), vec![image_item()]);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let many: Vec<Value> = (0..1001).map(|_| image_item()).collect();
    let cases: Vec<(&str, Vec<u8>, u16, Option<&str>)> = vec![
        ("malformed", b"{\"idempotency_key\": ".to_vec(), 400, None),
        ("not json", b"hello".to_vec(), 400, None),
        ("empty", vec![], 400, None),
        ("array", b"[]".to_vec(), 400, None),
        (
            "wrong type",
            with(&|v| v["items"] = json!("x")),
            422,
            Some("items"),
        ),
        (
            "unknown top field",
            with(&|v| v["admin"] = json!(true)),
            422,
            Some("admin"),
        ),
        (
            "unknown item field",
            with(&|v| v["items"][0]["image"]["name"] = json!("a.jpg")),
            422,
            Some("items[0].image.name"),
        ),
        (
            "unknown kind",
            with(&|v| v["items"][0] = json!({"audio": {}})),
            422,
            Some("items[0]"),
        ),
        (
            "bad hex",
            with(&|v| v["items"][0]["image"]["md5"] = json!("zz".repeat(16))),
            422,
            Some("items[0].image.md5"),
        ),
        (
            "short sha",
            with(&|v| v["items"][0]["image"]["sha256"] = json!("ab")),
            422,
            Some("items[0].image.sha256"),
        ),
        (
            "long pdq",
            with(&|v| v["items"][0]["image"]["pdq"] = json!("ab".repeat(33))),
            422,
            Some("items[0].image.pdq"),
        ),
        (
            "quality 101",
            with(&|v| v["items"][0]["image"]["quality"] = json!(101)),
            422,
            Some("items[0].image.quality"),
        ),
        (
            "quality float",
            with(&|v| v["items"][0]["image"]["quality"] = json!(5.5)),
            422,
            Some("items[0].image.quality"),
        ),
        (
            "missing pdq",
            with(&|v| {
                v["items"][0]["image"]
                    .as_object_mut()
                    .unwrap()
                    .remove("pdq");
            }),
            422,
            Some("items[0].image.pdq"),
        ),
        (
            "no items",
            with(&|v| v["items"] = json!([])),
            422,
            Some("items"),
        ),
        (
            "too many items",
            with(&|v| v["items"] = json!(many)),
            422,
            Some("items"),
        ),
        (
            "too many frames",
            with(&|v| v["items"][0] = video_item(7201)),
            422,
            Some("items[0].video.frames"),
        ),
        (
            "not a minor",
            with(&|v| v["attestations"]["person_shown_was_under_18"] = json!(false)),
            422,
            Some("attestations.person_shown_was_under_18"),
        ),
        (
            "bad submitter",
            with(&|v| v["attestations"]["submitter"] = json!("someone")),
            422,
            Some("attestations.submitter"),
        ),
        (
            "short key",
            with(&|v| v["idempotency_key"] = json!("abc")),
            422,
            Some("idempotency_key"),
        ),
        (
            "negative t",
            with(
                &|v| v["items"][0] = json!({"video": {"md5": rand_hex(16), "sha256": rand_hex(32), "frames": [{"t": -1, "pdq": rand_hex(32), "quality": 1}]}}),
            ),
            422,
            Some("items[0].video.frames[0].t"),
        ),
    ];
    for (name, body, status, field) in cases {
        let r = h.post_raw("/v1/cases", None, body).await;
        assert_eq!(r.status, status, "{name}: {}", r.text());
        assert!(r.content_type.starts_with("application/json"), "{name}");
        assert_eq!(r.field().as_deref(), field, "{name}: {}", r.text());
        assert!(!r.json()["error"]["message"].as_str().unwrap().is_empty());
    }
    // Over the body limit: 413, JSON.
    let huge = vec![b' '; takedown_server::DEFAULT_MAX_BODY_BYTES + 1];
    let r = h.post_raw("/v1/cases", None, huge).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.code(), "body_too_large");
    // Bad add-items and feedback bodies.
    let (number, token, _) = create_case(h, vec![image_item()]).await;
    let r = h
        .post(
            &format!("/v1/cases/{number}/items"),
            Some(&token),
            &json!({"idempotency_key": idem_key(), "items": [{"image": {"md5": "00"}}]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.field().as_deref(), Some("items[0].image.md5"));
    let r = h
        .post(
            "/v1/feedback",
            Some(&s.platform_key),
            &json!({"events": [{"event_id": "x", "item_id": 1, "outcome": "deleted"}]}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.field().as_deref(), Some("events[0].outcome"));
    let r = h
        .post("/v1/feedback", Some(&s.platform_key), &json!({"events": [{"event_id": "x", "item_id": 1, "outcome": "matched", "reference": "r".repeat(257)}]}))
        .await;
    assert_eq!(r.field().as_deref(), Some("events[0].reference"));
    // Bad sync parameters, unknown routes, wrong methods.
    let r = h.get("/v1/sync?cursor=abc", Some(&s.platform_key)).await;
    assert_eq!((r.status, r.field().as_deref()), (422, Some("cursor")));
    let r = h.get("/v1/sync?limit=50001", Some(&s.platform_key)).await;
    assert_eq!((r.status, r.field().as_deref()), (422, Some("limit")));
    let r = h.get("/v1/nothing", None).await;
    assert_eq!((r.status, r.code().as_str()), (404, "no_route"));
    let r = h.send("DELETE", "/v1/cases", None, None).await;
    assert_eq!((r.status, r.code().as_str()), (405, "method_not_allowed"));
    let r = h
        .post(
            &format!("/v1/cases/{number}/items/abc/withdraw"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!((r.status, r.field().as_deref()), (422, Some("item_id")));

    // Nothing but the one good case reached the list.
    let (entries, _) = h.sync_all(&s.platform_key, 0, 1000).await;
    assert_eq!(entries.len(), 1);
    s.stop().await;
}

async fn exports_list_active_items(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let mut low = image_item();
    low["image"]["quality"] = json!(30);
    let items = vec![image_item(), low.clone(), video_item(2), image_item()];
    let (number, token, ids) = create_case(h, items.clone()).await;
    h.post(
        &format!("/v1/cases/{number}/items/{}/withdraw", ids[3]),
        Some(&token),
        &json!({}),
    )
    .await;
    for auth in [None, Some("tdk_bad")] {
        assert_eq!(h.get("/v1/export/csv", auth).await.status, 401);
    }
    let r = h.get("/v1/export/csv", Some(&s.platform_key)).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/csv"));
    let csv = r.text();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "item_id,kind,md5,sha256,pdq,quality");
    assert_eq!(lines.len(), 4, "{csv}");
    // Exports carry global ids (the submitter's numbers are per case): find
    // each item's row by the global id a platform learns from sync.
    let ids = [
        global_id(h, &s.platform_key, &items[0]).await,
        0,
        global_id(h, &s.platform_key, &items[2]).await,
    ];
    let row = |id: i64| {
        *lines
            .iter()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap_or_else(|| panic!("no row for {id}: {csv}"))
    };
    let img = &items[0]["image"];
    assert_eq!(
        row(ids[0]),
        format!(
            "{},image,{},{},{},90",
            ids[0],
            img["md5"].as_str().unwrap(),
            img["sha256"].as_str().unwrap(),
            img["pdq"].as_str().unwrap()
        )
    );
    assert!(row(ids[2]).starts_with(&format!(
        "{},video,{}",
        ids[2],
        items[2]["video"]["md5"].as_str().unwrap()
    )));
    assert!(row(ids[2]).ends_with(",,"));

    let te = h
        .get("/v1/export/threatexchange", Some(&s.platform_key))
        .await
        .text();
    let mut got: Vec<&str> = te.lines().collect();
    got.sort();
    let pdq = format!("pdq {}", img["pdq"].as_str().unwrap());
    let md5 = format!("video_md5 {}", items[2]["video"]["md5"].as_str().unwrap());
    let mut want = vec![pdq.as_str(), md5.as_str()];
    want.sort();
    assert!(te.ends_with('\n'));
    assert_eq!(
        got, want,
        "low-quality PDQ and withdrawn items are left out"
    );
    s.stop().await;
}

/// Many writers, spread over two service instances sharing the database,
/// commit concurrently (with jitter between taking a cursor position and
/// committing, on PostgreSQL) while a platform syncs in a tight loop. The platform must see every change exactly once, in cursor order,
/// and end with exactly what a fresh full sync sees.
async fn concurrent_writers_never_make_sync_skip_an_entry(b: Backend) {
    let Some(s) = TestServer::start_with(b, test_limits(), Some(Duration::from_millis(4))).await
    else {
        return;
    };
    let writers = 8;
    let per_writer = 25;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let key = s.platform_key.clone();
    let h = s.http.clone();
    let stop2 = stop.clone();
    let syncer = tokio::spawn(async move {
        let mut cursor = 0;
        let mut seen = Vec::new();
        loop {
            let done = stop2.load(std::sync::atomic::Ordering::SeqCst);
            let (e, c) = h.sync_all(&key, cursor, 7).await;
            cursor = c;
            seen.extend(e);
            if done {
                return seen;
            }
        }
    });
    let (replica, _replica_stop) = s.replica(Some(Duration::from_millis(4))).await;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let h = if w % 2 == 0 {
            s.http.clone()
        } else {
            replica.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut adds = Vec::new();
            let mut withdrawn = Vec::new();
            for i in 0..per_writer {
                let n = 1 + (i + w) % 3;
                let items: Vec<Value> = (0..n).map(|_| image_item()).collect();
                // Submitters get per-case numbers: items are known by their MD5.
                let ids: Vec<String> = items.iter().map(md5_of).collect();
                let (number, token, numbers) = create_case(&h, items).await;
                assert_eq!(numbers, (1..=n as i64).collect::<Vec<_>>());
                adds.extend(ids.iter().cloned());
                if i % 4 == 0 {
                    let r = h
                        .post(
                            &format!("/v1/cases/{number}/withdraw"),
                            Some(&token),
                            &json!({}),
                        )
                        .await;
                    assert_eq!(r.status, 200);
                    withdrawn.extend(ids);
                }
            }
            (adds, withdrawn)
        }));
    }
    let mut adds = HashSet::new();
    let mut withdrawals = HashSet::new();
    for t in tasks {
        let (a, w) = t.await.unwrap();
        adds.extend(a);
        withdrawals.extend(w);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = syncer.await.unwrap();

    let seqs: Vec<i64> = seen.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "cursor order, no repeats"
    );
    let mut seen_adds = HashSet::new();
    let mut seen_w = HashSet::new();
    let mut pos = BTreeMap::new();
    for e in &seen {
        let id = e["md5"].as_str().unwrap().to_string();
        let fresh = if e["op"] == "add" {
            seen_adds.insert(id.clone())
        } else {
            seen_w.insert(id.clone())
        };
        assert!(fresh, "item {id} {} seen twice", e["op"]);
        pos.entry(id)
            .or_insert(e["op"].as_str().unwrap().to_string());
    }
    assert_eq!(seen_adds, adds, "every addition seen by the live syncer");
    assert_eq!(
        seen_w, withdrawals,
        "every withdrawal seen by the live syncer"
    );
    assert!(
        pos.values().all(|op| op == "add"),
        "an addition always precedes its withdrawal"
    );
    let (fresh, _) = s.http.sync_all(&s.platform_key, 0, 50_000).await;
    assert_eq!(
        fresh, seen,
        "the live syncer saw exactly what a full sync sees"
    );
    s.stop().await;
}

async fn operations_endpoints(b: Backend) {
    let Some(hidden) = TestServer::start(b).await else {
        return;
    };
    // Metrics show volume: off unless the operator turns them on.
    assert_eq!(hidden.http.get("/metrics", None).await.status, 404);
    hidden.stop().await;
    let limits = Limits {
        expose_metrics: true,
        ..test_limits()
    };
    let Some(s) = TestServer::start_with(b, limits, None).await else {
        return;
    };
    let h = &s.http;
    let r = h.get("/healthz", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ok");
    create_case(h, vec![image_item()]).await;
    let m = h.get("/metrics", None).await.text();
    assert!(m.contains("takedown_cases_created_total 1"), "{m}");
    assert!(
        m.contains(
            "takedown_http_requests_total{route=\"/v1/cases\",method=\"POST\",status=\"201\"} 1"
        ),
        "{m}"
    );
    assert!(m.contains(
        "takedown_http_request_duration_seconds_bucket{route=\"/v1/cases\",le=\"+Inf\"} 1"
    ));
    // The OpenAPI document describes every route the router serves.
    let doc = h.get("/v1/openapi.json", None).await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (route, method) in [
        ("/v1/cases", "post"),
        ("/v1/cases/{case_number}", "get"),
        ("/v1/cases/{case_number}/items", "post"),
        ("/v1/cases/{case_number}/items/{item_id}/withdraw", "post"),
        ("/v1/cases/{case_number}/withdraw", "post"),
        ("/v1/cases/{case_number}/restore", "post"),
        ("/v1/sync", "get"),
        ("/v1/feedback", "post"),
        ("/v1/export/csv", "get"),
        ("/v1/export/threatexchange", "get"),
        ("/v1/openapi.json", "get"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(route).and_then(|p| p.get(method)).is_some(),
            "{method} {route} missing from OpenAPI"
        );
    }
    assert_eq!(paths.len(), 13, "no stale routes in the document");
    s.stop().await;
}

async fn per_client_rate_limit(b: Backend) {
    let limits = Limits {
        rate_per_second: 1,
        rate_burst: 3,
        ..Limits::default()
    };
    let Some(s) = TestServer::start_with(b, limits, None).await else {
        return;
    };
    let h = &s.http;
    // Burst of 3, then 1/s: of 10 quick requests at most 3 + (elapsed seconds)
    // pass, and the first three always do.
    let t = std::time::Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(h.get("/v1/openapi.json", None).await.status);
    }
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    assert!(ok <= 3 + t.elapsed().as_secs() as usize, "{statuses:?}");
    assert!(statuses.contains(&429));
    let r = h.get("/v1/openapi.json", None).await;
    if r.status == 429 {
        assert_eq!(r.code(), "rate_limited");
    }
    // Health and metrics stay reachable for the orchestrator.
    assert_eq!(h.get("/healthz", None).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(h.get("/v1/openapi.json", None).await.status, 200);
    s.stop().await;
}

async fn arbitrary_bodies_never_cause_5xx(b: Backend) {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let (number, token, _) = create_case(h, vec![image_item()]).await;
    let mut runner = TestRunner::deterministic();
    let bytes = proptest::collection::vec(any::<u8>(), 0..300);
    let text = "[{}\\[\\]\":,a-z0-9 ]{0,200}";
    for i in 0..150 {
        let body: Vec<u8> = if i % 2 == 0 {
            bytes.new_tree(&mut runner).unwrap().current()
        } else {
            text.new_tree(&mut runner).unwrap().current().into_bytes()
        };
        for (path, auth) in [
            ("/v1/cases".to_string(), None),
            (format!("/v1/cases/{number}/items"), Some(token.as_str())),
            ("/v1/feedback".to_string(), Some(s.platform_key.as_str())),
        ] {
            let r = h.post_raw(&path, auth, body.clone()).await;
            assert!(
                (400..500).contains(&r.status),
                "{path}: {} for {:?}",
                r.status,
                String::from_utf8_lossy(&body)
            );
            assert!(r.json()["error"]["code"].is_string());
        }
    }
    let (entries, _) = h.sync_all(&s.platform_key, 0, 1000).await;
    assert_eq!(entries.len(), 1, "no arbitrary body wrote anything");
    s.stop().await;
}

async fn json_arrays_are_not_accepted_in_place_of_objects(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let item = image_item();
    // The whole body as a positional array: [idempotency_key, attestations, items].
    let positional = json!([
        idem_key(),
        {"person_shown_was_under_18": true, "submitter": "person_shown"},
        [item.clone()]
    ]);
    let r = h.post("/v1/cases", None, &positional).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.code(), "malformed_body");
    // Nested objects as arrays, each named.
    let mut body = case_body(&idem_key(), vec![item.clone()]);
    body["attestations"] = json!([true, "person_shown"]);
    let r = h.post("/v1/cases", None, &body).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.field().as_deref(), Some("attestations"));
    let img = &item["image"];
    let as_array = json!({"image": [img["md5"], img["sha256"], img["pdq"], img["quality"]]});
    let r = h
        .post("/v1/cases", None, &case_body(&idem_key(), vec![as_array]))
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.field().as_deref(), Some("items[0].image"));
    let (number, token, ids) = create_case(h, vec![item]).await;
    let r = h
        .post(
            &format!("/v1/cases/{number}/items"),
            Some(&token),
            &json!([idem_key(), [image_item()]]),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = h
        .post(
            "/v1/feedback",
            Some(&s.platform_key),
            &json!({"events": [["e-1", ids[0], "matched", null]]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.field().as_deref(), Some("events[0]"));
    // Nothing but the one object-shaped case was written.
    let (entries, _) = h.sync_all(&s.platform_key, 0, 100).await;
    assert_eq!(entries.len(), 1);
    let st = h
        .get(&format!("/v1/cases/{number}"), Some(&token))
        .await
        .json();
    assert_eq!(st["summary"]["matches"], 0);
    s.stop().await;
}

/// Bodies must be declared JSON (415 otherwise, as JSON), and the `Bearer`
/// scheme is matched in any case.
async fn json_content_type_is_required_and_bearer_is_case_insensitive(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let body = serde_json::to_vec(&case_body(&idem_key(), vec![image_item()])).unwrap();
    for headers in [
        vec![("content-type", "text/plain")],
        vec![("content-type", "application/x-www-form-urlencoded")],
        vec![],
    ] {
        let r = h
            .send_headers("POST", "/v1/cases", &headers, body.clone())
            .await;
        assert_eq!(r.status, 415, "{headers:?}: {}", r.text());
        assert_eq!(r.code(), "unsupported_media_type");
        assert!(r.content_type.starts_with("application/json"));
    }
    let r = h
        .send_headers(
            "POST",
            "/v1/cases",
            &[("content-type", "Application/JSON; charset=utf-8")],
            body,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let v = r.json();
    let (number, token) = (
        v["case_number"].as_str().unwrap().to_string(),
        v["case_token"].as_str().unwrap().to_string(),
    );
    for scheme in ["BEARER", "bearer", "Bearer", "bEaReR"] {
        let auth = format!("{scheme} {token}");
        let r = h
            .send_headers(
                "GET",
                &format!("/v1/cases/{number}"),
                &[("authorization", &auth)],
                vec![],
            )
            .await;
        assert_eq!(r.status, 200, "{scheme}: {}", r.text());
        let auth = format!("{scheme} {}", s.platform_key);
        let r = h
            .send_headers("GET", "/v1/sync", &[("authorization", &auth)], vec![])
            .await;
        assert_eq!(r.status, 200, "{scheme}: {}", r.text());
    }
    // Feedback and additions need JSON too; nothing is written without it.
    let auth = format!("Bearer {}", s.platform_key);
    let r = h
        .send_headers(
            "POST",
            "/v1/feedback",
            &[("authorization", &auth), ("content-type", "text/json")],
            br#"{"events":[]}"#.to_vec(),
        )
        .await;
    assert_eq!(r.status, 415, "{}", r.text());
    s.stop().await;
}

/// Four platforms report on the same 50 items at once, two of them in reverse
/// item order. Every request must succeed (PostgreSQL used to abort most of
/// them with `deadlock detected`), and every report must count.
async fn concurrent_feedback_from_many_platforms_always_succeeds(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let (number, token, numbers) =
        create_case(&s.http, (0..50).map(|_| image_item()).collect()).await;
    assert_eq!(numbers, (1..=50).collect::<Vec<i64>>());
    // Feedback names global ids, which platforms learn from sync.
    let (entries, _) = s.http.sync_all(&s.platform_key, 0, 1000).await;
    let ids: Vec<i64> = entries
        .iter()
        .map(|e| e["item_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 50);
    let mut keys = vec![s.platform_key.clone()];
    for i in 0..3 {
        keys.push(
            takedown_server::admin::create_platform(&s.store, &format!("platform-{i}"))
                .await
                .unwrap(),
        );
    }
    const ROUNDS: usize = 10;
    let mut tasks = Vec::new();
    for (pi, key) in keys.iter().enumerate() {
        for round in 0..ROUNDS {
            let mut order = ids.clone();
            if pi % 2 == 1 {
                order.reverse();
            }
            let events: Vec<Value> = order
                .iter()
                .map(|id| json!({"event_id": format!("r{round}-{id}"), "item_id": id, "outcome": "matched"}))
                .collect();
            let (h, key) = (s.http.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                h.post("/v1/feedback", Some(&key), &json!({ "events": events }))
                    .await
            }));
        }
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["accepted"], 50);
    }
    let st = s
        .http
        .get(&format!("/v1/cases/{number}"), Some(&token))
        .await
        .json();
    // Every event was accepted, and each platform counts once per item
    // and outcome however many events it sent (ADR 0109).
    for it in st["items"].as_array().unwrap() {
        assert_eq!(it["matches"], keys.len() as u64, "{it}");
    }
    s.stop().await;
}

/// After a source has guessed wrong too often, its wrong guesses get 429, but a
/// request with the right case token or API key still succeeds: behind one NAT
/// address an attacker cannot lock out victims or platforms.
async fn the_right_secret_is_never_locked_out(b: Backend) {
    let limits = Limits {
        max_auth_failures: 3,
        ..test_limits()
    };
    let Some(s) = TestServer::start_with(b, limits, None).await else {
        return;
    };
    let h = &s.http;
    let (number, token, ids) = create_case(h, vec![image_item(), image_item()]).await;
    let (other, _, _) = create_case(h, vec![image_item()]).await;
    let wrong = format!("tdc_{}", rand_hex(32));
    for _ in 0..3 {
        let r = h.get(&format!("/v1/cases/{number}"), Some(&wrong)).await;
        assert_eq!(r.status, 404, "{}", r.text());
    }
    // Wrong guesses from this source are throttled, whatever they aim at.
    for path in [format!("/v1/cases/{number}"), format!("/v1/cases/{other}")] {
        let r = h.get(&path, Some(&wrong)).await;
        assert_eq!(r.status, 429, "{}", r.text());
        assert_eq!(r.code(), "rate_limited");
    }
    let r = h.get("/v1/sync", Some("tdk_wrong")).await;
    assert_eq!(r.status, 429, "{}", r.text());
    // The right secrets are never refused.
    let r = h.get(&format!("/v1/cases/{number}"), Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h
        .send(
            "POST",
            &format!("/v1/cases/{number}/items/{}/withdraw", ids[0]),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h.get("/v1/sync", Some(&s.platform_key)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h.get("/v1/export/csv", Some(&s.platform_key)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = h
        .send(
            "POST",
            &format!("/v1/cases/{number}/withdraw"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Still throttled for wrong guesses afterwards.
    let r = h.get(&format!("/v1/cases/{number}"), Some(&wrong)).await;
    assert_eq!(r.status, 429, "{}", r.text());
    s.stop().await;
}

/// Issue 10 / ADR 0110: a submitter's answers carry per-case item numbers
/// (1, 2, … in order of addition, never reused), never the global ids that
/// would show how many items the service holds; platforms keep global ids.
async fn item_numbers_are_per_case_and_reveal_no_volume(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let key = &s.platform_key;
    // The service already holds 200 items of other cases.
    for _ in 0..20 {
        create_case(h, (0..10).map(|_| image_item()).collect()).await;
    }
    let a_items: Vec<Value> = (0..3).map(|_| image_item()).collect();
    let (a, a_token, a_ids) = create_case(h, a_items.clone()).await;
    let b_items = vec![image_item(), video_item(2)];
    let (bn, b_token, b_ids) = create_case(h, b_items.clone()).await;
    assert_eq!(a_ids, [1, 2, 3]);
    assert_eq!(b_ids, [1, 2]);

    // Additions continue the case's numbering; a replay answers the same.
    let more: Vec<Value> = (0..2).map(|_| image_item()).collect();
    let add = json!({"idempotency_key": idem_key(), "items": more});
    let r = h
        .post(&format!("/v1/cases/{a}/items"), Some(&a_token), &add)
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["item_ids"], json!([4, 5]));
    let r = h
        .post(&format!("/v1/cases/{a}/items"), Some(&a_token), &add)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["item_ids"], json!([4, 5]));

    // Withdrawing number 2 withdraws that photo's global id for platforms.
    let (_, cursor) = h.sync_all(key, 0, 1000).await;
    let g2 = global_id(h, key, &a_items[1]).await;
    assert!(g2 > 200, "the platform sees the global id {g2}");
    let r = h
        .post(
            &format!("/v1/cases/{a}/items/2/withdraw"),
            Some(&a_token),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["withdrawn_item_ids"], json!([2]));
    let (delta, _) = h.sync_all(key, cursor, 100).await;
    assert_eq!(delta.len(), 1);
    assert_eq!(delta[0]["op"], "withdraw");
    assert_eq!(delta[0]["item_id"], g2);
    assert_eq!(delta[0]["md5"], json!(md5_of(&a_items[1])));
    // Case B's item 2 is untouched, and a number is never reused.
    let r = h
        .post(
            &format!("/v1/cases/{a}/items"),
            Some(&a_token),
            &json!({"idempotency_key": idem_key(), "items": [image_item()]}),
        )
        .await;
    assert_eq!(r.json()["item_ids"], json!([6]));

    // Feedback names global ids; it shows on the right per-case item.
    let g5 = global_id(h, key, &more[1]).await;
    let gb2 = global_id(h, key, &b_items[1]).await;
    let fb = json!({"events": [
        {"event_id": "n1", "item_id": g5, "outcome": "matched"},
        {"event_id": "n2", "item_id": gb2, "outcome": "removed"},
    ]});
    let r = h.post("/v1/feedback", Some(key), &fb).await;
    assert_eq!(r.json()["accepted"], 2, "{}", r.text());

    let st = h
        .get(&format!("/v1/cases/{a}"), Some(&a_token))
        .await
        .json();
    let nums: Vec<i64> = st["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_id"].as_i64().unwrap())
        .collect();
    assert_eq!(nums, [1, 2, 3, 4, 5, 6]);
    for it in st["items"].as_array().unwrap() {
        let n = it["item_id"].as_i64().unwrap();
        assert_eq!(it["matches"], u64::from(n == 5), "{it}");
        assert_eq!(it["state"], if n == 2 { "withdrawn" } else { "active" });
    }
    // The timeline names items by number too, never above the case's count.
    let tl = st["timeline"].as_array().unwrap();
    let named: Vec<(&str, i64)> = tl
        .iter()
        .filter_map(|e| Some((e["kind"].as_str()?, e["item_id"].as_i64()?)))
        .collect();
    assert_eq!(named, [("item_withdrawn", 2), ("matched", 5)]);
    let st_b = h
        .get(&format!("/v1/cases/{bn}"), Some(&b_token))
        .await
        .json();
    assert_eq!(st_b["items"][1]["item_id"], 2);
    assert_eq!(st_b["items"][1]["removals"], 1);
    assert_eq!(st_b["items"][0]["removals"], 0);
    assert_eq!(st_b["timeline"][1]["item_id"], 2);
    // Paging continues after a per-case number.
    let r = h
        .get(
            &format!("/v1/cases/{a}?items_after=3&items_limit=2"),
            Some(&a_token),
        )
        .await
        .json();
    assert_eq!(r["items"][0]["item_id"], 4);
    assert_eq!(r["next_items_after"], 5);
    // Another case's number that this case lacks is not found; withdrawing
    // the case answers numbers of its own still-active items.
    let r = h
        .post(
            &format!("/v1/cases/{bn}/items/3/withdraw"),
            Some(&b_token),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = h
        .post(
            &format!("/v1/cases/{a}/withdraw"),
            Some(&a_token),
            &json!({}),
        )
        .await;
    assert_eq!(r.json()["withdrawn_item_ids"], json!([1, 3, 4, 5, 6]));
    s.stop().await;
}

async fn a_recovery_key_trades_for_a_fresh_token(b: Backend) {
    use takedown_protocol::{RECOVERY_RANDOM_BYTES, RecoveryKey};
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let key = RecoveryKey::from_random([7; RECOVERY_RANDOM_BYTES]);
    let other = RecoveryKey::from_random([8; RECOVERY_RANDOM_BYTES]);
    let mut body = case_body(&idem_key(), vec![image_item(), image_item()]);
    body["recovery_verifier"] = json!(key.verifier());
    let r = h.post("/v1/cases", None, &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let number = r.json()["case_number"].as_str().unwrap().to_string();
    let old_token = r.json()["case_token"].as_str().unwrap().to_string();
    let restore = |n: String, k: String| async move {
        h.post(
            &format!("/v1/cases/{n}/restore"),
            None,
            &json!({ "recovery_key": k }),
        )
        .await
    };

    // A wrong key, an unknown case and a case without a key: one 404.
    let wrong = restore(number.clone(), other.to_string()).await;
    assert_eq!(wrong.status, 404, "{}", wrong.text());
    let (plain, _, _) = create_case(h, vec![image_item()]).await;
    let no_key = restore(plain, key.to_string()).await;
    let unknown = restore("TD-0000-0000-0000".into(), key.to_string()).await;
    assert_eq!(no_key.status, 404);
    assert_eq!(unknown.status, 404);
    assert_eq!(wrong.text(), no_key.text());
    assert_eq!(wrong.text(), unknown.text());

    // A key of the written form whose checks disagree is a wrong key (404).
    let mut typo = key.to_string().into_bytes();
    typo[2] = if typo[2] == b'A' { b'B' } else { b'A' };
    let typo = restore(number.clone(), String::from_utf8(typo).unwrap()).await;
    assert_eq!(typo.status, 404, "{}", typo.text());
    assert_eq!(typo.text(), wrong.text());
    // Not the written form: 422 naming the field.
    for k in [
        key.to_string().to_lowercase(),
        key.to_string().replace('-', ""),
        String::new(),
    ] {
        let r = restore(number.clone(), k).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(r.field().as_deref(), Some("recovery_key"));
    }
    let r = h
        .post(
            &format!("/v1/cases/{number}/restore"),
            None,
            &json!({"recovery_key": key.to_string(), "extra": 1}),
        )
        .await;
    assert_eq!(r.status, 422, "unknown fields are refused: {}", r.text());

    // The right key, with the number typed loosely: a fresh token, the old
    // one stops working, the new one reads the status and withdraws.
    let typed = number.to_lowercase().replace('-', "");
    let r = restore(typed, key.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["case_number"], number.as_str());
    assert_eq!(v["submitter"], "person_shown");
    let token = v["case_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("tdc_") && token != old_token);
    assert_eq!(
        h.get(&format!("/v1/cases/{number}"), Some(&old_token))
            .await
            .status,
        404,
        "the old token is revoked"
    );
    let st = h.get(&format!("/v1/cases/{number}"), Some(&token)).await;
    assert_eq!(st.status, 200, "{}", st.text());
    assert_eq!(st.json()["summary"]["active_items"], 2);
    let w = h
        .post(
            &format!("/v1/cases/{number}/withdraw"),
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.text());
    // Restoring again still works (a lost answer is retried) and rotates again.
    let again = restore(number.clone(), key.to_string()).await;
    assert_eq!(again.status, 200);
    assert_ne!(again.json()["case_token"], token.as_str());
    s.stop().await;
}

/// A picture's edge cuts reach the platforms with it, in additions and in
/// withdrawals; one sent without cuts syncs without the field; malformed cuts
/// are refused naming the field, and nothing is written.
async fn edge_cuts_are_stored_synced_and_checked(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let key = s.platform_key.clone();
    let with = image_item_with_cuts();
    let body = case_body(&idem_key(), vec![with.clone(), image_item()]);
    let r = h.post("/v1/cases", None, &body).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (number, token) = (
        r.json()["case_number"].as_str().unwrap().to_string(),
        r.json()["case_token"].as_str().unwrap().to_string(),
    );
    let ids: Vec<i64> = serde_json::from_value(r.json()["item_ids"].clone()).unwrap();
    let (entries, cursor) = h.sync_all(&key, 0, 100).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["edge_cuts"], with["image"]["edge_cuts"]);
    assert!(entries[1].get("edge_cuts").is_none(), "{}", entries[1]);
    // The same request again is a replay of the same case (the cuts are part
    // of the request), and a changed cut is a different request.
    let again = h.post("/v1/cases", None, &body).await;
    assert_eq!(again.json()["created"], false, "{}", again.text());
    assert_eq!(again.json()["case_number"], number.as_str());
    let mut changed = body.clone();
    changed["items"][0]["image"]["edge_cuts"]["bottom_20"]["quality"] = json!(71);
    let r = h.post("/v1/cases", None, &changed).await;
    assert_eq!(r.status, 409, "{}", r.text());
    h.post(
        &format!("/v1/cases/{number}/items/{}/withdraw", ids[0]),
        Some(&token),
        &json!({}),
    )
    .await;
    let (delta, cursor) = h.sync_all(&key, cursor, 100).await;
    assert_eq!(delta.len(), 1);
    assert_eq!(delta[0]["op"], "withdraw");
    assert_eq!(delta[0]["edge_cuts"], with["image"]["edge_cuts"]);

    let with_cuts = |cuts: Value| {
        let mut it = image_item();
        it["image"]["edge_cuts"] = cuts;
        case_body(&idem_key(), vec![image_item(), it])
    };
    let cut = || json!({"pdq": rand_hex(32), "quality": 70});
    let mut bad_pdq = cut();
    bad_pdq["pdq"] = json!("zz");
    let mut extra = cut();
    extra["name"] = json!("beach.jpg");
    for (cuts, field) in [
        (json!({"top_15": cut()}), "items[1].image.edge_cuts"),
        (json!({"left_20": cut()}), "items[1].image.edge_cuts"),
        (
            json!({"top_20": bad_pdq}),
            "items[1].image.edge_cuts.top_20.pdq",
        ),
        (
            json!({"bottom_20": extra}),
            "items[1].image.edge_cuts.bottom_20",
        ),
        (json!([cut()]), "items[1].image.edge_cuts"),
        (json!({"top_20": null}), "items[1].image.edge_cuts.top_20"),
    ] {
        let r = h.post("/v1/cases", None, &with_cuts(cuts.clone())).await;
        assert_eq!(r.status, 422, "{cuts}: {}", r.text());
        let got = r.field().unwrap_or_default();
        assert!(got.starts_with(field), "{cuts}: {got} is not {field}");
        assert!(!r.text().contains("beach.jpg"), "{}", r.text());
    }
    let (after, _) = h.sync_all(&key, cursor, 100).await;
    assert!(after.is_empty(), "a refused request wrote {after:?}");
    s.stop().await;
}
