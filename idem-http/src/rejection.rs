//! [`Rejection`]: why the layer answered a covered request itself, and the RFC 9457 problem
//! details (`application/problem+json`) it answers with.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use idem_core::store::StoreError;
use serde::Serialize;

use crate::key_header::KeyHeaderError;

/// The media type of problem details (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Why the layer answered a covered request itself instead of running or replaying it. Each
/// becomes a problem details response (RFC 9457) whose `type` is the layer's problem base
/// followed by [`Rejection::slug`], whose `title` is [`Rejection::title`] and whose `detail` is
/// the rejection's message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// No `Idempotency-Key` header on a covered request (400).
    #[error(
        "this operation requires an Idempotency-Key header: send a unique key (such as a UUID) \
         as a Structured Field string, and the same key on every retry of the request"
    )]
    MissingKey,
    /// The `Idempotency-Key` header cannot be read (400).
    #[error("{0}")]
    MalformedKey(#[from] KeyHeaderError),
    /// The caller function found no caller in the request (401).
    #[error("the caller of this request could not be identified; keys are kept per caller")]
    UnknownCaller,
    /// The body is larger than the layer's limit (413).
    #[error("the request body is larger than {limit} bytes, the limit of this operation")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body could not be read (400).
    #[error("the request body could not be read")]
    BodyUnreadable,
    /// The key was first used with another request: another method, path, query, chosen
    /// header or body (422).
    #[error(
        "this Idempotency-Key was already used with a different request (method, path, query, \
         headers or body); a retry must send the same request, and a new request a new key"
    )]
    KeyReused,
    /// A request with this key is still being processed (409).
    #[error(
        "a request with the same Idempotency-Key is being processed; retry once it is done to \
         get its response"
    )]
    InProgress,
    /// This request waited for the first one with its key, which failed and was not recorded
    /// (503): a retry runs it again.
    #[error(
        "the request with the same Idempotency-Key that this one waited for failed and was not \
         recorded; retry"
    )]
    FirstAttemptFailed,
    /// The store could not be used: the request was not processed (503). idem fails closed.
    #[error("the request was not processed: its Idempotency-Key could not be checked; retry later")]
    StoreUnavailable(#[source] StoreError),
    /// Whether the first request with this key took effect is unknown (its handler panicked):
    /// the key is not run again until its record expires or an operator deletes it (500).
    #[error(
        "the first request with this Idempotency-Key failed in a way that leaves its effect \
         unknown; it will not be processed again under this key"
    )]
    OutcomeUnknown,
    /// Something else went wrong on the server (500). The string says what; the layer logs it
    /// and sends the fixed message only.
    #[error("the request could not be processed: an internal error occurred")]
    Internal(String),
}

impl Rejection {
    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::MissingKey | Rejection::MalformedKey(_) | Rejection::BodyUnreadable => {
                StatusCode::BAD_REQUEST
            }
            Rejection::UnknownCaller => StatusCode::UNAUTHORIZED,
            Rejection::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::KeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Rejection::InProgress => StatusCode::CONFLICT,
            Rejection::FirstAttemptFailed | Rejection::StoreUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Rejection::OutcomeUnknown | Rejection::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The last part of the problem `type` URI, and the anchor of its section in these docs
    /// (the default problem base points there).
    pub fn slug(&self) -> &'static str {
        match self {
            Rejection::MissingKey => "idempotency-key-missing",
            Rejection::MalformedKey(_) => "idempotency-key-malformed",
            Rejection::UnknownCaller => "caller-unknown",
            Rejection::BodyTooLarge { .. } => "body-too-large",
            Rejection::BodyUnreadable => "body-unreadable",
            Rejection::KeyReused => "idempotency-key-reused",
            Rejection::InProgress => "request-in-progress",
            Rejection::FirstAttemptFailed => "first-attempt-failed",
            Rejection::StoreUnavailable(_) => "store-unavailable",
            Rejection::OutcomeUnknown => "outcome-unknown",
            Rejection::Internal(_) => "internal-error",
        }
    }

    /// The problem's `title`: the same for every occurrence of the problem.
    pub fn title(&self) -> &'static str {
        match self {
            Rejection::MissingKey => "Idempotency-Key is missing",
            Rejection::MalformedKey(_) => "Idempotency-Key is malformed",
            Rejection::UnknownCaller => "Caller not identified",
            Rejection::BodyTooLarge { .. } => "Request body too large",
            Rejection::BodyUnreadable => "Request body unreadable",
            Rejection::KeyReused => "Idempotency-Key is already used",
            Rejection::InProgress => "A request is outstanding for this Idempotency-Key",
            Rejection::FirstAttemptFailed => "The first request with this Idempotency-Key failed",
            Rejection::StoreUnavailable(_) => "Idempotency store unavailable",
            Rejection::OutcomeUnknown => "Outcome of the first request unknown",
            Rejection::Internal(_) => "Internal error",
        }
    }

    /// Whether the client may send the same request again as it is (a `Retry-After` is set).
    fn retry_later(&self) -> bool {
        matches!(
            self,
            Rejection::InProgress | Rejection::FirstAttemptFailed | Rejection::StoreUnavailable(_)
        )
    }

    /// The problem details response, with `type` = `base` + [`slug`](Rejection::slug). The layer
    /// adds its `WWW-Authenticate` challenge to a 401
    /// ([`with_auth_challenge`](crate::IdempotencyLayerBuilder::with_auth_challenge)).
    pub fn to_response(&self, base: &str) -> Response<Bytes> {
        #[derive(Serialize)]
        struct Problem<'a> {
            #[serde(rename = "type")]
            kind: String,
            title: &'a str,
            status: u16,
            detail: String,
        }
        let status = self.status();
        let problem = Problem {
            kind: format!("{base}{}", self.slug()),
            title: self.title(),
            status: status.as_u16(),
            detail: self.to_string(),
        };
        // A struct of strings and a number always serializes.
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.retry_later() {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_has_type_title_status_and_detail() {
        let response = Rejection::KeyReused.to_response("https://example.com/problems#");
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        let problem: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            problem["type"],
            "https://example.com/problems#idempotency-key-reused"
        );
        assert_eq!(problem["title"], "Idempotency-Key is already used");
        assert_eq!(problem["status"], 422);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("different request")
        );
    }

    #[test]
    fn the_store_error_stays_out_of_the_detail() {
        let err = StoreError::Unavailable {
            store: "redis",
            source: "connection refused to 10.0.0.7:6379".into(),
        };
        let response = Rejection::StoreUnavailable(err).to_response("");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        let body = String::from_utf8(response.body().to_vec()).unwrap();
        assert!(!body.contains("10.0.0.7"), "{body}");
    }
}
