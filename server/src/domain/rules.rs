//! The business rules, as pure functions over what was read (ADR 0105).
//!
//! Nothing here touches storage. The domain calls these before or after a
//! backend operation; a backend calls [`admit_items`] and [`plan_withdraw`]
//! inside its transaction, on rows it read under the case's lock, and then
//! applies exactly what they return.

use std::collections::{BTreeMap, HashMap, HashSet};

use takedown_protocol as p;

use crate::store::{PlannedFeedback, StoreError, WithdrawTarget};

/// How many case numbers are drawn before creation gives up (60-bit random
/// numbers: a second draw is already astronomically rare).
pub const CASE_NUMBER_ATTEMPTS: usize = 8;

/// A timeline event to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewEvent {
    /// What happened.
    pub kind: p::EventKind,
    /// The item, when one.
    pub item_id: Option<i64>,
    /// How many items it concerns.
    pub count: usize,
}

impl NewEvent {
    fn new(kind: p::EventKind, item_id: Option<i64>, count: usize) -> Self {
        NewEvent {
            kind,
            item_id,
            count,
        }
    }
    /// A case was opened with `n` items.
    pub fn case_created(n: usize) -> Self {
        Self::new(p::EventKind::CaseCreated, None, n)
    }
}

/// Changes to an item's feedback counters. The typed form of "which column
/// an outcome counts in": stores update all three with bound values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterDelta {
    /// Added to `matches`.
    pub matches: i32,
    /// Added to `removals`.
    pub removals: i32,
    /// Added to `not_violating`.
    pub not_violating: i32,
}

impl CounterDelta {
    /// What one report of `outcome` counts.
    pub fn of(outcome: p::Outcome) -> Self {
        let mut d = CounterDelta::default();
        match outcome {
            p::Outcome::Matched => d.matches = 1,
            p::Outcome::Removed => d.removals = 1,
            p::Outcome::ReviewedNotViolating => d.not_violating = 1,
        }
        d
    }

    fn add(&mut self, o: CounterDelta) {
        self.matches += o.matches;
        self.removals += o.removals;
        self.not_violating += o.not_violating;
    }
}

/// A repeated create is a replay only when the request is the same.
pub fn check_replay(stored_request_hash: &[u8], request_hash: &[u8; 32]) -> Result<(), StoreError> {
    if stored_request_hash == request_hash {
        Ok(())
    } else {
        Err(StoreError::IdempotencyConflict)
    }
}

/// An earlier add-items batch with the same idempotency key.
#[derive(Debug, Clone)]
pub struct PriorBatch {
    /// Its id (the items' `batch`).
    pub op_id: i64,
    /// Hash of its request.
    pub request_hash: Vec<u8>,
}

/// What an add-items decision needs, read under the case's lock.
#[derive(Debug, Clone)]
pub struct AddSnapshot {
    /// The case's state.
    pub case_state: p::ItemState,
    /// Items the case holds.
    pub item_count: i64,
    /// The batch stored earlier under this key, if any.
    pub prior: Option<PriorBatch>,
}

/// What to do with an add-items request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Answer with the earlier batch's items.
    Replay {
        /// The earlier batch.
        op_id: i64,
    },
    /// Store the batch and this event.
    Insert {
        /// The timeline event.
        event: NewEvent,
    },
}

/// Idempotency first, then the withdrawn-case and item-limit checks.
pub fn admit_items(
    s: &AddSnapshot,
    request_hash: &[u8; 32],
    n_items: usize,
) -> Result<Admission, StoreError> {
    if let Some(prior) = &s.prior {
        check_replay(&prior.request_hash, request_hash)?;
        return Ok(Admission::Replay { op_id: prior.op_id });
    }
    if s.case_state != p::ItemState::Active {
        return Err(StoreError::CaseWithdrawn);
    }
    let total = usize::try_from(s.item_count).unwrap_or(usize::MAX);
    if total.saturating_add(n_items) > p::MAX_ITEMS_PER_CASE {
        return Err(StoreError::TooManyItems);
    }
    Ok(Admission::Insert {
        event: NewEvent::new(p::EventKind::ItemsAdded, None, n_items),
    })
}

