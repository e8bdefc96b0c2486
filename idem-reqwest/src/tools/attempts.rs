//! Sending an HTTP tool's request: attempts under one key, with backoff ([`RetryPolicy`]), and
//! what each failure says about whether the request may have run remotely.

use std::time::Duration;

use http::HeaderValue;
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
}

impl Default for RetryPolicy {
    /// 3 attempts, pauses of 100 ms then 200 ms (doubling up to 2 s).
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
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

    /// The most requests per call.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The pause after attempt `attempt` (1-based).
    fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.first_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff)
    }
}

/// How one attempt ended, when it did not produce the output.
struct Failed {
    kind: RequestErrorKind,
    /// Whether this attempt may have run the request remotely.
    may_have_run: bool,
    /// Whether to send it again (retries permitting).
    retry: bool,
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
        if failed.retry && attempt < policy.attempts {
            let pause = policy.backoff(attempt);
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
        ));
    }
}

/// An answer other than a success: a `5xx` may have run and is retried; a `409 Conflict` after
/// an attempt that may have run means the server still runs it, and is retried; any other status
/// is the server's answer.
async fn answered(response: reqwest::Response, earlier_may_have_run: bool) -> Failed {
    let status = response.status();
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
    }
}

/// A request that got no answer: a timeout or a broken connection may have run remotely; a
/// connection that could not be made did not; a request that could not be built was not sent.
fn transport_failure(source: reqwest::Error, endpoint: &Endpoint) -> Failed {
    if source.is_timeout() {
        Failed {
            kind: RequestErrorKind::Timeout {
                timeout: endpoint.timeout,
                source,
            },
            may_have_run: true,
            retry: true,
        }
    } else if source.is_connect() {
        Failed {
            kind: RequestErrorKind::Connect { source },
            may_have_run: false,
            retry: true,
        }
    } else if source.is_builder() {
        Failed {
            kind: RequestErrorKind::Transport { source },
            may_have_run: false,
            retry: false,
        }
    } else {
        Failed {
            kind: RequestErrorKind::Transport { source },
            may_have_run: true,
            retry: true,
        }
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
}
