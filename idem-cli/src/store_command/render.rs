//! How records are printed: one aligned line each for `list`, in full for `get`.

use std::io::{self, Write};

use idem_core::store::{Record, RecordState, StoredRecord, UnixMillis, Unreadable};

/// The header of `list`.
const HEADER: [&str; 6] = ["TOOL", "KEY", "STATE", "CREATED", "EXPIRES", "OUTPUT"];

/// Prints `records` (already sorted) as a table: a header, then one line per record. Cells hold
/// no spaces, so the columns split on whitespace; a corrupt record's line ends with the reason.
pub(crate) fn write_list(
    out: &mut impl Write,
    records: &[StoredRecord],
    now: UnixMillis,
) -> io::Result<()> {
    let rows: Vec<([String; 6], Option<String>)> = records.iter().map(|r| row(r, now)).collect();
    let mut widths = HEADER.map(str::len);
    for (cells, _) in &rows {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = HEADER.map(str::to_owned);
    write_row(out, &header, None, &widths)?;
    for (cells, reason) in &rows {
        write_row(out, cells, reason.as_deref(), &widths)?;
    }
    out.flush()
}

fn write_row(
    out: &mut impl Write,
    cells: &[String; 6],
    reason: Option<&str>,
    widths: &[usize; 6],
) -> io::Result<()> {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        let last = i + 1 == cells.len() && reason.is_none();
        if !last {
            line.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
        }
    }
    if let Some(reason) = reason {
        line.push_str("  ");
        line.push_str(&printable(&one_line(reason)));
    }
    writeln!(out, "{}", line.trim_end())
}

/// `text` as a table cell: white space, control characters and backslashes escaped as in
/// Rust (`\n`, `\u{1b}`, `\u{20}`, `\\`), so that a tool id or key can neither split a
/// column nor forge a row nor send a terminal escape sequence; `?` when empty.
pub(crate) fn cell(text: &str) -> String {
    if text.is_empty() {
        return "?".to_owned();
    }
    escaped(text, char::is_whitespace)
}

/// `text` with its control characters escaped as in Rust (`\n`, `\u{1b}`) and backslashes
/// doubled: what a `name: value` line of `get` prints.
pub(crate) fn printable(text: &str) -> String {
    escaped(text, |_| false)
}

/// `text` with backslashes, control characters and the characters `also` picks escaped.
fn escaped(text: &str, also: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || also(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

/// The state shown for a record that cannot be read: `corrupt`, or `newer_format` for a sound
/// record written by a newer idem (never to be deleted for that).
fn unreadable_state(why: &Unreadable) -> &'static str {
    match why {
        Unreadable::NewerFormat { .. } => "newer_format",
        _ => "corrupt",
    }
}

/// The cells of one record, and the reason it cannot be read.
fn row(stored: &StoredRecord, now: UnixMillis) -> ([String; 6], Option<String>) {
    let tool = cell(&stored.tool);
    let key = cell(&stored.key);
    match &stored.record {
        Ok(record) => {
            let output = match &record.state {
                RecordState::Completed {
                    output: Some(bytes),
                    ..
                } => format!("{}B", bytes.len()),
                RecordState::Completed { output: None, .. } => "marker".to_owned(),
                RecordState::InProgress { .. }
                | RecordState::Failed { .. }
                | RecordState::Unknown { .. } => "-".to_owned(),
            };
            let cells = [
                tool,
                key,
                state(record, now),
                timestamp(record.created_at),
                timestamp(record.expires_at()),
                output,
            ];
            (cells, None)
        }
        Err(why) => {
            let dash = || "-".to_owned();
            let state = unreadable_state(why).to_owned();
            let cells = [tool, key, state, dash(), dash(), dash()];
            (cells, Some(why.to_string()))
        }
    }
}

/// The state of a record at `now` (this host's clock: the store's may differ a little), with
/// what `now` changes about it after a comma: `completed`, `completed,expired`, `failed`,
/// `failed,expired`, `unknown`, `unknown,expired`, `in_progress`, `in_progress,lease_over`.
fn state(record: &Record, now: UnixMillis) -> String {
    let name = state_name(&record.state);
    if record.is_expired(now) {
        format!("{name},expired")
    } else if record.lease_expired(now) {
        format!("{name},lease_over")
    } else {
        name.to_owned()
    }
}

fn state_name(state: &RecordState) -> &'static str {
    match state {
        RecordState::InProgress { .. } => "in_progress",
        RecordState::Completed { .. } => "completed",
        RecordState::Failed { .. } => "failed",
        RecordState::Unknown { .. } => "unknown",
    }
}

