//! [`Record`]: what a store keeps per key, and its versioned encoding.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::error::StoreError;
#[cfg(feature = "redis")]
use super::{Claim, Completion};

/// Milliseconds since the Unix epoch.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// `self + duration`, saturating.
    pub fn plus(self, duration: std::time::Duration) -> UnixMillis {
        UnixMillis(
            self.0
                .saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// The time a clock reads, in milliseconds (0 before the epoch).
    pub fn now(clock: &dyn crate::clock::Clock) -> UnixMillis {
        UnixMillis(
            clock
                .now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The newest record format version this idem reads and writes.
///
/// A record is written in the oldest version that can express it, so that workers of an older
/// idem sharing the store keep reading what they can: version 1 for in-progress, completed and
/// failed records, version 2 only for a record whose outcome is unknown
/// ([`RecordState::Unknown`]). An older idem meeting a version-2 record says that it comes from
/// a newer idem ([`StoreError::UnsupportedFormat`]), never that it is corrupt.
pub const RECORD_FORMAT: u64 = 2;

/// The version of every record but an unknown outcome's.
const FORMAT_V1: u64 = 1;

/// What a store keeps for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The token of the claim that created (or took over) the record.
    pub token: String,
    /// SHA-256 (hex) of the canonical bytes of all the first call's arguments.
    pub fingerprint: String,
    /// When the record was claimed.
    pub created_at: UnixMillis,
    /// Where the call stands.
    pub state: RecordState,
}

/// Where a call stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordState {
    /// Claimed and running, until the lease runs out.
    InProgress {
        /// When another caller may take the key over.
        lease_until: UnixMillis,
    },
    /// Done. `output` is the serialized result (JSON), `None` when only a marker was kept.
    Completed {
        /// The serialized output.
        output: Option<Vec<u8>>,
        /// When the record expires.
        expires_at: UnixMillis,
    },
    /// Failed with an error remembered as permanent.
    Failed {
        /// The error's message.
        error: String,
        /// When the record expires.
        expires_at: UnixMillis,
    },
    /// Whether the tool took effect is unknown: it panicked, or its caller stopped waiting while
    /// it ran. The key stays taken until the record expires; a retry is told so instead of
    /// running the tool again.
    Unknown {
        /// Why the outcome is unknown.
        reason: String,
        /// When the record expires.
        expires_at: UnixMillis,
    },
}

impl Record {
    /// A new in-progress record.
    pub fn in_progress(
        token: String,
        fingerprint: String,
        now: UnixMillis,
        lease_until: UnixMillis,
    ) -> Self {
        Record {
            token,
            fingerprint,
            created_at: now,
            state: RecordState::InProgress { lease_until },
        }
    }

    /// When the record stops counting: the end of the lease, or the expiry of the result.
    pub fn expires_at(&self) -> UnixMillis {
        match &self.state {
            RecordState::InProgress { lease_until } => *lease_until,
            RecordState::Completed { expires_at, .. }
            | RecordState::Failed { expires_at, .. }
            | RecordState::Unknown { expires_at, .. } => *expires_at,
        }
    }

    /// Whether the record counts as absent at `now`: a finished record (completed, failed or of
    /// unknown outcome) after its expiry. An in-progress record never expires by itself: after its lease it can be taken
    /// over, which is not the same as absent.
    pub fn is_expired(&self, now: UnixMillis) -> bool {
        match &self.state {
            RecordState::InProgress { .. } => false,
            _ => self.expires_at() <= now,
        }
    }

    /// Whether this is an in-progress record whose lease has run out at `now`.
    pub fn lease_expired(&self, now: UnixMillis) -> bool {
        matches!(self.state, RecordState::InProgress { lease_until } if lease_until <= now)
    }

    /// Whether the record is a live claim at `now`.
    pub fn is_in_progress(&self) -> bool {
        matches!(self.state, RecordState::InProgress { .. })
    }

    /// The record's bytes in format version 1: a JSON object whose output, when there is one, is
    /// embedded as JSON (not re-escaped).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the output is not JSON; `key` names the record (it is
    /// written out only for an error).
    pub fn encode(&self, key: impl fmt::Display) -> Result<Vec<u8>, StoreError> {
        let state = match &self.state {
            RecordState::InProgress { lease_until } => StateRef::InProgress {
                lease_until: *lease_until,
            },
            RecordState::Completed { output, expires_at } => StateRef::Completed {
                output: output.as_deref(),
                expires_at: *expires_at,
            },
            RecordState::Failed { error, expires_at } => StateRef::Failed {
                error,
                expires_at: *expires_at,
            },
            RecordState::Unknown { reason, expires_at } => StateRef::Unknown {
                reason,
                expires_at: *expires_at,
            },
        };
        RecordRef {
            token: &self.token,
            fingerprint: &self.fingerprint,
            created_at: self.created_at,
            state,
        }
        .encode(key)
    }

    /// Reads a record written by [`Record::encode`].
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for bytes that are not a record, [`StoreError::UnsupportedFormat`]
    /// for a record of another format version. `key` names the record in the error (it is
    /// written out only then).
    pub fn decode(key: impl fmt::Display, bytes: &[u8]) -> Result<Record, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            key: key.to_string(),
            reason,
        };
        let wire: WireIn<'_> = serde_json::from_slice(bytes)
            .map_err(|e| corrupt(format!("not an idem record: {e}")))?;
        if wire.idem_record == 0 || wire.idem_record > RECORD_FORMAT {
            return Err(StoreError::UnsupportedFormat {
                key: key.to_string(),
                found: wire.idem_record,
                supported: RECORD_FORMAT,
            });
        }
        let missing = |field: &str| corrupt(format!("a `{}` record has no `{field}`", wire.state));
        let state = match &*wire.state {
            "in_progress" => RecordState::InProgress {
                lease_until: wire.lease_until.ok_or_else(|| missing("lease_until"))?,
            },
            "completed" => RecordState::Completed {
                output: wire.output.map(|o| o.get().as_bytes().to_vec()),
                expires_at: wire.expires_at.ok_or_else(|| missing("expires_at"))?,
            },
            "failed" => RecordState::Failed {
                error: wire.error.ok_or_else(|| missing("error"))?,
                expires_at: wire.expires_at.ok_or_else(|| missing("expires_at"))?,
            },
            "unknown" if wire.idem_record >= 2 => RecordState::Unknown {
                reason: wire.reason.ok_or_else(|| missing("reason"))?,
                expires_at: wire.expires_at.ok_or_else(|| missing("expires_at"))?,
            },
            other => return Err(corrupt(format!("unknown state `{other}`"))),
        };
        Ok(Record {
            token: wire.token,
            fingerprint: wire.fingerprint,
            created_at: wire.created_at,
            state,
        })
    }
}

