//! End-to-end tests of `idem store`: a redb file is filled through `RedbStore`, as a service
//! would fill it, then the binary lists, shows and purges its records; and a SQLite file
//! likewise, while the service has it open.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use std::sync::Arc;

use idem_core::clock::ManualClock;
use idem_core::store::{
    Claim, ClaimOutcome, Completion, RecordKey, RedbStore, SqliteStore, Store, UnixMillis,
};
use tempfile::TempDir;

/// 2023-11-14T22:13:20.000Z: records claimed then are live (their TTL runs for a century).
const RECENT: UnixMillis = UnixMillis(1_700_000_000_000);
/// 2001-09-09T01:46:40.000Z: records claimed then have expired (their TTL is an hour).
const LONG_AGO: UnixMillis = UnixMillis(1_000_000_000_000);
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);

const PAYMENT: &str = "payment-processor-v1";
const EMAIL: &str = "email-sender-v1";
const ORDER: &str = "order-fulfillment-v1";
/// A key that two tools have a record of.
const SHARED_KEY: &str = "fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b";
const EXPIRED_KEY: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
const CLAIM_KEY: &str = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
const MARKER_KEY: &str = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";
const STALE_CLAIM_KEY: &str = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";
const CORRUPT_KEY: &str = "corrupt-1";
const OUTPUT: &str = r#"{"charge_id":"ch_1","amount":10.5}"#;

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a Tokio runtime")
        .block_on(future)
}

/// Claims `tool/key` at `now` on the store's clock with `lease` (and the token `t-{key}`), then
/// completes it with `completion` for `ttl` unless it is `None`.
async fn put(
    (store, clock): (&dyn Store, &ManualClock),
    (tool, key): (&str, &str),
    now: UnixMillis,
    lease: Duration,
    completion: Option<(Completion, Duration)>,
) {
    clock.set_unix_seconds(now.0 / 1000);
    let address = RecordKey { tool, key };
    let (token, fingerprint) = (format!("t-{key}"), format!("fp-{key}"));
    let claim = Claim {
        token: &token,
        fingerprint: &fingerprint,
        now,
        lease,
    };
    let claimed = store.claim(address, &claim).await.expect("the claim");
    assert_eq!(claimed, ClaimOutcome::Claimed);
    if let Some((completion, ttl)) = completion {
        store
            .complete(address, &claim, &completion, ttl)
            .await
            .expect("the completion");
    }
}

/// A store of seven records, one of each kind, closed again so that `idem` can open it.
fn fixture() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("idem.redb");
    let clock = Arc::new(ManualClock::at_unix_seconds(0));
    let redb = RedbStore::open(&path)
        .expect("a new store")
        .with_clock(clock.clone());
    let store = (&redb as &dyn Store, &*clock);
    block_on(async {
        let output = Completion::Output(OUTPUT.as_bytes().to_vec());
        let lease = Duration::from_secs(30);
        put(
            store,
            (PAYMENT, SHARED_KEY),
            RECENT,
            lease,
            Some((output.clone(), CENTURY)),
        )
        .await;
        put(
            store,
            (PAYMENT, EXPIRED_KEY),
            LONG_AGO,
            lease,
            Some((output, HOUR)),
        )
        .await;
        let failed = Completion::Failed("mailbox \"full\"\nretry later".into());
        put(
            store,
            (EMAIL, SHARED_KEY),
            RECENT,
            lease,
            Some((failed, CENTURY)),
        )
        .await;
        put(store, (EMAIL, CLAIM_KEY), RECENT, CENTURY, None).await;
        let marker = Some((Completion::Marker, CENTURY));
        put(store, (ORDER, MARKER_KEY), RECENT, lease, marker).await;
        put(store, (ORDER, STALE_CLAIM_KEY), LONG_AGO, lease, None).await;
        let corrupt = RecordKey {
            tool: PAYMENT,
            key: CORRUPT_KEY,
        };
        redb.write_raw(corrupt, b"{not json".to_vec())
            .await
            .expect("a raw write");
    });
    (dir, path)
}

/// What one run of `idem` did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn idem(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_idem"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the idem binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// `idem store --redb PATH ARGS`.
fn store_cmd(path: &Path, args: &[&str]) -> Run {
    store_cmd_with("--redb", path, args)
}

