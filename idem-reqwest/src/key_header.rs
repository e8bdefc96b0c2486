//! Writing the `Idempotency-Key` header: a Structured Field string (RFC 9651), as
//! draft-ietf-httpapi-idempotency-key-header-07 says, or the bare key for servers that want it so.

use http::HeaderValue;
use http::header::HeaderName;

/// The request header that carries the key: `Idempotency-Key`.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// How a key is written in the `Idempotency-Key` header.
///
/// ```
/// use idem::reqwest::HeaderFormat;
///
/// let key = "8e03978e-40d5-43e8-bc93-6894a57f9324";
/// let quoted = HeaderFormat::StructuredString.header_value(key)?;
/// assert_eq!(quoted, "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"");
/// assert_eq!(HeaderFormat::Bare.header_value(key)?, key);
/// // A Structured Field string escapes quotes and backslashes; a bare key cannot hold them.
/// assert_eq!(HeaderFormat::StructuredString.header_value(r#"a"b"#)?, r#""a\"b""#);
/// assert!(HeaderFormat::Bare.header_value(r#"a"b"#).is_err());
/// # Ok::<(), idem::reqwest::KeyHeaderError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderFormat {
    /// A Structured Field string, in double quotes: `Idempotency-Key: "8e03978e-..."`, as the
    /// draft specifies. The default.
    #[default]
    StructuredString,
    /// The key alone: `Idempotency-Key: 8e03978e-...`, as some APIs (Stripe's among them)
    /// read it.
    Bare,
}

/// Why a key cannot be written in the `Idempotency-Key` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyHeaderError {
    /// A Structured Field string holds printable ASCII only (a custom key with other characters
    /// cannot be sent).
    #[error(
        "key `{key}` cannot be sent as a Structured Field string: only printable ASCII characters are allowed"
    )]
    NotStructuredString {
        /// The key.
        key: String,
    },
    /// A bare key holds visible ASCII only, without spaces, double quotes or backslashes.
    #[error(
        "key `{key}` cannot be sent bare: only visible ASCII characters other than `\"` and `\\` are allowed"
    )]
    NotBare {
        /// The key.
        key: String,
    },
}

impl HeaderFormat {
    /// The header value that carries `key`.
    ///
    /// # Errors
    /// A key with characters the format cannot hold (see [`KeyHeaderError`]).
    pub fn header_value(self, key: &str) -> Result<HeaderValue, KeyHeaderError> {
        let text = match self {
            HeaderFormat::StructuredString => {
                let string = sfv::StringRef::from_str(key).map_err(|_| {
                    KeyHeaderError::NotStructuredString {
                        key: key.to_owned(),
                    }
                })?;
                sfv::ItemSerializer::new().bare_item(string).finish()
            }
            HeaderFormat::Bare => {
                let bare = !key.is_empty()
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
                if !bare {
                    return Err(KeyHeaderError::NotBare {
                        key: key.to_owned(),
                    });
                }
                key.to_owned()
            }
        };
        // Printable ASCII only, by the checks above: always a valid header value.
        HeaderValue::try_from(text).map_err(|_| KeyHeaderError::NotStructuredString {
            key: key.to_owned(),
        })
    }

    /// The header value that carries `key`, or a random UUID v4 when there is none: what a
    /// request without an idem key sends, so that its retries still share one key.
    pub(crate) fn value_or_random(self, key: Option<&str>) -> Result<HeaderValue, KeyHeaderError> {
        match key {
            Some(key) => self.header_value(key),
            None => self.header_value(&uuid::Uuid::new_v4().to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_custom_keys_are_quoted() {
        let digest = "fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b";
        let value = HeaderFormat::StructuredString.header_value(digest).unwrap();
        assert_eq!(value.to_str().unwrap(), format!("\"{digest}\""));
        let custom = "timed-operation-v1:alice:req 1";
        let value = HeaderFormat::StructuredString.header_value(custom).unwrap();
        assert_eq!(
            value.to_str().unwrap(),
            "\"timed-operation-v1:alice:req 1\""
        );
        let escaped = HeaderFormat::StructuredString
            .header_value(r"back\slash")
            .unwrap();
        assert_eq!(escaped.to_str().unwrap(), r#""back\\slash""#);
    }

    #[test]
    fn keys_outside_ascii_are_refused() {
        assert_eq!(
            HeaderFormat::StructuredString.header_value("clé"),
            Err(KeyHeaderError::NotStructuredString { key: "clé".into() })
        );
        assert_eq!(
            HeaderFormat::Bare.header_value("a b"),
            Err(KeyHeaderError::NotBare { key: "a b".into() })
        );
        assert!(HeaderFormat::Bare.header_value("").is_err());
        assert_eq!(HeaderFormat::Bare.header_value("k-1:x").unwrap(), "k-1:x");
    }
}
