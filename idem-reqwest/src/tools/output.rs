//! What a successful answer gives as the tool's output: its JSON, or its text.

use http::header::CONTENT_TYPE;
use idem_core::spec::ReturnType;
use serde_json::Value;

use super::error::RequestErrorKind;

/// The output of a successful `response`, as the spec's return type says: for
/// [`ReturnType::Json`] the parsed body when its `Content-Type` is JSON (`application/json`,
/// `*/*+json`), otherwise the body as text (`null` when empty); for [`ReturnType::Text`] the
/// text; for [`ReturnType::Nothing`] `null`.
pub(crate) async fn read_output(
    response: reqwest::Response,
    return_type: ReturnType,
) -> Result<Value, RequestErrorKind> {
    let status = response.status();
    if return_type == ReturnType::Nothing {
        return Ok(Value::Null);
    }
    let json = return_type == ReturnType::Json && is_json(response.headers().get(CONTENT_TYPE));
    let bytes = response
        .bytes()
        .await
        .map_err(|source| RequestErrorKind::Body { status, source })?;
    if bytes.is_empty() && return_type == ReturnType::Json {
        return Ok(Value::Null);
    }
    if json {
        return serde_json::from_slice(&bytes)
            .map_err(|source| RequestErrorKind::InvalidJson { status, source });
    }
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Whether a `Content-Type` is JSON: `application/json`, or a `+json` type.
fn is_json(content_type: Option<&http::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence
            .rsplit_once('+')
            .is_some_and(|(_, suffix)| suffix.eq_ignore_ascii_case("json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn json_content_types() {
        let json = |v: &'static str| is_json(Some(&HeaderValue::from_static(v)));
        assert!(json("application/json"));
        assert!(json("Application/JSON; charset=utf-8"));
        assert!(json("application/problem+json"));
        assert!(!json("text/plain"));
        assert!(!json("application/jsonl"));
        assert!(!is_json(None));
    }
}
