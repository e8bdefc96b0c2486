//! [`Failure`]: why a statement gave no result, and the checks on what a row can hold.

use std::time::Duration;

use deadpool_postgres::Object;
use tokio_postgres::error::SqlState;

use super::error::PostgresError;
use crate::store::StoreError;

/// The result of a statement run under a deadline: a connection that did not answer in time is
/// taken out of the pool and closed, since it may be stuck.
pub(super) fn settle<T>(
    client: Object,
    answer: Result<Result<T, tokio_postgres::Error>, tokio::time::error::Elapsed>,
    waited: Duration,
) -> Result<T, Failure> {
    match answer {
        Ok(result) => result.map_err(Failure::Postgres),
        Err(_) => {
            drop(Object::take(client));
            Err(Failure::NoAnswer(waited))
        }
    }
}

/// Why a statement did not give its result.
#[derive(Debug)]
pub(super) enum Failure {
    /// No connection: the server refused or did not answer, or the pool is exhausted.
    Connect(PostgresError),
    /// The server answered with an error, or the connection broke.
    Postgres(tokio_postgres::Error),
    /// No answer in time; the connection was dropped.
    NoAnswer(Duration),
}

impl Failure {
    /// Whether the statement certainly did nothing and may simply run again: a serialization
    /// failure or a deadlock (under a server whose default isolation is above read committed).
    pub(super) fn retryable(&self) -> bool {
        matches!(self, Failure::Postgres(err)
            if matches!(err.code(), Some(code)
                if *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED))
    }

    pub(super) fn into_store(self, name: &str) -> StoreError {
        let source = match self {
            Failure::Postgres(err) => match err.as_db_error() {
                // Data exceptions: a value PostgreSQL does not take.
                Some(db) if db.code().code().starts_with("22") => {
                    return StoreError::Corrupt {
                        key: name.to_owned(),
                        reason: format!("PostgreSQL refuses a value: {}", db.message()),
                    };
                }
                _ => PostgresError::statement(&err),
            },
            Failure::Connect(err) => err,
            Failure::NoAnswer(waited) => PostgresError::new(
                "PostgreSQL did not answer",
                &format!("no answer within {waited:?}; the connection was dropped"),
            ),
        };
        StoreError::Unavailable {
            store: "postgres",
            source: Box::new(source),
        }
    }
}

/// Refuses a string `text` cannot hold.
pub(super) fn check_text(name: &str, what: &str, value: &str) -> Result<(), StoreError> {
    if value.contains('\0') {
        return Err(StoreError::Corrupt {
            key: name.to_owned(),
            reason: format!(
                "the {what} contains a NUL character, which PostgreSQL text cannot hold"
            ),
        });
    }
    Ok(())
}
