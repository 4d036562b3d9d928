//! Case access that survives a lost or wiped phone (ADR 0112).
//!
//! When a case is queued the core makes a recovery key
//! ([`takedown_protocol::RecoveryKey`], 140 random bits written as 7 groups of
//! 5 symbols with a check symbol each), keeps it sealed in `cases.recovery_key`
//! and sends only its verifier with the case. [`App::restore_case`] trades
//! the case number and key for a fresh token on any phone and brings the case
//! back into the history: status, adding items and withdrawals work again.
//! Restored items have no fingerprints on this phone (they stay with the
//! phone that made them); the service knows each by its number.

use rusqlite::{OptionalExtension, params};
use takedown_protocol as p;

use super::App;
use super::cancel::Cancel;
use super::client::with_retries;
use super::crypto::{Sealer, row_purpose};
use super::eligibility::SubmitterRole;
use super::error::{Error, Result};
use super::history::{CaseRecord, CaseState, HistoryItemState};
use super::selection::MediaKind;
use super::wire;

fn purpose(case_id: i64) -> String {
    row_purpose("cases", case_id, "recovery_key")
}

/// Reads a recovery key as a person types it and returns its written form
/// (`XXXXX-XXXXX-…`). [`Error::RecoveryKeyInvalid`] names the group to check
/// again (0 when the length is wrong).
pub fn normalize_recovery_key(input: &str) -> Result<String> {
    parse(input).map(|k| k.to_string())
}

fn parse(input: &str) -> Result<p::RecoveryKey> {
    p::RecoveryKey::parse(input).map_err(|e| {
        Error::RecoveryKeyInvalid(match e {
            p::RecoveryKeyError::Length => 0,
            p::RecoveryKeyError::Group(g) => g,
        })
    })
}

/// Makes a fresh key for a new case, stores it sealed (bound to the row) and
/// returns the verifier to send.
pub(crate) fn store_new_key(
    tx: &rusqlite::Transaction<'_>,
    sealer: &Sealer,
    case_id: i64,
) -> Result<String> {
    let key = p::RecoveryKey::from_random(rand::random());
    store_key(tx, sealer, case_id, &key)?;
    Ok(key.verifier())
}

fn store_key(
    tx: &rusqlite::Transaction<'_>,
    sealer: &Sealer,
    case_id: i64,
    key: &p::RecoveryKey,
) -> Result<()> {
    let sealed = sealer.seal_str(&purpose(case_id), &key.to_string())?;
    tx.execute(
        "UPDATE cases SET recovery_key = ?2 WHERE id = ?1",
        params![case_id, sealed],
    )?;
    Ok(())
}

/// The written form of a case's key, if it has one.
pub(crate) fn open_key(
    sealer: &Sealer,
    case_id: i64,
    sealed: Option<&[u8]>,
) -> Result<Option<String>> {
    sealed
        .map(|s| sealer.open_str(&purpose(case_id), s))
        .transpose()
}

