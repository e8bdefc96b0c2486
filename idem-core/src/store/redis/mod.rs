//! [`RedisStore`]: records in a Redis (or Valkey) server, shared by a fleet of workers.
//!
//! - `mod.rs`: the store, how it connects, and its [`Store`] implementation;
//! - `operations.rs`: each operation's round trips; `scripts.rs`: the Lua scripts and their
//!   replies; `layout.rs`: the key layout; `errors.rs`: bounded round trips and errors;
//!   `options.rs`: [`RedisOptions`].

mod discover;
mod errors;
mod layout;
mod operations;
mod options;
mod scripts;
#[cfg(test)]
mod tests;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult, Value};

use super::{
    BoxFuture, Claim, ClaimOutcome, Completion, Record, RecordKey, Store, StoreError, StoredRecord,
};
use errors::{
    bounded, bounded_raw, is_syntax_error, is_wrong_type, unavailable, unexpected_answer,
};
pub use options::{InvalidRedisPrefix, RedisOptions};
use scripts::{LuaScript, Reply, Scripts};

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
/// where `prefix` is the store's [prefix](RedisOptions::with_prefix) (`"idem"` by default) and `n`
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
///   ([`claim_grace`](RedisOptions::with_claim_grace): 24 hours by default), and
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
///   [`RedisOptions::with_claim_by_script`] starts with the script. The value is decoded in Rust: a
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
/// [`connect_timeout`](RedisOptions::with_connect_timeout) +
/// [`response_timeout`](RedisOptions::with_response_timeout) (5 seconds by default), and at once when
/// the connection is refused or reset. Connection, I/O, timeout and server errors are
/// [`StoreError::Unavailable`] with `store: "redis"`; the call after the server comes back
/// reconnects.
///
/// A record larger than [`max_record_bytes`](RedisOptions::with_max_record_bytes) (16 MiB by
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
/// use idem::store::{
///     Claim, ClaimOutcome, Completion, RecordKey, RedisOptions, RedisStore, Store, UnixMillis,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let options = RedisOptions::new()
///     .with_prefix("billing:idem")
///     .expect("a valid prefix")
///     .with_response_timeout(Duration::from_secs(1));
/// let store = RedisStore::connect_with("redis://127.0.0.1:6379", options).await?;
/// assert_eq!(store.prefix(), "billing:idem");
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
/// # Ok::<(), idem::store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    scripts: Arc<Scripts>,
    /// The server's address, for `Debug` (never the URL, which may hold a password).
    server: Arc<str>,
    /// The options it was connected with: prefix, limits, grace.
    options: RedisOptions,
    /// The bound of one round trip: connection timeout + response timeout.
    round_trip: Duration,
    /// Whether claims use the Lua script rather than `SET ... NX GET` (which Redis 6.2 refuses).
    claim_by_script: Arc<AtomicBool>,
}

impl RedisStore {
    /// Connects to the server at `url` (`redis://[user:password@]host:port[/db]`, or
    /// `redis+unix:///path`) with the default [`RedisOptions`], and loads the store's scripts.
    ///
    /// ```no_run
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let store = idem::store::RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// assert_eq!(store.prefix(), "idem");
    /// # Ok::<(), idem::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is not valid or the server cannot be reached
    /// within the [timeouts](RedisOptions).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, RedisOptions::new()).await
    }

    /// Connects to the server at `url` with `options` (the prefix of its keys, the timeouts,
    /// the largest record, the claims' grace), and loads the store's scripts. Must be called
    /// within a Tokio runtime with its time driver enabled.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use idem::store::{RedisOptions, RedisStore};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let options = RedisOptions::new()
    ///     .with_prefix("billing:idem")
    ///     .expect("a valid prefix")
    ///     .with_connect_timeout(Duration::from_millis(500))
    ///     .with_max_record_bytes(1 << 20)
    ///     .with_claim_grace(Duration::from_secs(3600));
    /// let store = RedisStore::connect_with("redis://127.0.0.1:6379", options.clone()).await?;
    /// assert_eq!(store.options(), &options);
    /// assert_eq!(store.max_record_bytes(), 1 << 20);
    /// # Ok::<(), idem::store::StoreError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is not valid or the server cannot be reached
    /// within the timeouts.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(unavailable)?;
        let server: Arc<str> = client.get_connection_info().addr().to_string().into();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.response_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let round_trip = options
            .connect_timeout
            .saturating_add(options.response_timeout);
        // Two attempts when the first one fails: allow for both.
        let connect = ConnectionManager::new_with_config(client, config);
        let conn = bounded(round_trip.saturating_add(options.connect_timeout), connect).await?;
        let store = RedisStore {
            conn,
            scripts: Arc::new(Scripts::new()),
            server,
            round_trip,
            claim_by_script: Arc::new(AtomicBool::new(options.claim_by_script)),
            options,
        };
        store.load_scripts().await?;
        Ok(store)
    }

    /// The prefix of the store's keys ([`RedisOptions::with_prefix`]).
    pub fn prefix(&self) -> &str {
        &self.options.prefix
    }

    /// The largest record the store sends, in bytes ([`RedisOptions::with_max_record_bytes`]).
    pub fn max_record_bytes(&self) -> usize {
        self.options.max_record_bytes
    }

    /// How long an in-progress record outlives its lease in Redis
    /// ([`RedisOptions::with_claim_grace`]).
    pub fn claim_grace(&self) -> Duration {
        self.options.claim_grace
    }

    /// The options the store was connected with. Whether claims go through the script now is
    /// [`claims_by_script`](RedisStore::claims_by_script): the store may have switched to it.
    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// The Redis key of `key`'s record: `{prefix}:{n}:{tool}:{key}`, `n` the length of the tool
    /// id in bytes.
    pub fn redis_key(&self, key: RecordKey<'_>) -> Vec<u8> {
        let mut len = itoa::Buffer::new();
        let len = len.format(key.tool.len());
        let mut out = Vec::with_capacity(
            self.options.prefix.len() + len.len() + key.tool.len() + key.key.len() + 3,
        );
        out.extend_from_slice(self.options.prefix.as_bytes());
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
        StoreError::check_size(key, size, self.options.max_record_bytes)
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
    /// [`RedisOptions::with_claim_by_script`]) rather than the native `SET ... NX PX ... GET`.
    pub fn claims_by_script(&self) -> bool {
        self.claim_by_script.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.server)
            .field("prefix", &self.options.prefix)
            .field("max_record_bytes", &self.options.max_record_bytes)
            .field("claim_grace", &self.options.claim_grace)
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
