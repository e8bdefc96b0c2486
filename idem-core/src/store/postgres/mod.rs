//! [`PostgresStore`]: records in a PostgreSQL table, for fleets of workers sharing a database.
//!
//! - `schema.rs`: the table's name ([`PostgresTable`]), its DDL, and every statement the store
//!   runs.
//! - `row.rs`: rows to records.
//! - `options.rs`: [`PostgresOptions`] and the connection pool.
//! - `statements.rs`: running one statement within the store's bounds (pool, deadlines).
//! - `operations.rs`: each operation of [`Store`], one statement each.
//! - `failure.rs`: why a statement gave no result, and the checks on what a row can hold.
//! - `error.rs`: PostgreSQL's failures, their cause in the message.

mod error;
mod failure;
mod operations;
mod options;
mod row;
mod schema;
mod statements;

pub use options::PostgresOptions;
pub use schema::{InvalidPostgresTable, PostgresTable};

use std::fmt;
use std::time::Duration;

use deadpool_postgres::Pool;

use super::{
    BoxFuture, Claim, ClaimOutcome, Completion, Record, RecordKey, Store, StoreError, StoredRecord,
};
use failure::settle;
use schema::Statements;

/// A store in a PostgreSQL table, shared by every process that connects to the database: a
/// fleet of workers gets one answer per key, whichever worker asks.
///
/// Built on [`tokio-postgres`](https://docs.rs/tokio-postgres) with a
/// [`deadpool-postgres`](https://docs.rs/deadpool-postgres) pool of connections.
///
/// ```no_run
/// use std::time::Duration;
/// use idem::store::{PostgresOptions, PostgresStore, PostgresTable};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// // The table `idem_records`, created if missing, with the default timeouts.
/// let store = PostgresStore::connect("postgres://idem@db.internal:5432/app").await?;
///
/// // Another table, created by a migration (see `schema_sql`), with shorter timeouts.
/// let options = PostgresOptions::new()
///     .with_table(PostgresTable::new("billing.idem_records")?)
///     .with_create_schema(false)
///     .with_statement_timeout(Duration::from_secs(2));
/// let billing = PostgresStore::connect_with("postgres://idem@db.internal/app", options).await?;
/// # Ok(())
/// # }
/// ```
///
/// ## Connecting
///
/// - [`connect`](PostgresStore::connect) and [`connect_with`](PostgresStore::connect_with) take
///   a URL (`postgres://user:password@host:port/database?...`) or a `key=value` string, as
///   `tokio-postgres` reads them, build a pool, and check the table: they create it
///   ([`ensure_schema`](PostgresStore::ensure_schema)) unless
///   [`with_create_schema(false)`](PostgresOptions::with_create_schema), in which case they fail when it
///   does not exist.
/// - [`connect_tls`](PostgresStore::connect_tls) (feature `postgres-tls`) does the same over
///   TLS, with a `native_tls::TlsConnector` (add `sslmode=require` to the URL to refuse a
///   server that does not offer TLS).
/// - [`from_pool`](PostgresStore::from_pool) uses a pool of your own, as it is: it neither
///   connects nor creates anything.
///
/// The store uses prepared statements (`prepare_cached`, one per statement and connection). With
/// PgBouncer, use session pooling, or transaction pooling with PgBouncer 1.21 or later and
/// `max_prepared_statements` set.
///
/// ## The table
///
/// One row per (tool, key); the DDL is [`schema_sql`](PostgresStore::schema_sql), which the
/// command `idem store --postgres URL schema` prints for a migration:
///
/// | column | type | holds |
/// |---|---|---|
/// | `tool`, `key` | `bytea`, the primary key | the tool id and the key, in UTF-8 |
/// | `format` | `smallint` | the row format: 1, or 2 for an unknown outcome |
/// | `state` | `text` | `in_progress`, `completed`, `failed` or `unknown` |
/// | `token`, `fingerprint` | `text` | the claim's token, the arguments' SHA-256 |
/// | `created_at`, `lease_until`, `expires_at` | `bigint` | times, in ms since the Unix epoch |
/// | `output` | `json` | a completed call's output, byte for byte; `NULL` for a marker |
/// | `error` | `text` | a failed call's error; why an `unknown` outcome is unknown |
/// | `previous_token` | `text` | the token of the claim this one took over, if any |
///
/// plus partial indexes on `expires_at` for purges, and a function `{table}_purge(now_ms)` that
/// removes the expired records, for a scheduler such as pg_cron (the store's own
/// [`purge`](Store::purge) runs the same `DELETE`). Tool ids and keys are `bytea` because a tool
/// id may hold any character, NUL included, which `text` cannot; `json` keeps the output exactly
/// as the tool serialized it (number forms, key order, escapes, a bare `null`), which `jsonb`
/// would not. Times past `i64::MAX` ms (a TTL of `Duration::MAX`) are stored as `i64::MAX`.
///
/// A row is written in the oldest format that can express it, as [`Record`]s are: format 1,
/// except an unknown outcome ([`Completion::Unknown`]), which is format 2, its reason in
/// `error`. A row of a format above 2 is [`StoreError::UnsupportedFormat`]; a row whose state is
/// not one of its format's, or that lacks what its state needs (a `token`, a `lease_until`, ...),
/// or holds a negative time, is [`StoreError::Corrupt`]. The statements test the same conditions
/// in SQL, so that no claim overwrites such a row, no completion or release touches it, and no
/// purge removes it: [`delete`](Store::delete) it by hand.
///
/// ### A table of an earlier idem
///
/// The columns have not changed, and `state` has no `CHECK`: an earlier idem's table holds
/// unknown outcomes as it is. What is new is around it:
///
/// - an earlier idem reads format 1 only: it reports a format-2 row as
///   [`StoreError::UnsupportedFormat`] (a record of a newer idem) and its statements, which
///   require format 1, never overwrite nor purge it. The key stays taken for its TTL, as the
///   unknown outcome asks, and this idem's claims and purges remove it once it has expired;
/// - [`ensure_schema`](PostgresStore::ensure_schema) (what connecting runs) replaces the purge
///   function of an earlier idem, which purges no unknown outcome, when the connected role owns
///   it and the table. It does not build the partial index of unknown outcomes on a live table
///   (the build would block its writes): until it is built, a purge scans the table. Build it
///   without blocking with `CREATE INDEX CONCURRENTLY IF NOT EXISTS "{table}_unknown_expires_at"
///   ON {table} (expires_at) WHERE state = 'unknown'`, or run [`schema_sql`] as a migration
///   (it creates what is missing).
///
/// [`schema_sql`]: PostgresStore::schema_sql
///
/// ## Time: the server's clock
///
/// Every statement reads the time on the server (`clock_timestamp()`), once, and decides with it
/// alone whether a lease has ended or a result has expired; a lease or a TTL is sent as a
/// duration and added to that time. [`Claim::now`] is never read: workers whose clocks disagree
/// by minutes see the same leases. `created_at` is the server's time of the claim.
///
/// ## Round trips
///
/// Every operation is one statement, in autocommit, and so one round trip once the connection has
/// prepared it: a new call costs two ([`claim`](Store::claim), then
/// [`complete`](Store::complete)), a replay one (the claim finds the record), a
/// [`renew`](Store::renew) one.
///
/// The claim is a single statement whatever it finds: an `INSERT ... ON CONFLICT DO UPDATE ...
/// WHERE <the record may be claimed>` in a CTE, which inserts a claim on a free key and replaces
/// a claim whose lease has ended or an expired result under the row lock it takes, keeping the
/// replaced claim's token in `previous_token` (what [`ClaimOutcome::TookOver`] reports); a second
/// CTE reads the record as of the statement's snapshot, which the statement returns when the
/// claim did not win ([`ClaimOutcome::Existing`]). Only when another claim of the same key
/// commits between that snapshot and the insert (a race) does the statement find nothing to
/// return: the store then runs it again, and sees the winner.
///
/// A completion or a renewal that does not apply (the claim was lost) and a release that removes
/// nothing read the record once more, to tell a lost claim from a record that cannot be read.
///
/// ## Bounded failure
///
/// No operation waits for ever on a server that is down or a network that drops packets:
///
/// - getting a connection waits at most [`wait_timeout`](PostgresOptions::with_wait_timeout) for a
///   free one and [`connect_timeout`](PostgresOptions::with_connect_timeout) to open one (TCP, TLS and
///   authentication);
/// - the server cancels a statement after
///   [`statement_timeout`](PostgresOptions::with_statement_timeout) (set on the connections the
///   store opens), and the store stops waiting for the answer after that time plus up to one
///   second; it then drops the connection, which may be stuck, and the next operation opens a
///   new one.
///
/// Every such failure is [`StoreError::Unavailable`] with `store: "postgres"`, and so is any
/// other error of the server or the connection, except a value PostgreSQL refuses (an SQLSTATE
/// of class 22), which is [`StoreError::Corrupt`]. The message says what failed in the server's
/// words, its SQLSTATE code included: `cannot connect to PostgreSQL: FATAL 28000: role "x" does
/// not exist`, `... FATAL 3D000: database "x" does not exist`.
///
/// ## Limits
///
/// - An output or an error message above
///   [`max_record_bytes`](PostgresOptions::with_max_record_bytes)
///   (64 MiB by default) is [`StoreError::TooLarge`], before anything is sent; so is a claim
///   whose token and fingerprint together are.
/// - A claim of a tool id and key above [`MAX_ADDRESS_LEN`](PostgresStore::MAX_ADDRESS_LEN)
///   bytes together is [`StoreError::TooLarge`]: the primary key's index holds at most about
///   2.7 kB per entry.
/// - `text` cannot hold NUL: a token, fingerprint or error message with a NUL character is
///   [`StoreError::Corrupt`] (tool ids, keys and outputs may hold it).
pub struct PostgresStore {
    pool: Pool,
    /// The options it was built with: table, limits, timeouts.
    options: PostgresOptions,
    sql: Statements,
    /// How long an operation waits for a connection: a free one, or a new one.
    connection_timeout: Duration,
    /// How long an operation waits for the answer to its statement.
    answer_timeout: Duration,
}

