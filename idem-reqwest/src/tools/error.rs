//! [`HttpToolError`] (why a call of an HTTP tool gave no output) and [`RequestError`] (why its
//! request failed, after its retries).

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use idem_core::executor::ExecuteError;
use reqwest::{Method, StatusCode, Url};

use crate::key_header::KeyHeaderError;

/// Why [`HttpTools::call`](super::HttpTools::call) returned no output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpToolError {
    /// The spec is not an HTTP tool ([`ToolSpec::http`](idem_core::spec::ToolSpec::http)).
    #[error("tool `{tool}` is not an HTTP tool")]
    NotHttp {
        /// The tool id.
        tool: String,
    },
    /// The spec's method is not an HTTP method.
    #[error("tool `{tool}` has an invalid HTTP method `{method}`")]
    Method {
        /// The tool id.
        tool: String,
        /// The method as the spec gives it.
        method: String,
    },
    /// The spec's URL cannot be parsed.
    #[error("tool `{tool}` has an invalid URL `{url}`: {source}")]
    Url {
        /// The tool id.
        tool: String,
        /// The URL as the spec gives it.
        url: String,
        /// Why it cannot be parsed.
        #[source]
        source: url::ParseError,
    },
    /// The arguments cannot be sent: not serializable, or not a flat object for a query string
    /// (`GET`, `DELETE`).
    #[error("the arguments of tool `{tool}` cannot be sent: {reason}")]
    Arguments {
        /// The tool id.
        tool: String,
        /// Why.
        reason: String,
    },
    /// The request ran and failed, after its retries. What a retry of the call does depends on
    /// the failure: see [`RequestError::outcome_unknown`].
    #[error(transparent)]
    Request(RequestError),
    /// The executor gave no output without running the request now: a replayed failure
    /// ([`ExecuteError::PreviouslyFailed`]), an unknown outcome of an earlier call
    /// ([`ExecuteError::OutcomeUnknown`]), a store failure, a key that cannot be computed...
    /// Never [`ExecuteError::Tool`]: that one is [`HttpToolError::Request`].
    #[error(transparent)]
    Execute(ExecuteError<RequestError>),
}

impl From<ExecuteError<RequestError>> for HttpToolError {
    fn from(err: ExecuteError<RequestError>) -> Self {
        match err {
            ExecuteError::Tool(err) => HttpToolError::Request(err),
            other => HttpToolError::Execute(other),
        }
    }
}

impl HttpToolError {
    /// The status the server answered, when the request ran now and failed with one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            HttpToolError::Request(err) => err.status(),
            _ => None,
        }
    }

    /// Whether the call may have taken effect remotely without its result being known: its
    /// request timed out or kept failing with 5xx (now), or an earlier call with the key did
    /// ([`ExecuteError::OutcomeUnknown`]). Either way idem does not send it again until the
    /// record expires, or an operator deletes it after checking what happened.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            HttpToolError::Request(err) => err.outcome_unknown(),
            HttpToolError::Execute(ExecuteError::OutcomeUnknown { .. }) => true,
            _ => false,
        }
    }
}

/// Why an HTTP tool's request failed, after its retries under the same key: the method, the
/// URL, the number of attempts, what the last one ended with ([`RequestErrorKind`]), and whether
/// the request may have run remotely ([`outcome_unknown`](Self::outcome_unknown)).
#[derive(Debug)]
pub struct RequestError(Box<Failure>);

/// What a [`RequestError`] holds (boxed: errors stay small on the happy path).
#[derive(Debug)]
struct Failure {
    method: Method,
    url: Url,
    attempts: u32,
    outcome_unknown: bool,
    kind: RequestErrorKind,
    retry_after: Option<Duration>,
}

impl RequestError {
    /// The failure of `method url` after `attempts` attempts, the last one ending with `kind`.
    pub(crate) fn new(
        method: &Method,
        url: &Url,
        attempts: u32,
        outcome_unknown: bool,
        kind: RequestErrorKind,
    ) -> Self {
        RequestError(Box::new(Failure {
            method: method.clone(),
            url: url.clone(),
            attempts,
            outcome_unknown,
            kind,
            retry_after: None,
        }))
    }

