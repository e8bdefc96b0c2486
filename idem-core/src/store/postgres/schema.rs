//! The table of a [`PostgresStore`](super::PostgresStore): its name ([`PostgresTable`]), its DDL
//! ([`schema_sql`]), and the statements the store runs on it ([`Statements`]).
//!
//! Every statement is built here, once per store, from the validated table name; nothing else in
//! the store writes SQL.

use std::fmt;
use std::str::FromStr;

/// The name of the table a [`PostgresStore`](super::PostgresStore) keeps its records in:
/// `idem_records` unless told otherwise, optionally qualified by a schema (`jobs.idem_records`).
///
/// Each part is an identifier of ASCII letters, digits and underscores that does not start with
/// a digit, at most [`MAX_LEN`](PostgresTable::MAX_LEN) bytes long. The name is always written
/// double-quoted in SQL, so it is used exactly as given, case included (`Idem` and `idem` are two
/// tables). The table's index and purge function take their names from it:
/// `"{name}_expires_at"` and `"{name}_purge"`, in the same schema.
///
/// ```
/// use idem_core::store::PostgresTable;
///
/// let table: PostgresTable = "billing.idem_records".parse()?;
/// assert_eq!(table.schema(), Some("billing"));
/// assert_eq!(table.name(), "idem_records");
/// assert!("idem records".parse::<PostgresTable>().is_err());
/// # Ok::<(), idem_core::store::InvalidPostgresTable>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PostgresTable {
    schema: Option<String>,
    name: String,
}

/// A table name that [`PostgresTable`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a table name PostgresStore accepts: {reason}")]
pub struct InvalidPostgresTable {
    name: String,
    reason: &'static str,
}

impl PostgresTable {
    /// The default table: `idem_records`, in the connection's `search_path` (usually `public`).
    pub const DEFAULT: &'static str = "idem_records";

    /// The longest name (and schema name), in bytes: PostgreSQL's 63 less room for the suffixes
    /// of the index and function names derived from it.
    pub const MAX_LEN: usize = 50;

    /// Validates `name`: `table` or `schema.table`.
    ///
    /// # Errors
    /// [`InvalidPostgresTable`] when a part is empty, too long, or not an identifier of ASCII
    /// letters, digits and underscores that starts with a letter or an underscore.
    pub fn new(name: &str) -> Result<Self, InvalidPostgresTable> {
        let invalid = |reason| InvalidPostgresTable {
            name: name.to_owned(),
            reason,
        };
        let (schema, table) = match name.split_once('.') {
            Some((schema, table)) => (Some(schema), table),
            None => (None, name),
        };
        for part in schema.into_iter().chain([table]) {
            if part.is_empty() {
                return Err(invalid("a name or a schema is empty"));
            }
            if part.len() > Self::MAX_LEN {
                return Err(invalid("a part is longer than 50 bytes"));
            }
            if part.starts_with(|c: char| c.is_ascii_digit()) {
                return Err(invalid("a part starts with a digit"));
            }
            if !part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(invalid(
                    "use ASCII letters, digits and underscores, with at most one `.` after a schema",
                ));
            }
        }
        Ok(PostgresTable {
            schema: schema.map(str::to_owned),
            name: table.to_owned(),
        })
    }

    /// The schema, when the name is qualified.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The table's name, without the schema.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table's name, quoted for SQL: `"idem_records"` or `"billing"."idem_records"`.
    pub fn quoted(&self) -> String {
        self.quoted_with_suffix("")
    }

    /// The name of an object derived from the table (same schema), quoted for SQL.
    fn quoted_with_suffix(&self, suffix: &str) -> String {
        // Validation leaves no `"` to escape in either part.
        match &self.schema {
            Some(schema) => format!("\"{schema}\".\"{}{suffix}\"", self.name),
            None => format!("\"{}{suffix}\"", self.name),
        }
    }

    /// The key of the advisory lock that serialises [`ensure_schema`] calls on this table
    /// (FNV-1a of the quoted name: the same in every process and every version of idem).
    ///
    /// [`ensure_schema`]: super::PostgresStore::ensure_schema
    pub(super) fn lock_key(&self) -> i64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in b"idem PostgresStore schema "
            .iter()
            .chain(self.quoted().as_bytes())
        {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        i64::from_ne_bytes(hash.to_ne_bytes())
    }
}

