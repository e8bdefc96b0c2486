//! `purge`: what it removes with `--expired` and `--all`, and nothing without one.

use super::*;

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
