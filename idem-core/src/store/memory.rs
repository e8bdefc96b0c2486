//! [`MemoryStore`]: records in this process's memory, bounded, TTL-aware.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hashbrown::hash_map::EntryRef;
use hashbrown::{Equivalent, HashMap};
use serde_json::value::RawValue;

use crate::clock::{Clock, SystemClock};

use super::decide::{claim_over, is_held_by};
use super::{
    BoxFuture, Claim, ClaimOutcome, Completion, Record, RecordKey, RecordState, Store, StoreError,
    StoredRecord, UnixMillis,
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
/// use idem_core::store::{Claim, ClaimOutcome, Completion, MemoryStore, RecordKey, Store, UnixMillis};
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
/// # Ok::<(), idem_core::store::StoreError>(())
/// # }).unwrap();
/// ```
pub struct MemoryStore {
    inner: Mutex<Inner>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

/// A record's address: (tool, key), allocated once per record and shared by the map and the
/// expiry index.
#[derive(Debug, PartialEq, Eq)]
struct Address {
    tool: Box<str>,
    key: Box<str>,
}

impl Hash for Address {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Lookup(RecordKey {
            tool: &self.tool,
            key: &self.key,
        })
        .hash(state);
    }
}

/// A borrowed address, to look a record up without allocating its address.
struct Lookup<'a>(RecordKey<'a>);

impl Hash for Lookup<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.tool.hash(state);
        self.0.key.hash(state);
    }
}

impl Equivalent<Arc<Address>> for Lookup<'_> {
    fn equivalent(&self, address: &Arc<Address>) -> bool {
        *address.tool == *self.0.tool && *address.key == *self.0.key
    }
}

/// The index of in-progress records (`claims`) or of finished ones.
fn index<'m>(
    claims: &'m mut BTreeMap<Slot, Arc<Address>>,
    finished: &'m mut BTreeMap<Slot, Arc<Address>>,
    in_progress: bool,
) -> &'m mut BTreeMap<Slot, Arc<Address>> {
    if in_progress { claims } else { finished }
}

/// Where a record sits in its index: (expiry or lease end, insertion sequence).
type Slot = (UnixMillis, u64);

struct Entry {
    record: Arc<Record>,
    seq: u64,
}

impl Entry {
    fn slot(&self) -> Slot {
        (self.record.expires_at(), self.seq)
    }
}

#[derive(Default)]
struct Inner {
    records: HashMap<Arc<Address>, Entry>,
    /// Completed and failed records, soonest to expire first.
    finished: BTreeMap<Slot, Arc<Address>>,
    /// In-progress records, soonest lease end first.
    claims: BTreeMap<Slot, Arc<Address>>,
    next_seq: u64,
}

impl Inner {
    fn get(&self, key: &Lookup<'_>) -> Option<&Arc<Record>> {
        self.records.get(key).map(|entry| &entry.record)
    }

    /// Inserts the record of `key`, or replaces it, keeping the indexes in step. The address is
    /// allocated only for a key the map does not hold yet.
    fn put(&mut self, key: &Lookup<'_>, record: Arc<Record>) {
        let Inner {
            records,
            finished,
            claims,
            next_seq,
        } = self;
        let seq = *next_seq;
        *next_seq += 1;
        let entry = Entry { record, seq };
        let slot = entry.slot();
        let in_progress = entry.record.is_in_progress();
        let address = match records.entry_ref(key) {
            EntryRef::Occupied(mut occupied) => {
                let old = std::mem::replace(occupied.get_mut(), entry);
                index(claims, finished, old.record.is_in_progress()).remove(&old.slot());
                Arc::clone(occupied.key())
            }
            EntryRef::Vacant(vacant) => {
                let address = Arc::new(Address {
                    tool: key.0.tool.into(),
                    key: key.0.key.into(),
                });
                vacant.insert_with_key(Arc::clone(&address), entry);
                address
            }
        };
        index(claims, finished, in_progress).insert(slot, address);
    }

    /// Gives the in-progress record of `key` held by `token` the state `state` in place (a
    /// renewed lease, or how the call ended): the record keeps its token, fingerprint and
    /// creation time, and moves to the index its new state belongs to.
    fn rewrite_held(&mut self, key: &Lookup<'_>, token: &str, state: RecordState) -> bool {
        let Inner {
            records,
            finished,
            claims,
            next_seq,
        } = self;
        let Some((address, entry)) = records.get_key_value_mut(key) else {
            return false;
        };
        if !is_held_by(&entry.record, token) {
            return false;
        }
        claims.remove(&entry.slot());
        // A copy only when a reader still holds this record (it is copying it out).
        Arc::make_mut(&mut entry.record).state = state;
        entry.seq = *next_seq;
        *next_seq += 1;
        let in_progress = entry.record.is_in_progress();
        index(claims, finished, in_progress).insert(entry.slot(), Arc::clone(address));
        true
    }

    fn remove(&mut self, key: &Lookup<'_>) -> Option<Arc<Record>> {
        let old = self.records.remove(key)?;
        index(
            &mut self.claims,
            &mut self.finished,
            old.record.is_in_progress(),
        )
        .remove(&old.slot());
        Some(old.record)
    }

