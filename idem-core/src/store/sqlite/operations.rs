//! The store's operations on one connection, each a statement or one transaction. Every write
//! is an `IMMEDIATE` transaction: it takes the file's write lock when it begins, before it
//! reads, so that what it read cannot change before it writes, in any process (and it never
//! meets SQLite's `SQLITE_BUSY_SNAPSHOT`, which a read transaction turned writer may).

use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::error::Place;
use super::sql;
use crate::clock::Clock;
use crate::store::decide::{Change, claim_over, is_held_by};
use crate::store::{
    ClaimOutcome, Record, RecordKey, StoreError, StoredRecord, UnixMillis, Unreadable,
};

/// A record's address, owned: what an operation takes onto the blocking thread.
pub(super) struct Address {
    tool: String,
    key: String,
}

impl Address {
    pub(super) fn of(key: RecordKey<'_>) -> Address {
        Address {
            tool: key.tool.to_owned(),
            key: key.key.to_owned(),
        }
    }

    /// `tool/key`, naming the record in errors (written out only when one is).
    fn name(&self) -> RecordKey<'_> {
        RecordKey {
            tool: &self.tool,
            key: &self.key,
        }
    }
}

/// What a claim writes: its token and fingerprint, and its lease (from the moment the store
/// applies it).
pub(super) struct NewClaim {
    pub(super) token: String,
    pub(super) fingerprint: String,
    pub(super) lease: Duration,
}

/// One connection, the file it is on, and the store's clock and limit.
pub(super) struct Session<'c> {
    pub(super) conn: &'c mut Connection,
    pub(super) place: Place<'c>,
    pub(super) clock: &'c dyn Clock,
    pub(super) max_record_bytes: usize,
}

impl Session<'_> {
    fn now(&self) -> UnixMillis {
        UnixMillis::now(self.clock)
    }

    /// Runs `body` in an `IMMEDIATE` transaction, committed when `body` returns `Ok` (rolled
    /// back otherwise).
    fn write<T>(
        &mut self,
        doing: &str,
        body: impl FnOnce(&Transaction<'_>, UnixMillis) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let place = self.place;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| place.fail(doing, e))?;
        // Read once the write lock is held: a wait for the lock does not shorten the lease.
        let now = UnixMillis::now(self.clock);
        let value = body(&tx, now)?;
        tx.commit().map_err(|e| place.fail(doing, e))?;
        Ok(value)
    }

    /// The record at `address`, or `None`; expired records included.
    pub(super) fn read(&self, address: &Address) -> Result<Option<Record>, StoreError> {
        select(self.conn, self.place, address)
    }

    /// The record at `address` unless it has expired on the store's clock.
    pub(super) fn get(&self, address: &Address) -> Result<Option<Record>, StoreError> {
        let now = self.now();
        Ok(self.read(address)?.filter(|record| !record.is_expired(now)))
    }

    /// Claims `address` for `claim`: answers a live record without the write lock, and else
    /// decides and writes in one `IMMEDIATE` transaction.
    pub(super) fn claim(
        &mut self,
        address: &Address,
        claim: NewClaim,
    ) -> Result<ClaimOutcome, StoreError> {
        // A live record is the common case of a duplicate: answer it without the write lock
        // (the transaction below checks again).
        let now = self.now();
        if let Some(record) = self.read(address)?
            && claim_over(Some(&record), now).is_err()
        {
            return Ok(ClaimOutcome::Existing(record));
        }
        let (place, limit) = (self.place, self.max_record_bytes);
        self.write("claim a key", |tx, now| {
            let outcome = match claim_over(select(tx, place, address)?, now) {
                Ok(outcome) => outcome,
                Err(live) => return Ok(ClaimOutcome::Existing(live)),
            };
            let name = address.name();
            let fresh =
                Record::in_progress(claim.token, claim.fingerprint, now, now.plus(claim.lease))
                    .encode(name)?;
            StoreError::check_size(name, fresh.len(), limit)?;
            upsert(tx, place, address, &fresh)?;
            Ok(outcome)
        })
    }

    /// Applies the change `change(now)` to the claim of `token` at `address`, in progress.
    /// Returns whether that claim was there (nothing is written when it was not).
    pub(super) fn change_held(
        &mut self,
        address: &Address,
        token: &str,
        change: impl FnOnce(UnixMillis) -> Change,
    ) -> Result<bool, StoreError> {
        let (place, limit) = (self.place, self.max_record_bytes);
        self.write("change a claim", |tx, now| {
            let Some(held) = select(tx, place, address)?.filter(|r| is_held_by(r, token)) else {
                return Ok(false);
            };
            let name = address.name();
            match change(now).apply(held, name)? {
                Some(bytes) => {
                    StoreError::check_size(name, bytes.len(), limit)?;
                    upsert(tx, place, address, &bytes)?;
                }
                None => {
                    delete(tx, place, address)?;
                }
            }
            Ok(true)
        })
    }

    /// Removes the record at `address`, whatever it holds. Returns whether there was one.
    pub(super) fn delete(&mut self, address: &Address) -> Result<bool, StoreError> {
        let place = self.place;
        self.write("delete a record", |tx, _| delete(tx, place, address))
    }

    /// Writes `bytes` at `address`, unchecked.
    pub(super) fn write_raw(&mut self, address: &Address, bytes: &[u8]) -> Result<(), StoreError> {
        let place = self.place;
        self.write("write a record", |tx, _| upsert(tx, place, address, bytes))
    }

    /// Every record, with its address; those that cannot be read say why.
    pub(super) fn list(&self) -> Result<Vec<StoredRecord>, StoreError> {
        let place = self.place;
        let fail = |e| place.fail("list the records", e);
        let mut stmt = self.conn.prepare_cached(sql::SELECT_ALL).map_err(fail)?;
        let mut rows = stmt.query([]).map_err(fail)?;
        let mut all = Vec::new();
        while let Some(row) = rows.next().map_err(fail)? {
            let (tool, key) = (row.get_ref(0).map_err(fail)?, row.get_ref(1).map_err(fail)?);
            let record = row.get_ref(2).map_err(fail)?;
            all.push(stored(tool, key, record));
        }
        Ok(all)
    }

    /// Removes the records that have expired on the store's clock (with `all`, every record);
    /// records that cannot be decoded stay. Returns how many were removed.
    pub(super) fn purge(&mut self, all: bool) -> Result<u64, StoreError> {
        let place = self.place;
        self.write("purge", |tx, now| {
            let fail = |e| place.fail("purge", e);
            if all {
                return tx
                    .execute(sql::DELETE_ALL, [])
                    .map(|n| n as u64)
                    .map_err(fail);
            }
            let mut expired: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            {
                let mut stmt = tx.prepare_cached(sql::SELECT_ALL).map_err(fail)?;
                let mut rows = stmt.query([]).map_err(fail)?;
                while let Some(row) = rows.next().map_err(fail)? {
                    let (tool, key) =
                        (row.get_ref(0).map_err(fail)?, row.get_ref(1).map_err(fail)?);
                    let bytes = bytes_of(row.get_ref(2).map_err(fail)?);
                    let gone = bytes.is_some_and(|bytes| {
                        Record::decode("", bytes).is_ok_and(|record| record.is_expired(now))
                    });
                    if let (true, Some(tool), Some(key)) = (gone, bytes_of(tool), bytes_of(key)) {
                        expired.push((tool.to_vec(), key.to_vec()));
                    }
                }
            }
            let mut stmt = tx.prepare_cached(sql::DELETE_RECORD).map_err(fail)?;
            let mut removed = 0;
            for (tool, key) in &expired {
                removed += stmt.execute(params![tool, key]).map_err(fail)? as u64;
            }
            Ok(removed)
        })
    }
}

