//! Recovery keys: what a person writes down next to the case number, so the
//! case can be brought back on another phone after "delete everything", a
//! reinstall or a lost phone (ADR 0112).
//!
//! A key is 28 random symbols of Crockford base32 (140 bits) in 7 groups of
//! 4, each group followed by one check symbol: `K7M2Q-9XPW4-…` (35 symbols).
//! The check symbol of group `g` is `Σ αⁱ⁺¹·dᵢ + α⁵⁺ᵍ` over GF(32) (α a root of
//! x⁵ + x² + 1), so every single mistyped symbol and every swap of two
//! neighbouring symbols within a group is caught, and so is a group written in
//! the wrong place; the error names the group to look at again.
//!
//! The phone keeps the key (sealed) and sends only its [`RecoveryKey::verifier`]
//! when the case is opened. `POST /v1/cases/{case_number}/restore` takes the
//! key itself and answers with a fresh case token.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Groups in a recovery key.
pub const RECOVERY_GROUPS: usize = 7;
/// Random symbols per group (each group adds one check symbol).
pub const RECOVERY_DATA_PER_GROUP: usize = 4;
/// Random bytes a key is made from (140 of their 144 bits are used).
pub const RECOVERY_RANDOM_BYTES: usize = 18;
/// Symbols per written group.
const GROUP_LEN: usize = RECOVERY_DATA_PER_GROUP + 1;
/// Symbols in a key, without separators.
const KEY_SYMBOLS: usize = RECOVERY_GROUPS * GROUP_LEN;
/// Crockford base32 alphabet (no I, L, O, U).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Why a typed recovery key was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryKeyError {
    /// Not 35 symbols (after dropping spaces and dashes).
    #[error("a recovery key has {KEY_SYMBOLS} letters and digits in {RECOVERY_GROUPS} groups")]
    Length,
    /// This group (1-based) holds a symbol that is not in the alphabet, or
    /// does not agree with its check symbol.
    #[error("group {0} of the recovery key looks mistyped")]
    Group(u8),
}

/// Multiplication in GF(32) modulo x⁵ + x² + 1.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut r = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            r ^= a;
        }
        b >>= 1;
        a <<= 1;
        if a & 0x20 != 0 {
            a ^= 0b10_0101;
        }
    }
    r
}

/// αⁿ in GF(32) (α = x).
fn alpha_pow(n: usize) -> u8 {
    (0..n % 31).fold(1u8, |acc, _| gf_mul(acc, 2))
}

/// The check symbol of group `g` (0-based) with data symbols `d`.
fn check_symbol(g: usize, d: &[u8]) -> u8 {
    d.iter().enumerate().fold(alpha_pow(5 + g), |acc, (i, &s)| {
        acc ^ gf_mul(alpha_pow(i + 1), s)
    })
}

/// A recovery key (validated: every group's check symbol agrees).
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryKey {
    /// The 35 symbols (values 0–31), check symbols included.
    symbols: [u8; KEY_SYMBOLS],
}

impl RecoveryKey {
    /// A key from fresh random bytes (the caller draws them from a CSPRNG).
    pub fn from_random(bytes: [u8; RECOVERY_RANDOM_BYTES]) -> RecoveryKey {
        let mut bits = bytes
            .iter()
            .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1));
        let mut symbols = [0u8; KEY_SYMBOLS];
        for g in 0..RECOVERY_GROUPS {
            let base = g * GROUP_LEN;
            for i in 0..RECOVERY_DATA_PER_GROUP {
                symbols[base + i] =
                    (0..5).fold(0u8, |acc, _| (acc << 1) | bits.next().unwrap_or(0));
            }
            symbols[base + RECOVERY_DATA_PER_GROUP] =
                check_symbol(g, &symbols[base..base + RECOVERY_DATA_PER_GROUP]);
        }
        RecoveryKey { symbols }
    }

    /// Reads a key as a person types it: case-insensitive, spaces and dashes
    /// anywhere, `O` read as `0` and `I`/`L` as `1`.
    pub fn parse(input: &str) -> Result<RecoveryKey, RecoveryKeyError> {
        let mut symbols = [0u8; KEY_SYMBOLS];
        let mut n = 0usize;
        let mut bad_group: Option<usize> = None;
        for c in input.chars() {
            if matches!(c, '-' | ' ' | '\u{a0}' | '\t' | '\n') {
                continue;
            }
            if n >= KEY_SYMBOLS {
                return Err(RecoveryKeyError::Length);
            }
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            match CROCKFORD.iter().position(|&a| c.is_ascii() && a == c as u8) {
                Some(v) => symbols[n] = v as u8,
                None => {
                    bad_group.get_or_insert(n / GROUP_LEN);
                }
            }
            n += 1;
        }
        if n != KEY_SYMBOLS {
            return Err(RecoveryKeyError::Length);
        }
        if let Some(g) = bad_group {
            return Err(RecoveryKeyError::Group(g as u8 + 1));
        }
        for g in 0..RECOVERY_GROUPS {
            let group = &symbols[g * GROUP_LEN..(g + 1) * GROUP_LEN];
            if check_symbol(g, &group[..RECOVERY_DATA_PER_GROUP]) != group[RECOVERY_DATA_PER_GROUP]
            {
                return Err(RecoveryKeyError::Group(g as u8 + 1));
            }
        }
        Ok(RecoveryKey { symbols })
    }

    /// What the service stores and compares: SHA-256 over a domain tag and
    /// the key's 35 symbols, as 64 lowercase hex digits. It does not reveal
    /// the key.
    pub fn verifier(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"takedown/recovery-key/v1\0");
        for &s in &self.symbols {
            h.update([CROCKFORD[s as usize]]);
        }
        hex::encode(h.finalize())
    }
}

