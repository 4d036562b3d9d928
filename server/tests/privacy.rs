//! What a submitter is given tells nothing about volume, and idempotency keys
//! carry at least 128 bits.

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::json;

both_backends!(
    item_ids_are_random_and_show_no_volume,
    idempotency_keys_must_carry_128_bits,
);

async fn item_ids_are_random_and_show_no_volume(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    let mut all = Vec::new();
    for _ in 0..5 {
        let (number, token, ids) =
            create_case(h, vec![image_item(), image_item(), image_item()]).await;
        // The creation answer and the status list items in the order sent.
        let st = h
            .get(&format!("/v1/cases/{number}"), Some(&token))
            .await
            .json();
        let listed: Vec<i64> = st["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["item_id"].as_i64().unwrap())
            .collect();
        assert_eq!(listed, ids);
        all.extend(ids);
    }
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 15);
    assert!(
        all.iter()
            .all(|&i| (1..=takedown_protocol::MAX_ITEM_ID).contains(&i))
    );
    // Sequence numbers would be 1..=15; random ids of 50 bits are almost
    // never below 2^32 (chance 2^-18 each).
    let small = all.iter().filter(|&&i| i < 1 << 32).count();
    assert!(small <= 1, "ids look sequential: {all:?}");
    // Paging by a random id follows the order of addition.
    let (number, token, ids) = create_case(h, (0..7).map(|_| image_item()).collect()).await;
    let r = h
        .get(
            &format!("/v1/cases/{number}?items_after={}&items_limit=3", ids[2]),
            Some(&token),
        )
        .await
        .json();
    let page: Vec<i64> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["item_id"].as_i64().unwrap())
        .collect();
    assert_eq!(page, ids[3..6]);
    assert_eq!(r["next_items_after"], ids[5]);
    let r = h
        .get(
            &format!("/v1/cases/{number}?items_after={}", all[0]),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 422, "another case's item is no page start");
    s.stop().await;
}

async fn idempotency_keys_must_carry_128_bits(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    for (key, ok) in [
        ("abcdefghijklmnop", false),      // 16 characters: 96 bits at most
        ("abcdefghijklmnopqrstu", false), // 21
        ("abcdefghijklmnopqrstuv", true), // 22 base64url: 132 bits
        ("0123456789abcdef0123456789abcde", false), // 31 hex digits: 124 bits
        ("0123456789abcdef0123456789abcdef", true), // 32 hex digits
    ] {
        let r = h
            .post("/v1/cases", None, &case_body(key, vec![image_item()]))
            .await;
        if ok {
            assert_eq!(r.status, 201, "{key}: {}", r.text());
        } else {
            assert_eq!(r.status, 422, "{key}: {}", r.text());
            assert_eq!(r.field().as_deref(), Some("idempotency_key"));
        }
    }
    let (number, token, _) = create_case(h, vec![image_item()]).await;
    let r = h
        .post(
            &format!("/v1/cases/{number}/items"),
            Some(&token),
            &json!({"idempotency_key": "0123456789abcdef", "items": [image_item()]}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    s.stop().await;
}
