//! Round trips bounded in time, and how Redis's errors become [`StoreError`]s.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use redis::{RedisError, RedisResult};

use super::operations::MAX_ATTEMPTS;
use crate::store::{RecordKey, StoreError};

pub(super) async fn bounded_raw<T>(
    limit: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> Result<RedisResult<T>, StoreError> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| StoreError::Unavailable {
            store: "redis",
            source: format!("no answer from the server within {limit:?}").into(),
        })
}

pub(super) async fn bounded<T>(
    limit: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> Result<T, StoreError> {
    bounded_raw(limit, future).await?.map_err(unavailable)
}

pub(super) fn unavailable(error: RedisError) -> StoreError {
    StoreError::Unavailable {
        store: "redis",
        source: Box::new(error),
    }
}

pub(super) fn is_wrong_type(error: &RedisError) -> bool {
    error.code() == Some("WRONGTYPE")
}

/// `ERR syntax error`: what Redis 6.2 answers to `SET` with both `NX` and `GET`.
pub(super) fn is_syntax_error(error: &RedisError) -> bool {
    error.code() == Some("ERR") && error.detail().is_some_and(|d| d.contains("syntax error"))
}

pub(super) fn unexpected_answer(command: &str, answer: &dyn fmt::Debug) -> StoreError {
    StoreError::Unavailable {
        store: "redis",
        source: format!("unexpected answer to {command}: {answer:?}").into(),
    }
}

pub(super) fn wrong_type(key: RecordKey<'_>, error: &str) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        reason: format!("the Redis key holds another type than a string ({error})"),
    }
}

pub(super) fn claim_lost(key: RecordKey<'_>) -> StoreError {
    StoreError::ClaimLost {
        key: key.to_string(),
    }
}

pub(super) fn contended(key: RecordKey<'_>) -> StoreError {
    StoreError::Unavailable {
        store: "redis",
        source: format!(
            "the record of `{key}` changed under {MAX_ATTEMPTS} attempts in a row to update it"
        )
        .into(),
    }
}
