//! The store's operations on the database, each one redb transaction. They run on a thread that
//! may block (see [`blocking::run`](super::blocking::run)); the [`Store`](super::Store)
//! implementation only prepares their arguments and sends them there.

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::address::{decode_address, encode_address};
use crate::store::decide::{Change, claim_over, is_held_by};
use crate::store::{
    ClaimOutcome, Record, RecordKey, StoreError, StoredRecord, UnixMillis, Unreadable,
};

/// The one table: record address (see [`RedbStore`](super::RedbStore)) to
/// [`Record::encode`] bytes.
const TABLE: TableDefinition<'static, &'static str, &'static [u8]> =
    TableDefinition::new("idem_records");

/// A record's address, owned: what an operation takes onto the blocking thread.
pub(super) struct Address {
    /// The key of its row in [`TABLE`].
    slot: String,
    /// Its [`RecordKey`] as text, which names the record in errors.
    name: String,
}

impl Address {
    pub(super) fn of(key: RecordKey<'_>) -> Self {
        Address {
            slot: encode_address(key),
            name: key.to_string(),
        }
    }
}

/// Creates the table if the file has none yet.
pub(super) fn create_table(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(unavailable)?;
    txn.open_table(TABLE).map_err(unavailable)?;
    txn.commit().map_err(unavailable)
}

/// Writes `fresh` (a claim made at `now`) at `address` unless a live record is there, which is
/// returned instead.
pub(super) fn claim(
    db: &Database,
    address: &Address,
    now: UnixMillis,
    fresh: &Record,
) -> Result<ClaimOutcome, StoreError> {
    // A live record is the common case of a duplicate: answer it without the writer lock. The
    // write transaction below checks again.
    if let Some(record) = read(db, address)?
        && claim_over(Some(&record), now).is_err()
    {
        return Ok(ClaimOutcome::Existing(record));
    }
    // Encoded only when the claim may win: a duplicate's claim encodes nothing.
    let fresh = fresh.encode(&address.name)?;
    let txn = db.begin_write().map_err(unavailable)?;
    let outcome = {
        let mut table = txn.open_table(TABLE).map_err(unavailable)?;
        let found = decoded(&table, address)?;
        let outcome = match claim_over(found, now) {
            Ok(outcome) => outcome,
            Err(live) => return Ok(ClaimOutcome::Existing(live)),
        };
        table
            .insert(address.slot.as_str(), fresh.as_slice())
            .map_err(unavailable)?;
        outcome
    };
    txn.commit().map_err(unavailable)?;
    Ok(outcome)
}

/// In one write transaction: applies `change` to the in-progress record of `token` at
/// `address`. Returns whether that claim was there (nothing is written when it was not).
pub(super) fn change_held(
    db: &Database,
    address: &Address,
    token: &str,
    change: Change,
) -> Result<bool, StoreError> {
    let txn = db.begin_write().map_err(unavailable)?;
    {
        let mut table = txn.open_table(TABLE).map_err(unavailable)?;
        let Some(held) = decoded(&table, address)?.filter(|record| is_held_by(record, token))
        else {
            return Ok(false);
        };
        match change.apply(held, &address.name)? {
            Some(bytes) => {
                table
                    .insert(address.slot.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
            }
            None => {
                table.remove(address.slot.as_str()).map_err(unavailable)?;
            }
        }
    }
    txn.commit().map_err(unavailable)?;
    Ok(true)
}

/// The record at `address` unless it expired at `now`.
pub(super) fn get(
    db: &Database,
    address: &Address,
    now: UnixMillis,
) -> Result<Option<Record>, StoreError> {
    Ok(read(db, address)?.filter(|record| !record.is_expired(now)))
}

/// Removes the record at `address`; whether there was one.
pub(super) fn delete(db: &Database, address: &Address) -> Result<bool, StoreError> {
    let txn = db.begin_write().map_err(unavailable)?;
    let removed = txn
        .open_table(TABLE)
        .map_err(unavailable)?
        .remove(address.slot.as_str())
        .map_err(unavailable)?
        .is_some();
    if removed {
        txn.commit().map_err(unavailable)?;
    }
    Ok(removed)
}

/// Every row, decoded where it can be.
pub(super) fn list(db: &Database) -> Result<Vec<StoredRecord>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let table = txn.open_table(TABLE).map_err(unavailable)?;
    let mut all = Vec::new();
    for entry in table.iter().map_err(unavailable)? {
        let (slot, bytes) = entry.map_err(unavailable)?;
        all.push(stored(slot.value(), bytes.value()));
    }
    Ok(all)
}

/// Removes the records expired at `now` (every record when `all`); how many.
pub(super) fn purge(db: &Database, now: UnixMillis, all: bool) -> Result<u64, StoreError> {
    let txn = db.begin_write().map_err(unavailable)?;
    let removed = {
        let mut table = txn.open_table(TABLE).map_err(unavailable)?;
        let before = table.len().map_err(unavailable)?;
        // Records that cannot be decoded are kept: they are for an operator to look at.
        table
            .retain(|slot, bytes| {
                !all && !Record::decode(slot, bytes).is_ok_and(|r| r.is_expired(now))
            })
            .map_err(unavailable)?;
        before - table.len().map_err(unavailable)?
    };
    if removed > 0 {
        txn.commit().map_err(unavailable)?;
    }
    Ok(removed)
}

/// Writes `bytes` at `address`, unchecked (for the conformance suite's corrupt records).
pub(super) fn write_raw(db: &Database, address: &Address, bytes: &[u8]) -> Result<(), StoreError> {
    let txn = db.begin_write().map_err(unavailable)?;
    txn.open_table(TABLE)
        .map_err(unavailable)?
        .insert(address.slot.as_str(), bytes)
        .map_err(unavailable)?;
    txn.commit().map_err(unavailable)
}

/// The record at `address`, in a read transaction of its own.
fn read(db: &Database, address: &Address) -> Result<Option<Record>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let table = txn.open_table(TABLE).map_err(unavailable)?;
    decoded(&table, address)
}

/// The record at `address` in `table`, decoded.
fn decoded(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    address: &Address,
) -> Result<Option<Record>, StoreError> {
    table
        .get(address.slot.as_str())
        .map_err(unavailable)?
        .map(|bytes| Record::decode(&address.name, bytes.value()))
        .transpose()
}

/// A listed row: its address and record, or why they cannot be read.
fn stored(slot: &str, bytes: &[u8]) -> StoredRecord {
    match decode_address(slot) {
        Some((tool, key)) => {
            let name = RecordKey { tool, key }.to_string();
            StoredRecord {
                tool: tool.to_owned(),
                key: key.to_owned(),
                record: Record::decode(&name, bytes).map_err(Unreadable::from),
            }
        }
        None => StoredRecord {
            tool: String::new(),
            key: slot.to_owned(),
            record: Err(Unreadable::Corrupt(format!(
                "`{slot}` is not a record address (`{{n}}:{{tool}}:{{key}}`)"
            ))),
        },
    }
}

/// redb's failure, as the store's.
fn unavailable(error: impl Into<redb::Error>) -> StoreError {
    StoreError::Unavailable {
        store: "redb",
        source: Box::new(error.into()),
    }
}
