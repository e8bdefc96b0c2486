//! [`HttpCall`]: one covered request as the executor sees it: its key (the client's key in the
//! caller's scope) and its fingerprint (what the request asks for).

use http::HeaderName;
use http::request::Parts;
use idem_core::executor::ToolInput;
use idem_core::spec::ToolSpec;
use idem_core::strategy::KeyOptions;
use idem_core::{Context, IdempotencyKey, KeyError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The version of the fingerprint's layout: a change to what it covers is a new version.
const FINGERPRINT_V1: &[u8] = b"idem-http fingerprint v1\n";

/// A covered request: the client's key, and the fingerprint of the request.
///
/// The key is idem's default strategy (key format v1) over `{"idempotency_key": <the header's
/// key>}` under the layer's tool id and the caller's [`Context`]: callers with another tenant,
/// user or session never share a key. The fingerprint is the SHA-256 of the method, the path and
/// query, the chosen headers and the body: the same key sent with anything else of these is
/// refused (422).
#[derive(Debug)]
pub(crate) struct HttpCall {
    args: Value,
    fingerprint: [u8; 32],
}

impl HttpCall {
    pub(crate) fn new(key: String, parts: &Parts, headers: &[HeaderName], body: &[u8]) -> Self {
        HttpCall {
            args: json!({ "idempotency_key": key }),
            fingerprint: fingerprint(parts, headers, body),
        }
    }
}

impl ToolInput for HttpCall {
    fn idempotency_key(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Result<IdempotencyKey, KeyError> {
        self.args.idempotency_key(spec, context, options)
    }

    fn fingerprint(&self) -> Result<String, KeyError> {
        let mut hex = [0u8; 64];
        // Cannot fail: 64 hex digits for 32 bytes, all ASCII.
        let _ = hex::encode_to_slice(self.fingerprint, &mut hex);
        Ok(std::str::from_utf8(&hex).unwrap_or_default().to_owned())
    }

    fn canonical_envelope(
        &self,
        spec: &ToolSpec,
        context: &Context,
        options: &KeyOptions<'_>,
    ) -> Option<Result<Vec<u8>, KeyError>> {
        self.args.canonical_envelope(spec, context, options)
    }
}

/// SHA-256 of the method, the path and query, each chosen header (name, then every value
/// in order) and the body; every part is length-prefixed, so no two requests share the input.
fn fingerprint(parts: &Parts, headers: &[HeaderName], body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(FINGERPRINT_V1);
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    field(parts.method.as_str().as_bytes());
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    field(target.as_bytes());
    for name in headers {
        field(name.as_str().as_bytes());
        let values = parts.headers.get_all(name);
        field(&(values.iter().count() as u64).to_be_bytes());
        for value in values {
            field(value.as_bytes());
        }
    }
    field(body);
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;
    use http::header::CONTENT_TYPE;

    fn parts(method: &str, uri: &str, content_type: Option<&str>) -> Parts {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        request.body(()).unwrap().into_parts().0
    }

    fn print(method: &str, uri: &str, content_type: Option<&str>, body: &[u8]) -> [u8; 32] {
        fingerprint(&parts(method, uri, content_type), &[CONTENT_TYPE], body)
    }

    #[test]
    fn every_part_of_the_request_counts() {
        let base = print("POST", "/orders?x=1", Some("application/json"), b"{}");
        assert_eq!(
            base,
            print("POST", "/orders?x=1", Some("application/json"), b"{}")
        );
        let others = [
            print("PATCH", "/orders?x=1", Some("application/json"), b"{}"),
            print("POST", "/orders?x=2", Some("application/json"), b"{}"),
            print("POST", "/order?x=1", Some("application/json"), b"{}"),
            print("POST", "/orders?x=1", Some("text/plain"), b"{}"),
            print("POST", "/orders?x=1", None, b"{}"),
            print("POST", "/orders?x=1", Some("application/json"), b"{ }"),
        ];
        for other in others {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn headers_not_chosen_do_not_count() {
        let mut with_trace = parts("POST", "/orders", None);
        with_trace
            .headers
            .insert("x-trace-id", "abc".parse().unwrap());
        let plain = parts("POST", "/orders", None);
        assert_eq!(
            fingerprint(&with_trace, &[CONTENT_TYPE], b"x"),
            fingerprint(&plain, &[CONTENT_TYPE], b"x")
        );
    }

    #[test]
    fn the_fingerprint_is_the_hex_sha256() {
        let parts = parts("POST", "/orders", None);
        let call = HttpCall::new("k".into(), &parts, &[], b"{}");
        let hex = call.fingerprint().unwrap();
        assert_eq!(hex, hex::encode(fingerprint(&parts, &[], b"{}")));
        assert_eq!(hex.len(), 64);
    }

    #[test]
    fn the_key_depends_on_the_caller() {
        let spec = ToolSpec::function("http-test", "http").build().unwrap();
        let call = HttpCall::new("k-1".into(), &parts("POST", "/", None), &[], b"");
        let options = KeyOptions::new();
        let alice = Context::new().with_user("alice");
        let bob = Context::new().with_user("bob");
        let key = |ctx: &Context| call.idempotency_key(&spec, ctx, &options).unwrap();
        assert_ne!(key(&alice), key(&bob));
        assert_eq!(key(&alice), key(&alice.clone()));
        let other = HttpCall::new("k-2".into(), &parts("POST", "/", None), &[], b"");
        assert_ne!(
            key(&alice),
            other.idempotency_key(&spec, &alice, &options).unwrap()
        );
    }
}
