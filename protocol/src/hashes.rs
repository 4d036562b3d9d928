//! Fingerprint value types: MD5, SHA-256, PDQ (hex on the wire, never in `Debug`) and PDQ quality.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

macro_rules! hex_bytes {
    ($(#[$doc:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Number of raw bytes.
            pub const LEN: usize = $len;

            /// Lowercase hex form.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses the hex form (either case); `None` when it is not exactly
            #[doc = concat!(stringify!($len), " bytes of hex.")]
            pub fn from_hex(s: &str) -> Option<Self> {
                if s.len() != 2 * $len {
                    return None;
                }
                let mut out = [0u8; $len];
                hex::decode_to_slice(s, &mut out).ok()?;
                Some(Self(out))
            }

            /// Builds it from raw bytes; `None` when the length is wrong.
            pub fn from_slice(b: &[u8]) -> Option<Self> {
                <[u8; $len]>::try_from(b).ok().map(Self)
            }
        }

        // Fingerprints never appear in Debug output (they end up in logs).
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(..)"))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut buf = [0u8; 2 * $len];
                hex::encode_to_slice(self.0, &mut buf).map_err(serde::ser::Error::custom)?;
                // hex output is always ASCII.
                s.serialize_str(std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, concat!("a string of ", stringify!($len), " bytes as hex (", $what, ")"))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        if v.len() != 2 * $len {
                            return Err(E::custom(format_args!(
                                "expected {} hex characters ({}), got {}",
                                2 * $len,
                                $what,
                                v.len()
                            )));
                        }
                        $name::from_hex(v).ok_or_else(|| E::custom("not valid hex"))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

hex_bytes!(
    /// MD5 of the file bytes (16 bytes, hex on the wire).
    Md5, 16, "MD5"
);
hex_bytes!(
    /// SHA-256 of the file bytes (32 bytes, hex on the wire).
    Sha256, 32, "SHA-256"
);
hex_bytes!(
    /// A 256-bit PDQ perceptual hash (32 bytes, hex on the wire).
    Pdq, 32, "PDQ"
);

/// PDQ quality score, 0 to 100 inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Quality(u8);

impl Quality {
    /// The score, or `None` when it is above 100.
    pub fn new(q: u8) -> Option<Self> {
        (q <= 100).then_some(Self(q))
    }
    /// The score as a number 0..=100.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Quality {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // JSON Schema's `integer` includes `7.0`: accept integral numbers in
        // either notation, nothing else.
        let f = f64::deserialize(d)?;
        if f.fract() != 0.0 || !f.is_finite() {
            return Err(de::Error::custom(format_args!(
                "quality must be an integer between 0 and 100, got {f}"
            )));
        }
        let v = f as i64;
        if (0..=100).contains(&v) {
            Ok(Self(v as u8))
        } else {
            Err(de::Error::custom(format_args!(
                "quality must be between 0 and 100, got {v}"
            )))
        }
    }
}
