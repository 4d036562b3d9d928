//! The service's operations, written once above the storage trait (ADR 0105).
//!
//! HTTP handlers parse, call one function here and answer; backends only
//! store. This layer owns case creation (idempotent replay, the case-number
//! retry loop, token wrapping), authentication of case tokens and platform
//! keys, and turning stored rows into wire answers. The decisions themselves
//! are pure functions in [`rules`].

pub mod rules;
mod views;

use takedown_protocol as p;

use crate::secrets;
use crate::store::{InsertCase, NewBatch, NewCase, NewItem, Store, StoreError, WithdrawTarget};

pub use views::{ItemsPage, assemble_status, decode_frames, sync_entry};

fn canonical<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|_| StoreError::Internal("encoding failed".into()))
}

/// Opens a case, or answers a retry of an earlier identical request with the
/// same case and token (`created: false`). The token is never stored: a
/// retry recovers it by unmasking the stored wrap with the idempotency key.
pub async fn create_case(
    store: &Store,
    req: &p::CreateCaseRequest,
    now: i64,
) -> Result<p::CreateCaseResponse, StoreError> {
    let request_hash = secrets::request_hash(&canonical(&(&req.attestations, &req.items))?);
    let idem_hash = secrets::hash_idempotency_key(&req.idempotency_key);
    let items: Vec<NewItem> = req.items.iter().map(NewItem::from_input).collect();
    let raw = secrets::random_secret();
    let token = secrets::token_string(&raw);
    for _ in 0..rules::CASE_NUMBER_ATTEMPTS {
        let number = secrets::new_case_number();
        let outcome = store
            .insert_case(NewCase {
                number: number.clone(),
                token_hash: secrets::hash_token(&token),
                idem_hash,
                request_hash,
                token_wrap: secrets::wrap_token(&raw, &req.idempotency_key),
                submitter: req.attestations.submitter,
                recovery_verifier: req
                    .recovery_verifier
                    .as_deref()
                    .and_then(|v| <[u8; 32]>::try_from(hex::decode(v).ok()?).ok()),
                event: rules::NewEvent::case_created(items.len()),
                items: items.clone(),
                now,
            })
            .await;
        match outcome {
            Ok(InsertCase::Created { item_numbers }) => {
                return Ok(p::CreateCaseResponse {
                    case_number: number,
                    case_token: token,
                    created: true,
                    item_ids: item_numbers,
                });
            }
            Ok(InsertCase::Existing(stored)) => {
                rules::check_replay(&stored.request_hash, &request_hash)?;
                let raw = secrets::wrap_token(&stored.token_wrap, &req.idempotency_key);
                return Ok(p::CreateCaseResponse {
                    case_number: stored.number,
                    case_token: secrets::token_string(&raw),
                    created: false,
                    item_ids: stored.item_numbers,
                });
            }
            Err(StoreError::CaseNumberTaken) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Internal(
        "could not draw a free case number".into(),
    ))
}

/// The case a number and token open, or `None`. An unknown (or malformed)
/// number and a wrong token do the same work and give the same answer.
pub async fn authenticate_case(
    store: &Store,
    number: &str,
    token: &str,
) -> Result<Option<i64>, StoreError> {
    let presented = secrets::hash_token(token);
    let found = match secrets::normalize_case_number(number) {
        Some(n) => store.case_auth(&n).await?,
        None => None,
    };
    // Compare against a dummy when the case is unknown so both paths do the same work.
    let expected = found.as_ref().map_or([0u8; 32], |c| c.token_hash);
    let ok = secrets::hashes_equal(&presented, &expected);
    Ok(found.filter(|_| ok).map(|c| c.case_id))
}

/// Trades a recovery key for a fresh case token (ADR 0112); the old token
/// stops working. `None` for an unknown case, a case opened without a
/// recovery key, and a wrong key alike (same work, same answer).
pub async fn restore_case(
    store: &Store,
    number: &str,
    req: &p::RestoreCaseRequest,
) -> Result<Option<p::RestoreCaseResponse>, StoreError> {
    let presented = p::RecoveryKey::parse(&req.recovery_key)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(hex::decode(k.verifier()).ok()?).ok());
    let canonical = secrets::normalize_case_number(number);
    let found = match &canonical {
        Some(n) => store.case_recovery(n).await?,
        None => None,
    };
    // Compare against a dummy when there is nothing to compare with, so every
    // refusal does the same work.
    let expected = found.as_ref().and_then(|c| c.verifier);
    let ok = secrets::hashes_equal(
        &presented.unwrap_or([0xff; 32]),
        &expected.unwrap_or([0u8; 32]),
    ) && presented.is_some()
        && expected.is_some();
    let (Some(case), Some(number), true) = (found, canonical, ok) else {
        return Ok(None);
    };
    let token = secrets::token_string(&secrets::random_secret());
    store
        .replace_token(case.case_id, secrets::hash_token(&token))
        .await?;
    Ok(Some(p::RestoreCaseResponse {
        case_number: number,
        case_token: token,
        submitter: case.submitter,
    }))
}

