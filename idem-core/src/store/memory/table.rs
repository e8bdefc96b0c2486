//! The table of a [`MemoryStore`](super::MemoryStore): records by address, with their expiry
//! order for purging and eviction.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use hashbrown::hash_map::EntryRef;
use hashbrown::{Equivalent, HashMap};

use crate::store::decide::is_held_by;
use crate::store::{Record, RecordKey, RecordState, StoreError, UnixMillis};

/// A record's address: (tool, key), allocated once per record and shared by the map and the
/// expiry index.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Address {
    pub(super) tool: Box<str>,
    pub(super) key: Box<str>,
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
pub(super) struct Lookup<'a>(pub(super) RecordKey<'a>);

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
pub(super) fn index<'m>(
    claims: &'m mut BTreeMap<Slot, Arc<Address>>,
    finished: &'m mut BTreeMap<Slot, Arc<Address>>,
    in_progress: bool,
) -> &'m mut BTreeMap<Slot, Arc<Address>> {
    if in_progress { claims } else { finished }
}

/// Where a record sits in its index: (expiry or lease end, insertion sequence).
type Slot = (UnixMillis, u64);

pub(super) struct Entry {
    pub(super) record: Arc<Record>,
    pub(super) seq: u64,
}

impl Entry {
    pub(super) fn slot(&self) -> Slot {
        (self.record.expires_at(), self.seq)
    }
}

#[derive(Default)]
pub(super) struct Inner {
    pub(super) records: HashMap<Arc<Address>, Entry>,
    /// Completed and failed records, soonest to expire first.
    pub(super) finished: BTreeMap<Slot, Arc<Address>>,
    /// In-progress records, soonest lease end first.
    pub(super) claims: BTreeMap<Slot, Arc<Address>>,
    pub(super) next_seq: u64,
}

impl Inner {
    pub(super) fn get(&self, key: &Lookup<'_>) -> Option<&Arc<Record>> {
        self.records.get(key).map(|entry| &entry.record)
    }

    /// Inserts the record of `key`, or replaces it, keeping the indexes in step. The address is
    /// allocated only for a key the map does not hold yet.
    pub(super) fn put(&mut self, key: &Lookup<'_>, record: Arc<Record>) {
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
    pub(super) fn rewrite_held(
        &mut self,
        key: &Lookup<'_>,
        token: &str,
        state: RecordState,
    ) -> bool {
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

    pub(super) fn remove(&mut self, key: &Lookup<'_>) -> Option<Arc<Record>> {
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
    pub(super) fn pop_ended(&mut self, now: UnixMillis, finished: bool) -> bool {
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
    pub(super) fn make_room(&mut self, now: UnixMillis, capacity: usize) -> Result<(), StoreError> {
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
