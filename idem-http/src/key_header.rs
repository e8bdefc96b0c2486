//! Reading the `Idempotency-Key` header: a Structured Field string (RFC 9651), as the draft
//! says, or, when the layer allows it, a bare value.

use http::HeaderMap;
use http::header::HeaderName;

/// The request header that carries the client's key: `Idempotency-Key`.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The response header set on a replayed response: `Idempotent-Replayed: true`.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The longest key accepted, in bytes (as idem's custom keys).
pub const MAX_KEY_LEN: usize = idem_core::key::MAX_CUSTOM_KEY_LEN;

/// Why an `Idempotency-Key` header was refused (a 400 response).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyHeaderError {
    /// The header was sent more than once.
    #[error("the Idempotency-Key header was sent more than once; send it once")]
    Repeated,
    /// The value is not a Structured Field string (bare values are not accepted).
    #[error(
        "the Idempotency-Key header must be a Structured Field string, in double quotes: \
         Idempotency-Key: \"8e03978e-40d5-43e8-bc93-6894a57f9324\""
    )]
    NotString,
    /// The key is empty.
    #[error("the Idempotency-Key is empty")]
    Empty,
    /// The key is longer than [`MAX_KEY_LEN`].
    #[error("the Idempotency-Key is {len} bytes long; at most {MAX_KEY_LEN} are accepted")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The key does not have the format this API publishes.
    #[error("the Idempotency-Key does not have the format this API expects")]
    Format,
}

/// How keys are read.
#[derive(Clone, Copy)]
pub(crate) struct KeyRules<'a> {
    /// Whether a bare value (not in double quotes) is accepted too.
    pub(crate) bare: bool,
    /// The published format, when there is one.
    pub(crate) format: Option<&'a (dyn Fn(&str) -> bool + Send + Sync)>,
}

/// The key of `headers`: `Ok(None)` when there is no `Idempotency-Key` header.
pub(crate) fn read_key(
    headers: &HeaderMap,
    rules: KeyRules<'_>,
) -> Result<Option<String>, KeyHeaderError> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(KeyHeaderError::Repeated);
    }
    let key = parse_value(value.as_bytes(), rules.bare)?;
    if key.is_empty() {
        return Err(KeyHeaderError::Empty);
    }
    if key.len() > MAX_KEY_LEN {
        return Err(KeyHeaderError::TooLong { len: key.len() });
    }
    if let Some(format) = rules.format
        && !format(&key)
    {
        return Err(KeyHeaderError::Format);
    }
    Ok(Some(key))
}

/// The key in one header value: the string of an sf-string Item (its parameters ignored, as
/// RFC 9651 says of unknown parameters), or with `bare`, the value itself when it is not one.
fn parse_value(value: &[u8], bare: bool) -> Result<String, KeyHeaderError> {
    if let Some(plain) = plain_sf_string(value) {
        return Ok(plain.to_owned());
    }
    if let Ok(item) = sfv::Parser::new(value).parse::<sfv::Item>()
        && let Some(string) = item.bare_item.as_string()
    {
        return Ok(string.as_str().to_owned());
    }
    if bare {
        return bare_value(value);
    }
    Err(KeyHeaderError::NotString)
}

