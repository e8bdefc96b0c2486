//! Where claims and results live: the [`Store`] trait and the stores idem ships.
//!
//! A store keeps one [`Record`] per (tool, key). The executor drives it through five atomic
//! operations: [`claim`](Store::claim) a key with a lease, [`renew`](Store::renew) the lease while
//! the tool runs, [`complete`](Store::complete) it with the result (only while holding the
//! claim), [`release`](Store::release) it after a failure, and [`get`](Store::get) it to replay or
//! wait. Expired records count as absent.
//!
//! ## Time: the store's clock decides
//!
//! Whether a lease has ended or a result has expired is decided by **the store's clock**, never
//! by the caller's: the server's time for [`RedisStore`] and [`PostgresStore`], and a clock of the
//! store's own for [`MemoryStore`], [`RedbStore`] and [`SqliteStore`] (the host's wall clock
//! unless one is given with `with_clock`, e.g. a [`ManualClock`](crate::clock::ManualClock) in tests). Two workers whose
//! clocks disagree by minutes therefore agree on every lease: a live claim is never taken over
//! because a caller's clock runs ahead. Leases and TTLs are durations, measured from the moment
//! the store applies them.
//!
//! | store | where | survives a restart | shared by processes |
//! |---|---|---|---|
//! | [`MemoryStore`] | this process | no | no |
//! | [`RedbStore`] (feature `redb`, on by default) | one file | yes | one process at a time |
//! | [`SqliteStore`] (feature `sqlite`) | one file | yes | yes, on one host |
//! | [`PostgresStore`] (feature `postgres`) | a PostgreSQL table | yes | yes |
//! | [`RedisStore`] (feature `redis`) | a Redis or Valkey server | as the server persists | yes, a fleet |

#[cfg(any(feature = "redb", feature = "sqlite"))]
mod blocking;
mod decide;
mod error;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
#[cfg(feature = "redb")]
mod redb_store;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{InvalidRedisPrefix, RedisOptions, RedisStore};
pub use error::StoreError;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{InvalidPostgresTable, PostgresOptions, PostgresStore, PostgresTable};
pub use record::{RECORD_FORMAT, Record, RecordState, UnixMillis};
#[cfg(feature = "redb")]
#[cfg_attr(docsrs, doc(cfg(feature = "redb")))]
pub use redb_store::{AlreadyOpen, RedbStore};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{Durability, SqliteOptions, SqliteStore};

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, sendable future: what the [`Store`] methods return, so that stores can be used as
/// `Arc<dyn Store>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The address of a record: the tool id and the key. Keys of different tools never meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordKey<'a> {
    /// The tool id.
    pub tool: &'a str,
    /// The idempotency key.
    pub key: &'a str,
}

impl fmt::Display for RecordKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tool, self.key)
    }
}

/// A request to claim a key. It borrows its token and fingerprint: a claim that finds a record
/// (a replay) copies neither.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// A token unique to this claim: only its holder may renew, complete or release the record.
    pub token: &'a str,
    /// SHA-256 (hex) of the canonical bytes of all the call's arguments.
    pub fingerprint: &'a str,
    /// When the claimer made the claim, by the claimer's clock. Informational only: a store may
    /// write it as the record's [`created_at`](Record::created_at), but decides leases and
    /// expiry on its own clock, never with this.
    pub now: UnixMillis,
    /// How long the claim holds, from the moment the store applies it (or last renews it), before
    /// another caller may take it over: a crash detector, renewed while the tool runs.
    pub lease: Duration,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The key was free (absent or expired): the caller holds it now.
    Claimed,
    /// The key was held by a claim whose lease had run out: the caller holds it now.
    TookOver {
        /// The token of the claim taken over.
        previous_token: String,
    },
    /// The key is held by a live claim, or completed and not expired.
    Existing(Record),
}

/// How a claimed call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// The tool succeeded; its serialized output (JSON) is kept for replays.
    Output(Vec<u8>),
    /// The tool succeeded; only the fact that it ran is kept (`persist_result = false`).
    Marker,
    /// The tool failed with an error the caller chose to remember (a permanent failure).
    Failed(String),
    /// Whether the tool took effect is unknown (it panicked, or its caller stopped waiting while
    /// it ran): the key stays taken until the TTL, and a retry is told so instead of running the
    /// tool again. The string says why.
    Unknown(String),
}

impl Completion {
    /// The state a record takes when a claim completes this way, expiring at `expires_at`.
    pub fn to_state(&self, expires_at: UnixMillis) -> RecordState {
        self.clone().into_state(expires_at)
    }

    /// [`to_state`](Completion::to_state), without copying the output.
    pub(crate) fn into_state(self, expires_at: UnixMillis) -> RecordState {
        match self {
            Completion::Output(bytes) => RecordState::Completed {
                output: Some(bytes),
                expires_at,
            },
            Completion::Marker => RecordState::Completed {
                output: None,
                expires_at,
            },
            Completion::Failed(error) => RecordState::Failed { error, expires_at },
            Completion::Unknown(reason) => RecordState::Unknown { reason, expires_at },
        }
    }
}