/// Prints one record in full: a `name: value` line per field, the output (or error) last.
pub(crate) fn write_record(
    out: &mut impl Write,
    stored: &StoredRecord,
    now: UnixMillis,
) -> io::Result<()> {
    writeln!(out, "tool: {}", printable(&stored.tool))?;
    writeln!(out, "key: {}", printable(&stored.key))?;
    let record = match &stored.record {
        Ok(record) => record,
        Err(why) => {
            writeln!(out, "state: {}", unreadable_state(why))?;
            writeln!(out, "reason: {}", printable(&one_line(&why.to_string())))?;
            return out.flush();
        }
    };
    writeln!(out, "state: {}", state_name(&record.state))?;
    writeln!(out, "token: {}", record.token)?;
    writeln!(out, "fingerprint: {}", record.fingerprint)?;
    writeln!(out, "created: {}", timestamp_in_full(record.created_at))?;
    match &record.state {
        RecordState::InProgress { lease_until } => {
            let over = if record.lease_expired(now) {
                ", over: the next claim takes the key over"
            } else {
                ""
            };
            writeln!(
                out,
                "lease_until: {}{over}",
                timestamp_in_full(*lease_until)
            )?;
        }
        RecordState::Completed { expires_at, .. }
        | RecordState::Failed { expires_at, .. }
        | RecordState::Unknown { expires_at, .. } => {
            let expired = if record.is_expired(now) {
                ", expired: it counts as absent, and purge --expired removes it"
            } else {
                ""
            };
            writeln!(out, "expires: {}{expired}", timestamp_in_full(*expires_at))?;
        }
    }
    match &record.state {
        RecordState::InProgress { .. } => {}
        RecordState::Completed {
            output: Some(bytes),
            ..
        } => {
            // A stored output is JSON (checked when it was stored and when it was read back).
            out.write_all(b"output: ")?;
            out.write_all(bytes)?;
            out.write_all(b"\n")?;
        }
        RecordState::Completed { output: None, .. } => {
            writeln!(
                out,
                "output: none (a marker: only the fact that the call ran is kept)"
            )?;
        }
        RecordState::Failed { error, .. } => {
            // As a JSON string: the message may hold line breaks or quotes.
            let quoted = serde_json::to_string(error).unwrap_or_else(|_| format!("{error:?}"));
            writeln!(out, "error: {quoted}")?;
        }
        RecordState::Unknown { reason, .. } => {
            let quoted = serde_json::to_string(reason).unwrap_or_else(|_| format!("{reason:?}"));
            writeln!(
                out,
                "outcome: unknown, {quoted}; the call will not run again until the record \
                 expires or is deleted: check whether it took effect before deleting it"
            )?;
        }
    }
    out.flush()
}

/// `text` on one line.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A time in RFC 3339 (UTC, milliseconds) and in milliseconds since 1970.
fn timestamp_in_full(time: UnixMillis) -> String {
    match rfc3339(time) {
        Some(text) => format!("{text} (unix ms {})", time.0),
        None => format!("unix ms {}", time.0),
    }
}

/// A time in RFC 3339 (UTC, milliseconds), or in milliseconds since 1970 past the year 9999.
pub(crate) fn timestamp(time: UnixMillis) -> String {
    rfc3339(time).unwrap_or_else(|| time.0.to_string())
}

