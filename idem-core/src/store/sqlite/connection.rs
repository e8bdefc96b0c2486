//! The store's connections to its file: each one set up the same way (busy timeout, WAL,
//! durability), kept in a small bounded pool.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::error::{Place, unavailable};
use super::options::SqliteOptions;
use super::sql;
use crate::store::StoreError;

/// Opens a connection to `path` (creating the file if there is none), set up for the store.
fn connect(path: &Path, options: &SqliteOptions) -> Result<Connection, StoreError> {
    let place = Place {
        path,
        busy_timeout: options.busy_timeout(),
    };
    // No `SQLITE_OPEN_URI`: the path is a path, even when it starts with `file:`.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| place.fail("open", e))?;
    // First, so that the statements below wait for another process that is setting the file
    // up at the same time.
    conn.busy_timeout(options.busy_timeout())
        .map_err(|e| place.fail("set the busy timeout", e))?;
    let mode = journal_mode_wal(&conn, options.busy_timeout())
        .map_err(|e| place.fail("switch to the WAL journal", e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(unavailable(format!(
            "`{}` cannot use SQLite's WAL journal (it stays in `{mode}` mode), which the store \
             needs to share the file between processes: put it on a local file system",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", options.synchronous().pragma())
        .map_err(|e| place.fail("set `synchronous`", e))?;
    Ok(conn)
}

/// Switches the file to the WAL journal (a no-op once it is), and says the mode it is in.
///
/// On a new file, the switch needs the file to itself; while another process is setting the
/// same file up, SQLite answers `SQLITE_BUSY` at once rather than waiting with the busy
/// handler: the switch is tried again until `patience` has passed.
fn journal_mode_wal(conn: &Connection, patience: Duration) -> rusqlite::Result<String> {
    let deadline = Instant::now() + patience;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(err)
                if err.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            done => return done,
        }
    }
}

/// Up to [`SqliteOptions::pool_size`] connections to one file, opened when needed and kept.
pub(super) struct Pool {
    path: PathBuf,
    options: SqliteOptions,
    state: Mutex<State>,
    /// Signalled when a connection is given back (or closed).
    freed: Condvar,
}

struct State {
    idle: Vec<Connection>,
    /// Connections open, idle or in use.
    open: usize,
}

impl Pool {
    /// Opens the file at `path` (creating it and the table if need be) and keeps that first
    /// connection.
    pub(super) fn open(path: PathBuf, options: SqliteOptions) -> Result<Pool, StoreError> {
        let conn = connect(&path, &options)?;
        let pool = Pool {
            path,
            options,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 1,
            }),
            freed: Condvar::new(),
        };
        conn.execute_batch(sql::CREATE_TABLE)
            .map_err(|e| pool.place().fail("create the table `idem_records`", e))?;
        pool.lock().idle.push(conn);
        Ok(pool)
    }

    /// The file, for errors.
    pub(super) fn place(&self) -> Place<'_> {
        Place {
            path: &self.path,
            busy_timeout: self.options.busy_timeout(),
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn options(&self) -> &SqliteOptions {
        &self.options
    }

    /// Runs `op` on a connection of the pool: an idle one, a new one while there are fewer
    /// than the pool's size, or else the first one given back within the busy timeout.
    pub(super) fn with<T>(
        &self,
        op: impl FnOnce(&mut Connection, Place<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut lease = self.take()?;
        let conn = lease.conn.as_mut().ok_or_else(|| {
            unavailable("the store's connection was closed during an operation".to_owned())
        })?;
        op(conn, self.place())
    }

    fn take(&self) -> Result<Lease<'_>, StoreError> {
        let deadline = Instant::now() + self.options.busy_timeout();
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.options.pool_size() {
                state.open += 1;
                drop(state);
                // The lease gives the slot back if the connection cannot be opened.
                let mut lease = Lease {
                    pool: self,
                    conn: None,
                };
                lease.conn = Some(connect(&self.path, &self.options)?);
                return Ok(lease);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(unavailable(format!(
                    "all {} connections of the store to `{}` stayed busy longer than the busy \
                     timeout ({:?})",
                    self.options.pool_size(),
                    self.path.display(),
                    self.options.busy_timeout()
                )));
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state whole: a poisoned lock is still good.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection taken from the pool (or a slot for one being opened), given back on drop.
struct Lease<'p> {
    pool: &'p Pool,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        match self.conn.take() {
            // A connection still inside a transaction (an operation that panicked before its
            // transaction's rollback) is closed rather than given to the next operation.
            Some(conn) if conn.is_autocommit() => state.idle.push(conn),
            _ => state.open -= 1,
        }
        drop(state);
        self.pool.freed.notify_one();
    }
}
