//! [`Endpoint`]: an HTTP tool's request, made from its spec and a call's arguments: a JSON body
//! for `POST`, `PUT` and `PATCH` (and other methods), a query string for `GET`, `DELETE`,
//! `HEAD` and `OPTIONS`.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use idem_core::spec::{ReturnType, ToolKind, ToolSpec};
use reqwest::{Method, Url};
use serde_json::Value;

use super::error::HttpToolError;
use crate::key_header::IDEMPOTENCY_KEY;

/// One HTTP tool call's request, ready to be sent once per attempt.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) timeout: Option<Duration>,
    pub(crate) return_type: ReturnType,
    /// The JSON body, shared by the call's attempts.
    body: Option<Bytes>,
}

impl Endpoint {
    /// The request of `spec` for `args` (a JSON value of the call's arguments).
    pub(crate) fn new(spec: &ToolSpec, args: &Value) -> Result<Self, HttpToolError> {
        let ToolKind::Http {
            url,
            method,
            timeout,
            ..
        } = spec.kind()
        else {
            return Err(HttpToolError::NotHttp {
                tool: spec.id().to_owned(),
            });
        };
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            HttpToolError::Method {
                tool: spec.id().to_owned(),
                method: method.clone(),
            }
        })?;
        let mut url = Url::parse(url).map_err(|source| HttpToolError::Url {
            tool: spec.id().to_owned(),
            url: url.clone(),
            source,
        })?;
        let arguments = |reason: String| HttpToolError::Arguments {
            tool: spec.id().to_owned(),
            reason,
        };
        let body = if in_query(&method) {
            append_query(&mut url, args).map_err(arguments)?;
            None
        } else {
            let json = serde_json::to_vec(args).map_err(|err| arguments(err.to_string()))?;
            Some(Bytes::from(json))
        };
        Ok(Endpoint {
            method,
            url,
            timeout: *timeout,
            return_type: spec.return_type(),
            body,
        })
    }

    /// The request of one attempt, carrying `key` in the `Idempotency-Key` header.
    pub(crate) fn request(
        &self,
        client: &reqwest::Client,
        key: &HeaderValue,
    ) -> reqwest::RequestBuilder {
        let mut request = client
            .request(self.method.clone(), self.url.clone())
            .header(IDEMPOTENCY_KEY, key.clone());
        if let Some(timeout) = self.timeout {
            request = request.timeout(timeout);
        }
        if let Some(body) = &self.body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone());
        }
        request
    }
}

/// Whether a method's arguments go in the query string (the methods without a request body).
fn in_query(method: &Method) -> bool {
    [Method::GET, Method::DELETE, Method::HEAD, Method::OPTIONS].contains(method)
}

/// Appends the arguments to `url`'s query string: `{"dataset": "sales", "page": 2}` as
/// `dataset=sales&page=2`. Strings as they are, numbers and booleans as JSON writes them, an
/// array as the same name repeated, `null` left out; a nested object cannot be written.
fn append_query(url: &mut Url, args: &Value) -> Result<(), String> {
    let Value::Object(members) = args else {
        return Err(format!(
            "a query string needs an object of named arguments, not {}",
            kind_of(args)
        ));
    };
    let mut pairs: Vec<(&str, String)> = Vec::with_capacity(members.len());
    for (name, value) in members {
        match value {
            Value::Array(items) => {
                for item in items {
                    pairs.push((name, scalar(name, item)?));
                }
            }
            Value::Null => {}
            value => pairs.push((name, scalar(name, value)?)),
        }
    }
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    Ok(())
}

/// A scalar argument as text.
fn scalar(name: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        other => Err(format!(
            "argument `{name}` is {}, which a query string cannot hold",
            kind_of(other)
        )),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(args: Value) -> Result<String, String> {
        let mut url = Url::parse("http://127.0.0.1/data?v=2").unwrap();
        append_query(&mut url, &args)?;
        Ok(url.query().unwrap_or_default().to_owned())
    }

    #[test]
    fn arguments_become_a_query_string() {
        assert_eq!(
            query(json!({"all": true, "dataset": "sales & co", "gone": null, "page": 2})).unwrap(),
            "v=2&all=true&dataset=sales+%26+co&page=2"
        );
        assert_eq!(
            query(json!({"fields": ["price", "volume"]})).unwrap(),
            "v=2&fields=price&fields=volume"
        );
        assert_eq!(query(json!({})).unwrap(), "v=2");
    }

    #[test]
    fn nested_arguments_are_refused() {
        let err = query(json!({"filter": {"region": "eu"}})).unwrap_err();
        assert_eq!(
            err,
            "argument `filter` is an object, which a query string cannot hold"
        );
        assert!(query(json!(["a"])).unwrap_err().contains("not an array"));
        assert!(query(json!({"a": [[1]]})).unwrap_err().contains("an array"));
    }

    #[test]
    fn the_spec_decides_method_url_and_body() {
        let spec = ToolSpec::http("t-v1", "t", "post", "http://127.0.0.1:1/orders")
            .build()
            .unwrap();
        let endpoint = Endpoint::new(&spec, &json!({"qty": 2, "sku": "a-1"})).unwrap();
        assert_eq!(endpoint.method, Method::POST);
        assert_eq!(endpoint.url.as_str(), "http://127.0.0.1:1/orders");
        assert_eq!(
            endpoint.body.as_deref(),
            Some(br#"{"qty":2,"sku":"a-1"}"#.as_slice())
        );

        let function = ToolSpec::function("f-v1", "f").build().unwrap();
        assert!(matches!(
            Endpoint::new(&function, &json!({})),
            Err(HttpToolError::NotHttp { .. })
        ));
        let bad_url = ToolSpec::http("u-v1", "u", "GET", "not a url")
            .build()
            .unwrap();
        assert!(matches!(
            Endpoint::new(&bad_url, &json!({})),
            Err(HttpToolError::Url { .. })
        ));
        let bad_method = ToolSpec::http("m-v1", "m", "GE T", "http://h/")
            .build()
            .unwrap();
        assert!(matches!(
            Endpoint::new(&bad_method, &json!({})),
            Err(HttpToolError::Method { .. })
        ));
    }
}
