//! The feedback queue: events are written to the local SQLite file first, each
//! with a stable event id, then sent to `POST /v1/feedback` until the service
//! confirms them. The service records an event id once per platform, so a retry
//! after a lost answer never double-counts.
//!
//! A batch the service refuses because of one event (`events[i]…`) marks that
//! event `rejected` (kept, with the reason) and sends the rest; a refused API key
//! or any other rejection stops the flush and keeps everything queued.

use takedown_protocol::{self as p, Outcome};

use crate::client::{Client, RetryPolicy};
use crate::error::{Error, Result};
use crate::store::{QueuedFeedback, Store};

/// A new random event id (`tdp-` and 128 random bits in hex).
pub fn new_event_id() -> String {
    format!("tdp-{:032x}", rand::random::<u128>())
}

/// Queues an event; returns its event id. With `event_id = None` a random one is
/// drawn; passing your own id (1–128 printable ASCII characters, e.g. your
/// moderation ticket) makes queuing itself idempotent.
pub fn enqueue(
    store: &mut Store,
    item_id: i64,
    outcome: Outcome,
    reference: Option<String>,
    event_id: Option<String>,
) -> Result<String> {
    let event_id = event_id.unwrap_or_else(new_event_id);
    if event_id.is_empty()
        || event_id.len() > p::MAX_KEY_LEN
        || !event_id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::Config(format!(
            "an event id is 1 to {} printable ASCII characters",
            p::MAX_KEY_LEN
        )));
    }
    if reference
        .as_ref()
        .is_some_and(|r| r.len() > p::MAX_REFERENCE_LEN)
    {
        return Err(Error::Config(format!(
            "a reference is at most {} bytes",
            p::MAX_REFERENCE_LEN
        )));
    }
    if item_id <= 0 {
        return Err(Error::Config("an item id is a positive number".into()));
    }
    store.enqueue_feedback(&QueuedFeedback {
        event_id: event_id.clone(),
        item_id,
        outcome,
        reference,
    })?;
    Ok(event_id)
}

/// What a flush did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlushReport {
    /// Events the service confirmed now (newly recorded or already recorded).
    pub confirmed: usize,
    /// Of those, events the service had already recorded (a retry of a lost answer).
    pub duplicates: usize,
    /// Events the service refused for good.
    pub rejected: usize,
    /// Events still queued.
    pub pending: usize,
}

fn blamed_event(field: Option<&str>) -> Option<usize> {
    let rest = field?.strip_prefix("events[")?;
    rest.split(']').next()?.parse().ok()
}

/// Sends every pending event, in batches, retrying transient failures.
pub async fn flush(client: &Client, store: &mut Store, retry: &RetryPolicy) -> Result<FlushReport> {
    let mut report = FlushReport::default();
    loop {
        let batch = store.pending_feedback(p::MAX_FEEDBACK_EVENTS)?;
        if batch.is_empty() {
            break;
        }
        let ids: Vec<String> = batch.iter().map(|e| e.event_id.clone()).collect();
        let req = p::FeedbackRequest {
            events: batch
                .iter()
                .map(|e| p::FeedbackEvent {
                    event_id: e.event_id.clone(),
                    item_id: e.item_id,
                    outcome: e.outcome,
                    reference: e.reference.clone(),
                })
                .collect(),
        };
        let mut attempt = 0;
        let sent = loop {
            attempt += 1;
            match client.feedback(&req).await {
                Err(r) if r.error.is_transient() && attempt < retry.max_attempts.max(1) => {
                    tracing::warn!(attempt, error = %r.error, "feedback not confirmed; retrying");
                    tokio::time::sleep(retry.delay(attempt)).await;
                }
                other => break other,
            }
        };
        match sent {
            Ok(a) => {
                store.feedback_sent(&ids)?;
                report.confirmed += ids.len();
                report.duplicates += a.duplicates as usize;
                tracing::info!(
                    accepted = a.accepted,
                    duplicates = a.duplicates,
                    "feedback confirmed"
                );
            }
            Err(r)
                if blamed_event(r.field.as_deref()).is_some_and(|i| i < ids.len())
                    && matches!(r.error, Error::Rejected { status: 422, .. }) =>
            {
                let i = blamed_event(r.field.as_deref()).unwrap_or_default();
                let code = match &r.error {
                    Error::Rejected { code, .. } => code.clone(),
                    _ => String::new(),
                };
                tracing::warn!(
                    item_id = batch[i].item_id,
                    code,
                    "the service refused a feedback event"
                );
                store.feedback_rejected(&ids[i], &code)?;
                report.rejected += 1;
            }
            Err(r) => {
                let e = r.error;
                let class = match &e {
                    Error::Transient(c) => c.clone(),
                    Error::Rejected { code, .. } => code.clone(),
                    _ => "error".into(),
                };
                store.feedback_attempt_failed(&ids, &class)?;
                return Err(e);
            }
        }
    }
    report.pending = store.stats()?.feedback_pending as usize;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_blamed_event() {
        assert_eq!(blamed_event(Some("events[12].item_id")), Some(12));
        assert_eq!(blamed_event(Some("events")), None);
        assert_eq!(blamed_event(None), None);
        let id = new_event_id();
        assert_eq!(id.len(), 36);
        assert_ne!(id, new_event_id());
    }
}
