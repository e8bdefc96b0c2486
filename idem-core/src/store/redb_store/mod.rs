//! [`RedbStore`]: records in one file, on [redb](https://docs.rs/redb).
//!
//! - `mod.rs`: the store, how it opens, and its [`Store`] implementation;
//! - `open.rs`: opening the file (its check, one process at a time);
//! - `address.rs`: record addresses in the table;
//! - `operations.rs`: each operation, one redb transaction.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use redb::Database;

use super::blocking;
use super::decide::{Change, rewritten};
use super::{
    BoxFuture, Claim, ClaimOutcome, Completion, Record, RecordKey, RecordState, Store, StoreError,
    StoredRecord, UnixMillis,
};
use crate::clock::{Clock, SystemClock};
pub use open::AlreadyOpen;
use operations::Address;

mod address;
mod open;
mod operations;

/// A store in one file, on the embedded database [redb](https://docs.rs/redb): it survives a
/// restart, and a crash of the process at any point (a record is on disk when
/// [`complete`](Store::complete) returns). One process at a time opens the file: a second
/// [`open`](RedbStore::open), in this process or another, fails until the first store is dropped.
/// For several processes on one host (an MCP stdio server started once per client), use a
/// [`SqliteStore`](crate::store::SqliteStore) (feature `sqlite`).
///
/// Every operation is one redb transaction; a [`claim`](Store::claim) reads and conditionally
/// writes in one write transaction, so it is atomic. redb is synchronous, and a write waits for
/// the disk, so no operation blocks an async worker thread:
///
/// - on a multi-thread Tokio runtime (what `#[tokio::main]` builds), an operation runs in place
///   within [`tokio::task::block_in_place`]: the worker first hands its other tasks to a new
///   thread, so they keep running, and the call does not pay two hops between threads per
///   transaction. Futures polled by the *same task* (`join!`, `select!`, a `FuturesUnordered`)
///   do wait while an operation runs: spawn concurrent calls as tasks of their own;
/// - on a current-thread runtime, it runs on the blocking thread pool (`spawn_blocking`), and so
///   it does on a thread where Tokio refuses to block in place (a multi-thread runtime's handle
///   entered within a current-thread runtime: Tokio's refusal is a panic, which the store catches
///   once per thread before it turns to the pool);
/// - outside a runtime, it runs on the calling thread.
///
/// Leases and TTLs are measured on the store's clock: the host's wall clock, or the one given to
/// [`with_clock`](RedbStore::with_clock). One process at a time has the file, so one clock
/// decides for every caller.
///
/// Reads do not write: an expired record stays in the file until a claim of its key replaces it
/// or [`purge`](Store::purge) removes it (run a purge now and then to keep the file small).
///
/// ## File layout
///
/// One table, `idem_records`, maps a string key to the record's bytes in the versioned format of
/// [`Record::encode`]. The key is `"{n}:{tool}:{key}"` where `n` is the length of the tool id in
/// bytes, written in decimal: `"20:payment-processor-v1:fb5f9548..."`. The length makes the
/// address unambiguous whatever characters the tool id and the key contain.
///
/// ## Errors
///
/// redb's errors (I/O, a file locked by another process, ...) are
/// [`StoreError::Unavailable`] with `store: "redb"`; a record that cannot be decoded is
/// [`StoreError::Corrupt`] (or [`StoreError::UnsupportedFormat`]), and a claim never overwrites
/// it: remove it with [`delete`](Store::delete).
///
/// ```
/// use std::time::Duration;
/// use idem::store::{Claim, ClaimOutcome, Completion, RecordKey, RedbStore, Store, UnixMillis};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("idem.redb");
/// let key = RecordKey { tool: "payment-processor-v1", key: "fb5f9548" };
/// let now = UnixMillis(1_700_000_000_000);
/// let claim = Claim {
///     token: "t-1".into(),
///     fingerprint: "f".into(),
///     now,
///     lease: Duration::from_secs(30),
/// };
/// {
///     let store = RedbStore::open(&path)?;
///     assert_eq!(store.claim(key, &claim).await?, ClaimOutcome::Claimed);
///     let output = Completion::Output(br#"{"charged":true}"#.to_vec());
///     store.complete(key, &claim, &output, Duration::from_secs(3600)).await?;
/// }
/// // After a restart, the result is still there.
/// let store = RedbStore::open(&path)?;
/// let record = store.get(key).await?.unwrap();
/// assert_eq!(record.token, "t-1");
/// # Ok::<(), idem::store::StoreError>(())
/// # }).unwrap();
/// ```
pub struct RedbStore {
    db: Arc<Database>,
    path: PathBuf,
    clock: Arc<dyn Clock>,
}

