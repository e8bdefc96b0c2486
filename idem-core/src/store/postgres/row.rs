//! Rows to records and back: the columns of a [`Record`], times as `bigint` milliseconds.

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use std::time::Duration;

use super::schema::ROW_FORMAT;
use crate::store::{RECORD_FORMAT, Record, RecordState, StoreError, UnixMillis};

// A row of format `ROW_FORMAT` is a record of format `RECORD_FORMAT`, by column: when one
// changes, so does the other.
const _: () = assert!(RECORD_FORMAT == ROW_FORMAT as u64);

/// A duration as the statements take it: whole milliseconds (as
/// [`UnixMillis::plus`] counts them), clamped to `i64::MAX` since a `bigint` holds no more. The
/// server clamps the time it adds it to in the same way: a TTL of `Duration::MAX` means "never".
pub(super) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Reads the record in the [`RECORD_COLUMNS`](super::schema::RECORD_COLUMNS) of `row`, from
/// column `at` on; `None` when they are all NULL (no record: the row of a claim that found none).
/// `name` names the record in errors.
///
/// The checks are those of [`Record::decode`], by column: a row of a format version above
/// [`ROW_FORMAT`] (or 0) is [`StoreError::UnsupportedFormat`]; a row whose state is not one of
/// its format's (`unknown` needs format 2), or that lacks a field its state needs, or holds a
/// negative time, is [`StoreError::Corrupt`]. An unknown outcome's reason is in the `error`
/// column.
pub(super) fn decode(name: &str, row: &Row, at: usize) -> Result<Option<Record>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: name.to_owned(),
        reason,
    };
    let Some(format) = column::<i16>(name, row, at, "format")? else {
        return Ok(None);
    };
    if !(1..=ROW_FORMAT).contains(&format) {
        return Err(match u64::try_from(format) {
            Ok(found) => StoreError::UnsupportedFormat {
                key: name.to_owned(),
                found,
                supported: RECORD_FORMAT,
            },
            Err(_) => corrupt(format!("the row's format is {format}")),
        });
    }
    let state = column::<String>(name, row, at + 1, "state")?;
    let state_name = state.as_deref().unwrap_or("NULL");
    let missing = |field: &str| corrupt(format!("a `{state_name}` row has no `{field}`"));
    let time = |index: usize, field: &str| -> Result<UnixMillis, StoreError> {
        let value = column::<i64>(name, row, at + index, field)?.ok_or_else(|| missing(field))?;
        u64::try_from(value)
            .map(UnixMillis)
            .map_err(|_| corrupt(format!("`{field}` is negative: {value}")))
    };
    let token = column::<String>(name, row, at + 2, "token")?.ok_or_else(|| missing("token"))?;
    let fingerprint = column::<String>(name, row, at + 3, "fingerprint")?
        .ok_or_else(|| missing("fingerprint"))?;
    let created_at = time(4, "created_at")?;
    let state = match state.as_deref() {
        Some("in_progress") => RecordState::InProgress {
            lease_until: time(5, "lease_until")?,
        },
        Some("completed") => RecordState::Completed {
            output: column::<String>(name, row, at + 7, "output")?.map(String::into_bytes),
            expires_at: time(6, "expires_at")?,
        },
        Some("failed") => RecordState::Failed {
            error: column::<String>(name, row, at + 8, "error")?.ok_or_else(|| missing("error"))?,
            expires_at: time(6, "expires_at")?,
        },
        Some("unknown") if format >= 2 => RecordState::Unknown {
            reason: column::<String>(name, row, at + 8, "error")?
                .ok_or_else(|| missing("error"))?,
            expires_at: time(6, "expires_at")?,
        },
        Some(other) => return Err(corrupt(format!("unknown state `{other}`"))),
        None => return Err(corrupt("the row has no state".to_owned())),
    };
    Ok(Some(Record {
        token,
        fingerprint,
        created_at,
        state,
    }))
}

/// Column `index` of `row`, NULL as `None`; a column of another type (a table altered by hand)
/// is [`StoreError::Corrupt`].
fn column<T>(name: &str, row: &Row, index: usize, field: &str) -> Result<Option<T>, StoreError>
where
    T: for<'a> FromSql<'a>,
{
    row.try_get::<_, Option<T>>(index)
        .map_err(|e| StoreError::Corrupt {
            key: name.to_owned(),
            reason: format!("column `{field}` cannot be read: {e}"),
        })
}

/// Reads a UTF-8 string stored as bytes (a tool id or a key).
pub(super) fn text(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_whole_milliseconds_clamped() {
        assert_eq!(millis(Duration::ZERO), 0);
        assert_eq!(millis(Duration::from_micros(1_999)), 1);
        assert_eq!(millis(Duration::from_secs(3600)), 3_600_000);
        assert_eq!(millis(Duration::MAX), i64::MAX);
    }

    #[test]
    fn names_that_are_not_utf8() {
        assert_eq!(text(b"tool".to_vec()), Ok("tool".to_owned()));
        assert_eq!(text(b"t\xffl".to_vec()), Err("t\u{fffd}l".to_owned()));
    }
}
