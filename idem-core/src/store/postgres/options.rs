//! [`PostgresOptions`]: the table, the pool, the timeouts and the limits of a
//! [`PostgresStore`](super::PostgresStore).

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::Socket;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};

use super::PostgresTable;
use super::error::{PostgresError, chain, describe};
use crate::store::StoreError;

/// How a [`PostgresStore`](super::PostgresStore) connects and what it accepts. Every setting has
/// a default; see [Bounded failure](super::PostgresStore#bounded-failure) for how the timeouts
/// combine.
///
/// Setters are `with_*` and return the options; getters have the knob's plain name. The same
/// knob has the same name on [`RedisOptions`](crate::store::RedisOptions)
/// (`with_connect_timeout`, `with_max_record_bytes`).
///
/// ```
/// use std::time::Duration;
/// use idem::store::{PostgresOptions, PostgresTable};
///
/// let options = PostgresOptions::new()
///     .with_table(PostgresTable::new("idem_billing")?)
///     .with_pool_size(32)
///     .with_connect_timeout(Duration::from_secs(2))
///     .with_wait_timeout(Duration::from_secs(3))
///     .with_statement_timeout(Duration::from_secs(1))
///     .with_max_record_bytes(1 << 20)
///     .with_create_schema(false);
/// assert_eq!(options.table().to_string(), "idem_billing");
/// assert_eq!(options.pool_size(), 32);
/// assert_eq!(options.connect_timeout(), Duration::from_secs(2));
/// assert_eq!(options.wait_timeout(), Duration::from_secs(3));
/// assert_eq!(options.statement_timeout(), Duration::from_secs(1));
/// assert_eq!(options.max_record_bytes(), 1 << 20);
/// assert!(!options.create_schema());
/// # Ok::<(), idem::store::InvalidPostgresTable>(())
/// ```
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    table: PostgresTable,
    pool_size: usize,
    connect_timeout: Duration,
    wait_timeout: Duration,
    statement_timeout: Duration,
    max_record_bytes: usize,
    create_schema: bool,
}

impl PostgresOptions {
    /// The default number of connections in the pool.
    pub const DEFAULT_POOL_SIZE: usize = 16;
    /// The default [`connect_timeout`](PostgresOptions::connect_timeout): 5 seconds.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default [`wait_timeout`](PostgresOptions::wait_timeout): 5 seconds.
    pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default [`statement_timeout`](PostgresOptions::statement_timeout): 5 seconds.
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default [`max_record_bytes`](PostgresOptions::max_record_bytes): 64 MiB.
    pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 << 20;

    /// The defaults: the table `idem_records`, created if missing; 16 connections; 5 s to
    /// connect, to wait for a free connection, and for a statement; outputs and error messages
    /// up to 64 MiB.
    ///
    /// ```
    /// use std::time::Duration;
    /// use idem::store::{PostgresOptions, PostgresTable};
    ///
    /// let options = PostgresOptions::new();
    /// assert_eq!(options.table(), &PostgresTable::default());
    /// assert_eq!(options.pool_size(), PostgresOptions::DEFAULT_POOL_SIZE);
    /// assert_eq!(options.connect_timeout(), Duration::from_secs(5));
    /// assert_eq!(options.max_record_bytes(), 64 << 20);
    /// assert!(options.create_schema());
    /// ```
    pub fn new() -> Self {
        PostgresOptions {
            table: PostgresTable::default(),
            pool_size: Self::DEFAULT_POOL_SIZE,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            wait_timeout: Self::DEFAULT_WAIT_TIMEOUT,
            statement_timeout: Self::DEFAULT_STATEMENT_TIMEOUT,
            max_record_bytes: Self::DEFAULT_MAX_RECORD_BYTES,
            create_schema: true,
        }
    }

    /// The table to keep the records in.
    #[must_use]
    pub fn with_table(mut self, table: PostgresTable) -> Self {
        self.table = table;
        self
    }

    /// The most connections the store's pool opens (at least 1).
    #[must_use]
    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// How long opening a connection may take, TCP, TLS and authentication included. Replaces the
    /// URL's `connect_timeout`.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an operation waits for a free connection when all of the pool's are busy.
    #[must_use]
    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// How long a statement may run (at least 1 ms): the server's `statement_timeout` on the
    /// connections the store opens, and how long the store waits for an answer (plus up to one
    /// second) before it gives the connection up.
    #[must_use]
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The largest output or error message the store accepts, in bytes (of the output's JSON
    /// text, or of the error message's UTF-8); larger ones are [`StoreError::TooLarge`], before
    /// anything is sent. So is a claim whose token and fingerprint together are larger.
    #[must_use]
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Whether connecting creates the table when it does not exist (the default), or fails
    /// (when a migration creates it; see
    /// [`PostgresStore::schema_sql`](super::PostgresStore::schema_sql)).
    #[must_use]
    pub fn with_create_schema(mut self, create: bool) -> Self {
        self.create_schema = create;
        self
    }

    /// The table the records are kept in ([`with_table`](PostgresOptions::with_table)).
    pub fn table(&self) -> &PostgresTable {
        &self.table
    }

    /// The most connections the pool opens ([`with_pool_size`](PostgresOptions::with_pool_size)).
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// How long opening a connection may take
    /// ([`with_connect_timeout`](PostgresOptions::with_connect_timeout)).
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// How long an operation waits for a free connection
    /// ([`with_wait_timeout`](PostgresOptions::with_wait_timeout)).
    pub fn wait_timeout(&self) -> Duration {
        self.wait_timeout
    }

    /// How long a statement may run
    /// ([`with_statement_timeout`](PostgresOptions::with_statement_timeout)).
    pub fn statement_timeout(&self) -> Duration {
        self.statement_timeout
    }

    /// The largest output or error message the store accepts, in bytes
    /// ([`with_max_record_bytes`](PostgresOptions::with_max_record_bytes)).
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// Whether connecting creates the table when it does not exist
    /// ([`with_create_schema`](PostgresOptions::with_create_schema)).
    pub fn create_schema(&self) -> bool {
        self.create_schema
    }

    /// A pool of connections to `url` through `tls`, with these options' timeouts: nothing is
    /// sent until the first operation.
    pub(super) fn pool<T>(&self, url: &str, tls: T) -> Result<Pool, StoreError>
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            unavailable(PostgresError::new(
                "cannot read the PostgreSQL connection string",
                &describe(&e),
            ))
        })?;
        config.connect_timeout(self.connect_timeout);
        let statement_timeout = format!(
            "-c statement_timeout={}",
            self.statement_timeout.as_millis().max(1)
        );
        let options = match config.get_options() {
            Some(given) if !given.trim().is_empty() => format!("{given} {statement_timeout}"),
            _ => statement_timeout,
        };
        config.options(options);
        if config.get_application_name().is_none() {
            config.application_name("idem");
        }
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        Pool::builder(manager)
            .max_size(self.pool_size)
            .runtime(Runtime::Tokio1)
            .timeouts(Timeouts {
                wait: Some(self.wait_timeout),
                create: Some(self.connect_timeout),
                recycle: Some(self.connect_timeout),
            })
            .build()
            .map_err(|e| {
                unavailable(PostgresError::new(
                    "cannot build the PostgreSQL pool",
                    &chain(&e),
                ))
            })
    }
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self::new()
    }
}

fn unavailable(err: PostgresError) -> StoreError {
    StoreError::Unavailable {
        store: "postgres",
        source: Box::new(err),
    }
}