/// A record as listed by [`Store::list`], with its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The tool id.
    pub tool: String,
    /// The idempotency key.
    pub key: String,
    /// The record, or why it could not be read.
    pub record: Result<Record, Unreadable>,
}

/// Why a listed record cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unreadable {
    /// The bytes are not an idem record, or were damaged: an operator's case (look at it, then
    /// delete it).
    #[error("{0}")]
    Corrupt(String),
    /// A sound record in a newer format, written by a newer idem sharing the store: upgrade this
    /// idem, do not delete it.
    #[error(
        "record format version {found}, newer than this idem reads (up to {supported}): written \
         by a newer idem; upgrade this one (the record is not corrupt, do not delete it)"
    )]
    NewerFormat {
        /// The version found.
        found: u64,
        /// The newest version this idem reads.
        supported: u64,
    },
}

impl From<StoreError> for Unreadable {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UnsupportedFormat {
                found, supported, ..
            } => Unreadable::NewerFormat { found, supported },
            other => Unreadable::Corrupt(other.to_string()),
        }
    }
}

/// Storage for claims and results. Every method must be atomic with respect to the others on
/// the same key, across every process that shares the store.
///
/// The conformance suite in `tests/store_conformance` is what a store must pass.
pub trait Store: Send + Sync + fmt::Debug {
    /// Claims `key`: creates an in-progress record holding `claim.token` for `claim.lease` from
    /// now on the store's clock, unless a live record exists.
    ///
    /// - No record, or an expired finished record: [`ClaimOutcome::Claimed`].
    /// - An in-progress record whose lease has ended on the store's clock:
    ///   [`ClaimOutcome::TookOver`] (a store whose expired claims vanish may answer
    ///   [`Claimed`](ClaimOutcome::Claimed) instead).
    /// - Otherwise: [`ClaimOutcome::Existing`] with the record, untouched (a claim by the
    ///   token that holds the key included: claims are not re-entrant).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] or [`StoreError::UnsupportedFormat`] when the record there cannot
    /// be decoded: it is not overwritten. [`StoreError::Full`] from a bounded store full of
    /// live claims.
    fn claim<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<ClaimOutcome, StoreError>>;

    /// Renews `claim`, the claim this caller made on `key`: its lease now ends `claim.lease` from
    /// now on the store's clock. The executor renews a claim while its tool runs, so that the
    /// lease only detects a holder that died, not a tool that runs long.
    ///
    /// # Errors
    /// [`StoreError::ClaimLost`] when the record is not an in-progress record of `claim.token`
    /// (taken over, deleted, released or completed): nothing is written.
    fn renew<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Completes `claim`, the claim this caller made on `key`: the record becomes completed,
    /// expiring `ttl` from now on the store's clock.
    ///
    /// Only `claim.token` decides whether the record is this claim's. The record keeps its
    /// token, fingerprint and `created_at`; a store may use the claim's other fields to know the
    /// stored record without reading it first (the Redis store compares the bytes). A claim whose
    /// lease has run out can still complete as long as nobody took it over: the lease only lets
    /// another caller take the key.
    ///
    /// # Errors
    /// [`StoreError::ClaimLost`] when the record is not an in-progress record of `claim.token`
    /// (its lease ran out and another caller took it over, it was deleted or released, or it is
    /// already completed): nothing is written. [`StoreError::Corrupt`] when the output is not
    /// JSON, or the stored record cannot be decoded.
    fn complete<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
        completion: &'a Completion,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Releases `claim`, the claim this caller made on `key` (the tool failed and may be
    /// retried). Returns whether a record was removed. Only an in-progress record of
    /// `claim.token` is removed: a record of another token, or a completed or failed one (of any
    /// token), is left alone.
    fn release<'a>(
        &'a self,
        key: RecordKey<'a>,
        claim: &'a Claim<'a>,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// The record of `key`, or `None` when there is none or it has expired on the store's clock.
    /// An in-progress record is returned whatever its lease.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] or [`StoreError::UnsupportedFormat`] when the record cannot be
    /// decoded.
    fn get<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<Option<Record>, StoreError>>;

    /// Removes `key`'s record whatever its state (an operator's tool). Returns whether one was
    /// removed.
    fn delete<'a>(&'a self, key: RecordKey<'a>) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Every record, expired ones included, in no particular order (an operator's tool).
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredRecord>, StoreError>>;

    /// Removes the records that have expired on the store's clock (with `all`, every record).
    /// Returns how many were removed.
    ///
    /// "Expired" is [`Record::is_expired`]: finished records past their expiry.
    /// In-progress records stay, even after their lease (the next claim takes them over), and
    /// so do records that cannot be decoded (delete them by hand).
    fn purge(&self, all: bool) -> BoxFuture<'_, Result<u64, StoreError>>;
}

fn _object_safe(_: &dyn Store) {}
