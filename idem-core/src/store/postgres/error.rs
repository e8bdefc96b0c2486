//! [`PostgresError`]: what PostgreSQL or the connection said, in one message.
//!
//! `tokio-postgres` and `deadpool` say only "db error" or "Error occurred while creating a new
//! object" at the top of their errors and keep the server's words in `source()`, which many
//! reports never print. The store puts the whole cause in the message instead: the server's
//! severity, SQLSTATE code and message (`FATAL 28000: role "x" does not exist`), or the chain of
//! a connection's failure (`error connecting to server: Connection refused (os error 111)`).

use std::error::Error as StdError;
use std::fmt::Write as _;

use deadpool_postgres::PoolError;

/// A failure of PostgreSQL or of the connection to it, its cause in the message: the source of
/// [`StoreError::Unavailable`](crate::store::StoreError::Unavailable) for `store: "postgres"`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(super) struct PostgresError {
    message: String,
}

impl PostgresError {
    /// `context` (what the store was doing), then the cause.
    pub(super) fn new(context: &str, cause: &str) -> Self {
        PostgresError {
            message: format!("{context}: {cause}"),
        }
    }

    /// A failure to get a connection from the pool.
    pub(super) fn connect(err: &PoolError) -> Self {
        let cause = match err {
            PoolError::Backend(err) => describe(err),
            other => chain(other),
        };
        Self::new("cannot connect to PostgreSQL", &cause)
    }

    /// A failure of a statement, or of the connection it ran on.
    pub(super) fn statement(err: &tokio_postgres::Error) -> Self {
        Self::new("PostgreSQL failed", &describe(err))
    }
}

/// What `err` says: the server's severity, SQLSTATE code, message, detail and hint when the
/// server answered with an error, or else the chain of the error and its sources.
pub(super) fn describe(err: &tokio_postgres::Error) -> String {
    let Some(db) = err.as_db_error() else {
        return chain(err);
    };
    let mut out = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
    if let Some(detail) = db.detail() {
        let _ = write!(out, " (detail: {detail})");
    }
    if let Some(hint) = db.hint() {
        let _ = write!(out, " (hint: {hint})");
    }
    out
}

/// `err`'s message followed by its sources', `: `-separated, skipping a source whose message the
/// previous one already ends with (wrappers that repeat their cause).
pub(super) fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Layer(&'static str, #[source] Option<Box<Layer>>);

    #[test]
    fn chains_sources_once() {
        let inner = Layer("Connection refused (os error 111)", None);
        let outer = Layer("error connecting to server", Some(Box::new(inner)));
        assert_eq!(
            chain(&outer),
            "error connecting to server: Connection refused (os error 111)"
        );
        let repeating = Layer(
            "pool: Connection refused",
            Some(Box::new(Layer("Connection refused", None))),
        );
        assert_eq!(chain(&repeating), "pool: Connection refused");
        assert_eq!(
            PostgresError::new("cannot connect to PostgreSQL", "x").to_string(),
            "cannot connect to PostgreSQL: x"
        );
    }
}