/// What a withdrawal decision needs, read under the case's lock.
#[derive(Debug, Clone)]
pub struct WithdrawSnapshot {
    /// The case's state.
    pub case_state: p::ItemState,
    /// The targeted item (empty when it is not in the case), or every item of
    /// the case.
    pub items: Vec<(i64, p::ItemState)>,
}

/// What a withdrawal changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawPlan {
    /// Items to mark withdrawn (ascending), each with a change-log entry.
    pub item_ids: Vec<i64>,
    /// Whether the case itself becomes withdrawn.
    pub withdraw_case: bool,
    /// The timeline event, when something changed.
    pub event: Option<NewEvent>,
}

/// Withdrawing is idempotent: what is withdrawn already stays as it is.
pub fn plan_withdraw(
    target: WithdrawTarget,
    s: &WithdrawSnapshot,
) -> Result<WithdrawPlan, StoreError> {
    let active = |st: &p::ItemState| *st == p::ItemState::Active;
    match target {
        WithdrawTarget::Item(id) => {
            let (_, state) = s
                .items
                .iter()
                .find(|(i, _)| *i == id)
                .ok_or(StoreError::NotFound)?;
            let now_active = active(state);
            Ok(WithdrawPlan {
                item_ids: if now_active { vec![id] } else { vec![] },
                withdraw_case: false,
                event: now_active.then(|| NewEvent::new(p::EventKind::ItemWithdrawn, Some(id), 1)),
            })
        }
        WithdrawTarget::Case => {
            let mut ids: Vec<i64> = s
                .items
                .iter()
                .filter(|(_, st)| active(st))
                .map(|(i, _)| *i)
                .collect();
            ids.sort_unstable();
            let withdraw_case = active(&s.case_state);
            Ok(WithdrawPlan {
                event: withdraw_case
                    .then(|| NewEvent::new(p::EventKind::CaseWithdrawn, None, ids.len())),
                item_ids: ids,
                withdraw_case,
            })
        }
    }
}

/// Feedback rows to store, and the events repeated within the request.
#[derive(Debug, Clone)]
pub struct FeedbackPlan {
    /// Rows in request order, each event id once.
    pub rows: Vec<PlannedFeedback>,
    /// Events whose id came earlier in the same request (duplicates).
    pub repeated: u32,
}

/// Every event must name an existing item (the error points at the first
/// that does not); an event id repeated within the request counts once (the
/// first wins, the rest are duplicates); each new event counts once on its
/// item and adds one timeline event.
pub fn plan_feedback(
    events: Vec<p::FeedbackEvent>,
    case_of: &HashMap<i64, i64>,
) -> Result<FeedbackPlan, StoreError> {
    if let Some(i) = events
        .iter()
        .position(|e| !case_of.contains_key(&e.item_id))
    {
        return Err(StoreError::UnknownItem(i));
    }
    let mut seen = HashSet::with_capacity(events.len());
    let mut rows = Vec::with_capacity(events.len());
    let mut repeated = 0u32;
    for e in events {
        if !seen.insert(e.event_id.clone()) {
            repeated += 1;
            continue;
        }
        let case_id = case_of.get(&e.item_id).copied().unwrap_or_default();
        rows.push(PlannedFeedback {
            delta: CounterDelta::of(e.outcome),
            event: NewEvent::new(e.outcome.event_kind(), Some(e.item_id), 1),
            event_id: e.event_id,
            item_id: e.item_id,
            outcome: e.outcome,
            reference: e.reference,
            case_id,
        });
    }
    Ok(FeedbackPlan { rows, repeated })
}

