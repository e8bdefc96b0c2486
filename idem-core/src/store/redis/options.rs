//! [`RedisOptions`] and [`InvalidRedisPrefix`]: how a [`RedisStore`](super::RedisStore)
//! connects, where it keeps its keys, what it accepts, and the prefixes it refuses.

use std::sync::Arc;
use std::time::Duration;

use super::layout::check_prefix;

/// A prefix that [`RedisOptions::with_prefix`] refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RedisStore prefix {prefix:?}: {reason}")]
pub struct InvalidRedisPrefix {
    /// The prefix refused.
    pub prefix: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// How a [`RedisStore`](super::RedisStore) connects ([`connect_with`]) and what it does: the
/// prefix of its keys, the timeouts that bound every call, the largest record, the grace of
/// in-progress records, and how it claims. Every setting has a default.
///
/// Setters are `with_*` and return the options; getters have the knob's plain name. The same
/// knob has the same name on [`PostgresOptions`](crate::store::PostgresOptions)
/// (`with_connect_timeout`, `with_max_record_bytes`).
///
/// ```
/// use std::time::Duration;
/// use idem::store::RedisOptions;
///
/// let options = RedisOptions::new()
///     .with_prefix("billing:idem")?
///     .with_connect_timeout(Duration::from_secs(1))
///     .with_response_timeout(Duration::from_millis(500))
///     .with_max_record_bytes(1 << 20)
///     .with_claim_grace(Duration::from_secs(3600));
/// assert_eq!(options.prefix(), "billing:idem");
/// assert_eq!(options.connect_timeout(), Duration::from_secs(1));
/// assert_eq!(options.response_timeout(), Duration::from_millis(500));
/// assert_eq!(options.max_record_bytes(), 1 << 20);
/// assert_eq!(options.claim_grace(), Duration::from_secs(3600));
/// assert!(!options.claim_by_script());
/// # Ok::<(), idem::store::InvalidRedisPrefix>(())
/// ```
///
/// [`connect_with`]: super::RedisStore::connect_with
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    pub(super) prefix: Arc<str>,
    pub(super) connect_timeout: Duration,
    pub(super) response_timeout: Duration,
    pub(super) max_record_bytes: usize,
    pub(super) claim_grace: Duration,
    pub(super) claim_by_script: bool,
}

impl RedisOptions {
    /// The default [`prefix`](RedisOptions::prefix): `"idem"`.
    pub const DEFAULT_PREFIX: &'static str = "idem";
    /// The default [`connect_timeout`](RedisOptions::connect_timeout): 2 seconds.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
    /// The default [`response_timeout`](RedisOptions::response_timeout): 3 seconds.
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
    /// The default [`max_record_bytes`](RedisOptions::max_record_bytes): 16 MiB (Redis itself
    /// takes values up to 512 MiB).
    pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;
    /// The default [`claim_grace`](RedisOptions::claim_grace): 24 hours (the default result
    /// TTL), so that a claim abandoned by a crash is taken over, not forgotten.
    pub const DEFAULT_CLAIM_GRACE: Duration = Duration::from_secs(24 * 3600);

