//! Idempotency keys carry at least 128 bits (the key and the body give the
//! case token back, so a short key would be guessable).

mod common;

use common::*;
use serde_json::json;

both_backends!(idempotency_keys_must_carry_128_bits);

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