/// `idem store FLAG PATH ARGS`.
fn store_cmd_with(flag: &str, path: &Path, args: &[&str]) -> Run {
    let path = path.to_str().expect("a UTF-8 path");
    let all: Vec<&str> = ["store", flag, path]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    idem(&all)
}

/// `idem store --redb PATH ARGS` that must succeed; returns its stdout.
fn ok(path: &Path, args: &[&str]) -> String {
    let run = store_cmd(path, args);
    assert_eq!(run.code, Some(0), "{args:?} failed: {run:?}");
    assert_eq!(run.stderr, "", "{args:?} wrote to stderr");
    run.stdout
}

/// Checks a failed run: exit `code`, nothing on stdout, one `idem: error: ` line on stderr that
/// contains every one of `needles`.
fn assert_error(run: &Run, code: i32, needles: &[&str]) {
    assert_eq!(run.code, Some(code), "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
    assert!(run.stderr.starts_with("idem: error: "), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    for needle in needles {
        assert!(run.stderr.contains(needle), "{needle:?} not in {run:?}");
    }
}

/// The whitespace-separated cells of each line of `list` after the header.
fn rows(list: &str) -> Vec<Vec<String>> {
    let mut lines = list.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(
        header,
        ["TOOL", "KEY", "STATE", "CREATED", "EXPIRES", "OUTPUT"]
    );
    lines
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}

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

#[test]
fn purge_without_a_scope_removes_nothing_and_says_what_to_add() {
    let (_dir, path) = fixture();
    let before = ok(&path, &["list"]);
    let run = store_cmd(&path, &["purge"]);
    assert_error(&run, 2, &["--expired", "--all"]);
    assert_eq!(ok(&path, &["list"]), before);
    // The two scopes exclude each other (a usage error from clap).
    let run = store_cmd(&path, &["purge", "--expired", "--all"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert_eq!(ok(&path, &["list"]), before);
}

#[test]
fn purge_expired_removes_only_expired_results() {
    let (_dir, path) = fixture();
    assert_eq!(
        ok(&path, &["purge", "--expired"]),
        "removed 1 expired record\n"
    );
    let list = ok(&path, &["list"]);
    let keys: Vec<(String, String)> = rows(&list)
        .into_iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    let expected = [
        (EMAIL, CLAIM_KEY),
        (EMAIL, SHARED_KEY),
        (ORDER, MARKER_KEY),
        // A claim whose lease ran out stays: the next claim takes it over.
        (ORDER, STALE_CLAIM_KEY),
        // A corrupt record stays: it is for an operator to look at.
        (PAYMENT, CORRUPT_KEY),
        (PAYMENT, SHARED_KEY),
    ]
    .map(|(tool, key)| (tool.to_owned(), key.to_owned()));
    assert_eq!(keys, expected);
    assert_eq!(
        ok(&path, &["purge", "--expired"]),
        "removed 0 expired records\n"
    );
}

#[test]
fn purge_all_removes_every_record() {
    let (_dir, path) = fixture();
    assert_eq!(ok(&path, &["purge", "--all"]), "removed 7 records\n");
    let run = store_cmd(&path, &["list"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(rows(&run.stdout).len(), 0);
    assert_eq!(
        run.stderr,
        format!("idem: no records in {}\n", path.display())
    );
    // The store is still a store.
    let store = RedbStore::open(&path).expect("the store opens");
    assert_eq!(block_on(store.list()).expect("a list"), []);
}

#[test]
fn a_path_with_no_store_is_an_error_and_no_file_is_created() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("typo.redb");
    for args in [&["list"][..], &["get", "k"], &["purge", "--all"]] {
        let run = store_cmd(&path, args);
        assert_error(&run, 2, &["no store at", "typo.redb"]);
        assert!(!path.exists(), "{args:?} created {}", path.display());
    }
}

#[test]
fn a_path_that_is_not_a_redb_file_is_an_error_and_left_alone() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let run = store_cmd(dir.path(), &["list"]);
    assert_error(&run, 2, &["is not a redb store", "directory"]);

    let empty = dir.path().join("empty.redb");
    std::fs::write(&empty, b"").expect("an empty file");
    let run = store_cmd(&empty, &["purge", "--all"]);
    assert_error(&run, 2, &["is not a redb store", "empty"]);
    assert_eq!(std::fs::read(&empty).expect("still there"), b"");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"not a database").expect("a text file");
    let run = store_cmd(&text, &["list"]);
    assert_error(&run, 2, &["is not a redb store"]);
    assert_eq!(
        std::fs::read(&text).expect("still there"),
        b"not a database"
    );
}

#[test]
fn a_store_held_by_a_service_is_a_store_failure() {
    let (_dir, path) = fixture();
    let service = RedbStore::open(&path).expect("the service opens the store");
    let run = store_cmd(&path, &["list"]);
    assert_error(&run, 1, &["cannot open the store at"]);
    drop(service);
    ok(&path, &["list"]);
}

#[test]
fn exactly_one_store_flag_is_required() {
    let run = idem(&["store", "list"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--redb"), "{run:?}");
}

#[test]
fn get_help_says_which_keys_it_takes() {
    let run = idem(&["store", "get", "--help"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("TOOL/KEY"), "{run:?}");
    assert!(run.stdout.contains("the key alone"), "{run:?}");
    let run = idem(&["store", "purge", "--help"]);
    assert!(
        run.stdout.contains("--expired") && run.stdout.contains("--all"),
        "{run:?}"
    );
}

/// `--sqlite PATH`: a SqliteStore's file is listed, shown and purged while the service has it
/// open (the file is shared); a path with no store, a file that is not SQLite's, and a SQLite
/// database without the store's table are refused and left as they were.
#[test]
fn a_sqlite_store_is_listed_shown_and_purged_while_its_service_runs() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("idem.sqlite");
    let clock = Arc::new(ManualClock::at_unix_seconds(0));
    let service = SqliteStore::open(&path)
        .expect("the service's store")
        .with_clock(clock.clone());
    let output = Completion::Output(OUTPUT.as_bytes().to_vec());
    let lease = Duration::from_secs(30);
    block_on(async {
        let store = (&service as &dyn Store, &*clock);
        let live = Some((output.clone(), CENTURY));
        put(store, (PAYMENT, SHARED_KEY), RECENT, lease, live).await;
        let expired = Some((output, HOUR));
        put(store, (PAYMENT, EXPIRED_KEY), LONG_AGO, lease, expired).await;
    });
    let sqlite = |args: &[&str]| {
        let run = store_cmd_with("--sqlite", &path, args);
        assert_eq!(run.code, Some(0), "{args:?} failed: {run:?}");
        run.stdout
    };
    let listed: Vec<String> = rows(&sqlite(&["list"]))
        .into_iter()
        .map(|row| format!("{} {}", row[1], row[2]))
        .collect();
    assert_eq!(
        listed,
        [
            format!("{EXPIRED_KEY} completed,expired"),
            format!("{SHARED_KEY} completed")
        ]
    );
    let shown = sqlite(&["get", &format!("{PAYMENT}/{SHARED_KEY}")]);
    assert!(shown.ends_with(&format!("output: {OUTPUT}\n")), "{shown}");
    assert_eq!(
        sqlite(&["purge", "--expired"]),
        "removed 1 expired record\n"
    );
    // The service sees what the command did.
    block_on(async {
        let expired = RecordKey {
            tool: PAYMENT,
            key: EXPIRED_KEY,
        };
        assert_eq!(service.list().await.expect("a list").len(), 1);
        assert_eq!(service.get(expired).await.expect("a get"), None);
    });

    let typo = dir.path().join("typo.sqlite");
    let run = store_cmd_with("--sqlite", &typo, &["list"]);
    assert_error(&run, 2, &["no store at", "typo.sqlite"]);
    assert!(!typo.exists());
    let redb = dir.path().join("idem.redb");
    drop(RedbStore::open(&redb).expect("a redb file"));
    let run = store_cmd_with("--sqlite", &redb, &["list"]);
    assert_error(&run, 2, &["is not a SQLite store"]);
    // Another program's SQLite database: no table is added to it.
    let other = dir.path().join("app.sqlite");
    let app = rusqlite::Connection::open(&other).expect("a SQLite database");
    app.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
        .expect("a table");
    let run = store_cmd_with("--sqlite", &other, &["list"]);
    assert_error(
        &run,
        1,
        &["cannot open the store at", "no table `idem_records`"],
    );
    let tables: i64 = app
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .expect("a count");
    assert_eq!(tables, 1, "the command added nothing to the database");
}