/// The verifier of a case's stored key (for a case sent again).
pub(crate) fn stored_verifier(
    tx: &rusqlite::Transaction<'_>,
    sealer: &Sealer,
    case_id: i64,
) -> Result<Option<String>> {
    let sealed: Option<Vec<u8>> = tx
        .query_row(
            "SELECT recovery_key FROM cases WHERE id = ?1",
            [case_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    match open_key(sealer, case_id, sealed.as_deref())? {
        Some(k) => Ok(Some(parse(&k).map_err(|_| Error::Corrupt)?.verifier())),
        None => Ok(None),
    }
}

impl App {
    /// Brings a case back into this history from its number and recovery key,
    /// on any phone (after "delete everything", a reinstall, a lost phone).
    /// The service gives a fresh token (the old phone's stops working); the
    /// case's status is read and stored, and adding items and withdrawals work
    /// as for a case made here. If the case is already in this history, its
    /// token is replaced and its key kept. Mistyped keys fail before anything
    /// is sent ([`Error::RecoveryKeyInvalid`]); an unknown case or a wrong key
    /// is [`Error::Rejected`] with code `not_found`.
    pub async fn restore_case(
        &self,
        case_number: &str,
        recovery_key: &str,
        cancel: &Cancel,
    ) -> Result<CaseRecord> {
        let key = parse(recovery_key)?;
        let number = normalize_case_number(case_number)?;
        let written = key.to_string();
        let restored = cancel
            .run(async {
                Ok(with_retries(&self.policy, || self.client.restore(&number, &written)).await?)
            })
            .await?;
        // Every page of items, so each can be withdrawn by its number.
        let mut first: Option<wire::CaseStatus> = None;
        let mut items = Vec::new();
        let mut after = None;
        loop {
            let page = cancel
                .run(async {
                    Ok(with_retries(&self.policy, || {
                        self.client
                            .status_page(&restored.case_number, &restored.case_token, after)
                    })
                    .await?)
                })
                .await?;
            items.extend(page.items.iter().cloned());
            let next = page.next_items_after;
            if first.is_none() {
                first = Some(page);
            }
            match next {
                Some(n) if Some(n) != after && items.len() <= p::MAX_ITEMS_PER_CASE => {
                    after = Some(n)
                }
                _ => break,
            }
        }
        let status = first.ok_or_else(|| Error::Internal("no status".into()))?;
        let submitter = match restored.submitter.as_deref() {
            Some("parent_or_guardian") => SubmitterRole::ParentOrGuardian,
            _ => SubmitterRole::PersonShown,
        };
        let case_id = self.store_restored(&restored, submitter, &key, &status, &items)?;
        self.store_snapshot(case_id, &status)?;
        self.changed(crate::Change::History);
        self.case(case_id)
    }

    fn store_restored(
        &self,
        restored: &wire::RestoredCase,
        submitter: SubmitterRole,
        key: &p::RecoveryKey,
        status: &wire::CaseStatus,
        items: &[wire::ItemStatus],
    ) -> Result<i64> {
        let now = self.now_secs();
        let withdrawn = status.state == wire::ServiceState::Withdrawn;
        self.db.write(|tx| {
            // Case numbers are sealed: find a copy of this case by opening them.
            let mut existing = None;
            {
                let mut stmt =
                    tx.prepare("SELECT id, case_number FROM cases WHERE case_number IS NOT NULL")?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                for (id, sealed) in rows {
                    if self.sealer.open_text("cases", id, "case_number", &sealed)?
                        == restored.case_number
                    {
                        existing = Some(id);
                        break;
                    }
                }
            }
            let case_id = match existing {
                Some(id) => id,
                None => {
                    let state = if withdrawn {
                        CaseState::Withdrawn
                    } else {
                        CaseState::Open
                    };
                    tx.execute(
                        "INSERT INTO cases(submitter, state, created_at) VALUES (?1, ?2, ?3)",
                        params![submitter, state, now],
                    )?;
                    let id = tx.last_insert_rowid();
                    tx.execute(
                        "UPDATE cases SET case_number = ?2 WHERE id = ?1",
                        params![
                            id,
                            self.sealer.seal_text(
                                "cases",
                                id,
                                "case_number",
                                &restored.case_number
                            )?
                        ],
                    )?;
                    store_key(tx, &self.sealer, id, key)?;
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO items(case_id, kind, fingerprints, remote_id, state, added_at)
                         VALUES (?1, ?2, x'', ?3, ?4, ?5)",
                    )?;
                    for it in items {
                        let kind = match it.kind.as_deref() {
                            Some("video") => MediaKind::Video,
                            _ => MediaKind::Image,
                        };
                        let state = if withdrawn || it.state == wire::ServiceState::Withdrawn {
                            HistoryItemState::Withdrawn
                        } else {
                            HistoryItemState::Active
                        };
                        stmt.execute(params![id, kind, it.item_id, state, now])?;
                        let item_id = tx.last_insert_rowid();
                        tx.execute(
                            "UPDATE items SET fingerprints = ?2 WHERE id = ?1",
                            params![
                                item_id,
                                crate::history::seal_not_on_this_phone(&self.sealer, item_id)?
                            ],
                        )?;
                    }
                    id
                }
            };
            let token = self.sealer.seal_str(
                &row_purpose("cases", case_id, "token"),
                &restored.case_token,
            )?;
            tx.execute(
                "UPDATE cases SET token = ?2 WHERE id = ?1",
                params![case_id, token],
            )?;
            Ok(case_id)
        })
    }
}

/// A case number as typed (case-insensitive, dashes and spaces optional,
/// `O`→`0`, `I`/`L`→`1`) in its canonical `TD-XXXX-XXXX-XXXX` form.
fn normalize_case_number(input: &str) -> Result<String> {
    const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let syms: Vec<u8> = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => b'0',
            'I' | 'L' => b'1',
            c if c.is_ascii() => c as u8,
            _ => 0,
        })
        .collect();
    let bad = || Error::InvalidInput("not a case number (TD-XXXX-XXXX-XXXX)".into());
    let body = syms.strip_prefix(b"TD").ok_or_else(bad)?;
    if body.len() != 12 || !body.iter().all(|b| CROCKFORD.contains(b)) {
        return Err(bad());
    }
    let mut s = String::from("TD");
    for (i, b) in body.iter().enumerate() {
        if i % 4 == 0 {
            s.push('-');
        }
        s.push(*b as char);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_case_numbers_and_keys_are_read_forgivingly() {
        assert_eq!(
            normalize_case_number("td 7k3m q9xp 2hwd").unwrap(),
            "TD-7K3M-Q9XP-2HWD"
        );
        assert_eq!(
            normalize_case_number("TD-OOOO-IIII-LLLL").unwrap(),
            "TD-0000-1111-1111"
        );
        for bad in [
            "",
            "TD-7K3M-Q9XP",
            "XX-7K3M-Q9XP-2HWD",
            "TD-7K3M-Q9XP-2HWU",
            "TD-é",
        ] {
            assert!(normalize_case_number(bad).is_err(), "{bad}");
        }
        let key = p::RecoveryKey::from_random([3; p::RECOVERY_RANDOM_BYTES]).to_string();
        assert_eq!(normalize_recovery_key(&key.to_lowercase()).unwrap(), key);
        let mut typo = key.clone().into_bytes();
        typo[13] = if typo[13] == b'7' { b'8' } else { b'7' };
        assert!(matches!(
            normalize_recovery_key(std::str::from_utf8(&typo).unwrap()),
            Err(Error::RecoveryKeyInvalid(3))
        ));
        assert!(matches!(
            normalize_recovery_key(&key[..20]),
            Err(Error::RecoveryKeyInvalid(0))
        ));
    }
}
