//! [`SqliteStore`]: records in one SQLite file, shared by the processes of one host.
//!
//! - `options.rs`: [`SqliteOptions`] and [`Durability`].
//! - `sql.rs`: the table and every statement.
//! - `connection.rs`: opening the file (WAL, busy timeout, durability) and the pool.
//! - `operations.rs`: each operation, one statement or one `IMMEDIATE` transaction.
//! - `error.rs`: SQLite's failures, as [`StoreError`]s that say what and where.

mod connection;
mod error;
mod operations;
mod options;
mod sql;

pub use options::{Durability, SqliteOptions};

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::decide::{Change, rewritten};
use super::{
    BoxFuture, Claim, ClaimOutcome, Completion, Record, RecordKey, RecordState, Store, StoreError,
    StoredRecord, UnixMillis, blocking,
};
use crate::clock::{Clock, SystemClock};
use connection::Pool;
use operations::{Address, NewClaim, Session};

/// A store in one SQLite file that several processes of one host open at once: two MCP stdio
/// servers started by two clients, a web server's workers, a CLI run beside a service. Each
/// opens the same path; a key is claimed by one of them, and the others replay its result.
/// (A [`RedbStore`](crate::store::RedbStore) file has one opener at a time; for processes on
/// several hosts, use a [`RedisStore`](crate::store::RedisStore) or a
/// [`PostgresStore`](crate::store::PostgresStore).)
///
/// Built on [`rusqlite`](https://docs.rs/rusqlite) with SQLite compiled in (no system library
/// needed).
///
/// ```
/// use std::time::Duration;
/// use idem::store::{Claim, ClaimOutcome, Completion, RecordKey, SqliteStore, Store, UnixMillis};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("idem.sqlite");
/// let key = RecordKey { tool: "payment-processor-v1", key: "fb5f9548" };
/// let claim = Claim {
///     token: "t-1",
///     fingerprint: "f",
///     now: UnixMillis(1_700_000_000_000),
///     lease: Duration::from_secs(30),
/// };
/// // Two processes would each open the path; two stores of one process share it the same way.
/// let first = SqliteStore::open(&path)?;
/// let second = SqliteStore::open(&path)?;
/// assert_eq!(first.claim(key, &claim).await?, ClaimOutcome::Claimed);
/// let output = Completion::Output(br#"{"charged":true}"#.to_vec());
/// first.complete(key, &claim, &output, Duration::from_secs(3600)).await?;
///
/// // The other opener finds the result, and replays it.
/// let duplicate = Claim { token: "t-2", ..claim };
/// let ClaimOutcome::Existing(record) = second.claim(key, &duplicate).await? else { panic!() };
/// assert_eq!(record.token, "t-1");
/// # Ok::<(), idem::store::StoreError>(())
/// # }).unwrap();
/// ```
///
/// ## Atomic across processes
///
/// A [`claim`](Store::claim) reads the record and writes its own in one `IMMEDIATE`
/// transaction, which takes the file's write lock before it reads: two processes claiming one
/// key take turns, and the second sees the first's claim. So do renewals, completions (fenced by
/// the claim's token) and releases. A claim that finds a live record answers it from a plain
/// read first, without the write lock.
///
/// The file is in SQLite's WAL journal mode: readers do not wait for the writer, nor the writer
/// for them. Writers take turns: a write waits up to the
/// [busy timeout](SqliteOptions::with_busy_timeout) (5 s by default) for the one before it,
/// then fails with [`StoreError::Unavailable`] (the tool does not run). A write is a few small
/// rows, so the wait is a commit's time, not a tool's: the write lock is never held while a tool
/// runs.
///
/// ## Durability
///
/// A crash of a process loses nothing that was committed, and never damages the file. A
/// crash of the machine (a power failure) loses nothing either under the default
/// [`Durability::Full`]: every commit waits for the disk (`PRAGMA synchronous = FULL`).
/// [`Durability::Normal`] (`synchronous = NORMAL`) makes writes several times cheaper, at the
/// price of the last commits before a power failure, which could let a call run again: see
/// [`Durability`].
///
/// ## Time: one host, one clock
///
/// Leases and TTLs are measured on the store's clock: the host's wall clock, or the one given
/// to [`with_clock`](SqliteStore::with_clock), read once the write lock is held. The processes
/// sharing the file run on one host, and so on one clock; a test that gives one of them a
/// [`ManualClock`](crate::clock::ManualClock) must give the same time to the others.
///
/// ## Blocking
///
/// SQLite is synchronous, and a commit waits for the disk, so no operation blocks an async
/// worker thread: as for [`RedbStore`](crate::store::RedbStore), an operation runs within
/// [`tokio::task::block_in_place`] on a multi-thread Tokio runtime, on the blocking pool on a
/// current-thread runtime, and on the calling thread outside a runtime. The store keeps up to
/// [`pool_size`](SqliteOptions::with_pool_size) connections to its file.
///
/// ## The file
///
/// One table, `idem_records`: `(tool BLOB, key BLOB, record BLOB)`, the primary key
/// `(tool, key)` (the UTF-8 bytes of the tool id and the key), `record` the record's bytes in
/// the versioned format of [`Record::encode`]. Beside the file, SQLite keeps its journal
/// (`-wal`) and shared memory (`-shm`): copy the three together, or back the file up with
/// SQLite's `.backup`. Reads do not write: an expired record stays until a claim of its key
/// replaces it or [`purge`](Store::purge) removes it.
///
/// A record that cannot be decoded is [`StoreError::Corrupt`] (or
/// [`StoreError::UnsupportedFormat`]), and no claim overwrites it: remove it with
/// [`delete`](Store::delete). A file that SQLite finds damaged is [`StoreError::Damaged`]; a
/// file that is not a SQLite database, a file locked past the busy timeout, and SQLite's other
/// failures are [`StoreError::Unavailable`] with `store: "sqlite"`, their message saying which.
pub struct SqliteStore {
    pool: Arc<Pool>,
    clock: Arc<dyn Clock>,
}

