//! The operations of the [`Store`](crate::store::Store) trait on Redis, each a round trip or two.

use std::collections::HashSet;
use std::time::Duration;

use redis::{RedisResult, Value};

use super::RedisStore;
use super::errors::{
    bounded_raw, claim_lost, contended, is_wrong_type, unavailable, unexpected_answer, wrong_type,
};
use super::layout::{parse_redis_key, scan_pattern};
use super::scripts::{Reply, grace_ms, px_ms};
use crate::clock::SystemClock;
use crate::store::record::{RecordRef, StateRef};
use crate::store::{
    Claim, ClaimOutcome, Completion, Record, RecordKey, StoreError, StoredRecord, UnixMillis,
    Unreadable,
};

/// How many times a claim, completion or release looks again after a compare and set lost to
/// another caller (each loss means another caller made progress).
pub(super) const MAX_ATTEMPTS: usize = 16;
/// The `COUNT` hint of each `SCAN`.
const SCAN_COUNT: usize = 1_000;
/// Values fetched per pipeline by `list` and `purge`.
const GET_CHUNK: usize = 64;
/// Deletions per pipeline by `purge`.
const DEL_CHUNK: usize = 256;

impl RedisStore {
    /// The Redis TTL of `claim`'s in-progress record, in ms: its lease, then the grace during
    /// which a lapsed claim can still be taken over (rather than vanish).
    fn claim_px(&self, claim: &Claim<'_>) -> u64 {
        px_ms(claim.lease.saturating_add(self.options.claim_grace))
    }

