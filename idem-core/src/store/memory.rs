//! [`MemoryStore`]: records in this process's memory, bounded, TTL-aware.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::value::RawValue;

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
/// store.complete(key, "t-1", &output, now, Duration::from_secs(3600)).await?;
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
}

/// A record's address in the map: (tool, key).
type Address = (Box<str>, Box<str>);

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
    records: HashMap<Address, Entry>,
    /// Completed and failed records, soonest to expire first.
    finished: BTreeMap<Slot, Address>,
    /// In-progress records, soonest lease end first.
    claims: BTreeMap<Slot, Address>,
    next_seq: u64,
}

impl Inner {
    fn index(&mut self, record: &Record) -> &mut BTreeMap<Slot, Address> {
        if record.is_in_progress() {
            &mut self.claims
        } else {
            &mut self.finished
        }
    }

    fn get(&self, address: &Address) -> Option<&Arc<Record>> {
        self.records.get(address).map(|entry| &entry.record)
    }

    /// Inserts or replaces the record at `address`, keeping the indexes in step.
    fn put(&mut self, address: Address, record: Arc<Record>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry { record, seq };
        let slot = entry.slot();
        let record = Arc::clone(&entry.record);
        if let Some(old) = self.records.insert(address.clone(), entry) {
            let old_slot = old.slot();
            self.index(&old.record).remove(&old_slot);
        }
        self.index(&record).insert(slot, address);
    }

    fn remove(&mut self, address: &Address) -> Option<Arc<Record>> {
        let old = self.records.remove(address)?;
        let slot = old.slot();
        self.index(&old.record).remove(&slot);
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
                tool = &*address.0,
                key = &*address.1,
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
        }
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

    fn claim_now(&self, key: RecordKey<'_>, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        let address = address(key);
        // Built only when the claim wins: a replay allocates nothing for it.
        let fresh = || {
            Arc::new(Record::in_progress(
                claim.token.clone(),
                claim.fingerprint.clone(),
                claim.now,
                claim.now.plus(claim.lease),
            ))
        };
        let existing = {
            let mut inner = self.lock();
            match inner.get(&address) {
                Some(record) if record.lease_expired(claim.now) => {
                    let previous_token = record.token.clone();
                    inner.put(address, fresh());
                    return Ok(ClaimOutcome::TookOver { previous_token });
                }
                Some(record) if record.is_expired(claim.now) => {
                    inner.put(address, fresh());
                    return Ok(ClaimOutcome::Claimed);
                }
                Some(record) => Arc::clone(record),
                None => {
                    inner.make_room(claim.now, self.capacity)?;
                    inner.put(address, fresh());
                    return Ok(ClaimOutcome::Claimed);
                }
            }
        };
        Ok(ClaimOutcome::Existing(Record::clone(&existing)))
    }

    fn complete_now(
        &self,
        key: RecordKey<'_>,
        token: &str,
        completion: &Completion,
        now: UnixMillis,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let expires_at = now.plus(ttl);
        let state = match completion {
            // Kept as the file-backed stores keep it: checked JSON, white space trimmed.
            Completion::Output(bytes) => {
                Completion::Output(checked_output(key, bytes)?).to_state(expires_at)
            }
            other => other.to_state(expires_at),
        };
        let address = address(key);
        let mut inner = self.lock();
        let Some(record) = inner
            .get(&address)
            .filter(|record| record.is_in_progress() && record.token == token)
        else {
            return Err(StoreError::ClaimLost {
                key: key.to_string(),
            });
        };
        let done = Record {
            token: record.token.clone(),
            fingerprint: record.fingerprint.clone(),
            created_at: record.created_at,
            state,
        };
        inner.put(address, Arc::new(done));
        Ok(())
    }

    fn release_now(&self, key: RecordKey<'_>, token: &str) -> bool {
        let address = address(key);
        let mut inner = self.lock();
        let held = inner
            .get(&address)
            .is_some_and(|record| record.is_in_progress() && record.token == token);
        held && inner.remove(&address).is_some()
    }

    fn get_now(&self, key: RecordKey<'_>, now: UnixMillis) -> Option<Record> {
        let address = address(key);
        let found = {
            let mut inner = self.lock();
            match inner.get(&address) {
                Some(record) if record.is_expired(now) => {
                    inner.remove(&address);
                    None
                }
                found => found.cloned(),
            }
        };
        found.map(|record| Record::clone(&record))
    }

    fn list_now(&self) -> Vec<StoredRecord> {
        let all: Vec<(Address, Arc<Record>)> = self
            .lock()
            .records
            .iter()
            .map(|(address, entry)| (address.clone(), Arc::clone(&entry.record)))
            .collect();
        all.into_iter()
            .map(|((tool, key), record)| StoredRecord {
                tool: tool.into(),
                key: key.into(),
                record: Ok(Record::clone(&record)),
            })
            .collect()
    }

    fn purge_now(&self, now: UnixMillis, all: bool) -> u64 {
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
            .finish()
    }
}

impl Store for MemoryStore {
    fn claim<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        Box::pin(async move { self.claim_now(key, claim) })
    }

    fn complete<'a>(
        &'a self,
        key: RecordKey<'a>,
        token: &'a str,
        completion: &'a Completion,
        now: UnixMillis,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.complete_now(key, token, completion, now, ttl) })
    }

    fn release<'a>(
        &'a self,
        key: RecordKey<'a>,
        token: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.release_now(key, token)) })
    }

    fn get<'a>(
        &'a self,
        key: RecordKey<'a>,
        now: UnixMillis,
    ) -> BoxFuture<'a, Result<Option<Record>, StoreError>> {
        Box::pin(async move { Ok(self.get_now(key, now)) })
    }

    fn delete<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move { Ok(self.lock().remove(&address(key)).is_some()) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredRecord>, StoreError>> {
        Box::pin(async move { Ok(self.list_now()) })
    }

    fn purge(&self, now: UnixMillis, all: bool) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move { Ok(self.purge_now(now, all)) })
    }
}

fn address(key: RecordKey<'_>) -> Address {
    (key.tool.into(), key.key.into())
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
