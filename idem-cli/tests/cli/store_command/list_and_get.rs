//! `list` and `get`: every kind of record, keys by tool, alone, or by their start.

use super::*;

#[test]
fn list_shows_every_record_sorted_with_its_state_times_and_size() {
    let (_dir, path) = fixture();
    let list = ok(&path, &["list"]);
    let rows = rows(&list);
    let cells = |row: &Vec<String>| row.iter().take(6).cloned().collect::<Vec<_>>();
    let recent = "2023-11-14T22:13:20.000Z";
    let in_a_century = "2123-10-21T22:13:20.000Z";
    let expected: [[&str; 6]; 7] = [
        [EMAIL, CLAIM_KEY, "in_progress", recent, in_a_century, "-"],
        [EMAIL, SHARED_KEY, "failed", recent, in_a_century, "-"],
        [
            ORDER,
            MARKER_KEY,
            "completed",
            recent,
            in_a_century,
            "marker",
        ],
        [
            ORDER,
            STALE_CLAIM_KEY,
            "in_progress,lease_over",
            "2001-09-09T01:46:40.000Z",
            "2001-09-09T01:47:10.000Z",
            "-",
        ],
        [
            PAYMENT,
            EXPIRED_KEY,
            "completed,expired",
            "2001-09-09T01:46:40.000Z",
            "2001-09-09T02:46:40.000Z",
            "34B",
        ],
        [PAYMENT, CORRUPT_KEY, "corrupt", "-", "-", "-"],
        [
            PAYMENT,
            SHARED_KEY,
            "completed",
            recent,
            in_a_century,
            "34B",
        ],
    ];
    assert_eq!(OUTPUT.len(), 34);
    assert_eq!(rows.len(), expected.len(), "{list}");
    for (row, expected) in rows.iter().zip(expected) {
        assert_eq!(cells(row), expected, "{list}");
    }
    // Only the corrupt record's line goes on, with the reason.
    let corrupt_line = list
        .lines()
        .find(|line| line.contains(CORRUPT_KEY))
        .expect("the corrupt record is listed");
    assert!(corrupt_line.contains("is corrupt"), "{corrupt_line}");
    assert!(
        rows.iter().filter(|row| row.len() > 6).count() == 1,
        "{list}"
    );
}

#[test]
fn get_prints_a_record_in_full_by_tool_and_key() {
    let (_dir, path) = fixture();
    let shown = ok(&path, &["get", &format!("{PAYMENT}/{SHARED_KEY}")]);
    let expected = format!(
        "tool: {PAYMENT}\n\
         key: {SHARED_KEY}\n\
         state: completed\n\
         token: t-{SHARED_KEY}\n\
         fingerprint: fp-{SHARED_KEY}\n\
         created: 2023-11-14T22:13:20.000Z (unix ms 1700000000000)\n\
         expires: 2123-10-21T22:13:20.000Z (unix ms 4853600000000)\n\
         output: {OUTPUT}\n"
    );
    assert_eq!(shown, expected);
    // The same record with --tool.
    assert_eq!(ok(&path, &["get", "--tool", PAYMENT, SHARED_KEY]), expected);
}

#[test]
fn get_takes_a_bare_key_when_it_is_unique_across_tools() {
    let (_dir, path) = fixture();
    let shown = ok(&path, &["get", EXPIRED_KEY]);
    assert!(
        shown.starts_with(&format!("tool: {PAYMENT}\nkey: {EXPIRED_KEY}\n")),
        "{shown}"
    );
    assert!(
        shown.contains("expires: 2001-09-09T02:46:40.000Z (unix ms 1000003600000), expired"),
        "{shown}"
    );
    assert!(shown.ends_with(&format!("output: {OUTPUT}\n")), "{shown}");

    let claim = ok(&path, &["get", CLAIM_KEY]);
    assert!(claim.contains("state: in_progress\n"), "{claim}");
    assert!(
        claim.contains("lease_until: 2123-10-21T22:13:20.000Z"),
        "{claim}"
    );
    assert!(!claim.contains("output"), "{claim}");

    let marker = ok(&path, &["get", MARKER_KEY]);
    assert!(marker.ends_with("output: none (a marker: only the fact that the call ran is kept)\n"));
}

