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
/// use idem::store::PostgresTable;
///
/// let table: PostgresTable = "billing.idem_records".parse()?;
/// assert_eq!(table.schema(), Some("billing"));
/// assert_eq!(table.name(), "idem_records");
/// assert!("idem records".parse::<PostgresTable>().is_err());
/// # Ok::<(), idem::store::InvalidPostgresTable>(())
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

/// The newest format version of the rows this idem reads and writes (the `format` column). It
/// follows [`RECORD_FORMAT`](crate::store::RECORD_FORMAT): a row is a record of that format, by
/// column, and is written in the oldest version that can express it, as records are: version 1
/// ([`ROW_FORMAT_V1`]) for in-progress, completed and failed rows, version 2 only for a row whose
/// outcome is unknown. An idem that reads format 1 only (any idem before unknown outcomes) then
/// says that such a row comes from a newer idem (`UnsupportedFormat`), and its statements, which
/// require `format = 1`, never overwrite, complete or purge it.
pub(super) const ROW_FORMAT: i16 = 2;

/// The format of every row but an unknown outcome's.
pub(super) const ROW_FORMAT_V1: i16 = 1;

/// The columns a record is read from, in the order [`super::row::decode`] reads them.
pub(super) const RECORD_COLUMNS: &str =
    "format, state, token, fingerprint, created_at, lease_until, expires_at, output::text, error";

/// The time on the server's clock, in ms since the Unix epoch: what decides every lease and every
/// expiry. `clock_timestamp()`, not `now()`: the time when the statement reads it, not when its
/// transaction began (the same in autocommit, but not under a caller's transaction or after a
/// wait for a row lock). Each statement reads it once, in a sub-query named `clock`, so that all
/// its comparisons and the times it writes agree.
const SERVER_NOW: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// `now + duration` (both `bigint` ms, the duration non-negative), clamped to the largest
/// `bigint` instead of overflowing (a TTL of `Duration::MAX` means "never").
fn plus(now: &str, duration: &str) -> String {
    format!("({now} + least({duration}, 9223372036854775807 - {now}))")
}

/// A well-formed row of a format this idem reads (alias `r`): the fields every state needs. The
/// SQL twin of the checks of [`super::row::decode`]: a row that fails them is never overwritten
/// nor purged.
const WELL_FORMED: &str = "r.format IN (1, 2) AND r.token IS NOT NULL \
     AND r.fingerprint IS NOT NULL AND r.created_at >= 0";

/// Row `r` is a well-formed claim.
fn in_progress() -> String {
    format!("{WELL_FORMED} AND r.state = 'in_progress' AND r.lease_until >= 0")
}

/// Row `r` is a well-formed finished record (completed, failed, or of unknown outcome, whose
/// reason is in `error`) whose expiry is at or before `now` (an expression).
fn finished_by(now: &str) -> String {
    format!(
        "(r.state = 'completed' AND r.expires_at BETWEEN 0 AND {now}) \
         OR (r.state = 'failed' AND r.error IS NOT NULL AND r.expires_at BETWEEN 0 AND {now}) \
         OR (r.state = 'unknown' AND r.format >= 2 AND r.error IS NOT NULL \
             AND r.expires_at BETWEEN 0 AND {now})"
    )
}

/// Row `r` is a well-formed finished record expired at `now` (an expression):
/// [`Record::is_expired`](crate::store::Record::is_expired).
fn expired_at(now: &str) -> String {
    format!("{WELL_FORMED} AND ({})", finished_by(now))
}

/// Row `r` may be claimed at `now` (an expression): a claim whose lease has ended, or an expired
/// result.
fn claimable_at(now: &str) -> String {
    format!(
        "{WELL_FORMED} AND ((r.state = 'in_progress' AND r.lease_until BETWEEN 0 AND {now}) \
         OR {})",
        finished_by(now)
    )
}

/// A line in the body of the purge function of this version: a purge function without it was
/// created by an earlier idem, and purges no row of unknown outcome.
pub(super) const PURGE_VERSION: &str = "idem purge: row formats 1 and 2";

/// The DDL of `table`: see [`PostgresStore::schema_sql`](super::PostgresStore::schema_sql).
pub(super) fn schema_sql(table: &PostgresTable) -> String {
    let t = table.quoted();
    // An index's name takes no schema: it lives in its table's.
    let index = format!("\"{}_expires_at\"", table.name());
    let unknown_index = format!("\"{}_unknown_expires_at\"", table.name());
    let purge = purge_function_sql(table);
    format!(
        r#"-- idem: the table of PostgresStore (row formats 1 and 2). Safe to run again: on a table
-- of an earlier idem, it adds the index of unknown outcomes and replaces the purge function.
CREATE TABLE IF NOT EXISTS {t} (
    tool           bytea    NOT NULL, -- the tool id, in UTF-8 (bytea: it may hold any character)
    key            bytea    NOT NULL, -- the idempotency key, in UTF-8
    format         smallint NOT NULL, -- how to read the row: 1, or 2 for an unknown outcome
    state          text,              -- 'in_progress', 'completed', 'failed' or 'unknown'
    token          text,              -- the token of the claim that created the record
    fingerprint    text,              -- SHA-256 (hex) of the first call's arguments
    created_at     bigint,            -- when the key was claimed, in ms since the Unix epoch
    lease_until    bigint,            -- in_progress: when another caller may take the key over (ms)
    expires_at     bigint,            -- completed, failed, unknown: when the record expires (ms)
    output         json,              -- completed: the output as the tool returned it; NULL: a marker
    error          text,              -- failed: the error's message; unknown: why it is unknown
    previous_token text,              -- the token of the claim this one took over, if any
    PRIMARY KEY (tool, key)
);
-- What purges look for.
CREATE INDEX IF NOT EXISTS {index} ON {t} (expires_at)
    WHERE state IN ('completed', 'failed');
CREATE INDEX IF NOT EXISTS {unknown_index} ON {t} (expires_at)
    WHERE state = 'unknown';
{purge}"#
    )
}

