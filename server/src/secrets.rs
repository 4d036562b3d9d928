//! Case tokens, platform API keys, idempotency keys and case numbers (ADR 0102, ADR 0103).
//!
//! Secrets are 256 random bits. The service stores only a domain-separated
//! SHA-256 of each (a slow password hash buys nothing for 256-bit random
//! secrets) and compares hashes in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of case tokens (helps secret scanners recognise leaked ones).
pub const TOKEN_PREFIX: &str = "tdc_";
/// Prefix of platform API keys.
pub const API_KEY_PREFIX: &str = "tdk_";

/// Crockford base32 alphabet (no I, L, O, U).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random symbols in a case number (12 × 5 = 60 bits).
const NUMBER_SYMBOLS: usize = 12;

fn tagged_hash(tag: &str, data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(tag.as_bytes());
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// A fresh random 32-byte secret.
pub fn random_secret() -> [u8; 32] {
    rand::random()
}

/// Wire form of a case token.
pub fn token_string(raw: &[u8; 32]) -> String {
    format!("{TOKEN_PREFIX}{}", hex::encode(raw))
}

/// A fresh platform API key (wire form).
pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", hex::encode(random_secret()))
}

/// What is stored for a case token.
pub fn hash_token(token: &str) -> [u8; 32] {
    tagged_hash("takedown/case-token/v1", token.as_bytes())
}

/// What is stored for a platform API key.
pub fn hash_api_key(key: &str) -> [u8; 32] {
    tagged_hash("takedown/api-key/v1", key.as_bytes())
}

/// What is stored for an idempotency key.
pub fn hash_idempotency_key(key: &str) -> [u8; 32] {
    tagged_hash("takedown/idempotency/v1", key.as_bytes())
}

/// Masks (or unmasks) a raw token with a pad derived from the idempotency key,
/// so a retried create can return the token without the service keeping it.
pub fn wrap_token(raw: &[u8; 32], idempotency_key: &str) -> [u8; 32] {
    let pad = tagged_hash("takedown/token-wrap/v1", idempotency_key.as_bytes());
    let mut out = [0u8; 32];
    for i in 0..32 {
        out[i] = raw[i] ^ pad[i];
    }
    out
}

/// Hash of a request body's meaningful content (for idempotency conflicts).
pub fn request_hash(canonical: &[u8]) -> [u8; 32] {
    tagged_hash("takedown/request/v1", canonical)
}

/// Constant-time equality of two hashes.
pub fn hashes_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// A fresh case number, `TD-XXXX-XXXX-XXXX` (60 random bits, Crockford base32).
pub fn new_case_number() -> String {
    let bits: u64 = rand::random::<u64>() >> 4;
    let mut s = String::with_capacity(3 + NUMBER_SYMBOLS + 2);
    s.push_str("TD");
    for i in 0..NUMBER_SYMBOLS {
        if i % 4 == 0 {
            s.push('-');
        }
        let sym = (bits >> (5 * (NUMBER_SYMBOLS - 1 - i))) & 31;
        s.push(CROCKFORD[sym as usize] as char);
    }
    s
}

/// Canonical form of a case number typed by a person: case-insensitive,
/// dashes and spaces optional, `O`→`0`, `I`/`L`→`1`. `None` when it cannot be one.
pub fn normalize_case_number(input: &str) -> Option<String> {
    let mut syms = Vec::with_capacity(NUMBER_SYMBOLS + 2);
    for c in input.chars() {
        match c {
            '-' | ' ' => continue,
            _ => {}
        }
        let c = c.to_ascii_uppercase();
        let c = match c {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
            return None;
        }
        syms.push(c);
        if syms.len() > NUMBER_SYMBOLS + 2 {
            return None;
        }
    }
    if syms.len() != NUMBER_SYMBOLS + 2 || syms[0] != 'T' || syms[1] != 'D' {
        return None;
    }
    let mut s = String::from("TD");
    for (i, c) in syms[2..].iter().enumerate() {
        if i % 4 == 0 {
            s.push('-');
        }
        s.push(*c);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_numbers_are_well_formed_and_normalise() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let n = new_case_number();
            assert_eq!(n.len(), 17, "{n}");
            assert_eq!(normalize_case_number(&n).as_deref(), Some(n.as_str()));
            let typed = n.to_lowercase().replace('-', " ").replace('0', "o");
            assert_eq!(normalize_case_number(&typed).as_deref(), Some(n.as_str()));
            assert!(seen.insert(n));
        }
        assert_eq!(normalize_case_number("TD-1234"), None);
        assert_eq!(normalize_case_number("XX-0000-0000-0000"), None);
        assert_eq!(normalize_case_number("TD-0000-0000-000U"), None);
    }

    #[test]
    fn token_wrap_round_trips_and_hashes_differ_by_domain() {
        let raw = random_secret();
        let w = wrap_token(&raw, "key-1234567890abcdef");
        assert_ne!(w, raw);
        assert_eq!(wrap_token(&w, "key-1234567890abcdef"), raw);
        assert_ne!(wrap_token(&w, "another-key-1234567"), raw);
        assert_ne!(hash_token("x"), hash_api_key("x"));
        assert!(hashes_equal(&hash_token("x"), &hash_token("x")));
        assert!(!hashes_equal(&hash_token("x"), &hash_token("y")));
    }
}
