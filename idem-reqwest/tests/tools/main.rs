//! HTTP tools against real servers on 127.0.0.1: what is sent (query string or JSON body, the
//! key on every attempt), what is retried under the same key, and what a retry of the call does
//! after each kind of failure.

#[path = "../support/mod.rs"]
mod support;

mod failures;
mod retries;
mod sending;

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use idem::Context;
use idem::executor::{ExecuteError, Executor, OnFailure, Outcome};
use idem::reqwest::{HeaderFormat, HttpToolError, HttpTools, RequestErrorKind, RetryPolicy};
use idem::spec::{IdempotencyConfig, ToolSpec};
use idem::store::{MemoryStore, RecordKey};
use serde_json::{Value, json};
use support::{Dedup, json_response, retry_after_response, scripted};

/// Quick retries: the tests wait for nothing longer than a few backoffs.
fn tools(attempts: u32) -> HttpTools {
    HttpTools::new(Executor::new(MemoryStore::new()), reqwest::Client::new()).with_retry(
        RetryPolicy::new(attempts)
            .with_backoff(Duration::from_millis(20), Duration::from_millis(100)),
    )
}

fn quoted(key: &Option<idem::IdempotencyKey>) -> String {
    format!("\"{}\"", key.as_ref().expect("idempotency is on").as_str())
}