    /// Removes the first record of `index` if its slot ends at or before `now`.
    fn pop_ended(&mut self, now: UnixMillis, finished: bool) -> bool {
        let index = if finished {
            &mut self.finished
        } else {
            &mut self.claims
        };
        match index.first_entry() {
            Some(first) if first.key().0 <= now => {
                let address = first.remove();
                self.records.remove(&address);
                true
            }
            _ => false,
        }
    }

    /// Makes room for one more record, or says the store is full of live claims.
    fn make_room(&mut self, now: UnixMillis, capacity: usize) -> Result<(), StoreError> {
        if self.records.len() < capacity {
            return Ok(());
        }
        // Expired results and abandoned claims: they count as absent or can be taken over.
        while self.pop_ended(now, true) {}
        while self.pop_ended(now, false) {}
        while self.records.len() >= capacity {
            let Some((_, address)) = self.finished.pop_first() else {
                return Err(StoreError::Full { capacity });
            };
            self.records.remove(&address);
            tracing::warn!(
                tool = &*address.tool,
                key = &*address.key,
                capacity,
                "the memory store is full: evicted a live record, so a duplicate of its call \
                 would run again; raise the capacity or lower the TTLs"
            );
        }
        Ok(())
    }
}

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
    /// use idem_core::store::MemoryStore;
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
    /// [`ManualClock`](crate::ManualClock) makes expiry testable without sleeping.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use idem_core::ManualClock;
    /// use idem_core::store::MemoryStore;
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

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while the lock is held, and every critical section leaves the maps
        // consistent: a poisoned lock is still good.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn claim_now(&self, key: RecordKey<'_>, claim: &Claim<'_>) -> Result<ClaimOutcome, StoreError> {
        let key = Lookup(key);
        let now = self.now();
        // Built only when the claim wins: a replay allocates nothing for it.
        let fresh = || {
            Arc::new(Record::in_progress(
                claim.token.to_owned(),
                claim.fingerprint.to_owned(),
                now,
                now.plus(claim.lease),
            ))
        };
        let existing = {
            let mut inner = self.lock();
            // An Arc's count, not a copy: the record is copied out of the lock below.
            let found = inner.get(&key).cloned();
            let absent = found.is_none();
            match claim_over(found, now) {
                Ok(outcome) => {
                    if absent {
                        inner.make_room(now, self.capacity)?;
                    }
                    inner.put(&key, fresh());
                    return Ok(outcome);
                }
                Err(live) => live,
            }
        };
        // Copied out of the lock.
        Ok(ClaimOutcome::Existing(Record::clone(&existing)))
    }

    fn complete_now(
        &self,
        key: RecordKey<'_>,
        token: &str,
        completion: &Completion,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let expires_at = self.now().plus(ttl);
        let state = match completion {
            // Kept as the file-backed stores keep it: checked JSON, white space trimmed.
            Completion::Output(bytes) => RecordState::Completed {
                output: Some(checked_output(key, bytes)?),
                expires_at,
            },
            other => other.to_state(expires_at),
        };
        if self.lock().rewrite_held(&Lookup(key), token, state) {
            Ok(())
        } else {
            Err(StoreError::ClaimLost {
                key: key.to_string(),
            })
        }
    }

    fn renew_now(&self, key: RecordKey<'_>, claim: &Claim<'_>) -> Result<(), StoreError> {
        let lease_until = self.now().plus(claim.lease);
        if self.lock().rewrite_held(
            &Lookup(key),
            claim.token,
            RecordState::InProgress { lease_until },
        ) {
            Ok(())
        } else {
            Err(StoreError::ClaimLost {
                key: key.to_string(),
            })
        }
    }

    fn release_now(&self, key: RecordKey<'_>, token: &str) -> bool {
        let key = Lookup(key);
        let mut inner = self.lock();
        let held = inner
            .get(&key)
            .is_some_and(|record| is_held_by(record, token));
        held && inner.remove(&key).is_some()
    }

    fn get_now(&self, key: RecordKey<'_>) -> Option<Record> {
        let key = Lookup(key);
        let now = self.now();
        let found = {
            let mut inner = self.lock();
            match inner.get(&key) {
                Some(record) if record.is_expired(now) => {
                    inner.remove(&key);
                    None
                }
                found => found.cloned(),
            }
        };
        found.map(|record| Record::clone(&record))
    }

    fn list_now(&self) -> Vec<StoredRecord> {
        let all: Vec<(Arc<Address>, Arc<Record>)> = self
            .lock()
            .records
            .iter()
            .map(|(address, entry)| (Arc::clone(address), Arc::clone(&entry.record)))
            .collect();
        all.into_iter()
            .map(|(address, record)| StoredRecord {
                tool: address.tool.to_string(),
                key: address.key.to_string(),
                record: Ok(Record::clone(&record)),
            })
            .collect()
    }

    fn purge_now(&self, all: bool) -> u64 {
        let now = self.now();
        let mut inner = self.lock();
        let before = inner.records.len();
        if all {
            *inner = Inner::default();
        } else {
            while inner.pop_ended(now, true) {}
        }
        (before - inner.records.len()) as u64
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

/// The output as [`Record::encode`] then [`Record::decode`] would give it back: JSON, without
/// surrounding whitespace.
fn checked_output(key: RecordKey<'_>, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let not_json = || StoreError::Corrupt {
        key: key.to_string(),
        reason: "the output to store is not JSON".to_owned(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| not_json())?;
    let raw: &RawValue = serde_json::from_str(text).map_err(|_| not_json())?;
    Ok(raw.get().as_bytes().to_vec())
}
