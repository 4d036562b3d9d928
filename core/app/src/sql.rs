//! Enums stored as text: one conversion per enum, both ways. A stored value this
//! version does not know is an error ([`crate::Error::Corrupt`]), never a default.

/// A stored text this version does not know, for the enum named.
#[derive(Debug, thiserror::Error)]
#[error("unknown stored {0}")]
pub struct UnknownValue(pub &'static str);

/// Implements `as_str`, `parse`, `ToSql` and `FromSql` for a field-less enum from one
/// table of variant ↔ stored text.
macro_rules! stored_as_text {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Stable text form (storage).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
            /// Parses [`Self::as_str`]; `None` for text this version does not know.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }

        impl rusqlite::types::ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $ty {
            fn column_result(
                v: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let s = v.as_str()?;
                $ty::parse(s).ok_or_else(|| {
                    rusqlite::types::FromSqlError::Other(Box::new(
                        $crate::sql::UnknownValue(stringify!($ty)),
                    ))
                })
            }
        }
    };
}

pub(crate) use stored_as_text;