impl Default for PostgresTable {
    fn default() -> Self {
        PostgresTable {
            schema: None,
            name: Self::DEFAULT.to_owned(),
        }
    }
}

impl FromStr for PostgresTable {
    type Err = InvalidPostgresTable;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        PostgresTable::new(name)
    }
}

impl fmt::Display for PostgresTable {
    /// The name as given: `idem_records` or `billing.idem_records`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}.")?;
        }
        f.write_str(&self.name)
    }
}

/// The format version of the rows this idem reads and writes (the `format` column). It follows
/// [`RECORD_FORMAT`](crate::store::RECORD_FORMAT): a row is a record of that format, by column.
pub(super) const ROW_FORMAT: i16 = 1;

/// The columns a record is read from, in the order [`super::row::decode`] reads them.
pub(super) const RECORD_COLUMNS: &str =
    "format, state, token, fingerprint, created_at, lease_until, expires_at, output::text, error";

/// A well-formed row of format 1 (alias `r`): the fields every state needs. The SQL twin of the
/// checks of [`super::row::decode`]: a row that fails them is never overwritten nor purged.
const WELL_FORMED: &str = "r.format = 1 AND r.token IS NOT NULL AND r.fingerprint IS NOT NULL \
     AND r.created_at >= 0";

/// Row `r` is a well-formed claim.
fn in_progress() -> String {
    format!("{WELL_FORMED} AND r.state = 'in_progress' AND r.lease_until >= 0")
}

/// Row `r` is a well-formed completed or failed record expired at `now` (a parameter):
/// [`Record::is_expired`](crate::store::Record::is_expired).
fn expired_at(now: &str) -> String {
    format!(
        "{WELL_FORMED} AND ((r.state = 'completed' AND r.expires_at BETWEEN 0 AND {now}) \
         OR (r.state = 'failed' AND r.error IS NOT NULL AND r.expires_at BETWEEN 0 AND {now}))"
    )
}

/// Row `r` may be claimed at `now` (a parameter): a claim whose lease has ended, or an expired
/// result.
fn claimable_at(now: &str) -> String {
    format!(
        "{WELL_FORMED} AND ((r.state = 'in_progress' AND r.lease_until BETWEEN 0 AND {now}) \
         OR (r.state = 'completed' AND r.expires_at BETWEEN 0 AND {now}) \
         OR (r.state = 'failed' AND r.error IS NOT NULL AND r.expires_at BETWEEN 0 AND {now}))"
    )
}

/// The DDL of `table`: see [`PostgresStore::schema_sql`](super::PostgresStore::schema_sql).
pub(super) fn schema_sql(table: &PostgresTable) -> String {
    let t = table.quoted();
    // An index's name takes no schema: it lives in its table's.
    let index = format!("\"{}_expires_at\"", table.name());
    let purge = table.quoted_with_suffix("_purge");
    let expired = expired_at("now_ms");
    format!(
        r#"-- idem: the table of PostgresStore (row format 1). Safe to run again.
CREATE TABLE IF NOT EXISTS {t} (
    tool           bytea    NOT NULL, -- the tool id, in UTF-8 (bytea: it may hold any character)
    key            bytea    NOT NULL, -- the idempotency key, in UTF-8
    format         smallint NOT NULL, -- how to read the row: 1
    state          text,              -- 'in_progress', 'completed' or 'failed'
    token          text,              -- the token of the claim that created the record
    fingerprint    text,              -- SHA-256 (hex) of the first call's arguments
    created_at     bigint,            -- when the key was claimed, in ms since the Unix epoch
    lease_until    bigint,            -- in_progress: when another caller may take the key over (ms)
    expires_at     bigint,            -- completed, failed: when the record expires (ms)
    output         json,              -- completed: the output as the tool returned it; NULL: a marker
    error          text,              -- failed: the error's message
    previous_token text,              -- the token of the claim this one took over, if any
    PRIMARY KEY (tool, key)
);
-- What purges look for.
CREATE INDEX IF NOT EXISTS {index} ON {t} (expires_at)
    WHERE state IN ('completed', 'failed');
-- Removes the completed and failed records expired at `now_ms` (now by default); returns how
-- many. For a scheduler such as pg_cron: SELECT {purge}();
CREATE OR REPLACE FUNCTION {purge}(
    now_ms bigint DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
) RETURNS bigint LANGUAGE sql AS $idem_purge$
    WITH purged AS (DELETE FROM {t} AS r WHERE {expired} RETURNING 1)
    SELECT count(*) FROM purged
$idem_purge$;
"#
    )
}