/// `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ`; `None` after 9999-12-31T23:59:59.999Z.
fn rfc3339(time: UnixMillis) -> Option<String> {
    let millis = time.0 % 1000;
    let seconds = time.0 / 1000;
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    if year > 9999 {
        return None;
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    ))
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`,
/// for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_700_000_000_000, "2023-11-14T22:13:20.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (951_868_799_999, "2000-02-29T23:59:59.999Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        ];
        for (millis, text) in cases {
            assert_eq!(
                rfc3339(UnixMillis(millis)).as_deref(),
                Some(text),
                "{millis}"
            );
        }
        assert_eq!(rfc3339(UnixMillis(253_402_300_800_000)), None);
        assert_eq!(timestamp(UnixMillis(u64::MAX)), u64::MAX.to_string());
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        // 1970 to 2400: months and days roll over, leap years included.
        let mut previous = civil_from_days(0);
        assert_eq!(previous, (1970, 1, 1));
        for days in 1..157_000 {
            let date = civil_from_days(days);
            let (y, m, d) = previous;
            let next_day = (y, m, d + 1);
            let next_month = (y, m + 1, 1);
            let next_year = (y + 1, 1, 1);
            assert!(
                date == next_day
                    || (d >= 28 && date == next_month)
                    || (m == 12 && date == next_year),
                "{previous:?} then {date:?}"
            );
            if date.2 == 1 && date.1 == 3 {
                let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
                assert_eq!(previous.2, if leap { 29 } else { 28 }, "{y}");
            }
            previous = date;
        }
    }

    fn stored(tool: &str, key: &str, record: Result<Record, Unreadable>) -> StoredRecord {
        StoredRecord {
            tool: tool.to_owned(),
            key: key.to_owned(),
            record,
        }
    }

    #[test]
    fn list_lines_are_aligned_and_flag_what_now_changes() {
        let now = UnixMillis(2_000);
        let done = Record {
            token: "t".into(),
            fingerprint: "f".into(),
            created_at: UnixMillis(0),
            state: RecordState::Completed {
                output: Some(b"{\"a\":1}".to_vec()),
                expires_at: UnixMillis(1_000),
            },
        };
        let claim = Record::in_progress("t".into(), "f".into(), UnixMillis(0), UnixMillis(5_000));
        let records = [
            stored("tool", "k1", Ok(done)),
            stored("tool-long", "k2", Ok(claim)),
            stored("", "bad", Err(Unreadable::Corrupt("not a\nrecord".into()))),
            stored(
                "tool",
                "k3",
                Err(Unreadable::NewerFormat {
                    found: 3,
                    supported: 2,
                }),
            ),
        ];
        let mut printed = Vec::new();
        write_list(&mut printed, &records, now).expect("a Vec takes the output");
        let text = String::from_utf8(printed).expect("UTF-8");
        let expected = "\
TOOL       KEY  STATE              CREATED                   EXPIRES                   OUTPUT
tool       k1   completed,expired  1970-01-01T00:00:00.000Z  1970-01-01T00:00:01.000Z  7B
tool-long  k2   in_progress        1970-01-01T00:00:00.000Z  1970-01-01T00:00:05.000Z  -
?          bad  corrupt            -                         -                         -       not a record
tool       k3   newer_format       -                         -                         -       record format version 3, newer than this idem reads (up to 2): written by a newer idem; upgrade this one (the record is not corrupt, do not delete it)
";
        assert_eq!(text, expected);
    }

    #[test]
    fn tool_ids_and_keys_cannot_forge_rows_or_send_escapes() {
        assert_eq!(cell("payment-v1"), "payment-v1");
        assert_eq!(cell(""), "?");
        assert_eq!(
            cell("a b\nfake-tool  k  completed\u{1b}[31m\\"),
            "a\\u{20}b\\nfake-tool\\u{20}\\u{20}k\\u{20}\\u{20}completed\\u{1b}[31m\\\\"
        );
        assert_eq!(
            cell("outil-\u{e9}t\u{e9}\u{a0}"),
            "outil-\u{e9}t\u{e9}\\u{a0}"
        );
        assert_eq!(printable("a b\r\u{7}"), "a b\\r\\u{7}");
    }
}
