//! The path of a covered request: key, caller, body, then the executor (claim, run the handler
//! once, record its response, or replay it).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::request;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use idem_core::Context;
use idem_core::executor::{ExecuteError, OnFailure, Outcome};
use tower::Service;

use crate::call::HttpCall;
use crate::key_header::{IDEMPOTENT_REPLAYED, KeyRules, read_key};
use crate::layer::Shared;
use crate::recorded::RecordedResponse;
use crate::rejection::Rejection;
use crate::service::ResponseBody;

/// A boxed error, as tower and the `http-body` crates pass them.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a handler's run was not recorded as its response.
enum HandlerFailure<E> {
    /// The handler answered with a status that is not stored: the key is released, and this
    /// response goes to the client as it is.
    Released(Response<Bytes>),
    /// The service returned an error (not a response): the key is released, and the error goes
    /// on to the caller.
    Service(E),
    /// The response's body failed while being read: the key is released.
    Body(BoxError),
}

impl<E> fmt::Display for HandlerFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandlerFailure::Released(response) => write!(
                f,
                "the handler answered {}, a status that is not stored",
                response.status()
            ),
            HandlerFailure::Service(_) => f.write_str("the service returned an error"),
            HandlerFailure::Body(err) => write!(f, "the response body failed: {err}"),
        }
    }
}

/// A response of the layer's own.
fn own<B>(response: Response<Bytes>) -> Response<ResponseBody<B>> {
    response.map(|body| Either::Right(Full::new(body)))
}

/// Handles a covered request: `inner` is ready (its `poll_ready` said so).
pub(crate) async fn handle<S, ReqBody, ResBody>(
    shared: Arc<Shared>,
    inner: S,
    request: Request<ReqBody>,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let settings = &shared.settings;
    let reject = |rejection: Rejection| Ok(own(settings.respond(&rejection)));
    let (parts, body) = request.into_parts();
    let rules = KeyRules {
        bare: settings.bare_keys,
        format: settings.key_format.as_deref(),
    };
    let key = match read_key(&parts.headers, rules) {
        Ok(Some(key)) => key,
        // Requests without a key reach here only when a key is required (see `Idempotency`).
        Ok(None) => return reject(Rejection::MissingKey),
        Err(err) => return reject(Rejection::MalformedKey(err)),
    };
    let Some(context) = (settings.caller)(&parts) else {
        return reject(Rejection::UnknownCaller);
    };
    let body = match read_body(&parts.headers, body, settings.body_limit).await {
        Ok(body) => body,
        Err(rejection) => return reject(rejection),
    };
    let call = HttpCall::new(key, &parts, &settings.fingerprint_headers, &body);
    // Run in place; if the client goes away mid-request, the rest runs on a task of its own
    // (`FinishOnDrop`): the handler is not cut short, which would leave the key's outcome
    // unknown, and its response is recorded for the client's retry.
    run(&shared, inner, parts, body, call, context)
        .await
        .map(own)
}

/// Runs the request through the executor: the handler runs once for its key, and its response
/// is recorded, or the recorded response is replayed.
async fn run<S, ReqBody, ResBody>(
    shared: &Shared,
    mut inner: S,
    parts: request::Parts,
    body: Bytes,
    call: HttpCall,
    context: Context,
) -> Result<Response<Bytes>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: From<Bytes>,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    let settings = &shared.settings;
    // The first response whole (every header, not only the replayed ones).
    let first: Mutex<Option<Response<Bytes>>> = Mutex::new(None);
    let keep_first = |response| *first.lock().unwrap_or_else(PoisonError::into_inner) = response;
    let handler = || async {
        let request = Request::from_parts(parts, ReqBody::from(body));
        let response = inner.call(request).await.map_err(HandlerFailure::Service)?;
        let (head, body) = response.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) => return Err(HandlerFailure::Body(err.into())),
        };
        if !(settings.stored)(head.status) {
            return Err(HandlerFailure::Released(Response::from_parts(head, body)));
        }
        let recorded = RecordedResponse::capture(&head, &settings.replayed_headers, &body);
        keep_first(Some(Response::from_parts(head, body)));
        Ok(recorded)
    };
    let release = |_: &HandlerFailure<S::Error>| OnFailure::Release;
    let result = shared
        .executor
        .execute_with(&shared.spec, &context, &call, release, handler)
        .await;
    let take_first = || first.lock().unwrap_or_else(PoisonError::into_inner).take();
    let rejection = match result {
        Ok(execution) => {
            let replayed = matches!(
                execution.outcome,
                Outcome::Replayed { .. } | Outcome::Joined { .. }
            );
            if !replayed && let Some(response) = take_first() {
                return Ok(response);
            }
            match execution.output.replay() {
                Ok(mut response) => {
                    if replayed {
                        let headers = response.headers_mut();
                        headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
                    }
                    return Ok(response);
                }
                Err(err) => internal(&err),
            }
        }
        Err(ExecuteError::Tool(HandlerFailure::Released(response))) => return Ok(response),
        Err(ExecuteError::Tool(HandlerFailure::Service(err))) => return Err(err),
        Err(ExecuteError::Tool(failure @ HandlerFailure::Body(_))) => internal(&failure),
        Err(err @ (ExecuteError::NotRecorded { .. } | ExecuteError::ClaimLost { .. })) => {
            // The handler ran: its response goes to the client even though a retry may not
            // find it (the executor says what a retry does in the error).
            tracing::warn!(error = %err, "idem-http: a response was sent but not recorded");
            match take_first() {
                Some(response) => return Ok(response),
                None => internal(&err),
            }
        }
        Err(ExecuteError::Store(err)) => {
            tracing::warn!(error = %err, "idem-http: the store failed; the request was refused");
            Rejection::StoreUnavailable(err)
        }
        Err(ExecuteError::ArgumentsMismatch { .. }) => Rejection::KeyReused,
        Err(ExecuteError::InProgress { .. } | ExecuteError::WaitTimedOut { .. }) => {
            Rejection::InProgress
        }
        Err(ExecuteError::Joined { .. }) => Rejection::FirstAttemptFailed,
        Err(ExecuteError::OutcomeUnknown { .. }) => Rejection::OutcomeUnknown,
        Err(err) => internal(&err),
    };
    Ok(settings.respond(&rejection))
}

/// A 500 for `reason`, which is logged and not sent.
fn internal(reason: &dyn fmt::Display) -> Rejection {
    let reason = reason.to_string();
    tracing::warn!(reason, "idem-http: the request failed on the server's side");
    Rejection::Internal(reason)
}

/// The whole body, or why not: a `Content-Length` or a body over `limit` (413), or a body that
/// failed (400).
async fn read_body<B>(headers: &HeaderMap, body: B, limit: usize) -> Result<Bytes, Rejection>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(Rejection::BodyTooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(Rejection::BodyTooLarge { limit }),
        Err(_) => Err(Rejection::BodyUnreadable),
    }
}