/// The DDL of `table`'s purge function: the end of [`schema_sql`], and what
/// [`ensure_schema`](super::PostgresStore::ensure_schema) runs alone to replace the function of
/// an earlier idem.
pub(super) fn purge_function_sql(table: &PostgresTable) -> String {
    let t = table.quoted();
    let purge = table.quoted_with_suffix("_purge");
    let expired = expired_at("now_ms");
    format!(
        r#"-- Removes the finished records (completed, failed, unknown) expired at `now_ms` (now on the
-- server's clock by default); returns how many. For a scheduler such as pg_cron:
-- SELECT {purge}();
CREATE OR REPLACE FUNCTION {purge}(
    now_ms bigint DEFAULT {SERVER_NOW}
) RETURNS bigint LANGUAGE sql AS $idem_purge$
    -- {PURGE_VERSION}
    WITH purged AS (DELETE FROM {t} AS r WHERE {expired} RETURNING 1)
    SELECT count(*) FROM purged
$idem_purge$;
"#
    )
}

/// The statements of a store, for one table. Parameters are numbered in the order the store binds
/// them; tool ids and keys are bound as bytes, durations as `bigint` milliseconds. No statement
/// takes a time: each reads the server's clock ([`SERVER_NOW`]).
#[derive(Debug)]
pub(super) struct Statements {
    /// `$1 tool, $2 key, $3 token, $4 fingerprint, $5 lease (ms)`: see [`Statements::new`]. One
    /// row: `won`, `previous_token`, the server's time (ms), then [`RECORD_COLUMNS`] of the
    /// record found (all NULL when there was none, or when the claim won).
    pub(super) claim: String,
    /// `$1 tool, $2 key, $3 token, $4 lease (ms)`: one row updated, or none when the record is
    /// not a claim of `$3`.
    pub(super) renew: String,
    /// `$1 tool, $2 key, $3 token, $4 format, $5 state, $6 ttl (ms), $7 output, $8 error`: one
    /// row updated, or none when the record is not a claim of `$3`.
    pub(super) complete: String,
    /// `$1 tool, $2 key, $3 token`: one row deleted, or none when the record is not a claim of
    /// `$3`.
    pub(super) release: String,
    /// `$1 tool, $2 key`: [`RECORD_COLUMNS`] of the record, unless it has expired on the
    /// server's clock.
    pub(super) get: String,
    /// `$1 tool, $2 key`: the rows deleted.
    pub(super) delete: String,
    /// `tool, key,` then [`RECORD_COLUMNS`] of every row.
    pub(super) list: String,
    /// One row, the count of the records expired on the server's clock that were deleted.
    pub(super) purge_expired: String,
    /// One row, the count of the records deleted.
    pub(super) purge_all: String,
    /// One row: whether the table exists.
    pub(super) table_exists: String,
    /// One row: whether the table exists, and whether its purge function is one of an earlier
    /// idem that the connected role may replace (it owns the function and the table).
    pub(super) schema_state: String,
}

