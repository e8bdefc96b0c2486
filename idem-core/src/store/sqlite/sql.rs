//! The store's table and every statement it runs.
//!
//! One table, `idem_records`: the tool id and the key (their UTF-8 bytes, as `BLOB`s: a tool id
//! may hold any character, NUL included) are the primary key, and `record` holds the record's
//! bytes in the versioned format of [`Record::encode`](crate::store::Record::encode), as
//! `RedbStore` and `RedisStore` keep them. `WITHOUT ROWID`: the table is its primary key's
//! B-tree, one lookup per read.

/// The table's DDL, run when the store opens its file (it creates nothing that is there).
pub(super) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS idem_records (\
     tool BLOB NOT NULL, \
     key BLOB NOT NULL, \
     record BLOB NOT NULL, \
     PRIMARY KEY (tool, key)\
     ) WITHOUT ROWID";

/// The record of `(?1, ?2)`.
pub(super) const SELECT_RECORD: &str =
    "SELECT record FROM idem_records WHERE tool = ?1 AND key = ?2";

/// Writes `?3` as the record of `(?1, ?2)`, whatever is there.
pub(super) const UPSERT_RECORD: &str = "INSERT INTO idem_records (tool, key, record) \
     VALUES (?1, ?2, ?3) \
     ON CONFLICT (tool, key) DO UPDATE SET record = excluded.record";

/// Removes the record of `(?1, ?2)`.
pub(super) const DELETE_RECORD: &str = "DELETE FROM idem_records WHERE tool = ?1 AND key = ?2";

/// Every record, with its address.
pub(super) const SELECT_ALL: &str = "SELECT tool, key, record FROM idem_records";

/// Removes every record.
pub(super) const DELETE_ALL: &str = "DELETE FROM idem_records";
