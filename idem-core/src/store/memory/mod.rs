//! [`MemoryStore`]: records in this process's memory, bounded, TTL-aware.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};

use super::{
    BoxFuture, Claim, ClaimOutcome, Completion, Record, RecordKey, Store, StoreError, StoredRecord,
    UnixMillis,
};

/// A store in this process's memory: for tests, examples, and services that run as a single
/// process and can afford to forget their results on a restart.
///
/// - **Concurrent**: one mutex, held only for the few map operations of each call (never across
///   an `await`, never while copying an output).
/// - **TTL-aware**: a completed or failed record counts as absent once it has expired, and is
///   removed when a call meets it (or by [`purge`](Store::purge)).
/// - **Bounded**: at most [`capacity`](MemoryStore::capacity) records
///   ([`DEFAULT_CAPACITY`](MemoryStore::DEFAULT_CAPACITY) by default). A claim of a new key
///   in a full store first removes the expired records and the claims whose lease has run out;
///   if that frees nothing, it evicts the completed or failed record that would expire first (a
///   warning is logged: a duplicate of that call would run again). A claim whose lease is live is
///   never evicted: when every record is one, the claim fails with [`StoreError::Full`]. Size the
///   capacity above the number of keys that are live within a TTL.
///
/// - **On its own clock**: leases and TTLs are measured on the store's clock (the system clock,
///   or the one given to [`with_clock`](MemoryStore::with_clock)), never on the callers'.
///
/// Outputs are checked to be JSON, and kept as [`Record::encode`] would keep them (without
/// surrounding whitespace), so that a replay gives the same bytes as from any other store.
///
/// ```
/// use std::time::Duration;
/// use idem::store::{Claim, ClaimOutcome, Completion, MemoryStore, RecordKey, Store, UnixMillis};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::with_capacity(1_000);
/// let key = RecordKey { tool: "payment-processor-v1", key: "fb5f9548" };
/// let now = UnixMillis(1_700_000_000_000);
/// let claim = Claim {
///     token: "t-1".into(),
///     fingerprint: "f".into(),
///     now,
///     lease: Duration::from_secs(30),
/// };
/// assert_eq!(store.claim(key, &claim).await?, ClaimOutcome::Claimed);
/// let output = Completion::Output(br#"{"charged":true}"#.to_vec());
/// store.complete(key, &claim, &output, Duration::from_secs(3600)).await?;
///
/// // A duplicate finds the completed record and replays its output.
/// let duplicate = Claim { token: "t-2".into(), ..claim };
/// let ClaimOutcome::Existing(record) = store.claim(key, &duplicate).await? else { panic!() };
/// assert_eq!(record.token, "t-1");
/// assert_eq!(store.len(), 1);
/// # Ok::<(), idem::store::StoreError>(())
/// # }).unwrap();
/// ```
pub struct MemoryStore {
    inner: Mutex<Inner>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

mod operations;
mod table;

use table::{Inner, Lookup};

impl MemoryStore {
    /// The capacity of [`MemoryStore::new`]: 100,000 records.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An empty store of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) records.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// An empty store of at most `capacity` records (a capacity of 0 is taken as 1).
    ///
    /// ```
    /// use idem::store::MemoryStore;
    ///
    /// let store = MemoryStore::with_capacity(10);
    /// assert_eq!(store.capacity(), 10);
    /// assert!(store.is_empty());
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
            clock: Arc::new(SystemClock),
        }
    }

    /// Measures leases and TTLs on `clock` instead of the system clock: a
    /// [`ManualClock`](crate::clock::ManualClock) makes expiry testable without sleeping.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use idem::clock::ManualClock;
    /// use idem::store::MemoryStore;
    ///
    /// let clock = Arc::new(ManualClock::at_unix_seconds(1_700_000_000));
    /// let store = MemoryStore::new().with_clock(clock.clone());
    /// clock.advance(Duration::from_secs(3600)); // every lease and TTL of `store` moves on
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The time on the store's clock.
    fn now(&self) -> UnixMillis {
        UnixMillis::now(&*self.clock)
    }

    /// How many records the store holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many records the store holds, including expired ones not yet removed.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("clock", &self.clock)
            .finish()
    }
}

impl Store for MemoryStore {
    fn claim<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        Box::pin(async move { self.claim_now(key, claim) })
    }

    fn renew<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.renew_now(key, claim) })
    }

    fn complete<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
        completion: &'a Completion,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.complete_now(key, claim.token, completion, ttl) })
    }

    fn release<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.release_now(key, claim.token)) })
    }

    fn get<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<Option<Record>, StoreError>> {
        Box::pin(async move { Ok(self.get_now(key)) })
    }

    fn delete<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.lock().remove(&Lookup(key)).is_some()) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredRecord>, StoreError>> {
        Box::pin(async move { Ok(self.list_now()) })
    }

    fn purge(&self, all: bool) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move { Ok(self.purge_now(all)) })
    }
}
