//! Property tests: the request decoders accept or reject any input without
//! panicking, every rejection names a field or says the JSON is malformed, and
//! whatever is accepted re-encodes to something that decodes to the same value.

use proptest::prelude::*;
use takedown_protocol::*;

fn hexs(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), n).prop_map(hex::encode)
}

/// JSON values that look roughly like requests, with random mutations.
fn jsonish() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (-1e9f64..1e9).prop_map(serde_json::Value::from),
        "[a-z0-9_]{0,70}".prop_map(serde_json::Value::from),
        hexs(16).prop_map(serde_json::Value::from),
        hexs(32).prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let key = prop_oneof![
            Just("idempotency_key".to_string()),
            Just("attestations".to_string()),
            Just("items".to_string()),
            Just("image".to_string()),
            Just("video".to_string()),
            Just("md5".to_string()),
            Just("sha256".to_string()),
            Just("pdq".to_string()),
            Just("quality".to_string()),
            Just("frames".to_string()),
            Just("events".to_string()),
            Just("event_id".to_string()),
            Just("item_id".to_string()),
            Just("outcome".to_string()),
            "[a-z]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check<T>(bytes: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize + Validate + PartialEq + std::fmt::Debug,
{
    match decode::<T>(bytes) {
        Ok(v) => {
            let again: T =
                decode(&serde_json::to_vec(&v).unwrap()).expect("re-encoded value decodes");
            assert_eq!(again, v);
        }
        Err(e) => {
            assert!(!e.message.is_empty());
            if let Some(f) = &e.field {
                assert!(!f.is_empty());
            }
        }
    }
}

fn valid_case() -> impl Strategy<Value = CreateCaseRequest> {
    let image =
        (hexs(16), hexs(32), hexs(32), 0u8..=100, 0usize..=2).prop_map(|(m, s, p, q, cuts)| {
            let pdq = Pdq::from_hex(&p).unwrap();
            ItemInput::Image(ImageFingerprints {
                md5: Md5::from_hex(&m).unwrap(),
                sha256: Sha256::from_hex(&s).unwrap(),
                pdq,
                quality: Quality::new(q).unwrap(),
                edge_cuts: CutEdge::ALL[..cuts]
                    .iter()
                    .map(|&edge| EdgeCut {
                        edge,
                        percent: EDGE_CUT_PERCENT,
                        pdq,
                        quality: Quality::new(q).unwrap(),
                    })
                    .collect(),
            })
        });
    let frame = (0.0f64..1e5, hexs(32), 0u8..=100).prop_map(|(t, p, q)| VideoFrame {
        t,
        pdq: Pdq::from_hex(&p).unwrap(),
        quality: Quality::new(q).unwrap(),
    });
    let video =
        (hexs(16), hexs(32), proptest::collection::vec(frame, 0..5)).prop_map(|(m, s, frames)| {
            ItemInput::Video(VideoFingerprints {
                md5: Md5::from_hex(&m).unwrap(),
                sha256: Sha256::from_hex(&s).unwrap(),
                frames,
            })
        });
    (
        "[g-z_-][A-Za-z0-9_-]{21,40}",
        proptest::collection::vec(prop_oneof![image, video], 1..5),
        any::<bool>(),
    )
        .prop_map(|(k, items, parent)| CreateCaseRequest {
            idempotency_key: k,
            attestations: Attestations {
                person_shown_was_under_18: true,
                submitter: if parent {
                    Submitter::ParentOrGuardian
                } else {
                    Submitter::PersonShown
                },
            },
            items,
            recovery_verifier: None,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check::<CreateCaseRequest>(&bytes);
        check::<AddItemsRequest>(&bytes);
        check::<FeedbackRequest>(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(v in jsonish()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        check::<CreateCaseRequest>(&bytes);
        check::<AddItemsRequest>(&bytes);
        check::<FeedbackRequest>(&bytes);
    }

    #[test]
    fn valid_requests_round_trip(req in valid_case()) {
        let bytes = serde_json::to_vec(&req).unwrap();
        let back: CreateCaseRequest = decode(&bytes).unwrap();
        prop_assert_eq!(back, req);
    }

    #[test]
    fn truncated_valid_requests_are_rejected_as_malformed(req in valid_case(), cut in 1usize..64) {
        let bytes = serde_json::to_vec(&req).unwrap();
        let cut = bytes.len().saturating_sub(cut).max(1);
        let e = decode::<CreateCaseRequest>(&bytes[..cut]).unwrap_err();
        prop_assert!(e.field.is_none(), "{:?}", e);
    }

    #[test]
    fn a_single_mutated_hex_char_is_blamed_on_its_field(req in valid_case(), which in 0usize..3) {
        let mut v = serde_json::to_value(&req).unwrap();
        let item = &mut v["items"][0];
        let (kind, obj) = if item.get("image").is_some() { ("image", &mut item["image"]) } else { ("video", &mut item["video"]) };
        let field = ["md5", "sha256", "md5"][which];
        let s = obj[field].as_str().unwrap().to_string();
        obj[field] = serde_json::Value::from(format!("z{}", &s[1..]));
        let e = decode::<CreateCaseRequest>(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        let want = format!("items[0].{kind}.{field}");
        prop_assert_eq!(e.field.as_deref(), Some(want.as_str()));
    }
}
