//! [`StoreError`]: what can go wrong in a store. idem fails closed: on any of these the tool
//! does not run.

use crate::error::BoxError;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store cannot be reached or did not answer (I/O, network, a closed database).
    #[error("the {store} store is unavailable: {source}")]
    Unavailable {
        /// Which store (`"redb"`, `"redis"`, ...).
        store: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// A record could not be decoded: it was not written by idem, or was damaged.
    #[error("the record of `{key}` is corrupt: {reason}")]
    Corrupt {
        /// The record's address.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A record was written in a newer version of idem's record format than this idem reads:
    /// the record is sound, written by a newer idem sharing the store. Upgrade this idem; do
    /// not delete the record.
    #[error(
        "the record of `{key}` has format version {found}, newer than this idem reads (up to \
         {supported}): it was written by a newer idem; upgrade this one (the record is not \
         corrupt, do not delete it)"
    )]
    UnsupportedFormat {
        /// The record's address.
        key: String,
        /// The version found.
        found: u64,
        /// The version this idem reads and writes.
        supported: u64,
    },
    /// The claim was lost: the record is no longer an in-progress record of this claim's token.
    /// Another caller took the key over after the claim's lease ran out on the store's clock,
    /// or the record was deleted, released or completed. Nothing was written.
    #[error(
        "the claim on `{key}` was lost: the record is no longer this claim's (taken over after \
         its lease ran out, or deleted, released or completed)"
    )]
    ClaimLost {
        /// The record's address.
        key: String,
    },
    /// The store's file (or table) is damaged: idem refuses to use it rather than forget
    /// records, which would let duplicates run again.
    #[error(
        "the {store} store at `{place}` is damaged: {reason}; idem will not use it: restore it \
         from a backup, or move it aside to start afresh (every call then runs again once)"
    )]
    Damaged {
        /// Which store (`"redb"`, ...).
        store: &'static str,
        /// Where it is (a file's path).
        place: String,
        /// What is wrong.
        reason: String,
    },
    /// A value is larger than the store accepts.
    #[error("the record of `{key}` is {size} bytes, above the store's limit of {limit} bytes")]
    TooLarge {
        /// The record's address.
        key: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A bounded store is full of live records and cannot take another one.
    #[error("the store is full: {capacity} live records; raise its capacity or lower TTLs")]
    Full {
        /// The capacity.
        capacity: usize,
    },
}

impl StoreError {
    /// [`StoreError::TooLarge`] when `size` bytes are over `limit`; `key` names the record (it is
    /// written out only for the error). The shared stores bound what they send or write.
    #[cfg(any(feature = "redis", feature = "postgres", feature = "sqlite"))]
    pub(crate) fn check_size(
        key: impl std::fmt::Display,
        size: usize,
        limit: usize,
    ) -> Result<(), StoreError> {
        if size > limit {
            return Err(StoreError::TooLarge {
                key: key.to_string(),
                size,
                limit,
            });
        }
        Ok(())
    }
}