impl fmt::Display for RecoveryKey {
    /// The written form: 7 groups of 5 symbols joined by dashes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.symbols.iter().enumerate() {
            if i > 0 && i % GROUP_LEN == 0 {
                f.write_str("-")?;
            }
            write!(f, "{}", CROCKFORD[*s as usize] as char)?;
        }
        Ok(())
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

/// Whether `s` is a verifier as sent: 64 lowercase hex digits.
pub fn is_recovery_verifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `POST /v1/cases/{case_number}/restore`: trade the recovery key for a fresh
/// case token. The case's previous token stops working.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreCaseRequest {
    /// The recovery key in its written form (`XXXXX-XXXXX-…`, 7 groups of 5).
    pub recovery_key: String,
}

/// Answer to [`RestoreCaseRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreCaseResponse {
    /// The case number, in its canonical form.
    pub case_number: String,
    /// The new case token (the old one no longer works).
    pub case_token: String,
    /// Who opened the case.
    pub submitter: crate::Submitter,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> impl Iterator<Item = RecoveryKey> {
        (0u8..40).map(|s| {
            let mut b = [0u8; RECOVERY_RANDOM_BYTES];
            for (i, x) in b.iter_mut().enumerate() {
                *x = s.wrapping_mul(97).wrapping_add((i as u8).wrapping_mul(31)) ^ (s >> 1);
            }
            RecoveryKey::from_random(b)
        })
    }

    #[test]
    fn written_form_round_trips_and_is_forgiving_about_typing() {
        for k in keys() {
            let w = k.to_string();
            assert_eq!(w.len(), 35 + 6);
            assert_eq!(w.split('-').count(), 7);
            assert_eq!(RecoveryKey::parse(&w).unwrap(), k);
            let typed = w
                .replace('-', " ")
                .to_lowercase()
                .replace('0', "o")
                .replace('1', "l");
            assert_eq!(RecoveryKey::parse(&typed).unwrap(), k, "{typed}");
            assert_eq!(RecoveryKey::parse(&w).unwrap().verifier(), k.verifier());
            assert!(is_recovery_verifier(&k.verifier()));
        }
    }

    #[test]
    fn every_single_mistyped_symbol_names_its_group() {
        for k in keys() {
            let w: Vec<u8> = k.to_string().bytes().filter(|&b| b != b'-').collect();
            for pos in 0..KEY_SYMBOLS {
                for &a in CROCKFORD.iter() {
                    if a == w[pos] {
                        continue;
                    }
                    let mut t = w.clone();
                    t[pos] = a;
                    let t = String::from_utf8(t).unwrap();
                    assert_eq!(
                        RecoveryKey::parse(&t),
                        Err(RecoveryKeyError::Group((pos / GROUP_LEN) as u8 + 1)),
                        "{t}"
                    );
                }
            }
        }
    }

    #[test]
    fn swapped_neighbours_and_misplaced_groups_are_caught() {
        for k in keys() {
            let w: Vec<u8> = k.to_string().bytes().filter(|&b| b != b'-').collect();
            for pos in 0..KEY_SYMBOLS - 1 {
                if pos / GROUP_LEN != (pos + 1) / GROUP_LEN || w[pos] == w[pos + 1] {
                    continue;
                }
                let mut t = w.clone();
                t.swap(pos, pos + 1);
                assert!(RecoveryKey::parse(std::str::from_utf8(&t).unwrap()).is_err());
            }
            let groups: Vec<&[u8]> = w.chunks(GROUP_LEN).collect();
            for a in 0..RECOVERY_GROUPS {
                for b in a + 1..RECOVERY_GROUPS {
                    if groups[a] == groups[b] {
                        continue;
                    }
                    let mut g = groups.clone();
                    g.swap(a, b);
                    let t: Vec<u8> = g.concat();
                    assert!(
                        RecoveryKey::parse(std::str::from_utf8(&t).unwrap()).is_err(),
                        "groups {a} and {b} swapped"
                    );
                }
            }
        }
    }

    #[test]
    fn wrong_length_and_foreign_symbols_are_refused() {
        let w = keys().next().unwrap().to_string();
        assert_eq!(RecoveryKey::parse(""), Err(RecoveryKeyError::Length));
        assert_eq!(
            RecoveryKey::parse(&w[..w.len() - 1]),
            Err(RecoveryKeyError::Length)
        );
        assert_eq!(
            RecoveryKey::parse(&format!("{w}7")),
            Err(RecoveryKeyError::Length)
        );
        let mut u = w.clone().into_bytes();
        u[7] = b'U';
        assert_eq!(
            RecoveryKey::parse(std::str::from_utf8(&u).unwrap()),
            Err(RecoveryKeyError::Group(2))
        );
        let mut e = w.clone();
        e.replace_range(0..1, "é");
        assert_eq!(RecoveryKey::parse(&e), Err(RecoveryKeyError::Group(1)));
        assert!(!format!("{:?}", keys().next().unwrap()).contains(&w[..5]));
    }

    #[test]
    fn keys_carry_140_random_bits() {
        // Every one of the 140 used bits changes the key.
        let zero = RecoveryKey::from_random([0; RECOVERY_RANDOM_BYTES]);
        for bit in 0..140 {
            let mut b = [0u8; RECOVERY_RANDOM_BYTES];
            b[bit / 8] = 0x80 >> (bit % 8);
            assert_ne!(RecoveryKey::from_random(b), zero, "bit {bit}");
        }
    }
}
