//! Decoding request bodies: serde, then the semantic checks of [`Validate`].

use serde::de::DeserializeOwned;

use crate::*;

/// Semantic checks beyond what the types enforce (counts, attestations, key format).
pub trait Validate {
    /// `Ok` when the request may be processed.
    fn validate(&self) -> Result<(), FieldError>;
}

/// An idempotency key must be able to carry 128 bits: at least
/// [`MIN_IDEMPOTENCY_KEY_LEN`] base64url characters, or
/// [`MIN_HEX_IDEMPOTENCY_KEY_LEN`] when every character is a hex digit.
fn check_idempotency_key(field: &str, k: &str) -> Result<(), FieldError> {
    if k.len() < MIN_IDEMPOTENCY_KEY_LEN || k.len() > MAX_KEY_LEN {
        return Err(FieldError::new(
            field,
            format!("must be {MIN_IDEMPOTENCY_KEY_LEN} to {MAX_KEY_LEN} characters"),
        ));
    }
    if k.len() < MIN_HEX_IDEMPOTENCY_KEY_LEN && k.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FieldError::new(
            field,
            format!(
                "a key of hex digits only must have at least {MIN_HEX_IDEMPOTENCY_KEY_LEN} (128 bits)"
            ),
        ));
    }
    if !k
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(FieldError::new(
            field,
            "may contain only A-Z, a-z, 0-9, '-' and '_'",
        ));
    }
    Ok(())
}

fn check_items(items: &[ItemInput]) -> Result<(), FieldError> {
    if items.is_empty() {
        return Err(FieldError::new("items", "at least one item is required"));
    }
    if items.len() > MAX_ITEMS_PER_REQUEST {
        return Err(FieldError::new(
            "items",
            format!(
                "at most {MAX_ITEMS_PER_REQUEST} items per request, got {}",
                items.len()
            ),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        if let ItemInput::Video(v) = item {
            if v.frames.len() > MAX_FRAMES_PER_VIDEO {
                return Err(FieldError::new(
                    format!("items[{i}].video.frames"),
                    format!(
                        "at most {MAX_FRAMES_PER_VIDEO} frames per video, got {}",
                        v.frames.len()
                    ),
                ));
            }
            for (j, f) in v.frames.iter().enumerate() {
                if !f.t.is_finite() || f.t < 0.0 {
                    return Err(FieldError::new(
                        format!("items[{i}].video.frames[{j}].t"),
                        "must be a finite number of seconds ≥ 0",
                    ));
                }
            }
        }
    }
    Ok(())
}

impl Validate for CreateCaseRequest {
    fn validate(&self) -> Result<(), FieldError> {
        check_idempotency_key("idempotency_key", &self.idempotency_key)?;
        if !self.attestations.person_shown_was_under_18 {
            return Err(FieldError::new(
                "attestations.person_shown_was_under_18",
                "this service only accepts material showing a person under 18 when it was made",
            ));
        }
        if let Some(v) = &self.recovery_verifier
            && !crate::is_recovery_verifier(v)
        {
            return Err(FieldError::new(
                "recovery_verifier",
                "must be 64 lowercase hex digits",
            ));
        }
        check_items(&self.items)
    }
}

impl Validate for crate::RestoreCaseRequest {
    fn validate(&self) -> Result<(), FieldError> {
        // Strict about the form: only the written form the phone sends. A key of
        // that form whose checks disagree is not malformed input but a wrong key
        // (the phone checks the groups before sending): it gets the wrong-key answer.
        let k = self.recovery_key.as_bytes();
        let form = k.len() == 41
            && k.iter().enumerate().all(|(i, &b)| {
                if i % 6 == 5 {
                    b == b'-'
                } else {
                    b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)
                }
            });
        if form {
            Ok(())
        } else {
            Err(FieldError::new(
                "recovery_key",
                "must be a recovery key: 7 groups of 5 Crockford base32 symbols joined by dashes",
            ))
        }
    }
}

impl Validate for AddItemsRequest {
    fn validate(&self) -> Result<(), FieldError> {
        check_idempotency_key("idempotency_key", &self.idempotency_key)?;
        check_items(&self.items)
    }
}

impl Validate for FeedbackRequest {
    fn validate(&self) -> Result<(), FieldError> {
        if self.events.is_empty() {
            return Err(FieldError::new("events", "at least one event is required"));
        }
        if self.events.len() > MAX_FEEDBACK_EVENTS {
            return Err(FieldError::new(
                "events",
                format!(
                    "at most {MAX_FEEDBACK_EVENTS} events per request, got {}",
                    self.events.len()
                ),
            ));
        }
        for (i, e) in self.events.iter().enumerate() {
            if e.event_id.is_empty()
                || e.event_id.len() > MAX_KEY_LEN
                || !e.event_id.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(FieldError::new(
                    format!("events[{i}].event_id"),
                    format!("must be 1 to {MAX_KEY_LEN} printable ASCII characters"),
                ));
            }
            if let Some(r) = &e.reference
                && r.chars().count() > MAX_REFERENCE_LEN
            {
                return Err(FieldError::new(
                    format!("events[{i}].reference"),
                    format!("at most {MAX_REFERENCE_LEN} characters"),
                ));
            }
            if e.item_id <= 0 {
                return Err(FieldError::new(
                    format!("events[{i}].item_id"),
                    "must be a positive item id",
                ));
            }
        }
        Ok(())
    }
}