impl SqliteStore {
    /// Opens the store in the file at `path` with the default [`SqliteOptions`], creating the
    /// file and its table if need be. Other stores, in this process or others, may have the same
    /// file open.
    ///
    /// This is synchronous (it opens a file, and may wait up to the busy timeout for another
    /// process that is creating it): in async code, call it once at start-up, or within
    /// `spawn_blocking`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened or created (a missing
    /// directory, no permission), is not a SQLite database, cannot use the WAL journal (a
    /// network file system), or stays locked past the busy timeout;
    /// [`StoreError::Damaged`] when SQLite finds it damaged.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::new())
    }

    /// Opens the store in the file at `path` with `options` (see [`open`](SqliteStore::open)).
    /// With [`with_create_schema(false)`](SqliteOptions::with_create_schema), the file and its
    /// table must exist: nothing is created, and a file without the table is left as it was.
    ///
    /// ```
    /// use std::time::Duration;
    /// use idem::store::{Durability, SqliteOptions, SqliteStore};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let options = SqliteOptions::new()
    ///     .with_busy_timeout(Duration::from_secs(2))
    ///     .with_synchronous(Durability::Full);
    /// let store = SqliteStore::open_with(dir.path().join("idem.sqlite"), options)?;
    /// assert_eq!(store.options().busy_timeout(), Duration::from_secs(2));
    /// # Ok::<(), idem::store::StoreError>(())
    /// ```
    ///
    /// # Errors
    /// As [`open`](SqliteStore::open); and, without
    /// [`create_schema`](SqliteOptions::with_create_schema), [`StoreError::Unavailable`] when
    /// there is no file at `path` or it has no table `idem_records`.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let pool = Pool::open(path.as_ref().to_path_buf(), options)?;
        Ok(SqliteStore {
            pool: Arc::new(pool),
            clock: Arc::new(SystemClock),
        })
    }

    /// Measures leases and TTLs on `clock` instead of the host's wall clock (a
    /// [`ManualClock`](crate::clock::ManualClock) in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The file the store is in.
    pub fn path(&self) -> &Path {
        self.pool.path()
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &SqliteOptions {
        self.pool.options()
    }

    /// Writes `bytes` as the record of `key`, unchecked. Not part of the API: for the store
    /// conformance suite, which needs to plant corrupt records.
    #[doc(hidden)]
    pub async fn write_raw(&self, key: RecordKey<'_>, bytes: Vec<u8>) -> Result<(), StoreError> {
        let address = Address::of(key);
        self.run(move |session| session.write_raw(&address, &bytes))
            .await
    }

    /// Runs `op` on a connection of the pool, off the async threads (see [`blocking::run`]).
    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Session<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let clock = Arc::clone(&self.clock);
        blocking::run(error::STORE, &self.pool, move |pool: &Pool| {
            pool.with(|conn, place| {
                op(&mut Session {
                    conn,
                    place,
                    clock: &*clock,
                    max_record_bytes: pool.options().max_record_bytes(),
                })
            })
        })
        .await
    }

    /// Applies `change(now)` to the claim of `claim.token` at `key`, in progress; returns
    /// whether that claim was there.
    fn change_held<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &Claim<'_>,
        change: impl FnOnce(UnixMillis) -> Change + Send + 'static,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let address = Address::of(key);
        let token = claim.token.to_owned();
        Box::pin(self.run(move |session| session.change_held(&address, &token, change)))
    }

    /// As [`change_held`](Self::change_held), [`StoreError::ClaimLost`] when the claim was not
    /// there.
    fn rewrite_held<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &Claim<'_>,
        state: impl FnOnce(UnixMillis) -> RecordState + Send + 'static,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let held = self.change_held(key, claim, move |now| Change::Rewrite(state(now)));
        Box::pin(async move { rewritten(key, held.await?) })
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path())
            .field("options", self.options())
            .finish_non_exhaustive()
    }
}

impl Store for SqliteStore {
    fn claim<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        let address = Address::of(key);
        let claim = NewClaim {
            token: claim.token.to_owned(),
            fingerprint: claim.fingerprint.to_owned(),
            lease: claim.lease,
        };
        Box::pin(self.run(move |session| session.claim(&address, claim)))
    }

    fn renew<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let lease = claim.lease;
        self.rewrite_held(key, claim, move |now| RecordState::InProgress {
            lease_until: now.plus(lease),
        })
    }

    fn complete<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
        completion: &'a Completion,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let completion = completion.clone();
        self.rewrite_held(key, claim, move |now| completion.into_state(now.plus(ttl)))
    }

    fn release<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.change_held(key, claim, |_| Change::Remove)
    }

    fn get<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<Option<Record>, StoreError>> {
        let address = Address::of(key);
        Box::pin(self.run(move |session| session.get(&address)))
    }

    fn delete<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<bool, StoreError>> {
        let address = Address::of(key);
        Box::pin(self.run(move |session| session.delete(&address)))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredRecord>, StoreError>> {
        Box::pin(self.run(|session| session.list()))
    }

    fn purge(&self, all: bool) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(self.run(move |session| session.purge(all)))
    }
}
