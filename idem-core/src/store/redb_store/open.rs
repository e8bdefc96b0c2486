//! Opening the store's file: a damaged file, an empty file, a file held by another opener, and a
//! panic inside redb are each a clear, typed error, never a panic and never an empty store.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use redb::{Database, DatabaseError, StorageError};

use crate::store::StoreError;
use crate::store::blocking::panic_message;

/// The file is open already, in this process or another: redb lets one opener at a time have
/// it. The message names what to use instead.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{path}` is already open, in this process or another: a RedbStore file has one opener at a \
     time. Within one process, share one store (an Arc<RedbStore>); for several processes on one \
     host (e.g. an MCP stdio server started once per client), use a SqliteStore (feature \
     `sqlite`), whose file they can all open; for several hosts, a RedisStore or PostgresStore"
)]
pub struct AlreadyOpen {
    path: PathBuf,
}

/// Opens (or creates) the database at `path`, checking every page's checksum when the file
/// exists, so that damage is found here rather than by a panic, or a silently missing record,
/// later.
pub(super) fn open_database(path: &Path) -> Result<Database, StoreError> {
    refuse_empty(path)?;
    let opened = catch_unwind(AssertUnwindSafe(|| {
        Database::builder()
            .set_check_integrity_on_open(true)
            .create(path)
    }));
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(err)) => Err(open_error(path, err)),
        Err(panic) => Err(damaged(
            path,
            format!("redb panicked while opening it: {}", panic_message(&*panic)),
        )),
    }
}

/// An existing empty file is not a database idem made (redb writes its header when it creates
/// one): refused, rather than opened as an empty store that would forget every earlier call.
fn refuse_empty(path: &Path) -> Result<(), StoreError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == 0 => Err(damaged(
            path,
            "the file is empty, so it is not a store idem created (a new store's file starts \
             with redb's header); if it should be a new store, remove the file first"
                .to_owned(),
        )),
        _ => Ok(()),
    }
}

fn open_error(path: &Path, err: DatabaseError) -> StoreError {
    match err {
        DatabaseError::DatabaseAlreadyOpen => StoreError::Unavailable {
            store: "redb",
            source: Box::new(AlreadyOpen {
                path: path.to_path_buf(),
            }),
        },
        DatabaseError::Storage(StorageError::Corrupted(reason)) => damaged(path, reason),
        other => StoreError::Unavailable {
            store: "redb",
            source: Box::new(redb::Error::from(other)),
        },
    }
}

fn damaged(path: &Path, reason: String) -> StoreError {
    StoreError::Damaged {
        store: "redb",
        place: path.display().to_string(),
        reason,
    }
}