/// Decodes and validates a JSON request body.
///
/// Objects only: a JSON array where the type has an object is refused (serde
/// alone would read a struct from a positional array).
///
/// Never panics on any input; the error names the field to blame, as a path
/// like `items[0].image.pdq` (for unknown and missing fields, the path ends
/// with the field's own name).
pub fn decode<T: DeserializeOwned + Validate>(body: &[u8]) -> Result<T, FieldError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => v,
        Err(e) => return Err(path_error(&e)),
    };
    if let Err(e) = de.end() {
        return Err(FieldError {
            field: None,
            message: strip_position(&e.to_string()),
        });
    }
    objects_only(body)?;
    value.validate()?;
    Ok(value)
}

/// Fields whose value is a list; everywhere else a request body has objects
/// or scalars, never a positional array (serde would read a struct from one).
const LIST_FIELDS: &[&str] = &["items", "frames", "events"];

/// Rejects JSON arrays where an object belongs: the body itself, and every
/// field but the lists of [`LIST_FIELDS`] (whose elements are objects).
fn objects_only(body: &[u8]) -> Result<(), FieldError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| FieldError {
        field: None,
        message: format!("malformed JSON: {}", strip_position(&e.to_string())),
    })?;
    if !v.is_object() {
        return Err(FieldError {
            field: None,
            message: "the body must be a JSON object".into(),
        });
    }
    walk(&v, "", false)
}