impl RedbStore {
    /// Opens the store in the file at `path`, creating the file if there is none.
    ///
    /// This is synchronous and may take a while after a crash (redb repairs the file): in async
    /// code, call it once at start-up, or within `spawn_blocking`.
    ///
    /// An existing file is checked page by page (redb's checksums) before it is used, which
    /// reads the whole file once: a file damaged at rest is refused here, instead of making redb
    /// panic later or losing a record (a lost record would let a duplicate run again).
    ///
    /// # Errors
    /// - [`StoreError::Damaged`] when the file is damaged (a checksum does not match, or redb
    ///   panicked reading it) or is an empty file (not a store idem created).
    /// - [`StoreError::Unavailable`] when the file cannot be opened or created, is not a redb
    ///   database, or is already open (in this process or another: the source is an
    ///   [`AlreadyOpen`], which names the alternatives).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let db = open::open_database(&path)?;
        operations::create_table(&db)?;
        Ok(RedbStore {
            db: Arc::new(db),
            path,
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

    /// The time on the store's clock.
    fn now(&self) -> UnixMillis {
        UnixMillis::now(&*self.clock)
    }

    /// The file the store is in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `bytes` as the record of `key`, unchecked. Not part of the API: for the store
    /// conformance suite, which needs to plant corrupt records.
    #[doc(hidden)]
    pub async fn write_raw(&self, key: RecordKey<'_>, bytes: Vec<u8>) -> Result<(), StoreError> {
        let address = Address::of(key);
        self.run(move |db| operations::write_raw(db, &address, &bytes))
            .await
    }

    /// Runs `op` off the async threads (see [`blocking::run`]).
    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        blocking::run("redb", &self.db, op).await
    }
}

impl RedbStore {
    /// Applies `change` to the in-progress record of `claim.token` at `key`; returns whether
    /// that claim was there (nothing is written when it was not).
    fn change_held<'a>(
        &'a self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
        change: Change,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let address = Address::of(key);
        let token = claim.token.to_owned();
        Box::pin(self.run(move |db| operations::change_held(db, &address, &token, change)))
    }

    /// As [`change_held`](Self::change_held) with a new state for the claim,
    /// [`StoreError::ClaimLost`] when the claim was not there.
    fn rewrite_held<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &Claim<'_>,
        state: RecordState,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let held = self.change_held(key, claim, Change::Rewrite(state));
        Box::pin(async move { rewritten(key, held.await?) })
    }
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store for RedbStore {
    fn claim<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        let address = Address::of(key);
        let now = self.now();
        let fresh = Record::in_progress(
            claim.token.to_owned(),
            claim.fingerprint.to_owned(),
            now,
            now.plus(claim.lease),
        );
        Box::pin(self.run(move |db| operations::claim(db, &address, now, &fresh)))
    }

    fn renew<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let lease_until = self.now().plus(claim.lease);
        self.rewrite_held(key, claim, RecordState::InProgress { lease_until })
    }

    fn complete<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
        completion: &'a Completion,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let state = completion.to_state(self.now().plus(ttl));
        self.rewrite_held(key, claim, state)
    }

    fn release<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.change_held(key, claim, Change::Remove)
    }

    fn get<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<Option<Record>, StoreError>> {
        let address = Address::of(key);
        let now = self.now();
        Box::pin(self.run(move |db| operations::get(db, &address, now)))
    }

    fn delete<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<bool, StoreError>> {
        let address = Address::of(key);
        Box::pin(self.run(move |db| operations::delete(db, &address)))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredRecord>, StoreError>> {
        Box::pin(self.run(operations::list))
    }

    fn purge(&self, all: bool) -> BoxFuture<'_, Result<u64, StoreError>> {
        let now = self.now();
        Box::pin(self.run(move |db| operations::purge(db, now, all)))
    }
}