/// How many times a claim runs its statement when races keep changing the key under it.
const CLAIM_ATTEMPTS: usize = 8;

impl PostgresStore {
    /// The largest tool id and key, in bytes together, that a claim accepts.
    pub const MAX_ADDRESS_LEN: usize = 2048;

    /// Connects to the database at `url` with the default [`PostgresOptions`], and creates the
    /// table `idem_records` if it does not exist.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL cannot be read, the server cannot be reached or
    /// refuses the connection, or the table cannot be created.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::new()).await
    }

    /// Connects to the database at `url` with `options`; creates the table if it does not exist,
    /// unless [`PostgresOptions::with_create_schema`] is off (then a missing table is an error).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL cannot be read, the server cannot be reached or
    /// refuses the connection, or the table cannot be created (or, when the store must not create
    /// it, does not exist).
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let pool = options.pool(url, tokio_postgres::NoTls)?;
        Self::open(pool, options).await
    }

    /// As [`connect_with`](PostgresStore::connect_with), over TLS: `tls` checks the server's
    /// certificate (build it with `native_tls::TlsConnector::builder()` to add a root
    /// certificate or a client identity). Whether TLS is required is the URL's `sslmode`:
    /// `prefer` (the default) falls back to a plain connection when the server offers no TLS,
    /// `require` refuses to.
    ///
    /// ```no_run
    /// use idem::store::{PostgresOptions, PostgresStore};
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = native_tls::TlsConnector::new()?;
    /// let url = "postgres://idem@db.example.com/app?sslmode=require";
    /// let store = PostgresStore::connect_tls(url, PostgresOptions::new(), tls).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`connect_with`](PostgresStore::connect_with); a failed TLS handshake is
    /// [`StoreError::Unavailable`] too.
    #[cfg(feature = "postgres-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres-tls")))]
    pub async fn connect_tls(
        url: &str,
        options: PostgresOptions,
        tls: native_tls::TlsConnector,
    ) -> Result<Self, StoreError> {
        let pool = options.pool(url, postgres_native_tls::MakeTlsConnector::new(tls))?;
        Self::open(pool, options).await
    }

    /// A store on a pool of your own, with the table and limits of `options`. Nothing is sent:
    /// call [`ensure_schema`](PostgresStore::ensure_schema) to create the table.
    ///
    /// The pool's settings are its own: the store only sets the statement timeout of the
    /// connections it opens itself. It still gives up on getting a connection after
    /// [`wait_timeout`](PostgresOptions::with_wait_timeout) plus
    /// [`connect_timeout`](PostgresOptions::with_connect_timeout), and on an answer after
    /// [`statement_timeout`](PostgresOptions::with_statement_timeout) plus up to one second.
    pub fn from_pool(pool: Pool, options: PostgresOptions) -> Self {
        let statement_timeout = options.statement_timeout();
        PostgresStore {
            sql: Statements::new(options.table()),
            connection_timeout: options.wait_timeout() + options.connect_timeout(),
            answer_timeout: statement_timeout + statement_timeout.min(Duration::from_secs(1)),
            pool,
            options,
        }
    }

    async fn open(pool: Pool, options: PostgresOptions) -> Result<Self, StoreError> {
        let create = options.create_schema();
        let store = Self::from_pool(pool, options);
        if create {
            store.ensure_schema().await?;
        } else if !store.table_exists().await? {
            return Err(StoreError::Unavailable {
                store: "postgres",
                source: format!(
                    "the table {} does not exist: create it with the SQL of \
                     PostgresStore::schema_sql (`idem store --postgres URL schema`)",
                    store.options.table()
                )
                .into(),
            });
        }
        Ok(store)
    }

    /// The DDL of the store's table, its index and its purge function, for `table`: what
    /// [`ensure_schema`](PostgresStore::ensure_schema) runs, to run yourself as a migration. It
    /// only creates what does not exist, so it can run again.
    ///
    /// ```
    /// use idem::store::{PostgresStore, PostgresTable};
    ///
    /// let sql = PostgresStore::schema_sql(&PostgresTable::default());
    /// assert!(sql.contains(r#"CREATE TABLE IF NOT EXISTS "idem_records" ("#));
    /// ```
    pub fn schema_sql(table: &PostgresTable) -> String {
        schema::schema_sql(table)
    }

    /// Creates the table, its indexes and its purge function ([`schema_sql`]) when the table does
    /// not exist. When it does, changes nothing (so that a role that does not own it may call
    /// this), except the purge function of an earlier idem (one that purges no unknown outcome),
    /// which it replaces when the role owns that function and the table (see
    /// [A table of an earlier idem](PostgresStore#a-table-of-an-earlier-idem)). Safe to call
    /// again, and from many processes at once: the calls take turns on an advisory lock.
    ///
    /// [`schema_sql`]: PostgresStore::schema_sql
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached or refuses the DDL (no
    /// `CREATE` privilege on the schema, ...).
    pub async fn ensure_schema(&self) -> Result<(), StoreError> {
        let name = self.options.table().to_string();
        let mut client = self.client().await.map_err(|f| f.into_store(&name))?;
        let ddl = schema::schema_sql(self.options.table());
        let answer = tokio::time::timeout(self.answer_timeout, async {
            let tx = client.transaction().await?;
            tx.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&self.options.table().lock_key()],
            )
            .await?;
            // The row, and with it the statement, dropped at once: the statement's Close then
            // goes before the COMMIT, not after it, with the store's next request.
            let (exists, outdated_purge): (bool, bool) = {
                let state = tx.query_one(&self.sql.schema_state, &[]).await?;
                (state.try_get(0)?, state.try_get(1)?)
            };
            if !exists {
                tx.batch_execute(&ddl).await?;
            } else if outdated_purge {
                tx.batch_execute(&schema::purge_function_sql(self.options.table()))
                    .await?;
            }
            tx.commit().await
        })
        .await;
        settle(client, answer, self.answer_timeout).map_err(|f| f.into_store(&name))
    }

    /// The table the store keeps its records in.
    pub fn table(&self) -> &PostgresTable {
        self.options.table()
    }

    /// The connection pool, to share with the rest of the application (or another store).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The largest output or error message the store accepts, in bytes
    /// ([`PostgresOptions::with_max_record_bytes`]).
    pub fn max_record_bytes(&self) -> usize {
        self.options.max_record_bytes()
    }

    /// The options the store was built with.
    pub fn options(&self) -> &PostgresOptions {
        &self.options
    }

    async fn table_exists(&self) -> Result<bool, StoreError> {
        let name = self.options.table().to_string();
        let rows = self
            .query(&self.sql.table_exists, &[])
            .await
            .map_err(|f| f.into_store(&name))?;
        Ok(rows
            .first()
            .and_then(|row| row.try_get::<_, bool>(0).ok())
            .unwrap_or(false))
    }

    fn check_size(&self, name: &str, size: usize) -> Result<(), StoreError> {
        StoreError::check_size(name, size, self.options.max_record_bytes())
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("table", &self.options.table().to_string())
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

impl Store for PostgresStore {
    fn claim<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>> {
        Box::pin(self.claim_now(key, claim))
    }

    fn renew<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.renew_now(key, claim))
    }

    fn complete<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
        completion: &'a Completion,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.complete_now(key, claim, completion, ttl))
    }

    fn release<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.release_now(key, claim))
    }

    fn get<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<Option<Record>, StoreError>> {
        Box::pin(self.get_now(key))
    }

    fn delete<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.delete_now(key))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredRecord>, StoreError>> {
        Box::pin(self.list_now())
    }

    fn purge(&self, all: bool) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(self.purge_now(all))
    }
}
