//! [`SqliteError`]: what SQLite said, with what the store was doing and on which file, in one
//! message; and the [`StoreError`] each failure becomes.

use std::path::Path;
use std::time::Duration;

use rusqlite::ErrorCode;

use crate::store::StoreError;

/// The store's name in its errors.
pub(super) const STORE: &str = "sqlite";

/// A failure of SQLite on the store's file: the source of
/// [`StoreError::Unavailable`](crate::store::StoreError::Unavailable) for `store: "sqlite"`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(super) struct SqliteError {
    message: String,
}

impl SqliteError {
    pub(super) fn new(message: String) -> Self {
        SqliteError { message }
    }
}

/// Where an error happened: the file, and how long the store waits for a lock on it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Place<'a> {
    pub(super) path: &'a Path,
    pub(super) busy_timeout: Duration,
}

impl Place<'_> {
    /// The [`StoreError`] of `err`, which happened while the store was `doing` something
    /// ("claim a key", "open the file", ...):
    ///
    /// - a file locked past the busy timeout, a file that is not a database, and any other
    ///   failure: [`StoreError::Unavailable`], saying which;
    /// - a damaged database (`SQLITE_CORRUPT`): [`StoreError::Damaged`].
    pub(super) fn fail(self, doing: &str, err: rusqlite::Error) -> StoreError {
        let path = self.path.display();
        let message = match err.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt) => {
                return StoreError::Damaged {
                    store: STORE,
                    place: path.to_string(),
                    reason: format!("SQLite found it malformed when asked to {doing}: {err}"),
                };
            }
            Some(ErrorCode::NotADatabase) => format!(
                "`{path}` is not a SQLite database (SQLite: {err}): give the store a file of its \
                 own, or a path where no file is yet (the store creates it)"
            ),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => format!(
                "cannot {doing} in `{path}`: another connection kept the file locked longer \
                 than the busy timeout ({:?}; SQLite: {err})",
                self.busy_timeout
            ),
            _ => format!("cannot {doing} in `{path}`: {err}"),
        };
        unavailable(message)
    }
}

/// [`StoreError::Unavailable`] of the SQLite store, saying `message`.
pub(super) fn unavailable(message: String) -> StoreError {
    StoreError::Unavailable {
        store: STORE,
        source: Box::new(SqliteError::new(message)),
    }
}
