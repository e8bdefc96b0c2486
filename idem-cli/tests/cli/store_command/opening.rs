//! Which files `idem store` opens: never a typo's new file, never another program's file, never
//! a store a service holds; and exactly one store flag.

use super::*;

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
    let run = idem(&["store", "list"], None);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("--redb"), "{run:?}");
}

#[test]
fn get_help_says_which_keys_it_takes() {
    let run = idem(&["store", "get", "--help"], None);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("TOOL/KEY"), "{run:?}");
    assert!(run.stdout.contains("the key alone"), "{run:?}");
    let run = idem(&["store", "purge", "--help"], None);
    assert!(
        run.stdout.contains("--expired") && run.stdout.contains("--all"),
        "{run:?}"
    );
}