/// The active platform holding this API key, or `None`.
pub async fn authenticate_platform(store: &Store, key: &str) -> Result<Option<i64>, StoreError> {
    store.platform_by_key(secrets::hash_api_key(key)).await
}

/// Adds items to an open case (idempotent by key).
pub async fn add_items(
    store: &Store,
    case_id: i64,
    req: &p::AddItemsRequest,
    now: i64,
) -> Result<p::AddItemsResponse, StoreError> {
    let added = store
        .add_items(NewBatch {
            case_id,
            idem_hash: secrets::hash_idempotency_key(&req.idempotency_key),
            request_hash: secrets::request_hash(&canonical(&req.items)?),
            items: req.items.iter().map(NewItem::from_input).collect(),
            now,
        })
        .await?;
    Ok(p::AddItemsResponse {
        created: added.created,
        item_ids: added.item_numbers,
    })
}

/// Withdraws one item or the whole case.
pub async fn withdraw(
    store: &Store,
    case_id: i64,
    target: WithdrawTarget,
    now: i64,
) -> Result<p::WithdrawResponse, StoreError> {
    Ok(p::WithdrawResponse {
        withdrawn_item_ids: store.withdraw(case_id, target, now).await?,
    })
}

/// What the victim sees.
pub async fn case_status(
    store: &Store,
    case_id: i64,
    page: ItemsPage,
) -> Result<p::CaseStatus, StoreError> {
    assemble_status(store.case_status_parts(case_id).await?, page)
}

/// One sync page after `cursor`; asking from a cursor records that the
/// platform has everything up to it.
pub async fn sync_page(
    store: &Store,
    platform_id: i64,
    cursor: i64,
    limit: i64,
) -> Result<p::SyncPage, StoreError> {
    if cursor > 0 {
        store.record_sync(platform_id, cursor).await?;
    }
    let mut rows = store.changes(cursor, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = rows.last().map_or(cursor, |r| r.seq);
    let entries = rows
        .into_iter()
        .map(sync_entry)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(p::SyncPage {
        entries,
        next_cursor,
        has_more,
    })
}

/// Records a platform's feedback; all events or none.
pub async fn feedback(
    store: &Store,
    platform_id: i64,
    events: Vec<p::FeedbackEvent>,
    now: i64,
) -> Result<p::FeedbackResponse, StoreError> {
    let mut items: Vec<i64> = events.iter().map(|e| e.item_id).collect();
    items.sort_unstable();
    items.dedup();
    let case_of = store.item_cases(items).await?;
    let plan = rules::plan_feedback(events, &case_of)?;
    let planned = plan.rows.len() as u32;
    let accepted = store.record_feedback(platform_id, plan.rows, now).await?;
    Ok(p::FeedbackResponse {
        accepted,
        duplicates: plan.repeated + (planned - accepted),
    })
}

/// Admin operations (the `platform` subcommand).
pub mod admin {
    use super::*;

    /// Creates a platform and returns its API key (shown once; only its hash is stored).
    pub async fn create_platform(store: &Store, name: &str) -> Result<String, StoreError> {
        let key = secrets::new_api_key();
        store
            .create_platform(name, secrets::hash_api_key(&key), crate::now())
            .await?;
        Ok(key)
    }

    /// Revokes a platform's key; `false` when there is no active platform by that name.
    pub async fn revoke_platform(store: &Store, name: &str) -> Result<bool, StoreError> {
        store.revoke_platform(name, crate::now()).await
    }
}