/// The statements of a store, for one table. Parameters are numbered in the order the store binds
/// them; tool ids and keys are bound as bytes, times as `bigint` milliseconds.
#[derive(Debug)]
pub(super) struct Statements {
    /// `$1 tool, $2 key, $3 token, $4 fingerprint, $5 now, $6 lease_until`: see
    /// [`Statements::new`]. One row: `won`, `previous_token`, then [`RECORD_COLUMNS`] of the
    /// record found (all NULL when there was none, or when the claim won).
    pub(super) claim: String,
    /// `$1 tool, $2 key, $3 token, $4 state, $5 expires_at, $6 output, $7 error`: one row
    /// updated, or none when the record is not a claim of `$3`.
    pub(super) complete: String,
    /// `$1 tool, $2 key, $3 token`: one row deleted, or none when the record is not a claim of
    /// `$3`.
    pub(super) release: String,
    /// `$1 tool, $2 key`: [`RECORD_COLUMNS`] of the record, if any.
    pub(super) get: String,
    /// `$1 tool, $2 key`: the rows deleted.
    pub(super) delete: String,
    /// `tool, key,` then [`RECORD_COLUMNS`] of every row.
    pub(super) list: String,
    /// `$1 now`: one row, the count of the expired records deleted.
    pub(super) purge_expired: String,
    /// One row, the count of the records deleted.
    pub(super) purge_all: String,
    /// One row: whether the table exists.
    pub(super) table_exists: String,
}