/// A record's fields, borrowed: what a store encodes without owning a [`Record`] (a claim's
/// record, or the record a claim completes into).
pub(crate) struct RecordRef<'a> {
    pub(crate) token: &'a str,
    pub(crate) fingerprint: &'a str,
    pub(crate) created_at: UnixMillis,
    pub(crate) state: StateRef<'a>,
}

/// A [`RecordState`], borrowed.
pub(crate) enum StateRef<'a> {
    InProgress {
        lease_until: UnixMillis,
    },
    Completed {
        output: Option<&'a [u8]>,
        expires_at: UnixMillis,
    },
    Failed {
        error: &'a str,
        expires_at: UnixMillis,
    },
    Unknown {
        reason: &'a str,
        expires_at: UnixMillis,
    },
}

impl<'a> RecordRef<'a> {
    // Only RedisStore encodes a claim it does not hold as a Record.
    #[cfg(feature = "redis")]
    /// The in-progress record `claim` creates.
    pub(crate) fn claimed(claim: &Claim<'a>) -> Self {
        RecordRef {
            token: claim.token,
            fingerprint: claim.fingerprint,
            created_at: claim.now,
            state: StateRef::InProgress {
                lease_until: claim.now.plus(claim.lease),
            },
        }
    }

    // Only RedisStore encodes a claim it does not hold as a Record.
    #[cfg(feature = "redis")]
    /// The record `claim` becomes when it completes with `completion`, expiring at
    /// `expires_at`.
    pub(crate) fn completed(
        claim: &Claim<'a>,
        completion: &'a Completion,
        expires_at: UnixMillis,
    ) -> Self {
        RecordRef {
            token: claim.token,
            fingerprint: claim.fingerprint,
            created_at: claim.now,
            state: StateRef::of(completion, expires_at),
        }
    }

