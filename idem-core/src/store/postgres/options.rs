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
/// ```
/// use std::time::Duration;
/// use idem_core::store::{PostgresOptions, PostgresTable};
///
/// let options = PostgresOptions::new()
///     .table(PostgresTable::new("idem_billing")?)
///     .pool_size(32)
///     .connect_timeout(Duration::from_secs(2))
///     .statement_timeout(Duration::from_secs(1))
///     .max_value_size(1 << 20);
/// assert_eq!(options.get_pool_size(), 32);
/// # Ok::<(), idem_core::store::InvalidPostgresTable>(())
/// ```
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    table: PostgresTable,
    pool_size: usize,
    connect_timeout: Duration,
    wait_timeout: Duration,
    statement_timeout: Duration,
    max_value_size: usize,
    create_schema: bool,
}

impl PostgresOptions {
    /// The default number of connections in the pool.
    pub const DEFAULT_POOL_SIZE: usize = 16;
    /// The default [`connect_timeout`](PostgresOptions::connect_timeout).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default [`wait_timeout`](PostgresOptions::wait_timeout).
    pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default [`statement_timeout`](PostgresOptions::statement_timeout).
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default [`max_value_size`](PostgresOptions::max_value_size): 64 MiB.
    pub const DEFAULT_MAX_VALUE_SIZE: usize = 64 << 20;

    /// The defaults: the table `idem_records`, created if missing; 16 connections; 5 s to
    /// connect, to wait for a free connection, and for a statement; values up to 64 MiB.
    pub fn new() -> Self {
        PostgresOptions {
            table: PostgresTable::default(),
            pool_size: Self::DEFAULT_POOL_SIZE,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            wait_timeout: Self::DEFAULT_WAIT_TIMEOUT,
            statement_timeout: Self::DEFAULT_STATEMENT_TIMEOUT,
            max_value_size: Self::DEFAULT_MAX_VALUE_SIZE,
            create_schema: true,
        }
    }

    /// The table to keep the records in.
    #[must_use]
    pub fn table(mut self, table: PostgresTable) -> Self {
        self.table = table;
        self
    }

    /// The most connections the store's pool opens (at least 1).
    #[must_use]
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// How long opening a connection may take, TCP, TLS and authentication included. Replaces the
    /// URL's `connect_timeout`.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an operation waits for a free connection when all of the pool's are busy.
    #[must_use]
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// How long a statement may run (at least 1 ms): the server's `statement_timeout` on the
    /// connections the store opens, and how long the store waits for an answer (plus up to one
    /// second) before it gives the connection up.
    #[must_use]
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The largest output or error message the store accepts, in bytes; larger ones are
    /// [`StoreError::TooLarge`], before anything is sent.
    #[must_use]
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// Whether connecting creates the table when it does not exist (the default), or fails
    /// (when a migration creates it; see
    /// [`PostgresStore::schema_sql`](super::PostgresStore::schema_sql)).
    #[must_use]
    pub fn create_schema(mut self, create: bool) -> Self {
        self.create_schema = create;
        self
    }

    /// The table.
    pub fn get_table(&self) -> &PostgresTable {
        &self.table
    }

    /// The pool's size.
    pub fn get_pool_size(&self) -> usize {
        self.pool_size
    }

    /// The connect timeout.
    pub fn get_connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The wait timeout.
    pub fn get_wait_timeout(&self) -> Duration {
        self.wait_timeout
    }

    /// The statement timeout.
    pub fn get_statement_timeout(&self) -> Duration {
        self.statement_timeout
    }

    /// The largest value.
    pub fn get_max_value_size(&self) -> usize {
        self.max_value_size
    }

    /// Whether connecting creates the table.
    pub fn get_create_schema(&self) -> bool {
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