fn walk(v: &serde_json::Value, path: &str, list_ok: bool) -> Result<(), FieldError> {
    match v {
        serde_json::Value::Array(a) => {
            if !list_ok {
                return Err(FieldError::new(path, "must be a JSON object, not an array"));
            }
            for (i, e) in a.iter().enumerate() {
                walk(e, &format!("{path}[{i}]"), false)?;
            }
            Ok(())
        }
        serde_json::Value::Object(m) => {
            for (k, e) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(e, &p, LIST_FIELDS.contains(&k.as_str()))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn path_error(e: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    let inner = e.inner();
    let message = strip_position(&inner.to_string());
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        return FieldError {
            field: None,
            message: format!("malformed JSON: {message}"),
        };
    }
    let mut path = e.path().to_string();
    if path == "." {
        path.clear();
    }
    // serde reports a missing field at the enclosing object: name the field
    // itself. (serde_path_to_error already appends unknown field names.)
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(name) = rest.split('`').next()
    {
        path = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
    }
    FieldError {
        field: if path.is_empty() { None } else { Some(path) },
        message,
    }
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5: &str = "0123456789abcdef0123456789abcdef";
    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn body(item: &str) -> String {
        format!(
            r#"{{"idempotency_key":"abcdefghijklmnopqrstuv","attestations":{{"person_shown_was_under_18":true,"submitter":"person_shown"}},"items":[{item}]}}"#
        )
    }

    fn img(extra: &str) -> String {
        format!(
            r#"{{"image":{{"md5":"{MD5}","sha256":"{SHA}","pdq":"{SHA}","quality":90{extra}}}}}"#
        )
    }

    #[test]
    fn decodes_a_valid_case() {
        let req: CreateCaseRequest = decode(body(&img("")).as_bytes()).unwrap();
        assert_eq!(req.items.len(), 1);
        assert_eq!(req.items[0].kind(), ItemKind::Image);
        // The wire form round-trips.
        let again: CreateCaseRequest = decode(&serde_json::to_vec(&req).unwrap()).unwrap();
        assert_eq!(again, req);
    }

    #[test]
    fn edge_cuts_are_an_object_keyed_by_edge_and_share() {
        let cut = r#"{"pdq":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","quality":80}"#;
        let with = |cuts: &str| img(&format!(r#","edge_cuts":{{{cuts}}}"#));
        let both = format!(r#""bottom_20":{cut},"top_20":{cut}"#);
        let req: CreateCaseRequest = decode(body(&with(&both)).as_bytes()).unwrap();
        let ItemInput::Image(i) = &req.items[0] else {
            panic!("an image was decoded as a video");
        };
        // Read in CutEdge::ALL order whatever the key order.
        let edges: Vec<CutEdge> = i.edge_cuts.iter().map(|c| c.edge).collect();
        assert_eq!(edges, [CutEdge::Top, CutEdge::Bottom]);
        assert!(i.edge_cuts.iter().all(|c| c.percent == EDGE_CUT_PERCENT));
        // It writes back the same object.
        let wire = serde_json::to_value(&req).unwrap();
        assert_eq!(
            wire["items"][0]["image"]["edge_cuts"]["top_20"]["quality"],
            80
        );
        // Absent is an empty list (older phones), and it stays absent on the wire.
        let old: CreateCaseRequest = decode(body(&img("")).as_bytes()).unwrap();
        assert!(!serde_json::to_string(&old).unwrap().contains("edge_cuts"));
        let err = |b: String| decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        // Unknown shares or edges, extra fields, a list, a bad hash: refused,
        // naming the field.
        for bad in [
            with(&format!(r#""top_15":{cut}"#)),
            with(&format!(r#""left_20":{cut}"#)),
            with(r#""top_20":{"pdq":"zz","quality":80}"#),
            with(&format!(
                r#""top_20":{}"#,
                cut.replace("}", r#","name":"beach.jpg"}"#)
            )),
            img(&format!(r#","edge_cuts":[{cut}]"#)),
            with(r#""top_20":null"#),
        ] {
            let e = err(body(&bad));
            let f = e.field.unwrap_or_default();
            assert!(f.starts_with("items[0].image.edge_cuts"), "{bad}: {f}");
        }
        // A cut that cannot be written is an error, not a silent drop.
        let mut twice = i.clone();
        twice.edge_cuts.push(twice.edge_cuts[0].clone());
        assert!(serde_json::to_string(&twice).is_err());
        twice.edge_cuts.truncate(1);
        twice.edge_cuts[0].percent = 15;
        assert!(serde_json::to_string(&twice).is_err());
        assert_eq!(edge_cuts_wire::key(CutEdge::Bottom, 20), "bottom_20");
        assert_eq!(edge_cut_rows(1000, 20), 200);
        assert_eq!(edge_cut_rows(1001, 20), 200);
        assert_eq!(edge_cut_rows(4, 20), 0);
    }

    #[test]
    fn names_the_unknown_field() {
        let e = decode::<CreateCaseRequest>(body(&img(r#","colour":1"#)).as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.colour"));
    }

    #[test]
    fn names_the_missing_field() {
        let b = body(&format!(
            r#"{{"image":{{"md5":"{MD5}","sha256":"{SHA}","quality":90}}}}"#
        ));
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.pdq"));
    }

    #[test]
    fn rejects_bad_hex_wrong_length_and_quality() {
        let b = body(&img("").replace(MD5, &MD5.replace('0', "g")));
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.md5"));
        let b = body(&img("").replace(MD5, "abcd"));
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.md5"));
        assert!(e.message.contains("32 hex"), "{}", e.message);
        let b = body(&img("").replace("90", "101"));
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.quality"));
        let b = body(&img("").replace("90", "-1"));
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image.quality"));
    }

    #[test]
    fn rejects_attestation_false_and_bad_key() {
        let b = body(&img("")).replace(":true", ":false");
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(
            e.field.as_deref(),
            Some("attestations.person_shown_was_under_18")
        );
        let b = body(&img("")).replace("abcdefghijklmnop", "short");
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("idempotency_key"));
    }

    #[test]
    fn rejects_too_many_items_and_trailing_garbage() {
        let items = vec![img(""); MAX_ITEMS_PER_REQUEST + 1].join(",");
        let e = decode::<CreateCaseRequest>(body(&items).as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items"));
        let e =
            decode::<CreateCaseRequest>(format!("{} x", body(&img(""))).as_bytes()).unwrap_err();
        assert_eq!(e.field, None);
        let e = decode::<CreateCaseRequest>(b"{").unwrap_err();
        assert_eq!(e.field, None);
        assert!(e.message.starts_with("malformed JSON"));
    }

    #[test]
    fn rejects_negative_and_non_finite_frame_times() {
        let v = format!(
            r#"{{"video":{{"md5":"{MD5}","sha256":"{SHA}","frames":[{{"t":0.0,"pdq":"{SHA}","quality":80}},{{"t":-1.5,"pdq":"{SHA}","quality":80}}]}}}}"#
        );
        let e = decode::<CreateCaseRequest>(body(&v).as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].video.frames[1].t"));
    }

    #[test]
    fn arrays_in_place_of_objects_are_refused_naming_the_field() {
        let e = decode::<CreateCaseRequest>(
            format!(r#"["abcdefghijklmnop",{{"person_shown_was_under_18":true,"submitter":"person_shown"}},[{}]]"#, img(""))
                .as_bytes(),
        )
        .unwrap_err();
        assert_eq!(e.field, None);
        let b = body(&img("")).replace(
            r#"{"person_shown_was_under_18":true,"submitter":"person_shown"}"#,
            r#"[true,"person_shown"]"#,
        );
        let e = decode::<CreateCaseRequest>(b.as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("attestations"));
        let item = format!(r#"{{"image":["{MD5}","{SHA}","{SHA}",90]}}"#);
        let e = decode::<CreateCaseRequest>(body(&item).as_bytes()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("items[0].image"));
        let e = decode::<FeedbackRequest>(br#"{"events":[["e-1",1,"matched",null]]}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("events[0]"));
    }

    #[test]
    fn fingerprints_stay_out_of_debug_output() {
        let req: CreateCaseRequest = decode(body(&img("")).as_bytes()).unwrap();
        let dbg = format!("{req:?}");
        assert!(!dbg.contains(MD5) && !dbg.contains(SHA), "{dbg}");
    }
}