/// The counter changes of the rows that were new, one per item, in
/// ascending item order: the one lock order every feedback writer uses.
pub fn counter_updates<'a>(
    new_rows: impl IntoIterator<Item = &'a PlannedFeedback>,
) -> Vec<(i64, CounterDelta)> {
    let mut by_item = BTreeMap::<i64, CounterDelta>::new();
    for r in new_rows {
        by_item.entry(r.item_id).or_default().add(r.delta);
    }
    by_item.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(state: p::ItemState, count: i64, prior: Option<(i64, [u8; 32])>) -> AddSnapshot {
        AddSnapshot {
            case_state: state,
            item_count: count,
            prior: prior.map(|(op_id, h)| PriorBatch {
                op_id,
                request_hash: h.to_vec(),
            }),
        }
    }

    #[test]
    fn add_items_checks_idempotency_before_state_and_limit() {
        let h = [7u8; 32];
        let withdrawn = snap(p::ItemState::Withdrawn, 5, Some((3, h)));
        assert_eq!(
            admit_items(&withdrawn, &h, 1).unwrap(),
            Admission::Replay { op_id: 3 }
        );
        assert!(matches!(
            admit_items(&withdrawn, &[8u8; 32], 1),
            Err(StoreError::IdempotencyConflict)
        ));
        assert!(matches!(
            admit_items(&snap(p::ItemState::Withdrawn, 5, None), &h, 1),
            Err(StoreError::CaseWithdrawn)
        ));
        let full = p::MAX_ITEMS_PER_CASE as i64;
        assert!(matches!(
            admit_items(&snap(p::ItemState::Active, full, None), &h, 1),
            Err(StoreError::TooManyItems)
        ));
        assert!(matches!(
            admit_items(&snap(p::ItemState::Active, full - 1, None), &h, 1),
            Ok(Admission::Insert { .. })
        ));
    }

    #[test]
    fn withdrawal_is_idempotent_and_names_missing_items() {
        use p::ItemState::{Active, Withdrawn};
        let s = WithdrawSnapshot {
            case_state: Active,
            items: vec![(9, Active), (4, Withdrawn), (2, Active)],
        };
        let plan = plan_withdraw(WithdrawTarget::Case, &s).unwrap();
        assert_eq!(plan.item_ids, vec![2, 9]);
        assert!(plan.withdraw_case);
        assert_eq!(plan.event.map(|e| e.count), Some(2));
        let again = WithdrawSnapshot {
            case_state: Withdrawn,
            items: vec![],
        };
        assert_eq!(
            plan_withdraw(WithdrawTarget::Case, &again).unwrap(),
            WithdrawPlan {
                item_ids: vec![],
                withdraw_case: false,
                event: None
            }
        );
        assert!(
            plan_withdraw(WithdrawTarget::Item(4), &s)
                .unwrap()
                .event
                .is_none()
        );
        assert!(matches!(
            plan_withdraw(WithdrawTarget::Item(5), &s),
            Err(StoreError::NotFound)
        ));
    }

    #[test]
    fn feedback_counts_each_outcome_in_its_counter_in_item_order() {
        let ev = |id: &str, item: i64, outcome| p::FeedbackEvent {
            event_id: id.into(),
            item_id: item,
            outcome,
            reference: None,
        };
        let cases = HashMap::from([(5, 1), (3, 1)]);
        let plan = plan_feedback(
            vec![
                ev("a", 5, p::Outcome::Matched),
                ev("b", 3, p::Outcome::Removed),
                ev("a", 3, p::Outcome::Matched),
                ev("c", 5, p::Outcome::ReviewedNotViolating),
            ],
            &cases,
        )
        .unwrap();
        assert_eq!(plan.repeated, 1);
        assert_eq!(plan.rows.len(), 3);
        let updates = counter_updates(&plan.rows);
        assert_eq!(
            updates,
            vec![
                (
                    3,
                    CounterDelta {
                        removals: 1,
                        ..Default::default()
                    }
                ),
                (
                    5,
                    CounterDelta {
                        matches: 1,
                        not_violating: 1,
                        ..Default::default()
                    }
                ),
            ]
        );
        assert!(matches!(
            plan_feedback(
                vec![
                    ev("x", 5, p::Outcome::Matched),
                    ev("y", 6, p::Outcome::Matched)
                ],
                &cases
            ),
            Err(StoreError::UnknownItem(1))
        ));
    }
}
