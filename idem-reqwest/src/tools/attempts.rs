//! Sending an HTTP tool's request: attempts under one key, with backoff ([`RetryPolicy`]) and
//! the server's `Retry-After`, and what each failure says about whether the request may have
//! run remotely.

use std::time::{Duration, SystemTime};

use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use serde_json::Value;

use super::endpoint::Endpoint;
use super::error::{RequestError, RequestErrorKind};
use super::output::read_output;

/// How an HTTP tool's request is retried within one call: a timeout, a `5xx`, a connection that
/// failed or broke, or a `409 Conflict` after one of those (the server still running an earlier
/// attempt) is sent again, under the same `Idempotency-Key`, after a pause that doubles from
/// `first_backoff` up to `max_backoff`. Retrying is safe where the server honours the key;
/// [`RetryPolicy::none`] sends each call once.
///
/// An answer that carries `Retry-After` (RFC 9110: seconds, or an HTTP-date) is sent again no
/// sooner than it says, when that is no longer than `max_retry_after` (10 s by default); a
/// server that asks for a longer wait is not sent the request again within the call: the error
/// says how long it asked for ([`RequestError::retry_after`](super::RequestError::retry_after)).
///
/// ```
/// use std::time::Duration;
/// use idem::reqwest::RetryPolicy;
///
/// let policy = RetryPolicy::new(5).with_backoff(Duration::from_millis(50), Duration::from_secs(1));
/// assert_eq!(policy.attempts(), 5);
/// assert_eq!(RetryPolicy::default().attempts(), 3);
/// assert_eq!(RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts: u32,
    first_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, pauses of 100 ms then 200 ms (doubling up to 2 s), or what the server's
    /// `Retry-After` says, up to 10 s.
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// At most `attempts` requests per call (at least 1), with the default backoff.
    pub fn new(attempts: u32) -> Self {
        RetryPolicy {
            attempts: attempts.max(1),
            ..Self::default()
        }
    }

    /// One request per call: no retry.
    pub fn none() -> Self {
        Self::new(1)
    }

    /// Pauses `first` before the second attempt, doubling for each next one up to `max`.
    #[must_use]
    pub fn with_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.first_backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// The longest `Retry-After` waited for within a call; an answer that asks for more ends
    /// the call's attempts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use idem::reqwest::RetryPolicy;
    ///
    /// let patient = RetryPolicy::new(3).with_max_retry_after(Duration::from_secs(60));
    /// assert_eq!(patient.max_retry_after(), Duration::from_secs(60));
    /// assert_eq!(RetryPolicy::default().max_retry_after(), Duration::from_secs(10));
    /// ```
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The most requests per call.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The longest `Retry-After` waited for within a call.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// The pause after attempt `attempt` (1-based).
    fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.first_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }

    /// The pause after attempt `attempt` whose answer asked for `retry_after`: the longer of the
    /// backoff and the server's wait; `None` when the server asks for more than
    /// `max_retry_after`.
    fn pause(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let backoff = self.backoff(attempt);
        match retry_after {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait.max(backoff)),
            None => Some(backoff),
        }
    }
}

/// How one attempt ended, when it did not produce the output.
struct Failed {
    kind: RequestErrorKind,
    /// Whether this attempt may have run the request remotely.
    may_have_run: bool,
    /// Whether to send it again (retries permitting).
    retry: bool,
    /// The answer's `Retry-After`, when it had one.
    retry_after: Option<Duration>,
}

/// Sends `endpoint`'s request under `key` until it succeeds, fails for good, or the attempts of
/// `policy` run out; the output is the response's JSON or text.
pub(crate) async fn send(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    key: &HeaderValue,
    policy: &RetryPolicy,
) -> Result<Value, RequestError> {
    // Whether an attempt so far may have run remotely: then the outcome stays unknown unless the
    // server gives a definite answer.
    let mut may_have_run = false;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let failed = match endpoint.request(client, key).send().await {
            Ok(response) if response.status().is_success() => {
                tracing::debug!(
                    method = %endpoint.method,
                    url = %endpoint.url,
                    status = %response.status(),
                    attempt,
                    "idem: HTTP tool answered"
                );
                return read_output(response, endpoint.return_type)
                    .await
                    .map_err(|kind| {
                        // The request ran: only its answer is lost.
                        RequestError::new(&endpoint.method, &endpoint.url, attempt, true, kind)
                    });
            }
            Ok(response) => answered(response, may_have_run).await,
            Err(source) => transport_failure(source, endpoint),
        };
        may_have_run |= failed.may_have_run;
        if failed.retry
            && attempt < policy.attempts
            && let Some(pause) = policy.pause(attempt, failed.retry_after)
        {
            tracing::debug!(
                method = %endpoint.method,
                url = %endpoint.url,
                attempt,
                ?pause,
                failure = %failed.kind,
                "idem: HTTP tool request failed; sending it again under the same key"
            );
            tokio::time::sleep(pause).await;
            continue;
        }
        // A definite answer of the server (a 4xx) settles what an earlier attempt left unknown.
        let definite = matches!(&failed.kind, RequestErrorKind::Status { .. }) && !failed.retry;
        return Err(RequestError::new(
            &endpoint.method,
            &endpoint.url,
            attempt,
            may_have_run && !definite,
            failed.kind,
        )
        .with_retry_after(failed.retry_after));
    }
}

