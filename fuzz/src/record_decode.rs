//! Target `record_decode`: the stores' record format (`idem_core::store::Record`), read from
//! any bytes.
//!
//! Stores read records that other processes, other releases of idem, or a damaged disk wrote,
//! so [`Record::decode`] must answer any bytes with a record or a typed error, never a panic.
//! When it reads a record:
//!
//! - [`Record::encode`] writes it (a decoded record always has a form), and decoding those bytes
//!   gives back an equal record;
//! - encoding is stable: the record decoded from the encoded bytes encodes to the same bytes;
//! - the time queries the stores ask (`expires_at`, `is_expired`, `lease_expired`) answer for
//!   any times, including 0 and `u64::MAX` milliseconds.

use idem_core::store::{Record, UnixMillis};

/// The name errors give the record (a store passes `tool/key`).
const KEY: &str = "fuzz-tool-v1/0123456789abcdef";

/// Checks one input: see the module documentation.
pub fn check(data: &[u8]) {
    let Ok(record) = Record::decode(KEY, data) else {
        return;
    };
    let bytes = record
        .encode(KEY)
        .unwrap_or_else(|e| panic!("a decoded record does not encode: {e}; {record:?}"));
    let again = Record::decode(KEY, &bytes).unwrap_or_else(|e| {
        panic!(
            "an encoded record does not decode: {e}; {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    assert_eq!(
        record, again,
        "the record changes in an encode/decode round trip"
    );
    let bytes_again = again
        .encode(KEY)
        .expect("the same record encoded a moment ago");
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(&bytes_again),
        "encoding the same record twice gives different bytes",
    );

    for now in [0, record.created_at.0, record.expires_at().0, u64::MAX] {
        let now = UnixMillis(now);
        let _ = (record.is_expired(now), record.lease_expired(now));
    }
    let _ = record.is_in_progress();
}
