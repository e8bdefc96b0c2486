//! The decisions of the stores that read a record, decide on their own clock, then write
//! (memory, redb, SQLite): written once, so that they decide alike.

use std::borrow::Borrow;

#[cfg(any(feature = "redb", feature = "sqlite"))]
use super::RecordState;
use super::{ClaimOutcome, Record, RecordKey, StoreError, UnixMillis};

/// What a claim at `now` does over `found`, the record at its key (`None`: there is none):
/// `Ok` with the outcome it reports when it may write its own record there, or `Err` with
/// `found` when that record is live and the claim answers [`ClaimOutcome::Existing`] with it,
/// untouched.
///
/// - no record, or a finished record past its expiry: [`ClaimOutcome::Claimed`];
/// - an in-progress record past its lease: [`ClaimOutcome::TookOver`];
/// - anything else is live (a claim within its lease, a result not expired).
pub(super) fn claim_over<R: Borrow<Record>>(
    found: Option<R>,
    now: UnixMillis,
) -> Result<ClaimOutcome, R> {
    let Some(found) = found else {
        return Ok(ClaimOutcome::Claimed);
    };
    let record = found.borrow();
    if record.lease_expired(now) {
        Ok(ClaimOutcome::TookOver {
            previous_token: record.token.clone(),
        })
    } else if record.is_expired(now) {
        Ok(ClaimOutcome::Claimed)
    } else {
        Err(found)
    }
}

/// Whether `record` is the claim of `token`, still in progress: the only record that
/// [`renew`](super::Store::renew), [`complete`](super::Store::complete) and
/// [`release`](super::Store::release) by `token` may change.
pub(super) fn is_held_by(record: &Record, token: &str) -> bool {
    record.is_in_progress() && record.token == token
}

/// What to do with a held claim (see [`is_held_by`]).
#[cfg(any(feature = "redb", feature = "sqlite"))]
pub(super) enum Change {
    /// Give the record this state (a renewed lease, or how the call ended), keeping its token,
    /// fingerprint and creation time.
    Rewrite(RecordState),
    /// Remove the record (a released claim).
    Remove,
}

#[cfg(any(feature = "redb", feature = "sqlite"))]
impl Change {
    /// The bytes to write over `held` (`None`: remove it); `name` names the record in errors.
    pub(super) fn apply(
        self,
        held: Record,
        name: impl std::fmt::Display,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Change::Rewrite(state) => Record { state, ..held }.encode(name).map(Some),
            Change::Remove => Ok(None),
        }
    }
}

/// The answer of a renewal or a completion ([`Change::Rewrite`]) from whether the claim was
/// still held: [`StoreError::ClaimLost`] when it was not.
pub(super) fn rewritten(key: RecordKey<'_>, held: bool) -> Result<(), StoreError> {
    if held {
        Ok(())
    } else {
        Err(StoreError::ClaimLost {
            key: key.to_string(),
        })
    }
}