    /// The defaults: the prefix `"idem"`; 2 s to connect and 3 s for each answer; records up to
    /// 16 MiB; in-progress records kept 24 hours after their lease; claims by the native
    /// `SET ... NX PX ... GET`, falling back to the script on Redis 6.2.
    ///
    /// ```
    /// use idem::store::RedisOptions;
    ///
    /// let options = RedisOptions::new();
    /// assert_eq!(options, RedisOptions::default());
    /// assert_eq!(options.prefix(), RedisOptions::DEFAULT_PREFIX);
    /// assert_eq!(options.connect_timeout(), RedisOptions::DEFAULT_CONNECT_TIMEOUT);
    /// assert_eq!(options.max_record_bytes(), 16 << 20);
    /// ```
    pub fn new() -> Self {
        RedisOptions {
            prefix: Self::DEFAULT_PREFIX.into(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            response_timeout: Self::DEFAULT_RESPONSE_TIMEOUT,
            max_record_bytes: Self::DEFAULT_MAX_RECORD_BYTES,
            claim_grace: Self::DEFAULT_CLAIM_GRACE,
            claim_by_script: false,
        }
    }

    /// Puts the store's keys under `prefix` instead of `"idem"` (see the key layout of
    /// [`RedisStore`](super::RedisStore#key-layout)).
    ///
    /// ```
    /// use idem::store::RedisOptions;
    ///
    /// let options = RedisOptions::new().with_prefix("billing:idem").unwrap();
    /// assert_eq!(options.prefix(), "billing:idem");
    ///
    /// let refused = RedisOptions::new().with_prefix("idem:2").unwrap_err();
    /// assert_eq!(
    ///     refused.to_string(),
    ///     "invalid RedisStore prefix \"idem:2\": a `:`-separated segment is made only of digits"
    /// );
    /// ```
    ///
    /// # Errors
    /// [`InvalidRedisPrefix`] when `prefix` is empty, or one of its `:`-separated segments is
    /// empty or made only of digits (`"a::b"`, `"idem:2"`): such a prefix could make two stores
    /// share keys (see [`check_prefix`](RedisOptions::check_prefix)).
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self, InvalidRedisPrefix> {
        Self::check_prefix(prefix)?;
        self.prefix = prefix.into();
        Ok(self)
    }

    /// Whether `prefix` is one that [`with_prefix`](RedisOptions::with_prefix) accepts.
    ///
    /// ```
    /// use idem::store::RedisOptions;
    ///
    /// for valid in ["idem", "billing:idem", "idem-v2"] {
    ///     assert!(RedisOptions::check_prefix(valid).is_ok());
    /// }
    /// for invalid in ["", "idem:", "a::b", "idem:2"] {
    ///     assert!(RedisOptions::check_prefix(invalid).is_err());
    /// }
    /// ```
    ///
    /// # Errors
    /// [`InvalidRedisPrefix`] when it is not.
    pub fn check_prefix(prefix: &str) -> Result<(), InvalidRedisPrefix> {
        check_prefix(prefix).map_err(|reason| InvalidRedisPrefix {
            prefix: prefix.to_owned(),
            reason,
        })
    }

    /// How long a connection attempt may take (at least 1 ms).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long the server may take to answer a command (at least 1 ms). Leave room for the
    /// largest records: 16 MiB take a while on a slow link.
    #[must_use]
    pub fn with_response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Refuses records larger than `bytes` bytes ([`StoreError::TooLarge`], nothing sent). The
    /// sizes checked are those of the encoded record as sent and of the Redis key.
    ///
    /// [`StoreError::TooLarge`]: crate::store::StoreError::TooLarge
    #[must_use]
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Keeps in-progress records in Redis for `grace` after their lease (see "Expiry, leases
    /// and takeovers" in [`RedisStore`](super::RedisStore#expiry-leases-and-takeovers)): a
    /// claim's lease has ended when its Redis time to live is `grace` or less, so every worker
    /// sharing the prefix must use the same grace. Zero lets Redis remove a claim at the end of
    /// its lease: a claim after that is then [`Claimed`], never [`TookOver`].
    ///
    /// [`Claimed`]: crate::store::ClaimOutcome::Claimed
    /// [`TookOver`]: crate::store::ClaimOutcome::TookOver
    #[must_use]
    pub fn with_claim_grace(mut self, grace: Duration) -> Self {
        self.claim_grace = grace;
        self
    }

    /// Claims keys with the store's Lua script (what Redis 6.2 needs) instead of the native
    /// `SET ... NX PX ... GET` of Redis 7. Without it, the store uses the command and falls back
    /// to the script on its own when the server refuses the command's syntax; set it for a server
    /// or proxy that mishandles `NX` with `GET` in another way.
    #[must_use]
    pub fn with_claim_by_script(mut self, script: bool) -> Self {
        self.claim_by_script = script;
        self
    }

    /// The prefix of the store's keys.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The bound of each connection attempt.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The bound of each command's answer.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// The largest record the store sends, in bytes (of the encoded record, and of its key).
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// How long an in-progress record outlives its lease in Redis.
    pub fn claim_grace(&self) -> Duration {
        self.claim_grace
    }

    /// Whether claims start with the Lua script (see
    /// [`with_claim_by_script`](RedisOptions::with_claim_by_script)).
    pub fn claim_by_script(&self) -> bool {
        self.claim_by_script
    }
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self::new()
    }
}