#[test]
fn get_shows_a_failure_as_a_json_string() {
    let (_dir, path) = fixture();
    let shown = ok(&path, &["get", &format!("{EMAIL}/{SHARED_KEY}")]);
    assert!(shown.contains("state: failed\n"), "{shown}");
    assert!(
        shown.ends_with("error: \"mailbox \\\"full\\\"\\nretry later\"\n"),
        "{shown}"
    );
}

#[test]
fn get_of_a_key_of_two_tools_names_both() {
    let (_dir, path) = fixture();
    let run = store_cmd(&path, &["get", SHARED_KEY]);
    assert_error(
        &run,
        2,
        &[
            "matches 2 records",
            &format!("{EMAIL}/{SHARED_KEY}"),
            &format!("{PAYMENT}/{SHARED_KEY}"),
            "TOOL/KEY",
        ],
    );
}

#[test]
fn get_accepts_the_start_of_a_key_when_no_other_key_begins_the_same() {
    let (_dir, path) = fixture();
    let whole = ok(&path, &["get", MARKER_KEY]);
    assert!(
        whole.starts_with(&format!("tool: {ORDER}\nkey: {MARKER_KEY}\n")),
        "{whole}"
    );
    assert_eq!(ok(&path, &["get", &MARKER_KEY[..12]]), whole);
    assert_eq!(ok(&path, &["get", "--tool", ORDER, "d4d4"]), whole);
    let payment = ok(&path, &["get", &format!("{PAYMENT}/{SHARED_KEY}")]);
    assert_eq!(
        ok(&path, &["get", &format!("{PAYMENT}/{}", &SHARED_KEY[..12])]),
        payment
    );
    // `corrupt-1` is a whole key: it is not taken as the start of a longer one.
    assert!(
        ok(&path, &["get", "corrupt"])
            .starts_with(&format!("tool: {PAYMENT}\nkey: {CORRUPT_KEY}\n"))
    );
}

#[test]
fn get_of_the_start_of_several_keys_lists_them() {
    let (_dir, path) = fixture();
    let run = store_cmd(&path, &["get", "fb5f9548c85a"]);
    assert_error(
        &run,
        2,
        &[
            "`fb5f9548c85a` is the start of 2 keys: ",
            &format!("{EMAIL}/{SHARED_KEY}, {PAYMENT}/{SHARED_KEY}"),
            "give more of the key",
        ],
    );
    // `c1c1...` is a key of another tool.
    let run = store_cmd(&path, &["get", "--tool", ORDER, "c1c1"]);
    assert_error(&run, 2, &["no record `order-fulfillment-v1/c1c1`"]);
}

#[test]
fn an_empty_list_says_where_it_looked() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("empty.redb");
    drop(RedbStore::open(&path).expect("a new store"));
    let run = store_cmd(&path, &["list"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(rows(&run.stdout).len(), 0, "{run:?}");
    assert_eq!(
        run.stderr,
        format!("idem: no records in {}\n", path.display())
    );
}

#[test]
fn get_of_a_missing_key_is_bad_input() {
    let (_dir, path) = fixture();
    let run = store_cmd(&path, &["get", "no-such-key"]);
    assert_error(&run, 2, &["no record `no-such-key`"]);
    let run = store_cmd(&path, &["get", "--tool", ORDER, SHARED_KEY]);
    assert_error(&run, 2, &[&format!("no record `{ORDER}/{SHARED_KEY}`")]);
}

#[test]
fn a_corrupt_record_is_shown_as_corrupt() {
    let (_dir, path) = fixture();
    let shown = ok(&path, &["get", CORRUPT_KEY]);
    let mut lines = shown.lines();
    assert_eq!(lines.next(), Some(&*format!("tool: {PAYMENT}")));
    assert_eq!(lines.next(), Some(&*format!("key: {CORRUPT_KEY}")));
    assert_eq!(lines.next(), Some("state: corrupt"));
    let reason = lines.next().expect("a reason");
    assert!(reason.starts_with("reason: the record of "), "{reason}");
    assert_eq!(lines.next(), None);
}