    /// The same failure, with the wait the server asked for in its last answer.
    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.0.retry_after = retry_after;
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.0.method
    }

    /// The URL (with the query string of a `GET`'s arguments).
    pub fn url(&self) -> &Url {
        &self.0.url
    }

    /// How many requests were sent (or tried), all under the same key.
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }

    /// What the last attempt ended with.
    pub fn kind(&self) -> &RequestErrorKind {
        &self.0.kind
    }

    /// The status of the last answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match &self.0.kind {
            RequestErrorKind::Status { status, .. }
            | RequestErrorKind::Body { status, .. }
            | RequestErrorKind::InvalidJson { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked to wait before the request is sent again: the `Retry-After`
    /// of its last answer (seconds, or an HTTP-date counted from when it arrived), when it had
    /// one. A `429 Too Many Requests` or a `503` often says; a caller that schedules its retry
    /// can honour it. Within a call, [`RetryPolicy`](super::RetryPolicy) honours it on the
    /// answers it retries.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }

    /// Whether the request may have run remotely without its result being known: a timeout,
    /// `5xx` answers until the retries ran out, a connection lost mid-request, a `409 Conflict`
    /// (the server still running an earlier attempt) after one of those, or a success whose body
    /// could not be read. Such a failure is recorded as an unknown outcome
    /// ([`OnFailure::Unknown`](idem_core::executor::OnFailure::Unknown)): a retry of the call
    /// gets [`ExecuteError::OutcomeUnknown`] instead of sending it again. Other failures (the
    /// server's `4xx` answer, a server never reached) follow the caller's
    /// [`OnFailure`](idem_core::executor::OnFailure).
    pub fn outcome_unknown(&self) -> bool {
        self.0.outcome_unknown
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failure = &*self.0;
        let attempts = failure.attempts;
        let plural = if attempts == 1 { "attempt" } else { "attempts" };
        write!(
            f,
            "{} {}: {} ({attempts} {plural} under the same key",
            failure.method, failure.url, failure.kind
        )?;
        if failure.outcome_unknown {
            f.write_str("; it may have run remotely")?;
        }
        if let Some(wait) = failure.retry_after {
            write!(f, "; the server asks to wait {} s", wait.as_secs())?;
        }
        f.write_str(")")
    }
}

impl StdError for RequestError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.kind.source()
    }
}

/// What the last attempt of an HTTP tool's request ended with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestErrorKind {
    /// The server answered with a status other than a success.
    #[error("answered {status}{}", excerpt(body))]
    Status {
        /// The status.
        status: StatusCode,
        /// The start of the response body (at most 256 characters).
        body: String,
    },
    /// No answer in time: the spec's timeout ([`ToolSpecBuilder::timeout`](idem_core::spec::ToolSpecBuilder::timeout)),
    /// or the client's.
    #[error("no answer within {}", timeout.map_or("the client's timeout".to_owned(), |t| format!("{t:?}")))]
    Timeout {
        /// The spec's timeout, when it has one.
        timeout: Option<Duration>,
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// No connection to the server: the request was not sent.
    #[error("could not connect")]
    Connect {
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// The request failed while it was being sent or answered.
    #[error("the request failed")]
    Transport {
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a success, but its body could not be read.
    #[error("answered {status}, but its body could not be read")]
    Body {
        /// The status.
        status: StatusCode,
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a success and a JSON `Content-Type`, but the body is not JSON.
    #[error("answered {status} with a body that is not the JSON its Content-Type says")]
    InvalidJson {
        /// The status.
        status: StatusCode,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// The call's key cannot be written in the header; nothing was sent.
    #[error(transparent)]
    KeyHeader(KeyHeaderError),
}

/// `: <body>` for a non-empty body.
fn excerpt(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}
