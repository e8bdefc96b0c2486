//! [`Idempotency`]: the service the layer makes, and its [`ResponseFuture`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;
use tower::Service;

use crate::finish::FinishOnDrop;
use crate::flow::{BoxError, handle};
use crate::key_header::IDEMPOTENCY_KEY;
use crate::layer::Shared;

/// The body of the layer's responses: the service's own body for requests that pass through,
/// or a whole body (a recorded, replayed or problem response).
pub type ResponseBody<B> = Either<B, Full<Bytes>>;

/// A service made idempotent by [`IdempotencyLayer`](crate::IdempotencyLayer).
///
/// The service's request body must be buildable from [`Bytes`] (`From<Bytes>`), as axum's
/// `Body` and `http_body_util::Full` are: the layer reads a covered request's body whole (its
/// fingerprint covers it) and hands the service a body made of those bytes.
#[derive(Clone)]
pub struct Idempotency<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Idempotency<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Idempotency { inner, shared }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for Idempotency<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idempotency")
            .field("inner", &self.inner)
            .field("tool_id", &self.shared.spec.id())
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Idempotency<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The service that said it was ready handles this request; a clone stays for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let settings = &self.shared.settings;
        let covered = settings.methods.contains(request.method())
            && (settings.key_required || request.headers().contains_key(IDEMPOTENCY_KEY));
        if !covered {
            return ResponseFuture {
                kind: Kind::Passthrough {
                    future: inner.call(request),
                },
            };
        }
        let future = handle(Arc::clone(&self.shared), inner, request);
        ResponseFuture {
            kind: Kind::Covered {
                future: FinishOnDrop::new(Box::pin(future)),
            },
        }
    }
}

/// A covered request's future: run in place, finished on a task of its own if dropped.
type Covered<B, E> = FinishOnDrop<Result<Response<ResponseBody<B>>, E>>;

pin_project! {
    /// The response future of [`Idempotency`].
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        /// A request the layer does not cover: the service's own future.
        Passthrough { #[pin] future: F },
        /// A covered request.
        Covered { future: Covered<B, E> },
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Passthrough { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(Either::Left)))
            }
            KindProj::Covered { future } => Pin::new(future).poll(cx),
        }
    }
}
