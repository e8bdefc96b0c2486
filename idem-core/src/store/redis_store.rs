//! [`RedisStore`]: records in a Redis (or Valkey) server, shared by a fleet of workers.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, RedisResult, Script, Value};

use super::record::{RecordRef, StateRef};
use super::{
    BoxFuture, Claim, ClaimOutcome, Completion, Record, RecordKey, Store, StoreError, StoredRecord,
    UnixMillis, Unreadable,
};
use crate::clock::SystemClock;

/// A store in a Redis server (Redis 6.2 or later, or Valkey), shared by every worker that
/// connects to it: the store for fleets.
///
/// ## Key layout
///
/// One Redis string per record, under the key
///
/// ```text
/// {prefix}:{n}:{tool}:{key}        e.g.  idem:20:payment-processor-v1:fb5f9548...
/// ```
///
/// where `prefix` is the store's [prefix](RedisStore::with_prefix) (`"idem"` by default) and `n`
/// is the length of the tool id in bytes, in decimal. The length makes the key unambiguous
/// whatever bytes the tool id and the key contain (`:`, NUL, newlines, `{`, ...);
/// [`redis_key`](RedisStore::redis_key) gives the key of a record. The value is the record in
/// the versioned format of [`Record::encode`], byte for byte, so that any client can read it.
///
/// A prefix is made of `:`-separated segments, none empty and none made only of digits
/// (`"idem"`, `"billing:idem"`, `"idem-v2"`, not `"idem:2"`): then the keys of two stores with
/// different prefixes never meet, even when one prefix starts with the other, and
/// [`list`](Store::list) and [`purge`](Store::purge) (a `SCAN` of `{prefix}:[0-9]*`) see only
/// the keys of their own store. Keys under the pattern that are not addresses of this store are
/// ignored. (`SCAN` walks the whole database, the server filtering by the pattern: on a database
/// shared with many other keys, `list` and `purge` take a while; they are operator tools.)
///
/// Every operation touches one key, and every script takes it as `KEYS[1]`: no multi-key
/// command, no key name built inside a script, and no hash tag needed, so the layout suits a
/// Redis Cluster (a tool id containing `{...}` acts as a hash tag there, which only groups that
/// tool's records on one slot). The store itself connects to one server: a standalone Redis, a
/// primary, or a proxy in front of a cluster.
///
/// ## Expiry, leases and takeovers
///
/// **The server's clock decides**, never a worker's: every expiry is a Redis key expiry (`PX`,
/// `PEXPIRE`: a duration from the moment the server applies it), and every lease is read from
/// the key's remaining time to live (`PTTL`) on the server. Workers whose clocks disagree by
/// minutes agree on every lease and every expiry.
///
/// - A completed, failed or unknown-outcome record is written with `PX ttl`: it expires `ttl`
///   after its completion, on the server's clock, and Redis removes it. A record that is there
///   has not expired: [`get`](Store::get) and [`claim`](Store::claim) return it whatever the
///   `expires_at` it holds.
/// - An in-progress record is written with `PX lease + grace`
///   ([`claim_grace`](RedisStore::with_claim_grace): 24 hours by default), and
///   [`renew`](Store::renew) sets its time to live to `lease + grace` again (`PEXPIRE`, the
///   value unchanged). **Its lease has ended when its time to live is `grace` or less.** After
///   the lease, the next claim takes it over and reports [`ClaimOutcome::TookOver`] (the
///   executor counts takeovers), and a holder that overran its lease can still renew or complete
///   as long as nobody took it over. Only a claim abandoned for longer than the lease plus the
///   grace vanishes; a claim after that is a plain [`Claimed`](ClaimOutcome::Claimed), and the
///   late holder's completion is [`ClaimLost`](StoreError::ClaimLost).
/// - An in-progress record without a Redis expiry has no lease (idem always sets one: such a
///   record was written by another client): the next claim takes it over.
/// - Every worker sharing a prefix must use the same `claim_grace`: a worker reads the lease of
///   another worker's claim through its own grace.
/// - The times inside the value are informational: `created_at` and `lease_until` are the
///   claimer's clock (`claim.now` and `claim.now + lease`; a renewal leaves them as they are),
///   `expires_at` the completing worker's clock plus the TTL. Nothing decides with them, but
///   for [`purge`](Store::purge) of records that Redis does not expire (written without a TTL by
///   another client): it compares `expires_at` with the server's `TIME`.
///
/// ## Round trips and scripts
///
/// A fresh call of the executor costs two round trips (claim, complete), a replay one (the claim
/// returns the record), a renewal one. Each is one command or one `EVALSHA` of a Lua script
/// (loaded at connection, and again automatically if the server lost it), atomic on the server:
///
/// - **claim**: `SET key claim NX PX lease+grace GET`, one native command (Redis 7 and later,
///   Valkey): it sets the key when it is free, and otherwise returns its value without touching
///   it. Redis 6.2 refuses `NX` with `GET`: there the claim is a script doing the same (`SET NX
///   PX`, then `GET` and `PTTL` when the key exists). The store starts with the command and
///   switches to the script for good when the server refuses the command's syntax;
///   [`RedisOptions::claim_by_script`] starts with the script. The value is decoded in Rust: a
///   completed, failed or unknown-outcome record is [`Existing`](ClaimOutcome::Existing). An
///   in-progress record is decided on the server by a second script (a takeover), which compares
///   the value with the bytes read and its `PTTL` with the grace: a live claim is `Existing`,
///   and a claim whose lease has ended is replaced, only if the key still holds the bytes read
///   and its lease has still ended. A renewal or a completion between the read and the takeover
///   is therefore never overwritten, and exactly one of racing claimers wins a takeover. A claim
///   that finds an in-progress record costs two round trips; the claim script answers a live
///   one in one, with the `PTTL` it read with the value.
/// - **renew**, **complete** and **release** are compare-and-set scripts: the store encodes the
///   claim's in-progress record, byte for byte as the claim wrote it (the claim is passed to
///   [`renew`](Store::renew), [`complete`](Store::complete) and [`release`](Store::release)),
///   and the script sets the time to live (`PEXPIRE`, the bytes unchanged: a renewed claim
///   completes and releases as before), writes the finished record, or deletes the key, only if
///   the key still holds exactly those bytes. Any other value goes back to Rust to be decoded:
///   another token or state is [`ClaimLost`](StoreError::ClaimLost) (or `false`), and an
///   in-progress record of the same token in other bytes (written by another client, or by a
///   claim of other fields) is renewed, completed or released by compare and set on the bytes
///   found, in a second round trip.
///
/// The scripts only compare bytes and never parse JSON, so no value can make a script fail:
/// a value that is not a record surfaces from Rust as [`StoreError::Corrupt`] (or
/// [`StoreError::UnsupportedFormat`]), and is never overwritten by a claim. A key that holds
/// another Redis type (a hash, a list, ...) is `Corrupt` too.
///
/// ## Connection, timeouts and errors
///
/// The store talks through a [`ConnectionManager`], which multiplexes every call on one
/// connection and reconnects after a failure. Every round trip is bounded: a call against a
/// server that does not answer fails after about
/// [`connection_timeout`](RedisOptions::connection_timeout) +
/// [`response_timeout`](RedisOptions::response_timeout) (5 seconds by default), and at once when
/// the connection is refused or reset. Connection, I/O, timeout and server errors are
/// [`StoreError::Unavailable`] with `store: "redis"`; the call after the server comes back
/// reconnects.
///
/// A record larger than [`max_record_bytes`](RedisStore::with_max_record_bytes) (16 MiB by
/// default) is refused with [`StoreError::TooLarge`] before anything is sent.
///
/// ## Running the server
///
/// - Records survive a restart of the server as far as its persistence (RDB, AOF) keeps them; a
///   lost record means a duplicate runs again.
/// - Give idem a server (or database) whose `maxmemory-policy` is `noeviction`: every idem key
///   has a TTL, so the `volatile-*` and `allkeys-*` policies may evict live results and claims.
///   With `noeviction`, a full server refuses writes, and the calls fail closed
///   ([`StoreError::Unavailable`]).
/// - Commands used: `SET` (`NX`, `PX`, and `GET` where the server has it), `GET`, `DEL`,
///   `PTTL`, `PEXPIRE`, `TIME`, `SCAN`, `EVALSHA`, `SCRIPT LOAD`; all in Redis 6.2 and Valkey. TLS (`rediss://`) is not among the `redis` crate features idem
///   enables: use a TLS proxy, or a private network.
///
/// ```no_run
/// use std::time::Duration;
/// use idem_core::store::{Claim, ClaimOutcome, Completion, RecordKey, RedisStore, Store, UnixMillis};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = RedisStore::connect("redis://127.0.0.1:6379").await?.with_prefix("billing:idem").unwrap();
/// let key = RecordKey { tool: "payment-processor-v1", key: "fb5f9548" };
/// assert_eq!(store.redis_key(key), b"billing:idem:20:payment-processor-v1:fb5f9548");
/// let now = UnixMillis(1_700_000_000_000);
/// let claim = Claim {
///     token: "t-1".into(),
///     fingerprint: "f".into(),
///     now,
///     lease: Duration::from_secs(30),
/// };
/// assert_eq!(store.claim(key, &claim).await?, ClaimOutcome::Claimed);
/// let output = Completion::Output(br#"{"charged":true}"#.to_vec());
/// store.complete(key, &claim, &output, Duration::from_secs(3600)).await?;
/// // Any worker connected to the same server now replays the result.
/// let record = store.get(key).await?.unwrap();
/// assert_eq!(record.token, "t-1");
/// # Ok::<(), idem_core::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    scripts: Arc<Scripts>,
    /// The server's address, for `Debug` (never the URL, which may hold a password).
    server: Arc<str>,
    prefix: Arc<str>,
    max_record_bytes: usize,
    claim_grace: Duration,
    /// The bound of one round trip: connection timeout + response timeout.
    round_trip: Duration,
    /// Whether claims use the Lua script rather than `SET ... NX GET` (which Redis 6.2 refuses).
    claim_by_script: Arc<AtomicBool>,
}

