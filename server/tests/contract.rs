//! The OpenAPI document and the server agree: values the document allows are
//! accepted, values the server refuses are refused by the document too, and
//! every route documents the statuses it can answer.

mod common;

use common::*;
use serde_json::{Value, json};

both_backends!(the_server_accepts_what_the_document_allows);

async fn the_server_accepts_what_the_document_allows(b: Backend) {
    let Some(s) = TestServer::start(b).await else {
        return;
    };
    let h = &s.http;
    // `7.0` is an integer to JSON Schema.
    let mut item = image_item();
    item["image"]["quality"] = json!(7.0);
    let r = h
        .post(
            "/v1/cases",
            None,
            &case_body(&idem_key(), vec![item.clone()]),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = global_id(h, &s.platform_key, &item).await;
    // Lengths are counted in characters, as JSON Schema counts them.
    let ev = |event_id: &str, reference: String| json!({"events": [{"event_id": event_id, "item_id": id, "outcome": "matched", "reference": reference}]});
    let r = h
        .post(
            "/v1/feedback",
            Some(&s.platform_key),
            &ev("é", "é".repeat(256)),
        )
        .await;
    assert_eq!(
        r.status,
        422,
        "a non-ASCII event id is refused: {}",
        r.text()
    );
    let r = h
        .post(
            "/v1/feedback",
            Some(&s.platform_key),
            &ev("ok-1", "é".repeat(256)),
        )
        .await;
    assert_eq!(r.status, 200, "256 two-byte characters: {}", r.text());
    let r = h
        .post(
            "/v1/feedback",
            Some(&s.platform_key),
            &ev("ok-2", "é".repeat(257)),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = h
        .post(
            "/v1/feedback",
            Some(&s.platform_key),
            &ev("with space", String::new()),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text());

    let doc = h.get("/v1/openapi.json", None).await.json();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Quality"]["type"], "integer");
    let ev = &schemas["FeedbackRequest"]["properties"]["events"]["items"]["properties"];
    assert_eq!(ev["item_id"]["minimum"], 1);
    assert_eq!(ev["event_id"]["pattern"], "^[!-~]+$");
    assert_eq!(
        schemas["CreateCaseRequest"]["properties"]["idempotency_key"]["minLength"],
        22
    );
    // Every route documents 503 (connection cap, database); every secured
    // one 401; every body route 408, 413 and 415.
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let has = |code: &str| op["responses"].get(code).is_some();
            assert!(has("503"), "{method} {path}: 503");
            if op
                .get("security")
                .is_some_and(|s: &Value| !s.as_array().unwrap().is_empty())
            {
                assert!(has("401") && has("429"), "{method} {path}: 401/429");
            }
            if op.get("requestBody").is_some() {
                for c in ["408", "413", "415", "422"] {
                    assert!(has(c), "{method} {path}: {c}");
                }
            }
        }
    }
    s.stop().await;
}
