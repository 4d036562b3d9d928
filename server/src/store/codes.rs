//! How typed states are stored: the only place their numeric codes appear.
//!
//! Both schemas store item kinds, item and case states and change-log
//! operations as small integers. A stored value no code maps to is an error,
//! never a default.

use takedown_protocol as p;

use super::StoreError;

/// A type stored as a small integer.
pub trait Code: Sized + Copy {
    /// What names the column in errors.
    const WHAT: &'static str;
    /// The stored code.
    fn code(self) -> i16;
    /// The value of a stored code; `None` when no value has it.
    fn from_code_opt(c: i64) -> Option<Self>;
    /// The value of a stored code; an error when no value has it.
    fn from_code(c: i64) -> Result<Self, StoreError> {
        Self::from_code_opt(c)
            .ok_or_else(|| StoreError::Internal(format!("unknown stored {} {c}", Self::WHAT)))
    }
}

impl Code for p::ItemKind {
    const WHAT: &'static str = "item kind";
    fn code(self) -> i16 {
        match self {
            p::ItemKind::Image => 0,
            p::ItemKind::Video => 1,
        }
    }
    fn from_code_opt(c: i64) -> Option<Self> {
        match c {
            0 => Some(p::ItemKind::Image),
            1 => Some(p::ItemKind::Video),
            _ => None,
        }
    }
}

/// Items and cases share the two states.
impl Code for p::ItemState {
    const WHAT: &'static str = "state";
    fn code(self) -> i16 {
        match self {
            p::ItemState::Active => 0,
            p::ItemState::Withdrawn => 1,
        }
    }
    fn from_code_opt(c: i64) -> Option<Self> {
        match c {
            0 => Some(p::ItemState::Active),
            1 => Some(p::ItemState::Withdrawn),
            _ => None,
        }
    }
}

impl Code for p::SyncOp {
    const WHAT: &'static str = "change-log operation";
    fn code(self) -> i16 {
        match self {
            p::SyncOp::Add => 1,
            p::SyncOp::Withdraw => 2,
        }
    }
    fn from_code_opt(c: i64) -> Option<Self> {
        match c {
            1 => Some(p::SyncOp::Add),
            2 => Some(p::SyncOp::Withdraw),
            _ => None,
        }
    }
}

/// A stored timeline event kind.
pub fn event_kind(s: &str) -> Result<p::EventKind, StoreError> {
    p::EventKind::parse(s).ok_or_else(|| StoreError::Internal("unknown stored event kind".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Code + PartialEq + std::fmt::Debug>(all: &[T]) {
        for v in all {
            assert_eq!(T::from_code(i64::from(v.code())).ok(), Some(*v));
        }
        assert!(T::from_code(99).is_err(), "unknown codes are errors");
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_errors() {
        round_trips(&[p::ItemKind::Image, p::ItemKind::Video]);
        round_trips(&[p::ItemState::Active, p::ItemState::Withdrawn]);
        round_trips(&[p::SyncOp::Add, p::SyncOp::Withdraw]);
        assert!(event_kind("paused").is_err());
    }
}