/// The content of the commonest sf-string, `"..."` with neither escapes nor parameters (every
/// byte between the quotes in `%x20-21 / %x23-5B / %x5D-7E`), read without a parser; `None`
/// for any other value, which the parser reads.
fn plain_sf_string(value: &[u8]) -> Option<&str> {
    let inner = value.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let plain = inner
        .iter()
        .all(|&b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\');
    plain.then(|| std::str::from_utf8(inner).ok()).flatten()
}

/// A bare key: visible ASCII without spaces or quotes (a UUID, a token, base64...).
fn bare_value(value: &[u8]) -> Result<String, KeyHeaderError> {
    let value = value.trim_ascii();
    let visible = value
        .iter()
        .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if !visible {
        return Err(KeyHeaderError::NotString);
    }
    // Only ASCII bytes remain.
    Ok(String::from_utf8_lossy(value).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn read(values: &[&[u8]], bare: bool) -> Result<Option<String>, KeyHeaderError> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(IDEMPOTENCY_KEY, HeaderValue::from_bytes(value).unwrap());
        }
        read_key(&headers, KeyRules { bare, format: None })
    }

    #[test]
    fn an_sf_string_is_the_key() {
        let uuid = "8e03978e-40d5-43e8-bc93-6894a57f9324";
        let quoted = format!("\"{uuid}\"");
        assert_eq!(read(&[quoted.as_bytes()], false), Ok(Some(uuid.to_owned())));
        // Escapes are undone, parameters ignored, surrounding spaces allowed.
        assert_eq!(
            read(&[br#" "a\"b\\c";v=1 "#], false),
            Ok(Some(r#"a"b\c"#.to_owned()))
        );
        assert_eq!(read(&[], false), Ok(None));
    }

    #[test]
    fn the_plain_form_reads_as_the_parser_reads_it() {
        let values: [&[u8]; 8] = [
            b"\"8e03978e-40d5-43e8-bc93-6894a57f9324\"",
            b"\"with space ~!#$%&'()*+,-./:;<=>?@[]^_`{|}\"",
            b"\"\"",
            b"\"a\\\"b\"",
            b"\"caf\xc3\xa9\"",
            b"\"tab\there\"",
            b"\"a\";p=1",
            b"\"",
        ];
        for value in values {
            let parsed = sfv::Parser::new(value)
                .parse::<sfv::Item>()
                .ok()
                .filter(|item| item.params.is_empty())
                .and_then(|item| item.bare_item.as_string().map(|s| s.as_str().to_owned()));
            if let Some(plain) = plain_sf_string(value) {
                assert_eq!(Some(plain.to_owned()), parsed, "{value:?}");
            }
            assert_eq!(
                parse_value(value, false).ok(),
                sfv::Parser::new(value)
                    .parse::<sfv::Item>()
                    .ok()
                    .and_then(|item| item.bare_item.as_string().map(|s| s.as_str().to_owned())),
                "{value:?}"
            );
        }
    }

    #[test]
    fn bare_values_only_when_allowed() {
        let uuid = b"8e03978e-40d5-43e8-bc93-6894a57f9324";
        assert_eq!(read(&[uuid], false), Err(KeyHeaderError::NotString));
        assert_eq!(read(&[b"token"], false), Err(KeyHeaderError::NotString));
        assert_eq!(read(&[b"42"], false), Err(KeyHeaderError::NotString));
        assert_eq!(
            read(&[uuid], true),
            Ok(Some(String::from_utf8(uuid.to_vec()).unwrap()))
        );
        assert_eq!(read(&[b"a b"], true), Err(KeyHeaderError::NotString));
        assert_eq!(read(&[b"\"open"], true), Err(KeyHeaderError::NotString));
        // The quoted form is read as a string in both modes.
        assert_eq!(read(&[b"\"k\""], true), Ok(Some("k".to_owned())));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert_eq!(read(&[b"\"\""], false), Err(KeyHeaderError::Empty));
        assert_eq!(
            read(&[b"\"a\"", b"\"a\""], false),
            Err(KeyHeaderError::Repeated)
        );
        assert_eq!(
            read(&[b"\"unterminated"], false),
            Err(KeyHeaderError::NotString)
        );
        let long = format!("\"{}\"", "k".repeat(MAX_KEY_LEN + 1));
        assert_eq!(
            read(&[long.as_bytes()], false),
            Err(KeyHeaderError::TooLong { len: 256 })
        );
        let longest = format!("\"{}\"", "k".repeat(MAX_KEY_LEN));
        assert!(read(&[longest.as_bytes()], false).is_ok());
    }

    #[test]
    fn a_published_format_is_enforced() {
        let uuid_like = |key: &str| key.len() == 36 && key.matches('-').count() == 4;
        let mut headers = HeaderMap::new();
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("\"short\""));
        let rules = KeyRules {
            bare: false,
            format: Some(&uuid_like),
        };
        assert_eq!(read_key(&headers, rules), Err(KeyHeaderError::Format));
        headers.insert(
            IDEMPOTENCY_KEY,
            HeaderValue::from_static("\"8e03978e-40d5-43e8-bc93-6894a57f9324\""),
        );
        assert!(read_key(&headers, rules).unwrap().is_some());
    }
}
