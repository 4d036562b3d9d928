//! Sealing secrets at rest with the host's key: XChaCha20-Poly1305 with a random
//! 192-bit nonce per value and the value's purpose as associated data, so a sealed
//! token cannot be moved into a label column. A wrong key fails authentication:
//! [`Error::WrongKey`], never garbage.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::error::{Error, Result};

/// Length of the host key in bytes.
pub const KEY_LEN: usize = 32;
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// Associated data binding a sealed value to its place: `table/row id/column`.
/// A sealed value copied to another row or column fails to open.
pub fn row_purpose(table: &str, id: i64, column: &str) -> String {
    format!("{table}/{id}/{column}")
}

/// Prefix of a sealed value kept in a TEXT column (hex of the sealed bytes).
pub const SEALED_TEXT: &str = "sealed:";

/// Seals and opens values with one key.
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// A sealer for a 32-byte key.
    pub fn new(key: &[u8]) -> Result<Self> {
        if key.len() != KEY_LEN {
            return Err(Error::KeyProvider(format!(
                "the key must be {KEY_LEN} bytes, got {}",
                key.len()
            )));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(key)
            .map_err(|_| Error::KeyProvider("unusable key".into()))?;
        Ok(Sealer { cipher })
    }

    /// A fresh random key.
    pub fn generate_key() -> Vec<u8> {
        rand::random::<[u8; KEY_LEN]>().to_vec()
    }

    /// `version ‖ nonce ‖ ciphertext+tag`.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| Error::Internal("sealing failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a value sealed for `purpose`; [`Error::WrongKey`] when the key (or the
    /// purpose) does not fit or the value was altered.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(Error::WrongKey);
        }
        let (nonce, ct) = sealed[1..].split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| Error::WrongKey)
    }

    /// Seals a string.
    pub fn seal_str(&self, purpose: &str, s: &str) -> Result<Vec<u8>> {
        self.seal(purpose, s.as_bytes())
    }

    /// Seals a string for a TEXT column: `sealed:` + hex, bound to its row.
    pub fn seal_text(&self, table: &str, id: i64, column: &str, s: &str) -> Result<String> {
        let sealed = self.seal_str(&row_purpose(table, id, column), s)?;
        Ok(format!("{SEALED_TEXT}{}", hex::encode(sealed)))
    }

    /// Opens a TEXT column sealed with [`Sealer::seal_text`]; a value of an older
    /// schema without the prefix is returned as it is.
    pub fn open_text(&self, table: &str, id: i64, column: &str, stored: &str) -> Result<String> {
        match stored.strip_prefix(SEALED_TEXT) {
            Some(h) => {
                let sealed = hex::decode(h).map_err(|_| Error::Corrupt)?;
                self.open_str(&row_purpose(table, id, column), &sealed)
            }
            None => Ok(stored.to_string()),
        }
    }

    /// Opens a sealed string.
    pub fn open_str(&self, purpose: &str, sealed: &[u8]) -> Result<String> {
        String::from_utf8(self.open(purpose, sealed)?).map_err(|_| Error::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_wrong_key_purpose_and_tampering() {
        let a = Sealer::new(&[7; 32]).unwrap();
        let b = Sealer::new(&[8; 32]).unwrap();
        let s = a.seal_str("cases.token", "secret").unwrap();
        assert_eq!(a.open_str("cases.token", &s).unwrap(), "secret");
        assert!(matches!(b.open("cases.token", &s), Err(Error::WrongKey)));
        assert!(matches!(a.open("items.label", &s), Err(Error::WrongKey)));
        let mut t = s.clone();
        *t.last_mut().unwrap() ^= 1;
        assert!(matches!(a.open("cases.token", &t), Err(Error::WrongKey)));
        // Two seals of the same value differ (random nonce) and hold no plaintext.
        let s2 = a.seal_str("cases.token", "secret").unwrap();
        assert_ne!(s, s2);
        assert!(!s.windows(6).any(|w| w == b"secret"));
        assert!(Sealer::new(&[1; 16]).is_err());
    }
}
