//! The operations of the [`Store`](crate::store::Store) trait on a [`MemoryStore`]: one critical
//! section each, what `impl Store for MemoryStore` (in `mod.rs`) calls.

use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Duration;

use super::MemoryStore;
use super::table::{Address, Inner, Lookup};
use crate::store::decide::{claim_over, is_held_by, rewritten};
use crate::store::record::checked_output;
use crate::store::{
    Claim, ClaimOutcome, Completion, Record, RecordKey, RecordState, StoreError, StoredRecord,
};

impl MemoryStore {
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while the lock is held, and every critical section leaves the maps
        // consistent: a poisoned lock is still good.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn claim_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
    ) -> Result<ClaimOutcome, StoreError> {
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

    pub(super) fn complete_now(
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
                output: Some(checked_output(key, bytes)?.get().as_bytes().to_vec()),
                expires_at,
            },
            other => other.to_state(expires_at),
        };
        rewritten(key, self.lock().rewrite_held(&Lookup(key), token, state))
    }

    pub(super) fn renew_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
    ) -> Result<(), StoreError> {
        let lease_until = self.now().plus(claim.lease);
        let state = RecordState::InProgress { lease_until };
        rewritten(
            key,
            self.lock().rewrite_held(&Lookup(key), claim.token, state),
        )
    }

    pub(super) fn release_now(&self, key: RecordKey<'_>, token: &str) -> bool {
        let key = Lookup(key);
        let mut inner = self.lock();
        let held = inner
            .get(&key)
            .is_some_and(|record| is_held_by(record, token));
        held && inner.remove(&key).is_some()
    }

    pub(super) fn get_now(&self, key: RecordKey<'_>) -> Option<Record> {
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

    pub(super) fn list_now(&self) -> Vec<StoredRecord> {
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

    pub(super) fn purge_now(&self, all: bool) -> u64 {
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