/// A prefix that [`RedisStore::with_prefix`] refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RedisStore prefix {prefix:?}: {reason}")]
pub struct InvalidRedisPrefix {
    /// The prefix refused.
    pub prefix: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// How [`RedisStore::connect_with`] connects: the timeouts that bound every call.
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
    connection_timeout: Duration,
    response_timeout: Duration,
    claim_by_script: bool,
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

impl RedisStore {
    /// The prefix of [`connect`](RedisStore::connect): `"idem"`.
    pub const DEFAULT_PREFIX: &'static str = "idem";
    /// The default largest record: 16 MiB (Redis itself takes up to 512 MiB).
    pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;
    /// How long an in-progress record outlives its lease in Redis by default: 24 hours (the
    /// default result TTL), so that a claim abandoned by a crash is taken over, not forgotten.
    pub const DEFAULT_CLAIM_GRACE: Duration = Duration::from_secs(24 * 3600);

    /// Connects to the server at `url` (`redis://[user:password@]host:port[/db]`, or
    /// `redis+unix:///path`) with the default [`RedisOptions`], and loads the store's scripts.
    ///
    /// ```no_run
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let store = idem_core::store::RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.prefix(), "idem");
    /// # Ok::<(), idem_core::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is not valid or the server cannot be reached
    /// within the [timeouts](RedisOptions).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, RedisOptions::new()).await
    }

    /// Connects to the server at `url` with `options`. Must be called within a Tokio runtime
    /// with its time driver enabled.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is not valid or the server cannot be reached
    /// within the timeouts.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(unavailable)?;
        let server: Arc<str> = client.get_connection_info().addr().to_string().into();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connection_timeout))
            .set_response_timeout(Some(options.response_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let round_trip = options
            .connection_timeout
            .saturating_add(options.response_timeout);
        // Two attempts when the first one fails: allow for both.
        let connect = ConnectionManager::new_with_config(client, config);
        let conn = bounded(
            round_trip.saturating_add(options.connection_timeout),
            connect,
        )
        .await?;
        let store = RedisStore {
            conn,
            scripts: Arc::new(Scripts::new()),
            server,
            prefix: Self::DEFAULT_PREFIX.into(),
            max_record_bytes: Self::DEFAULT_MAX_RECORD_BYTES,
            claim_grace: Self::DEFAULT_CLAIM_GRACE,
            round_trip,
            claim_by_script: Arc::new(AtomicBool::new(options.claim_by_script)),
        };
        store.load_scripts().await?;
        Ok(store)
    }

    /// Puts this store's keys under `prefix` instead of `"idem"`.
    ///
    /// ```
    /// use idem_core::store::RedisStore;
    ///
    /// for valid in ["idem", "billing:idem", "idem-v2"] {
    ///     assert!(RedisStore::check_prefix(valid).is_ok());
    /// }
    /// let invalid = RedisStore::check_prefix("idem:2").unwrap_err();
    /// assert_eq!(
    ///     invalid.to_string(),
    ///     "invalid RedisStore prefix \"idem:2\": a `:`-separated segment is made only of digits"
    /// );
    /// ```
    ///
    /// # Errors
    /// [`InvalidRedisPrefix`] when `prefix` is empty, or one of its `:`-separated segments is
    /// empty or made only of digits (`"a::b"`, `"idem:2"`): such a prefix could make two stores
    /// share keys.
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self, InvalidRedisPrefix> {
        Self::check_prefix(prefix)?;
        self.prefix = prefix.into();
        Ok(self)
    }

    /// Whether `prefix` is a valid prefix (see [`with_prefix`](RedisStore::with_prefix)).
    ///
    /// # Errors
    /// [`InvalidRedisPrefix`] when it is not.
    pub fn check_prefix(prefix: &str) -> Result<(), InvalidRedisPrefix> {
        check_prefix(prefix).map_err(|reason| InvalidRedisPrefix {
            prefix: prefix.to_owned(),
            reason,
        })
    }

    /// Refuses records larger than `bytes` ([`StoreError::TooLarge`], nothing sent). The sizes
    /// checked are those of the encoded record as sent and of the Redis key.
    #[must_use]
    pub fn with_max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Keeps in-progress records in Redis for `grace` after their lease (see "Expiry, leases
    /// and takeovers" above): a claim's lease has ended when its Redis time to live is `grace`
    /// or less, so every worker sharing the prefix must use the same grace. Zero lets Redis
    /// remove a claim at the end of its lease: a claim after that is then
    /// [`Claimed`](ClaimOutcome::Claimed), never [`TookOver`](ClaimOutcome::TookOver).
    #[must_use]
    pub fn with_claim_grace(mut self, grace: Duration) -> Self {
        self.claim_grace = grace;
        self
    }

    /// The prefix of the store's keys.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The largest record the store sends.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// How long an in-progress record outlives its lease in Redis.
    pub fn claim_grace(&self) -> Duration {
        self.claim_grace
    }

    /// The Redis key of `key`'s record: `{prefix}:{n}:{tool}:{key}`, `n` the length of the tool
    /// id in bytes.
    pub fn redis_key(&self, key: RecordKey<'_>) -> Vec<u8> {
        let mut len = itoa::Buffer::new();
        let len = len.format(key.tool.len());
        let mut out =
            Vec::with_capacity(self.prefix.len() + len.len() + key.tool.len() + key.key.len() + 3);
        out.extend_from_slice(self.prefix.as_bytes());
        out.push(b':');
        out.extend_from_slice(len.as_bytes());
        out.push(b':');
        out.extend_from_slice(key.tool.as_bytes());
        out.push(b':');
        out.extend_from_slice(key.key.as_bytes());
        out
    }

    fn address(&self, key: RecordKey<'_>) -> Result<Vec<u8>, StoreError> {
        let address = self.redis_key(key);
        self.check_size(key, address.len())?;
        Ok(address)
    }

    fn check_size(&self, key: RecordKey<'_>, size: usize) -> Result<(), StoreError> {
        StoreError::check_size(key, size, self.max_record_bytes)
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// `future`, one round trip, bounded by the round-trip timeout.
    async fn bounded<T>(
        &self,
        future: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, StoreError> {
        bounded(self.round_trip, future).await
    }

    async fn load_scripts(&self) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        for script in self.scripts.all() {
            pipe.cmd("SCRIPT").arg("LOAD").arg(script.code).ignore();
        }
        self.bounded(pipe.exec_async(&mut self.conn())).await
    }

    /// Runs `script` on `address` with `args`: one round trip.
    async fn run(
        &self,
        script: &LuaScript,
        address: &[u8],
        args: &[&[u8]],
    ) -> Result<Reply, StoreError> {
        let mut invocation = script.script.key(address);
        for arg in args {
            invocation.arg(*arg);
        }
        let mut conn = self.conn();
        let value: Value = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Reply::parse(value)
    }

    /// Sets `address` to `fresh` (expiring in `px` ms) unless it exists, in one round trip:
    /// [`Reply::Done`] when it was set, else the value found (with its `PTTL` from the script).
    async fn claim_command(
        &self,
        address: &[u8],
        fresh: &[u8],
        px: &[u8],
    ) -> Result<Reply, StoreError> {
        if !self.claim_by_script.load(Ordering::Relaxed) {
            let mut set = redis::cmd("SET");
            set.arg(address)
                .arg(fresh)
                .arg("NX")
                .arg("PX")
                .arg(px)
                .arg("GET");
            match bounded_raw(self.round_trip, set.query_async(&mut self.conn())).await? {
                Ok(Value::Nil) => return Ok(Reply::Done),
                Ok(Value::BulkString(value)) => return Ok(Reply::Found { value, pttl: None }),
                Ok(other) => return Err(unexpected_answer("SET NX GET", &other)),
                Err(error) if is_wrong_type(&error) => {
                    return Ok(Reply::WrongType(error.to_string()));
                }
                Err(error) if is_syntax_error(&error) => {
                    // Redis 6.2: `NX` with `GET` is not accepted (and nothing was set).
                    tracing::info!(
                        server = %self.server,
                        "the Redis server refuses SET with NX and GET: claiming by script"
                    );
                    self.claim_by_script.store(true, Ordering::Relaxed);
                }
                Err(error) => return Err(unavailable(error)),
            }
        }
        self.run(&self.scripts.claim, address, &[fresh, px]).await
    }

    /// Whether claims go through the Lua script (Redis 6.2, or
    /// [`RedisOptions::claim_by_script`]) rather than the native `SET ... NX PX ... GET`.
    pub fn claims_by_script(&self) -> bool {
        self.claim_by_script.load(Ordering::Relaxed)
    }

    async fn claim_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
    ) -> Result<ClaimOutcome, StoreError> {
        let address = self.address(key)?;
        let fresh = RecordRef::claimed(claim).encode(key)?;
        self.check_size(key, fresh.len())?;
        let mut px = itoa::Buffer::new();
        let px = px
            .format(px_ms(claim.lease.saturating_add(self.claim_grace)))
            .as_bytes();
        let grace_ms = grace_ms(self.claim_grace);
        let mut grace = itoa::Buffer::new();
        let grace = grace.format(grace_ms).as_bytes();
        // The value the last script found at the key instead of the one it expected, with its
        // `PTTL`: decided without another claim command.
        let mut seen = None;
        for _ in 0..MAX_ATTEMPTS {
            let (found, pttl) = match seen.take() {
                Some(seen) => seen,
                None => match self.claim_command(&address, &fresh, px).await? {
                    Reply::Done => return Ok(ClaimOutcome::Claimed),
                    Reply::Found { value, pttl } => (value, pttl),
                    Reply::WrongType(error) => return Err(wrong_type(key, &error)),
                    // Removed between the script's two steps: cannot happen (scripts are
                    // atomic), and trying again is right if it did.
                    Reply::Absent => continue,
                    reply @ Reply::Live => return Err(unexpected_answer("the claim", &reply)),
                },
            };
            let record = Record::decode(key, &found)?;
            // A finished record that is there has not expired on the server's clock; an
            // in-progress one whose `PTTL` (read with the value) is above the grace is live.
            if !record.is_in_progress() || pttl.is_some_and(|pttl| pttl > grace_ms) {
                return Ok(ClaimOutcome::Existing(record));
            }
            // The server decides whether the lease has ended, and takes the claim over only if
            // the record is still the one read.
            match self
                .run(
                    &self.scripts.take_over,
                    &address,
                    &[&found, &fresh, px, grace],
                )
                .await?
            {
                Reply::Done => {
                    return Ok(ClaimOutcome::TookOver {
                        previous_token: record.token,
                    });
                }
                Reply::Live => return Ok(ClaimOutcome::Existing(record)),
                // Another caller changed the record meanwhile: decide on what is there now.
                Reply::Found { value, pttl } => seen = Some((value, pttl)),
                // Removed meanwhile (released, deleted, expired): claim again.
                Reply::Absent => {}
                Reply::WrongType(error) => return Err(wrong_type(key, &error)),
            }
        }
        Err(contended(key))
    }

    async fn renew_now(&self, key: RecordKey<'_>, claim: &Claim<'_>) -> Result<(), StoreError> {
        let address = self.address(key)?;
        // The claim as `claim_now` wrote it: a renewal leaves the bytes as they are.
        let mut expected = RecordRef::claimed(claim).encode(key)?;
        let mut px = itoa::Buffer::new();
        let px = px
            .format(px_ms(claim.lease.saturating_add(self.claim_grace)))
            .as_bytes();
        for _ in 0..MAX_ATTEMPTS {
            let found = match self
                .run(&self.scripts.renew, &address, &[&expected, px])
                .await?
            {
                Reply::Done => return Ok(()),
                Reply::Absent => return Err(claim_lost(key)),
                Reply::WrongType(error) => return Err(wrong_type(key, &error)),
                Reply::Found { value, .. } => value,
                reply @ Reply::Live => return Err(unexpected_answer("the renewal", &reply)),
            };
            let record = Record::decode(key, &found)?;
            if !(record.is_in_progress() && record.token == claim.token) {
                return Err(claim_lost(key));
            }
            // The claim of this token, in other bytes than the claim's: renew what is there.
            expected = found;
        }
        Err(contended(key))
    }

    async fn complete_now(
        &self,
        key: RecordKey<'_>,
        claim: &Claim<'_>,
        completion: &Completion,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let address = self.address(key)?;
        // Informational (Redis expires the key after `ttl` on the server's clock): this host's
        // clock plus the TTL.
        let expires_at = UnixMillis::now(&SystemClock).plus(ttl);
        // The claim as `claim_now` wrote it, and the record it completes into.
        let mut expected = RecordRef::claimed(claim).encode(key)?;
        let mut done = RecordRef::completed(claim, completion, expires_at).encode(key)?;
        self.check_size(key, done.len())?;
        let mut px = itoa::Buffer::new();
        let px = px.format(px_ms(ttl)).as_bytes();
        for _ in 0..MAX_ATTEMPTS {
            let found = match self
                .run(&self.scripts.set_if, &address, &[&expected, &done, px])
                .await?
            {
                Reply::Done => return Ok(()),
                Reply::Absent => return Err(claim_lost(key)),
                Reply::WrongType(error) => return Err(wrong_type(key, &error)),
                Reply::Found { value, .. } => value,
                reply @ Reply::Live => return Err(unexpected_answer("the completion", &reply)),
            };
            let record = Record::decode(key, &found)?;
            if !(record.is_in_progress() && record.token == claim.token) {
                return Err(claim_lost(key));
            }
            // The claim of this token, in other bytes than the claim's (written by another
            // client, or with other fields): complete the record that is there.
            done = RecordRef {
                token: &record.token,
                fingerprint: &record.fingerprint,
                created_at: record.created_at,
                state: StateRef::of(completion, expires_at),
            }
            .encode(key)?;
            self.check_size(key, done.len())?;
            expected = found;
        }
        Err(contended(key))
    }

    async fn release_now(&self, key: RecordKey<'_>, claim: &Claim<'_>) -> Result<bool, StoreError> {
        let address = self.address(key)?;
        let mut expected = RecordRef::claimed(claim).encode(key)?;
        for _ in 0..MAX_ATTEMPTS {
            let found = match self
                .run(&self.scripts.delete_if, &address, &[&expected])
                .await?
            {
                Reply::Done => return Ok(true),
                Reply::Absent => return Ok(false),
                Reply::WrongType(error) => return Err(wrong_type(key, &error)),
                Reply::Found { value, .. } => value,
                reply @ Reply::Live => return Err(unexpected_answer("the release", &reply)),
            };
            let record = Record::decode(key, &found)?;
            if !(record.is_in_progress() && record.token == claim.token) {
                return Ok(false);
            }
            expected = found;
        }
        Err(contended(key))
    }

    /// The record at `key`: a key that is there has not expired on the server's clock.
    async fn get_now(&self, key: RecordKey<'_>) -> Result<Option<Record>, StoreError> {
        let name = key.to_string();
        let address = self.address(key)?;
        let mut conn = self.conn();
        let mut get = redis::cmd("GET");
        get.arg(&address);
        let get = get.query_async::<Option<Vec<u8>>>(&mut conn);
        let found = match bounded_raw(self.round_trip, get).await? {
            Ok(found) => found,
            Err(error) if is_wrong_type(&error) => {
                return Err(wrong_type(key, &error.to_string()));
            }
            Err(error) => return Err(unavailable(error)),
        };
        found.map(|bytes| Record::decode(&name, &bytes)).transpose()
    }

    async fn delete_now(&self, key: RecordKey<'_>) -> Result<bool, StoreError> {
        let address = self.address(key)?;
        let mut conn = self.conn();
        let mut del = redis::cmd("DEL");
        del.arg(&address);
        let removed: u64 = self.bounded(del.query_async(&mut conn)).await?;
        Ok(removed > 0)
    }

    /// Every key of this store (each once), by `SCAN`.
    async fn keys(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let pattern = scan_pattern(&self.prefix);
        let mut conn = self.conn();
        let mut keys = HashSet::new();
        let mut cursor: u64 = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, batch): (u64, Vec<Vec<u8>>) =
                self.bounded(scan.query_async(&mut conn)).await?;
            keys.extend(
                batch
                    .into_iter()
                    .filter(|k| parse_redis_key(&self.prefix, k).is_some()),
            );
            if next == 0 {
                break;
            }
            cursor = next;
        }
        Ok(keys.into_iter().collect())
    }

    /// The values of `keys`, in order: `None` for a key gone since, an error for a key of
    /// another type.
    async fn values(
        &self,
        keys: &[Vec<u8>],
    ) -> Result<Vec<RedisResult<Option<Vec<u8>>>>, StoreError> {
        let mut conn = self.conn();
        let mut values = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(GET_CHUNK) {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for key in chunk {
                pipe.cmd("GET").arg(key);
            }
            let got: Vec<RedisResult<Option<Vec<u8>>>> =
                self.bounded(pipe.query_async(&mut conn)).await?;
            values.extend(got);
        }
        Ok(values)
    }

    async fn list_now(&self) -> Result<Vec<StoredRecord>, StoreError> {
        let keys = self.keys().await?;
        let values = self.values(&keys).await?;
        let mut all = Vec::with_capacity(keys.len());
        for (address, value) in keys.iter().zip(values) {
            let Some((tool, key)) = parse_redis_key(&self.prefix, address) else {
                continue;
            };
            let record = match value {
                Ok(Some(bytes)) => {
                    let name = RecordKey { tool, key }.to_string();
                    Record::decode(&name, &bytes).map_err(Unreadable::from)
                }
                // Expired (or deleted) since the scan.
                Ok(None) => continue,
                Err(error) => Err(Unreadable::from(wrong_type(
                    RecordKey { tool, key },
                    &error.to_string(),
                ))),
            };
            all.push(StoredRecord {
                tool: tool.to_owned(),
                key: key.to_owned(),
                record,
            });
        }
        Ok(all)
    }

    /// The server's clock (`TIME`): one round trip.
    async fn server_time(&self) -> Result<UnixMillis, StoreError> {
        let (seconds, micros): (u64, u64) = self
            .bounded(redis::cmd("TIME").query_async(&mut self.conn()))
            .await?;
        Ok(UnixMillis(
            seconds.saturating_mul(1_000).saturating_add(micros / 1_000),
        ))
    }

    async fn purge_now(&self, all: bool) -> Result<u64, StoreError> {
        let keys = self.keys().await?;
        let mut conn = self.conn();
        let mut removed = 0;
        if all {
            for chunk in keys.chunks(DEL_CHUNK) {
                let mut pipe = redis::pipe();
                for key in chunk {
                    pipe.cmd("DEL").arg(key);
                }
                let counts: Vec<u64> = self.bounded(pipe.query_async(&mut conn)).await?;
                removed += counts.iter().sum::<u64>();
            }
            return Ok(removed);
        }
        // Expired records only, by the server's clock (Redis expires what idem writes by itself:
        // what is left is what another client wrote without a TTL), each deleted only if
        // unchanged since it was read: a claim may have replaced it meanwhile. Records that
        // cannot be decoded are kept.
        let now = self.server_time().await?;
        let values = self.values(&keys).await?;
        let expired: Vec<(&Vec<u8>, Vec<u8>)> = keys
            .iter()
            .zip(values)
            .filter_map(|(address, value)| {
                let bytes = value.ok()??;
                let (tool, key) = parse_redis_key(&self.prefix, address)?;
                let name = RecordKey { tool, key }.to_string();
                let record = Record::decode(&name, &bytes).ok()?;
                record.is_expired(now).then_some((address, bytes))
            })
            .collect();
        let delete_if = &self.scripts.delete_if;
        for chunk in expired.chunks(DEL_CHUNK) {
            let mut pipe = redis::pipe();
            // The script may have been flushed from the server since connection.
            pipe.cmd("SCRIPT").arg("LOAD").arg(delete_if.code).ignore();
            for (address, bytes) in chunk {
                pipe.cmd("EVALSHA")
                    .arg(delete_if.script.get_hash())
                    .arg(1)
                    .arg(address.as_slice())
                    .arg(bytes.as_slice());
            }
            let replies: Vec<Value> = self.bounded(pipe.query_async(&mut conn)).await?;
            for reply in replies {
                if matches!(Reply::parse(reply)?, Reply::Done) {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.server)
            .field("prefix", &self.prefix)
            .field("max_record_bytes", &self.max_record_bytes)
            .field("claim_grace", &self.claim_grace)
            .field("round_trip_timeout", &self.round_trip)
            .field("claims_by_script", &self.claims_by_script())
            .finish_non_exhaustive()
    }
}

impl Store for RedisStore {
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

// ---------------------------------------------------------------------------------------------
// Scripts

/// How many times a claim, completion or release looks again after a compare and set lost to
/// another caller (each loss means another caller made progress).
const MAX_ATTEMPTS: usize = 16;
/// The `COUNT` hint of each `SCAN`.
const SCAN_COUNT: usize = 1_000;
/// Values fetched per pipeline by `list` and `purge`.
const GET_CHUNK: usize = 64;
/// Deletions per pipeline by `purge`.
const DEL_CHUNK: usize = 256;
/// The longest Redis TTL set, in ms (about 31,700 years: never, in practice). Redis refuses
/// expiry times that overflow its clock.
const MAX_PX: u64 = 1_000_000_000_000_000;

/// A Lua script and its source (to load it in pipelines).
struct LuaScript {
    script: Script,
    code: &'static str,
}

impl LuaScript {
    fn new(code: &'static str) -> Self {
        LuaScript {
            script: Script::new(code),
            code,
        }
    }
}

struct Scripts {
    claim: LuaScript,
    take_over: LuaScript,
    renew: LuaScript,
    set_if: LuaScript,
    delete_if: LuaScript,
}

impl Scripts {
    fn new() -> Self {
        Scripts {
            claim: LuaScript::new(CLAIM),
            take_over: LuaScript::new(TAKE_OVER),
            renew: LuaScript::new(RENEW),
            set_if: LuaScript::new(SET_IF),
            delete_if: LuaScript::new(DELETE_IF),
        }
    }

    fn all(&self) -> [&LuaScript; 5] {
        [
            &self.claim,
            &self.take_over,
            &self.renew,
            &self.set_if,
            &self.delete_if,
        ]
    }
}

// Every script reads its one key as KEYS[1]; a GET is `redis.pcall`ed so that a key of another
// type is an answer ({-1, error}), not a script error. Replies: {1} done, {0} absent,
// {0, value} the value found (for Rust to decode), {0, value, pttl} the same with the key's
// `PTTL`, {2} a live claim (the takeover), {-1, error} a key of another type.

/// Lua: reads the key into `found`, and answers for the script when there is nothing to compare:
/// {-1, error} for a key of another type, {0} for no key.
macro_rules! read_found_lua {
    () => {
        r#"
local found = redis.pcall('GET', KEYS[1])
if type(found) == 'table' then
  return {-1, tostring(found.err)}
end
if not found then
  return {0}
end
"#
    };
}

/// ARGV[1]: the in-progress record; ARGV[2]: its Redis TTL (ms). Sets the key unless it
/// exists; else answers its value and its `PTTL`.
const CLAIM: &str = concat!(
    r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1}
end
"#,
    read_found_lua!(),
    r#"
return {0, found, redis.call('PTTL', KEYS[1])}
"#
);

/// ARGV[1]: the in-progress record read; ARGV[2]: the new claim; ARGV[3]: its Redis TTL (ms);
/// ARGV[4]: the claim grace (ms). Replaces the record read by the new claim if the key still
/// holds it, byte for byte, and its lease has ended on the server's clock: its `PTTL` is the
/// grace or less (-1, no expiry, included). Else {2} for a live claim, or the value now there
/// with its `PTTL`.
const TAKE_OVER: &str = concat!(
    read_found_lua!(),
    r#"
local pttl = redis.call('PTTL', KEYS[1])
if found ~= ARGV[1] then
  return {0, found, pttl}
end
if pttl > tonumber(ARGV[4]) then
  return {2}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {1}
"#
);

/// ARGV[1]: the claim expected; ARGV[2]: its new Redis TTL (ms). Sets the key's TTL, its value
/// unchanged, only if it holds the expected claim, byte for byte.
const RENEW: &str = concat!(
    read_found_lua!(),
    r#"
if found ~= ARGV[1] then
  return {0, found}
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1}
"#
);