/// An answer other than a success: a `5xx` may have run and is retried; a `409 Conflict` after
/// an attempt that may have run means the server still runs it, and is retried; any other status
/// is the server's answer.
async fn answered(response: reqwest::Response, earlier_may_have_run: bool) -> Failed {
    let status = response.status();
    let retry_after = retry_after(response.headers(), SystemTime::now());
    let server_error = status.is_server_error();
    let in_progress = status == StatusCode::CONFLICT && earlier_may_have_run;
    let mut body = response.text().await.unwrap_or_default();
    if let Some((cut, _)) = body.char_indices().nth(256) {
        body.truncate(cut);
    }
    Failed {
        kind: RequestErrorKind::Status { status, body },
        may_have_run: server_error,
        retry: server_error || in_progress,
        retry_after,
    }
}

/// The wait a `Retry-After` header asks for (RFC 9110, section 10.2.3): a number of seconds, or
/// an HTTP-date, counted from `now` (a date past is no wait). `None` without the header, or
/// with a value that is neither.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is a wait longer than any policy's.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A request that got no answer: a timeout or a broken connection may have run remotely; a
/// connection that could not be made did not; a request that could not be built was not sent.
fn transport_failure(source: reqwest::Error, endpoint: &Endpoint) -> Failed {
    let (kind, may_have_run, retry) = if source.is_timeout() {
        let timeout = endpoint.timeout;
        (RequestErrorKind::Timeout { timeout, source }, true, true)
    } else if source.is_connect() {
        (RequestErrorKind::Connect { source }, false, true)
    } else if source.is_builder() {
        (RequestErrorKind::Transport { source }, false, false)
    } else {
        (RequestErrorKind::Transport { source }, true, true)
    };
    Failed {
        kind,
        may_have_run,
        retry,
        // Only an answer says when to try again.
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let policy = RetryPolicy::new(10)
            .with_backoff(Duration::from_millis(100), Duration::from_millis(350));
        let pauses: Vec<_> = (1..=4).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 350, 350]);
        assert_eq!(RetryPolicy::new(0).attempts(), 1);
    }

    #[test]
    fn a_retry_after_lengthens_the_pause_up_to_its_cap() {
        let policy = RetryPolicy::new(3)
            .with_backoff(Duration::from_millis(100), Duration::from_secs(1))
            .with_max_retry_after(Duration::from_secs(5));
        let secs = Duration::from_secs;
        assert_eq!(policy.pause(1, None), Some(Duration::from_millis(100)));
        assert_eq!(policy.pause(1, Some(secs(3))), Some(secs(3)));
        assert_eq!(policy.pause(1, Some(secs(5))), Some(secs(5)));
        // Shorter than the backoff: the backoff.
        assert_eq!(policy.pause(5, Some(Duration::ZERO)), Some(secs(1)));
        // Longer than the cap: no retry within the call.
        assert_eq!(policy.pause(1, Some(secs(6))), None);
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let at = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
            // 2015-10-21 07:28:00 UTC.
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
            retry_after(&headers, now)
        };
        assert_eq!(at("120"), Some(Duration::from_secs(120)));
        assert_eq!(at(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            at("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            at("Wed, 21 Oct 2015 07:00:00 GMT"),
            Some(Duration::ZERO),
            "a date past"
        );
        assert_eq!(
            at("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(at("-1"), None);
        assert_eq!(at("1.5"), None);
        assert_eq!(at("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), SystemTime::now()), None);
    }
}