    /// The bytes [`Record::encode`] writes for these fields.
    pub(crate) fn encode(&self, key: impl fmt::Display) -> Result<Vec<u8>, StoreError> {
        let mut reason = None;
        let (state, lease_until, expires_at, output, error) = match self.state {
            StateRef::InProgress { lease_until } => {
                ("in_progress", Some(lease_until), None, None, None)
            }
            StateRef::Unknown {
                reason: why,
                expires_at,
            } => {
                reason = Some(why);
                ("unknown", None, Some(expires_at), None, None)
            }
            StateRef::Completed { output, expires_at } => {
                let output = match output {
                    Some(bytes) => Some(checked_output(&key, bytes)?),
                    None => None,
                };
                ("completed", None, Some(expires_at), output, None)
            }
            StateRef::Failed { error, expires_at } => {
                ("failed", None, Some(expires_at), None, Some(error))
            }
        };
        let wire = WireOut {
            idem_record: if reason.is_some() {
                RECORD_FORMAT
            } else {
                FORMAT_V1
            },
            state,
            token: self.token,
            fingerprint: self.fingerprint,
            created_at: self.created_at,
            lease_until,
            expires_at,
            output,
            error,
            reason,
        };
        // Room for the strings and the field names: one allocation.
        let room = self.token.len()
            + self.fingerprint.len()
            + output.map_or(0, |o| o.get().len())
            + error.map_or(0, str::len)
            + reason.map_or(0, str::len)
            + 160;
        let mut bytes = Vec::with_capacity(room);
        serde_json::to_writer(&mut bytes, &wire).map_err(|e| StoreError::Corrupt {
            key: key.to_string(),
            reason: format!("cannot encode the record: {e}"),
        })?;
        Ok(bytes)
    }
}

impl<'a> StateRef<'a> {
    // Only RedisStore encodes a claim it does not hold as a Record.
    #[cfg(feature = "redis")]
    /// The state a record takes when a claim completes with `completion`.
    pub(crate) fn of(completion: &'a Completion, expires_at: UnixMillis) -> Self {
        match completion {
            Completion::Output(bytes) => StateRef::Completed {
                output: Some(bytes),
                expires_at,
            },
            Completion::Marker => StateRef::Completed {
                output: None,
                expires_at,
            },
            Completion::Failed(error) => StateRef::Failed { error, expires_at },
            Completion::Unknown(reason) => StateRef::Unknown { reason, expires_at },
        }
    }
}

/// The output as a record keeps and replays it: `bytes` checked to be JSON, borrowed, without
/// the white space around it ([`RawValue::get`]); [`StoreError::Corrupt`] naming `key` when it is
/// not JSON. The stores that do not keep [`Record::encode`]'s bytes (memory, PostgreSQL) check
/// their outputs with it too, so that every store replays the same bytes.
pub(crate) fn checked_output(
    key: impl fmt::Display,
    bytes: &[u8],
) -> Result<&RawValue, StoreError> {
    serde_json::from_slice(bytes).map_err(|_| StoreError::Corrupt {
        key: key.to_string(),
        reason: "the output to store is not JSON".to_owned(),
    })
}

#[derive(Serialize)]
struct WireOut<'a> {
    idem_record: u64,
    state: &'a str,
    token: &'a str,
    fingerprint: &'a str,
    created_at: UnixMillis,
    #[serde(skip_serializing_if = "Option::is_none")]
    lease_until: Option<UnixMillis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<UnixMillis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Deserialize)]
struct WireIn<'a> {
    idem_record: u64,
    #[serde(borrow)]
    state: Cow<'a, str>,
    token: String,
    fingerprint: String,
    created_at: UnixMillis,
    #[serde(default)]
    lease_until: Option<UnixMillis>,
    #[serde(default)]
    expires_at: Option<UnixMillis>,
    #[serde(default, borrow, deserialize_with = "present")]
    output: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// An output member that is present, whatever its JSON value: `"output": null` is the output
/// `null` (a tool returning `()` or `None`), not a record without output (a marker, which has no
/// `output` member at all, and gets `None` from `#[serde(default)]`).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(deserializer).map(Some)
}