impl Statements {
    pub(super) fn new(table: &PostgresTable) -> Self {
        let t = table.quoted();
        let in_progress = in_progress();
        let clock = format!("(SELECT {SERVER_NOW} AS now) AS clock");
        // The claim, in one statement whatever it finds:
        // - `clock` reads the server's time, once;
        // - `found` reads the record as of the statement's snapshot;
        // - `won` inserts the claim, or, when a record is there and may be claimed (a lease that
        //   has ended, an expired result), replaces it (keeping the taken-over token, which
        //   RETURNING cannot see otherwise) under the row lock ON CONFLICT takes. When the
        //   snapshot shows a record that may not be claimed (a live claim, a live result: every
        //   replay), nothing is inserted at all: ON CONFLICT would lock the row, and a replay
        //   would then cost a transaction id, WAL and a flush for nothing. The row it would
        //   insert carries the server's time as `created_at`, which is how ON CONFLICT's WHERE
        //   (which sees the target row and EXCLUDED only) reads the same time as the rest;
        // - the outer SELECT gives `won`, the server's time, and the record found when the claim
        //   did not win.
        // A claim that lost because another claim of the key committed after this statement's
        // snapshot finds no record, or a claimable one: the store runs the statement again
        // (a race only; see `PostgresStore`).
        let claim = format!(
            "WITH clock AS ( \
                 SELECT {SERVER_NOW} AS now \
             ), found AS ( \
                 SELECT {RECORD_COLUMNS} FROM {t} WHERE tool = $1 AND key = $2 \
             ), won AS ( \
                 INSERT INTO {t} AS r (tool, key, format, state, token, fingerprint, created_at, \
                     lease_until) \
                 SELECT $1::bytea, $2::bytea, {ROW_FORMAT_V1}, 'in_progress', $3::text, \
                     $4::text, clock.now, {lease_until} \
                 FROM clock \
                 WHERE NOT EXISTS ( \
                     SELECT 1 FROM found AS r, clock WHERE ({claimable_found}) IS NOT TRUE \
                 ) \
                 ON CONFLICT (tool, key) DO UPDATE SET \
                     format = EXCLUDED.format, state = EXCLUDED.state, token = EXCLUDED.token, \
                     fingerprint = EXCLUDED.fingerprint, created_at = EXCLUDED.created_at, \
                     lease_until = EXCLUDED.lease_until, expires_at = NULL, output = NULL, \
                     error = NULL, \
                     previous_token = CASE WHEN r.state = 'in_progress' THEN r.token END \
                 WHERE {claimable_row} \
                 RETURNING r.previous_token \
             ) \
             SELECT EXISTS (SELECT 1 FROM won), (SELECT previous_token FROM won), \
                 (SELECT now FROM clock), found.* \
             FROM (SELECT 1) AS one LEFT JOIN found ON NOT EXISTS (SELECT 1 FROM won)",
            lease_until = plus("clock.now", "$5::bigint"),
            claimable_found = claimable_at("clock.now"),
            claimable_row = claimable_at("EXCLUDED.created_at"),
        );
        let renew = format!(
            "UPDATE {t} AS r SET lease_until = {lease_until} \
             FROM {clock} \
             WHERE r.tool = $1 AND r.key = $2 AND r.token = $3 AND {in_progress}",
            lease_until = plus("clock.now", "$4::bigint"),
        );
        let complete = format!(
            "UPDATE {t} AS r SET format = $4, state = $5, lease_until = NULL, \
                 expires_at = {expires_at}, output = $7::text::json, error = $8 \
             FROM {clock} \
             WHERE r.tool = $1 AND r.key = $2 AND r.token = $3 AND {in_progress}",
            expires_at = plus("clock.now", "$6::bigint"),
        );
        let release = format!(
            "DELETE FROM {t} AS r \
             WHERE r.tool = $1 AND r.key = $2 AND r.token = $3 AND {in_progress}"
        );
        let get = format!(
            "SELECT {RECORD_COLUMNS} FROM {t} AS r, {clock} \
             WHERE r.tool = $1 AND r.key = $2 AND ({expired}) IS NOT TRUE",
            expired = expired_at("clock.now"),
        );
        // The time as a scalar sub-query of a CTE (an InitPlan, run once), not a joined
        // sub-query: the planner then compares `expires_at` with a value it can look up in the
        // partial indexes, where a join with a volatile sub-query makes it scan the table.
        let purge_expired = format!(
            "WITH clock AS (SELECT {SERVER_NOW} AS now), \
             purged AS (DELETE FROM {t} AS r WHERE {expired} RETURNING 1) \
             SELECT count(*) FROM purged",
            expired = expired_at("(SELECT now FROM clock)"),
        );
        // The quoted names are validated: they hold no `'`.
        let purge = table.quoted_with_suffix("_purge");
        let schema_state = format!(
            "SELECT to_regclass('{t}') IS NOT NULL, coalesce(( \
                 SELECT position('{PURGE_VERSION}' IN p.prosrc) = 0 \
                     AND pg_has_role(p.proowner, 'USAGE') AND pg_has_role(c.relowner, 'USAGE') \
                 FROM pg_proc AS p, pg_class AS c \
                 WHERE p.oid = to_regprocedure('{purge}(bigint)') AND c.oid = to_regclass('{t}') \
             ), false)"
        );
        Statements {
            claim,
            renew,
            complete,
            release,
            get,
            delete: format!("DELETE FROM {t} WHERE tool = $1 AND key = $2"),
            list: format!("SELECT tool, key, {RECORD_COLUMNS} FROM {t}"),
            purge_expired,
            purge_all: format!(
                "WITH purged AS (DELETE FROM {t} RETURNING 1) SELECT count(*) FROM purged"
            ),
            table_exists: format!("SELECT to_regclass('{t}') IS NOT NULL"),
            schema_state,
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
        assert!(sql.contains(
            "CREATE INDEX IF NOT EXISTS \"idem_unknown_expires_at\" ON \"jobs\".\"idem\" \
             (expires_at)\n    WHERE state = 'unknown';"
        ));
        // How `ensure_schema` tells the purge function of this idem from an earlier one's.
        assert!(sql.contains(&format!("    -- {PURGE_VERSION}\n")));
        assert!(sql.ends_with(&purge_function_sql(
            &PostgresTable::new("jobs.idem").unwrap()
        )));
    }
}