/// ARGV[1]: the value expected; ARGV[2]: the new value; ARGV[3]: its Redis TTL (ms). Sets the
/// key to the new value only if it holds the expected one, byte for byte.
const SET_IF: &str = concat!(
    read_found_lua!(),
    r#"
if found ~= ARGV[1] then
  return {0, found}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {1}
"#
);

/// ARGV[1]: the value expected. Deletes the key only if it holds the expected value, byte for
/// byte.
const DELETE_IF: &str = concat!(
    read_found_lua!(),
    r#"
if found ~= ARGV[1] then
  return {0, found}
end
redis.call('DEL', KEYS[1])
return {1}
"#
);

/// A script's answer.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Done,
    Absent,
    /// Another value than expected (or a claim found taken), with the key's `PTTL` (ms; -1 for
    /// no expiry) when the script read it.
    Found {
        value: Vec<u8>,
        pttl: Option<i64>,
    },
    /// The takeover found the claim expected still live.
    Live,
    /// The key holds another Redis type; the server's error.
    WrongType(String),
}

impl Reply {
    fn parse(value: Value) -> Result<Reply, StoreError> {
        let unexpected = |what: &dyn fmt::Debug| StoreError::Unavailable {
            store: "redis",
            source: format!("unexpected answer from a script: {what:?}").into(),
        };
        let Value::Array(items) = value else {
            return Err(unexpected(&value));
        };
        let mut items = items.into_iter();
        match (items.next(), items.next(), items.next(), items.next()) {
            (Some(Value::Int(1)), None, None, None) => Ok(Reply::Done),
            (Some(Value::Int(0)), None, None, None) => Ok(Reply::Absent),
            (Some(Value::Int(0)), Some(Value::BulkString(value)), pttl, None) => {
                let pttl = match pttl {
                    None => None,
                    Some(Value::Int(pttl)) => Some(pttl),
                    Some(other) => return Err(unexpected(&other)),
                };
                Ok(Reply::Found { value, pttl })
            }
            (Some(Value::Int(2)), None, None, None) => Ok(Reply::Live),
            (Some(Value::Int(-1)), Some(Value::BulkString(error)), None, None) => Ok(
                Reply::WrongType(String::from_utf8_lossy(&error).into_owned()),
            ),
            other => Err(unexpected(&other)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys

/// Why `prefix` is not a valid prefix, if it is not.
fn check_prefix(prefix: &str) -> Result<(), &'static str> {
    if prefix.is_empty() {
        return Err("it is empty");
    }
    for segment in prefix.split(':') {
        if segment.is_empty() {
            return Err("a `:`-separated segment is empty");
        }
        if segment.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a `:`-separated segment is made only of digits");
        }
    }
    Ok(())
}

/// The `SCAN` pattern of the store's keys: `{prefix}:[0-9]*`, the prefix's glob characters
/// escaped.
fn scan_pattern(prefix: &str) -> Vec<u8> {
    let mut pattern = Vec::with_capacity(prefix.len() + 8);
    for b in prefix.bytes() {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            pattern.push(b'\\');
        }
        pattern.push(b);
    }
    pattern.extend_from_slice(b":[0-9]*");
    pattern
}

/// The (tool, key) of a key written by [`RedisStore::redis_key`] under `prefix`.
fn parse_redis_key<'k>(prefix: &str, raw: &'k [u8]) -> Option<(&'k str, &'k str)> {
    let rest = raw.strip_prefix(prefix.as_bytes())?.strip_prefix(b":")?;
    let colon = rest.iter().position(|&b| b == b':')?;
    let (len, rest) = (&rest[..colon], &rest[colon + 1..]);
    let canonical = len == b"0" || (len.first().is_some_and(|&b| b != b'0') && len.len() <= 20);
    if !canonical || !len.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let len: usize = std::str::from_utf8(len).ok()?.parse().ok()?;
    let tool = rest.get(..len)?;
    let key = rest.get(len..)?.strip_prefix(b":")?;
    Some((
        std::str::from_utf8(tool).ok()?,
        std::str::from_utf8(key).ok()?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Errors and time

/// A Redis TTL in ms: at least 1 (Redis refuses 0), at most [`MAX_PX`].
fn px_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_PX)
}

/// The claim grace in ms, as `PTTL`s are compared with it: at most [`MAX_PX`] (the longest
/// TTL the store sets).
fn grace_ms(grace: Duration) -> i64 {
    let ms = u64::try_from(grace.as_millis())
        .unwrap_or(u64::MAX)
        .min(MAX_PX);
    i64::try_from(ms).unwrap_or(i64::MAX)
}

async fn bounded_raw<T>(
    limit: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> Result<RedisResult<T>, StoreError> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| StoreError::Unavailable {
            store: "redis",
            source: format!("no answer from the server within {limit:?}").into(),
        })
}

