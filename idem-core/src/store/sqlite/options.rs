//! [`SqliteOptions`] and [`Durability`]: how a [`SqliteStore`](super::SqliteStore) waits for
//! the file, how many connections it keeps, what it accepts, and what a commit survives.

use std::time::Duration;

/// What a commit survives: SQLite's `PRAGMA synchronous` under its WAL journal. Either way the
/// file is never damaged by a crash, and a crash of the *process* (a panic, `SIGKILL`, an OOM
/// kill) loses nothing that was committed: what differs is a crash of the *machine* (a power
/// failure, a kernel panic, a VM stopped hard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous = FULL`, the default: every commit waits until the journal is on the disk
    /// (an `fsync`), so a claim or a result that the store reported written is still there
    /// after a power failure. A duplicate never runs again because the machine crashed.
    #[default]
    Full,
    /// `synchronous = NORMAL`: commits reach the operating system but are not waited for on the
    /// disk (SQLite syncs at checkpoints only), which makes each write several times cheaper.
    /// A process crash still loses nothing; a power failure or an OS crash may lose the last
    /// commits before it (the database stays sound, it goes back a little in time). A result
    /// lost so lets a duplicate run the tool again, and a lost claim lets a retry run it while
    /// the first run may have taken effect: choose it only for tools whose double run is
    /// harmless, or where the speed is worth that risk.
    Normal,
}

impl Durability {
    /// The value of `PRAGMA synchronous` that gives this durability.
    pub fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

/// How a [`SqliteStore`](super::SqliteStore) works with its file. Every setting has a default.
///
/// Setters are `with_*` and return the options; getters have the knob's plain name. The same
/// knob has the same name on [`PostgresOptions`](crate::store::PostgresOptions) and
/// [`RedisOptions`](crate::store::RedisOptions) (`with_max_record_bytes`, `with_pool_size`).
///
/// ```
/// use std::time::Duration;
/// use idem_core::store::{Durability, SqliteOptions};
///
/// let options = SqliteOptions::new()
///     .with_busy_timeout(Duration::from_secs(10))
///     .with_synchronous(Durability::Normal)
///     .with_pool_size(8)
///     .with_max_record_bytes(1 << 20);
/// assert_eq!(options.busy_timeout(), Duration::from_secs(10));
/// assert_eq!(options.synchronous(), Durability::Normal);
/// assert_eq!(options.pool_size(), 8);
/// assert_eq!(options.max_record_bytes(), 1 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    busy_timeout: Duration,
    synchronous: Durability,
    pool_size: usize,
    max_record_bytes: usize,
}

impl SqliteOptions {
    /// The default [`busy_timeout`](SqliteOptions::busy_timeout): 5 seconds.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default [`pool_size`](SqliteOptions::pool_size): 4 connections.
    pub const DEFAULT_POOL_SIZE: usize = 4;
    /// The default [`max_record_bytes`](SqliteOptions::max_record_bytes): 64 MiB.
    pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 << 20;

    /// The defaults: wait up to 5 s for another connection's write; every commit on the disk
    /// before it returns ([`Durability::Full`]); up to 4 connections; records up to 64 MiB.
    ///
    /// ```
    /// use std::time::Duration;
    /// use idem_core::store::{Durability, SqliteOptions};
    ///
    /// let options = SqliteOptions::new();
    /// assert_eq!(options, SqliteOptions::default());
    /// assert_eq!(options.busy_timeout(), Duration::from_secs(5));
    /// assert_eq!(options.synchronous(), Durability::Full);
    /// assert_eq!(options.pool_size(), SqliteOptions::DEFAULT_POOL_SIZE);
    /// assert_eq!(options.max_record_bytes(), 64 << 20);
    /// ```
    pub fn new() -> Self {
        SqliteOptions {
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            synchronous: Durability::Full,
            pool_size: Self::DEFAULT_POOL_SIZE,
            max_record_bytes: Self::DEFAULT_MAX_RECORD_BYTES,
        }
    }

    /// How long an operation waits for the file when another connection (of this process or
    /// another) is writing to it, SQLite's `busy_timeout`; and how long it waits for a free
    /// connection of the store's pool. Past it, the operation fails with
    /// [`StoreError::Unavailable`](crate::store::StoreError::Unavailable) (nothing is written;
    /// the tool does not run).
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// What a commit survives (`PRAGMA synchronous`): [`Durability::Full`] by default. Every
    /// process sharing the file should use the same.
    #[must_use]
    pub fn with_synchronous(mut self, durability: Durability) -> Self {
        self.synchronous = durability;
        self
    }

    /// The most connections the store opens to its file (at least 1). Reads run side by side
    /// on several connections; writes take turns whatever the number (SQLite has one writer
    /// at a time per file).
    #[must_use]
    pub fn with_pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Refuses records larger than `bytes` bytes, encoded
    /// ([`StoreError::TooLarge`](crate::store::StoreError::TooLarge), nothing written).
    #[must_use]
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// How long an operation waits for the file or a connection
    /// ([`with_busy_timeout`](SqliteOptions::with_busy_timeout)).
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// What a commit survives ([`with_synchronous`](SqliteOptions::with_synchronous)).
    pub fn synchronous(&self) -> Durability {
        self.synchronous
    }

    /// The most connections the store opens
    /// ([`with_pool_size`](SqliteOptions::with_pool_size)).
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// The largest record the store writes, in bytes
    /// ([`with_max_record_bytes`](SqliteOptions::with_max_record_bytes)).
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self::new()
    }
}
