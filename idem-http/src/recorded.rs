//! [`RecordedResponse`]: a response as the store keeps it, to be replayed byte for byte.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::response::Parts;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde::{Deserialize, Serialize};

/// The version of the recorded layout.
const RECORDED_V1: u8 = 1;

/// A response as it is stored: its status, the headers of the replay allow-list and its body.
///
/// Kept as JSON (the executor stores outputs as JSON): header values as text, each byte one
/// character (the ISO-8859-1 reading of field values, which gives back every byte), and the body
/// in base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordedResponse {
    v: u8,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// A recorded response that cannot be turned back into a response (a damaged or foreign
/// record).
#[derive(Debug, thiserror::Error)]
#[error("the recorded response cannot be replayed: {0}")]
pub(crate) struct Unreplayable(&'static str);

impl RecordedResponse {
    /// Records `parts` (the headers in `allowed` only) and `body`.
    pub(crate) fn capture(parts: &Parts, allowed: &[HeaderName], body: &[u8]) -> Self {
        let headers = allowed
            .iter()
            .flat_map(|name| {
                parts
                    .headers
                    .get_all(name)
                    .iter()
                    .map(move |value| (name.as_str().to_owned(), latin1(value.as_bytes())))
            })
            .collect();
        RecordedResponse {
            v: RECORDED_V1,
            status: parts.status.as_u16(),
            headers,
            body: BASE64.encode(body),
        }
    }

    /// The response again: status, recorded headers and body, byte for byte.
    pub(crate) fn replay(&self) -> Result<Response<Bytes>, Unreplayable> {
        if self.v != RECORDED_V1 {
            return Err(Unreplayable("unknown layout version"));
        }
        let status = StatusCode::from_u16(self.status).map_err(|_| Unreplayable("bad status"))?;
        let body = BASE64
            .decode(&self.body)
            .map_err(|_| Unreplayable("the body is not base64"))?;
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = status;
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Unreplayable("bad header name"))?;
            let bytes = from_latin1(value).ok_or(Unreplayable("bad header value"))?;
            let value =
                HeaderValue::from_bytes(&bytes).map_err(|_| Unreplayable("bad header value"))?;
            response.headers_mut().append(name, value);
        }
        Ok(response)
    }
}

/// Each byte as the character of the same number (ASCII, the usual case, as it is).
fn latin1(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(ascii) if ascii.is_ascii() => ascii.to_owned(),
        _ => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The bytes of [`latin1`]'s text, or `None` for a character above U+00FF.
fn from_latin1(text: &str) -> Option<Cow<'_, [u8]>> {
    if text.is_ascii() {
        return Some(Cow::Borrowed(text.as_bytes()));
    }
    text.chars().map(|c| u8::try_from(c).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};

    #[test]
    fn a_response_comes_back_byte_for_byte() {
        let body: Vec<u8> = (0..=255).collect();
        let response = Response::builder()
            .status(StatusCode::CREATED)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(LOCATION, HeaderValue::from_bytes(b"/caf\xe9").unwrap())
            .header(SET_COOKIE, "session=secret")
            .body(())
            .unwrap();
        let (parts, ()) = response.into_parts();
        let recorded = RecordedResponse::capture(&parts, &[CONTENT_TYPE, LOCATION], &body);
        let json = serde_json::to_vec(&recorded).unwrap();
        let back: RecordedResponse = serde_json::from_slice(&json).unwrap();
        let replayed = back.replay().unwrap();
        assert_eq!(replayed.status(), StatusCode::CREATED);
        assert_eq!(replayed.body().as_ref(), body.as_slice());
        assert_eq!(
            replayed.headers()[LOCATION].as_bytes(),
            b"/caf\xe9".as_slice()
        );
        assert_eq!(replayed.headers()[CONTENT_TYPE], "application/octet-stream");
        // Headers off the allow-list are not kept.
        assert!(!replayed.headers().contains_key(SET_COOKIE));
    }

    #[test]
    fn a_damaged_record_is_refused() {
        let mut recorded = RecordedResponse {
            v: RECORDED_V1,
            status: 200,
            headers: vec![("x".into(), "\u{263a}".into())],
            body: String::new(),
        };
        assert!(recorded.replay().is_err());
        recorded.headers.clear();
        recorded.status = 1000;
        assert!(recorded.replay().is_err());
        recorded.status = 200;
        recorded.body = "%%%".into();
        assert!(recorded.replay().is_err());
    }
}