async fn bounded<T>(
    limit: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> Result<T, StoreError> {
    bounded_raw(limit, future).await?.map_err(unavailable)
}

fn unavailable(error: RedisError) -> StoreError {
    StoreError::Unavailable {
        store: "redis",
        source: Box::new(error),
    }
}

fn is_wrong_type(error: &RedisError) -> bool {
    error.code() == Some("WRONGTYPE")
}

/// `ERR syntax error`: what Redis 6.2 answers to `SET` with both `NX` and `GET`.
fn is_syntax_error(error: &RedisError) -> bool {
    error.code() == Some("ERR") && error.detail().is_some_and(|d| d.contains("syntax error"))
}

fn unexpected_answer(command: &str, answer: &dyn fmt::Debug) -> StoreError {
    StoreError::Unavailable {
        store: "redis",
        source: format!("unexpected answer to {command}: {answer:?}").into(),
    }
}

fn wrong_type(key: RecordKey<'_>, error: &str) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        reason: format!("the Redis key holds another type than a string ({error})"),
    }
}

fn claim_lost(key: RecordKey<'_>) -> StoreError {
    StoreError::ClaimLost {
        key: key.to_string(),
    }
}

fn contended(key: RecordKey<'_>) -> StoreError {
    StoreError::Unavailable {
        store: "redis",
        source: format!(
            "the record of `{key}` changed under {MAX_ATTEMPTS} attempts in a row to update it"
        )
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unambiguous() {
        let cases = [
            ("ab", "c"),
            ("a", "bc"),
            ("a:b", "c"),
            ("a", "b:c"),
            ("1:a", ""),
            ("", "1:a"),
            ("t\u{0}x", "k\n"),
            ("outil-é", "clé"),
            ("{tag}", "*?[x]"),
        ];
        let mut seen = HashSet::new();
        for prefix in ["idem", "idem:x", "a*b"] {
            for (tool, key) in cases {
                let mut address = prefix.as_bytes().to_vec();
                address.push(b':');
                address.extend_from_slice(format!("{}:{tool}:{key}", tool.len()).as_bytes());
                assert!(seen.insert(address.clone()));
                assert_eq!(parse_redis_key(prefix, &address), Some((tool, key)));
            }
        }
        // Nested prefixes: `idem`'s parser rejects the keys of `idem:x`.
        assert_eq!(parse_redis_key("idem", b"idem:x:1:t:k"), None);
        for bad in [
            &b""[..],
            b"idem",
            b"idem:",
            b"idem:x",
            b"idem:3:ab",
            b"idem:2:abc",
            b"idem:+1:a:b",
            b"idem::a:b",
            b"idem:01:a:b",
            b"idem:99999999999999999999999:a",
            b"idem:1:\xff:k",
            b"other:1:a:b",
        ] {
            assert_eq!(parse_redis_key("idem", bad), None, "{bad:?}");
        }
    }

    #[test]
    fn prefixes() {
        for good in ["idem", "billing:idem", "idem-v2", "a*b?", "{idem}", "x:1a"] {
            assert_eq!(check_prefix(good), Ok(()), "{good}");
        }
        for bad in ["", ":", "a::b", "idem:", ":idem", "idem:2", "42", "a:007:b"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
        assert_eq!(scan_pattern("idem"), b"idem:[0-9]*");
        assert_eq!(scan_pattern(r"a*b?[c]\"), br"a\*b\?\[c\]\\:[0-9]*");
    }

    #[test]
    fn ttls() {
        assert_eq!(px_ms(Duration::ZERO), 1);
        assert_eq!(px_ms(Duration::from_millis(1500)), 1500);
        assert_eq!(px_ms(Duration::MAX), MAX_PX);
        assert_eq!(grace_ms(Duration::ZERO), 0);
        assert_eq!(grace_ms(Duration::from_secs(600)), 600_000);
        assert_eq!(grace_ms(Duration::MAX), MAX_PX as i64);
    }

    #[test]
    fn replies() {
        let int = Value::Int;
        let bulk = |b: &[u8]| Value::BulkString(b.to_vec());
        assert_eq!(
            Reply::parse(Value::Array(vec![int(1)])).unwrap(),
            Reply::Done
        );
        assert_eq!(
            Reply::parse(Value::Array(vec![int(0)])).unwrap(),
            Reply::Absent
        );
        assert_eq!(
            Reply::parse(Value::Array(vec![int(0), bulk(b"")])).unwrap(),
            Reply::Found {
                value: Vec::new(),
                pttl: None
            }
        );
        assert_eq!(
            Reply::parse(Value::Array(vec![int(0), bulk(b"v"), int(-1)])).unwrap(),
            Reply::Found {
                value: b"v".to_vec(),
                pttl: Some(-1)
            }
        );
        assert_eq!(
            Reply::parse(Value::Array(vec![int(2)])).unwrap(),
            Reply::Live
        );
        assert_eq!(
            Reply::parse(Value::Array(vec![int(-1), bulk(b"WRONGTYPE x")])).unwrap(),
            Reply::WrongType("WRONGTYPE x".into())
        );
        for odd in [
            Value::Nil,
            Value::Int(1),
            Value::Array(vec![int(7)]),
            Value::Array(vec![int(2), int(0)]),
            Value::Array(vec![int(0), bulk(b"v"), bulk(b"1")]),
            Value::Array(vec![int(0), bulk(b"v"), int(1), int(1)]),
        ] {
            assert!(matches!(
                Reply::parse(odd),
                Err(StoreError::Unavailable { store: "redis", .. })
            ));
        }
    }
}
