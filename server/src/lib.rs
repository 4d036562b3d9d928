//! The Takedown hash-list service.