impl Statements {
    pub(super) fn new(table: &PostgresTable) -> Self {
        let t = table.quoted();
        let in_progress = in_progress();
        // The claim, in one statement whatever it finds:
        // - `found` reads the record as of the statement's snapshot;
        // - `won` inserts the claim, or, when a record is there and may be claimed (a lease that
        //   has ended, an expired result), replaces it (keeping the taken-over token, which
        //   RETURNING cannot see otherwise) under the row lock ON CONFLICT takes. When the
        //   snapshot shows a record that may not be claimed (a live claim, a live result: every
        //   replay), nothing is inserted at all: ON CONFLICT would lock the row, and a replay
        //   would then cost a transaction id, WAL and a flush for nothing;
        // - the outer SELECT gives `won`, or the record found when the claim did not win.
        // A claim that lost because another claim of the key committed after this statement's
        // snapshot finds no record, or a claimable one: the store runs the statement again
        // (a race only; see `PostgresStore`).
        let claim = format!(
            "WITH found AS ( \
                 SELECT {RECORD_COLUMNS} FROM {t} WHERE tool = $1 AND key = $2 \
             ), won AS ( \
                 INSERT INTO {t} AS r (tool, key, format, state, token, fingerprint, created_at, \
                     lease_until) \
                 SELECT $1::bytea, $2::bytea, {ROW_FORMAT}, 'in_progress', $3::text, $4::text, \
                     $5::bigint, $6::bigint \
                 WHERE NOT EXISTS (SELECT 1 FROM found AS r WHERE ({claimable}) IS NOT TRUE) \
                 ON CONFLICT (tool, key) DO UPDATE SET \
                     format = EXCLUDED.format, state = EXCLUDED.state, token = EXCLUDED.token, \
                     fingerprint = EXCLUDED.fingerprint, created_at = EXCLUDED.created_at, \
                     lease_until = EXCLUDED.lease_until, expires_at = NULL, output = NULL, \
                     error = NULL, \
                     previous_token = CASE WHEN r.state = 'in_progress' THEN r.token END \
                 WHERE {claimable} \
                 RETURNING r.previous_token \
             ) \
             SELECT EXISTS (SELECT 1 FROM won), (SELECT previous_token FROM won), found.* \
             FROM (SELECT 1) AS one LEFT JOIN found ON NOT EXISTS (SELECT 1 FROM won)",
            claimable = claimable_at("$5"),
        );
        let complete = format!(
            "UPDATE {t} AS r SET state = $4, lease_until = NULL, expires_at = $5, \
                 output = $6::text::json, error = $7 \
             WHERE r.tool = $1 AND r.key = $2 AND r.token = $3 AND {in_progress}"
        );
        let release = format!(
            "DELETE FROM {t} AS r \
             WHERE r.tool = $1 AND r.key = $2 AND r.token = $3 AND {in_progress}"
        );
        let purge_expired = format!(
            "WITH purged AS (DELETE FROM {t} AS r WHERE {expired} RETURNING 1) \
             SELECT count(*) FROM purged",
            expired = expired_at("$1"),
        );
        Statements {
            claim,
            complete,
            release,
            get: format!("SELECT {RECORD_COLUMNS} FROM {t} WHERE tool = $1 AND key = $2"),
            delete: format!("DELETE FROM {t} WHERE tool = $1 AND key = $2"),
            list: format!("SELECT tool, key, {RECORD_COLUMNS} FROM {t}"),
            purge_expired,
            purge_all: format!(
                "WITH purged AS (DELETE FROM {t} RETURNING 1) SELECT count(*) FROM purged"
            ),
            // The quoted name is validated: it holds no `'`.
            table_exists: format!("SELECT to_regclass('{t}') IS NOT NULL"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        for good in [
            "idem_records",
            "_x",
            "A1",
            "jobs.idem",
            "Idem_Records",
            &"x".repeat(50),
        ] {
            let table = PostgresTable::new(good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert_eq!(table.to_string(), good);
        }
        for bad in [
            "",
            ".",
            "a.",
            ".a",
            "a.b.c",
            "1abc",
            "a.1b",
            "idem records",
            "idem\"records",
            "idem'records",
            "idem-records",
            "idém",
            "a;DROP TABLE x",
            &"x".repeat(51),
        ] {
            let err = PostgresTable::new(bad).unwrap_err();
            assert!(err.to_string().contains("not a table name"), "{bad}: {err}");
        }
        assert_eq!(PostgresTable::default().quoted(), "\"idem_records\"");
        let qualified = PostgresTable::new("Billing.Idem").unwrap();
        assert_eq!(qualified.quoted(), "\"Billing\".\"Idem\"");
        assert_eq!(
            qualified.quoted_with_suffix("_purge"),
            "\"Billing\".\"Idem_purge\""
        );
        assert_ne!(
            PostgresTable::new("a").unwrap().lock_key(),
            PostgresTable::new("b").unwrap().lock_key()
        );
    }

    #[test]
    fn ddl_names_its_objects() {
        let sql = schema_sql(&PostgresTable::new("jobs.idem").unwrap());
        assert!(sql.contains("CREATE TABLE IF NOT EXISTS \"jobs\".\"idem\" ("));
        assert!(
            sql.contains("CREATE INDEX IF NOT EXISTS \"idem_expires_at\" ON \"jobs\".\"idem\"")
        );
        assert!(sql.contains("CREATE OR REPLACE FUNCTION \"jobs\".\"idem_purge\"("));
    }
}
