//! `--sqlite PATH`.

use super::*;
use idem_core::store::SqliteStore;

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