    pub(super) async fn claim_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
    ) -> Result<ClaimOutcome, StoreError> {
        let address = self.address(key)?;
        let fresh = RecordRef::claimed(claim).encode(key)?;
        self.check_size(key, fresh.len())?;
        let mut px = itoa::Buffer::new();
        let px = px.format(self.claim_px(claim)).as_bytes();
        let grace_ms = grace_ms(self.options.claim_grace);
        // The value the last script found at the key instead of the one it expected, with its
        // `PTTL`: decided without another claim command.
        let mut seen = None;
        for _ in 0..MAX_ATTEMPTS {
            let (found, pttl) = match seen.take() {
                Some(seen) => seen,
                None => match self.claim_command(&address, &fresh, px).await? {
                    Reply::Done => return Ok(ClaimOutcome::Claimed),
                    Reply::Found { value, pttl } => (value, pttl),
                    Reply::WrongType(error) => return Err(wrong_type(key, &error)),
                    // Removed between the script's two steps: cannot happen (scripts are
                    // atomic), and trying again is right if it did.
                    Reply::Absent => continue,
                    reply @ Reply::Live => return Err(unexpected_answer("the claim", &reply)),
                },
            };
            let record = Record::decode(key, &found)?;
            // A finished record that is there has not expired on the server's clock; an
            // in-progress one whose `PTTL` (read with the value) is above the grace is live.
            if !record.is_in_progress() || pttl.is_some_and(|pttl| pttl > grace_ms) {
                return Ok(ClaimOutcome::Existing(record));
            }
            // The server decides whether the lease has ended, and takes the claim over only if
            // the record is still the one read.
            let mut grace = itoa::Buffer::new();
            let grace = grace.format(grace_ms).as_bytes();
            match self
                .run(
                    &self.scripts.take_over,
                    &address,
                    &[&found, &fresh, px, grace],
                )
                .await?
            {
                Reply::Done => {
                    return Ok(ClaimOutcome::TookOver {
                        previous_token: record.token,
                    });
                }
                Reply::Live => return Ok(ClaimOutcome::Existing(record)),
                // Another caller changed the record meanwhile: decide on what is there now.
                Reply::Found { value, pttl } => seen = Some((value, pttl)),
                // Removed meanwhile (released, deleted, expired): claim again.
                Reply::Absent => {}
                Reply::WrongType(error) => return Err(wrong_type(key, &error)),
            }
        }
        Err(contended(key))
    }

    pub(super) async fn renew_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
    ) -> Result<(), StoreError> {
        let address = self.address(key)?;
        // The claim as `claim_now` wrote it: a renewal leaves the bytes as they are.
        let mut expected = RecordRef::claimed(claim).encode(key)?;
        let mut px = itoa::Buffer::new();
        let px = px.format(self.claim_px(claim)).as_bytes();
        for _ in 0..MAX_ATTEMPTS {
            let found = match self
                .run(&self.scripts.renew, &address, &[&expected, px])
                .await?
            {
                Reply::Done => return Ok(()),
                Reply::Absent => return Err(claim_lost(key)),
                Reply::WrongType(error) => return Err(wrong_type(key, &error)),
                Reply::Found { value, .. } => value,
                reply @ Reply::Live => return Err(unexpected_answer("the renewal", &reply)),
            };
            let record = Record::decode(key, &found)?;
            if !(record.is_in_progress() && record.token == claim.token) {
                return Err(claim_lost(key));
            }
            // The claim of this token, in other bytes than the claim's: renew what is there.
            expected = found;
        }
        Err(contended(key))
    }

    pub(super) async fn complete_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
        completion: &Completion,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let address = self.address(key)?;
        // Informational (Redis expires the key after `ttl` on the server's clock): this host's
        // clock plus the TTL.
        let expires_at = UnixMillis::now(&SystemClock).plus(ttl);
        // The claim as `claim_now` wrote it, and the record it completes into.
        let mut expected = RecordRef::claimed(claim).encode(key)?;
        let mut done = RecordRef::completed(claim, completion, expires_at).encode(key)?;
        self.check_size(key, done.len())?;
        let mut px = itoa::Buffer::new();
        let px = px.format(px_ms(ttl)).as_bytes();
        for _ in 0..MAX_ATTEMPTS {
            let found = match self
                .run(&self.scripts.set_if, &address, &[&expected, &done, px])
                .await?
            {
                Reply::Done => return Ok(()),
                Reply::Absent => return Err(claim_lost(key)),
                Reply::WrongType(error) => return Err(wrong_type(key, &error)),
                Reply::Found { value, .. } => value,
                reply @ Reply::Live => return Err(unexpected_answer("the completion", &reply)),
            };
            let record = Record::decode(key, &found)?;
            if !(record.is_in_progress() && record.token == claim.token) {
                return Err(claim_lost(key));
            }
            // The claim of this token, in other bytes than the claim's (written by another
            // client, or with other fields): complete the record that is there.
            done = RecordRef {
                token: &record.token,
                fingerprint: &record.fingerprint,
                created_at: record.created_at,
                state: StateRef::of(completion, expires_at),
            }
            .encode(key)?;
            self.check_size(key, done.len())?;
            expected = found;
        }
        Err(contended(key))
    }

    pub(super) async fn release_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
    ) -> Result<bool, StoreError> {
        let address = self.address(key)?;
        let mut expected = RecordRef::claimed(claim).encode(key)?;
        for _ in 0..MAX_ATTEMPTS {
            let found = match self
                .run(&self.scripts.delete_if, &address, &[&expected])
                .await?
            {
                Reply::Done => return Ok(true),
                Reply::Absent => return Ok(false),
                Reply::WrongType(error) => return Err(wrong_type(key, &error)),
                Reply::Found { value, .. } => value,
                reply @ Reply::Live => return Err(unexpected_answer("the release", &reply)),
            };
            let record = Record::decode(key, &found)?;
            if !(record.is_in_progress() && record.token == claim.token) {
                return Ok(false);
            }
            expected = found;
        }
        Err(contended(key))
    }

    /// The record at `key`: a key that is there has not expired on the server's clock.
    pub(super) async fn get_now(&self, key: RecordKey<'_>) -> Result<Option<Record>, StoreError> {
        let name = key.to_string();
        let address = self.address(key)?;
        let mut conn = self.conn();
        let mut get = redis::cmd("GET");
        get.arg(&address);
        let get = get.query_async::<Option<Vec<u8>>>(&mut conn);
        let found = match bounded_raw(self.round_trip, get).await? {
            Ok(found) => found,
            Err(error) if is_wrong_type(&error) => {
                return Err(wrong_type(key, &error.to_string()));
            }
            Err(error) => return Err(unavailable(error)),
        };
        found.map(|bytes| Record::decode(&name, &bytes)).transpose()
    }

    pub(super) async fn delete_now(&self, key: RecordKey<'_>) -> Result<bool, StoreError> {
        let address = self.address(key)?;
        let mut conn = self.conn();
        let mut del = redis::cmd("DEL");
        del.arg(&address);
        let removed: u64 = self.bounded(del.query_async(&mut conn)).await?;
        Ok(removed > 0)
    }

    /// Every key of this store (each once), by `SCAN`.
    async fn keys(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let pattern = scan_pattern(&self.options.prefix);
        let mut conn = self.conn();
        let mut keys = HashSet::new();
        let mut cursor: u64 = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, batch): (u64, Vec<Vec<u8>>) =
                self.bounded(scan.query_async(&mut conn)).await?;
            keys.extend(
                batch
                    .into_iter()
                    .filter(|k| parse_redis_key(&self.options.prefix, k).is_some()),
            );
            if next == 0 {
                break;
            }
            cursor = next;
        }
        Ok(keys.into_iter().collect())
    }

    /// The values of `keys`, in order: `None` for a key gone since, an error for a key of
    /// another type.
    async fn values(
        &self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<RedisResult<Option<Vec<u8>>>>, StoreError> {
        let mut conn = self.conn();
        let mut values = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(GET_CHUNK) {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for key in chunk {
                pipe.cmd("GET").arg(key);
            }
            let got: Vec<RedisResult<Option<Vec<u8>>>> =
                self.bounded(pipe.query_async(&mut conn)).await?;
            values.extend(got);
        }
        Ok(values)
    }

    pub(super) async fn list_now(&self) -> Result<Vec<StoredRecord>, StoreError> {
        let keys = self.keys().await?;
        let values = self.values(&keys).await?;
        let mut all = Vec::with_capacity(keys.len());
        for (address, value) in keys.iter().zip(values) {
            let Some((tool, key)) = parse_redis_key(&self.options.prefix, address) else {
                continue;
            };
            let record = match value {
                Ok(Some(bytes)) => {
                    let name = RecordKey { tool, key }.to_string();
                    Record::decode(&name, &bytes).map_err(Unreadable::from)
                }
                // Expired (or deleted) since the scan.
                Ok(None) => continue,
                Err(error) => Err(Unreadable::from(wrong_type(
                    RecordKey { tool, key },
                    &error.to_string(),
                ))),
            };
            all.push(StoredRecord {
                tool: tool.to_owned(),
                key: key.to_owned(),
                record,
            });
        }
        Ok(all)
    }

    /// The server's clock (`TIME`): one round trip.
    async fn server_time(&self) -> Result<UnixMillis, StoreError> {
        let (seconds, micros): (u64, u64) = self
            .bounded(redis::cmd("TIME").query_async(&mut self.conn()))
            .await?;
        Ok(UnixMillis(
            seconds.saturating_mul(1_000).saturating_add(micros / 1_000),
        ))
    }

    pub(super) async fn purge_now(&self, all: bool) -> Result<u64, StoreError> {
        let keys = self.keys().await?;
        let mut conn = self.conn();
        let mut removed = 0;
        if all {
            for chunk in keys.chunks(DEL_CHUNK) {
                let mut pipe = redis::pipe();
                for key in chunk {
                    pipe.cmd("DEL").arg(key);
                }
                let counts: Vec<u64> = self.bounded(pipe.query_async(&mut conn)).await?;
                removed += counts.iter().sum::<u64>();
            }
            return Ok(removed);
        }
        // Expired records only, by the server's clock (Redis expires what idem writes by itself:
        // what is left is what another client wrote without a TTL), each deleted only if
        // unchanged since it was read: a claim may have replaced it meanwhile. Records that
        // cannot be decoded are kept.
        let now = self.server_time().await?;
        let values = self.values(&keys).await?;
        let expired: Vec<(&Vec<u8>, Vec<u8>)> = keys
            .iter()
            .zip(values)
            .filter_map(|(address, value)| {
                let bytes = value.ok()??;
                let (tool, key) = parse_redis_key(&self.options.prefix, address)?;
                let name = RecordKey { tool, key }.to_string();
                let record = Record::decode(&name, &bytes).ok()?;
                record.is_expired(now).then_some((address, bytes))
            })
            .collect();
        let delete_if = &self.scripts.delete_if;
        for chunk in expired.chunks(DEL_CHUNK) {
            let mut pipe = redis::pipe();
            // The script may have been flushed from the server since connection.
            pipe.cmd("SCRIPT").arg("LOAD").arg(delete_if.code).ignore();
            for (address, bytes) in chunk {
                pipe.cmd("EVALSHA")
                    .arg(delete_if.script.get_hash())
                    .arg(1)
                    .arg(address.as_slice())
                    .arg(bytes.as_slice());
            }
            let replies: Vec<Value> = self.bounded(pipe.query_async(&mut conn)).await?;
            for reply in replies {
                if matches!(Reply::parse(reply)?, Reply::Done) {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}
