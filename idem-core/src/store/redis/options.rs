//! [`RedisOptions`] and [`InvalidRedisPrefix`]: how a [`RedisStore`](super::RedisStore)
//! connects, and the prefixes it refuses.

use std::time::Duration;

/// A prefix that [`RedisStore::with_prefix`](super::RedisStore::with_prefix) refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RedisStore prefix {prefix:?}: {reason}")]
pub struct InvalidRedisPrefix {
    /// The prefix refused.
    pub prefix: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// How [`RedisStore::connect_with`](super::RedisStore::connect_with) connects: the timeouts that
/// bound every call.
///
/// ```
/// use std::time::Duration;
/// use idem_core::store::RedisOptions;
///
/// let options = RedisOptions::new()
///     .connection_timeout(Duration::from_secs(1))
///     .response_timeout(Duration::from_millis(500));
/// assert_eq!(options.get_response_timeout(), Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    pub(super) connection_timeout: Duration,
    pub(super) response_timeout: Duration,
    pub(super) claim_by_script: bool,
}

impl RedisOptions {
    /// The default bound of each connection attempt: 2 seconds.
    pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
    /// The default bound of each command's answer: 3 seconds.
    pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

    /// The default options.
    pub fn new() -> Self {
        RedisOptions {
            connection_timeout: Self::DEFAULT_CONNECTION_TIMEOUT,
            response_timeout: Self::DEFAULT_RESPONSE_TIMEOUT,
            claim_by_script: false,
        }
    }

    /// How long a connection attempt may take (at least 1 ms).
    #[must_use]
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long the server may take to answer a command (at least 1 ms). Leave room for the
    /// largest records: 16 MiB take a while on a slow link.
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Claims keys with the store's Lua script (what Redis 6.2 needs) instead of the native
    /// `SET ... NX PX ... GET` of Redis 7. Without it, the store uses the command and falls back
    /// to the script on its own when the server refuses the command's syntax; set it for a server
    /// or proxy that mishandles `NX` with `GET` in another way.
    #[must_use]
    pub fn claim_by_script(mut self, script: bool) -> Self {
        self.claim_by_script = script;
        self
    }

    /// Whether claims start with the Lua script (see
    /// [`claim_by_script`](RedisOptions::claim_by_script)).
    pub fn get_claim_by_script(&self) -> bool {
        self.claim_by_script
    }

    /// The bound of each connection attempt.
    pub fn get_connection_timeout(&self) -> Duration {
        self.connection_timeout
    }

    /// The bound of each command's answer.
    pub fn get_response_timeout(&self) -> Duration {
        self.response_timeout
    }
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self::new()
    }
}