/// The record at `address` on `conn` (a connection or a transaction).
fn select(
    conn: &Connection,
    place: Place<'_>,
    address: &Address,
) -> Result<Option<Record>, StoreError> {
    let fail = |e| place.fail("read a record", e);
    let mut stmt = conn.prepare_cached(sql::SELECT_RECORD).map_err(fail)?;
    let name = address.name();
    stmt.query_row(
        params![address.tool.as_bytes(), address.key.as_bytes()],
        |row| {
            Ok(match bytes_of(row.get_ref(0)?) {
                Some(bytes) => Record::decode(name, bytes),
                None => Err(StoreError::Corrupt {
                    key: name.to_string(),
                    reason: "the stored value is not bytes".to_owned(),
                }),
            })
        },
    )
    .optional()
    .map_err(fail)?
    .transpose()
}

fn upsert(
    tx: &Transaction<'_>,
    place: Place<'_>,
    address: &Address,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let fail = |e| place.fail("write a record", e);
    let mut stmt = tx.prepare_cached(sql::UPSERT_RECORD).map_err(fail)?;
    stmt.execute(params![
        address.tool.as_bytes(),
        address.key.as_bytes(),
        bytes
    ])
    .map_err(fail)?;
    Ok(())
}

fn delete(tx: &Transaction<'_>, place: Place<'_>, address: &Address) -> Result<bool, StoreError> {
    let fail = |e| place.fail("delete a record", e);
    let mut stmt = tx.prepare_cached(sql::DELETE_RECORD).map_err(fail)?;
    let removed = stmt
        .execute(params![address.tool.as_bytes(), address.key.as_bytes()])
        .map_err(fail)?;
    Ok(removed > 0)
}

/// The bytes of a `BLOB` (or `TEXT`) value; `None` for another type.
fn bytes_of(value: ValueRef<'_>) -> Option<&[u8]> {
    match value {
        ValueRef::Blob(bytes) | ValueRef::Text(bytes) => Some(bytes),
        _ => None,
    }
}

/// A listed row: its address and record, or why they cannot be read.
fn stored(tool: ValueRef<'_>, key: ValueRef<'_>, record: ValueRef<'_>) -> StoredRecord {
    let text = |value: ValueRef<'_>| {
        bytes_of(value).and_then(|bytes| std::str::from_utf8(bytes).ok().map(str::to_owned))
    };
    let (Some(tool_id), Some(key_id)) = (text(tool), text(key)) else {
        let lossy = |value: ValueRef<'_>| {
            bytes_of(value).map_or_else(
                || format!("{value:?}"),
                |bytes| String::from_utf8_lossy(bytes).into_owned(),
            )
        };
        return StoredRecord {
            tool: lossy(tool),
            key: lossy(key),
            record: Err(Unreadable::Corrupt(
                "the address is not a UTF-8 tool id and key".to_owned(),
            )),
        };
    };
    let name = RecordKey {
        tool: &tool_id,
        key: &key_id,
    };
    let record = match bytes_of(record) {
        Some(bytes) => Record::decode(name, bytes).map_err(Unreadable::from),
        None => Err(Unreadable::Corrupt(
            "the stored value is not bytes".to_owned(),
        )),
    };
    StoredRecord {
        tool: tool_id,
        key: key_id,
        record,
    }
}
