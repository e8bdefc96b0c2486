//! `SqliteStore` against raw SQLite: a fresh call and a replay through the executor, against the
//! statements a store would run without idem, through rusqlite on a file with the same PRAGMAs
//! (WAL, the same `synchronous`, a busy timeout) and the same table, in the same temporary
//! directory: a write transaction (`BEGIN IMMEDIATE`, an upsert of a completed record's bytes,
//! `COMMIT`) and a read (one `SELECT` by primary key). Under `Durability::Full` (the default)
//! and `Durability::Normal`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use idem::store::{Durability, SqliteOptions, SqliteStore};
use rusqlite::{Connection, params};

use super::common::TOOL;
use super::file_stores::Subject;
use super::raw_key;

/// `SqliteStore`'s table (`idem-core/src/store/sqlite/sql.rs`).
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS idem_records (tool BLOB NOT NULL, \
     key BLOB NOT NULL, record BLOB NOT NULL, PRIMARY KEY (tool, key)) WITHOUT ROWID";
/// `SqliteStore`'s write and read of a record.
const UPSERT: &str = "INSERT INTO idem_records (tool, key, record) VALUES (?1, ?2, ?3) \
     ON CONFLICT (tool, key) DO UPDATE SET record = excluded.record";
const SELECT: &str = "SELECT record FROM idem_records WHERE tool = ?1 AND key = ?2";

/// A raw connection to a new file at `path`, set up as `SqliteStore` sets up its connections.
fn raw_database(path: &std::path::Path, durability: Durability) -> Connection {
    let conn = Connection::open(path).expect("a SQLite database");
    conn.busy_timeout(SqliteOptions::DEFAULT_BUSY_TIMEOUT)
        .expect("a busy timeout");
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .expect("the WAL journal");
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", durability.pragma())
        .expect("synchronous");
    conn.execute_batch(CREATE_TABLE).expect("the table");
    conn
}

/// One write transaction, as a claim or a completion makes it (without reading first).
fn raw_write(conn: &Connection, key: &str, value: &[u8]) {
    conn.execute_batch("BEGIN IMMEDIATE")
        .expect("a transaction");
    conn.prepare_cached(UPSERT)
        .expect("the upsert")
        .execute(params![TOOL.as_bytes(), key.as_bytes(), value])
        .expect("an upsert");
    conn.execute_batch("COMMIT").expect("a commit");
}

/// One read by primary key, as a replay's claim makes it.
fn raw_read(conn: &Connection, key: &str) -> usize {
    conn.prepare_cached(SELECT)
        .expect("the select")
        .query_row(params![TOOL.as_bytes(), key.as_bytes()], |row| {
            Ok(row.get_ref(0)?.as_blob()?.len())
        })
        .expect("a record")
}

pub fn sqlite_store(c: &mut Criterion) {
    for durability in [Durability::Full, Durability::Normal] {
        sqlite_store_with(c, durability);
    }
}

fn sqlite_store_with(c: &mut Criterion, durability: Durability) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = SqliteOptions::new().with_synchronous(durability);
    let store =
        SqliteStore::open_with(dir.path().join("idem.sqlite"), options).expect("a SQLite store");
    let subject = Subject::new(store);
    let (stored, value) = subject.primed_record();
    assert_eq!(raw_key(0).len(), stored.key.len());

    let db = raw_database(&dir.path().join("raw.sqlite"), durability);
    let read_key = raw_key(u64::MAX);
    raw_write(&db, &read_key, &value);
    let next_raw = AtomicU64::new(0);

    let label = match durability {
        Durability::Full => "SqliteStore".to_owned(),
        other => format!("SqliteStore (synchronous = {})", other.pragma()),
    };
    // Reads do not depend on the durability: measured once, under the default, as are the
    // calls other than a fresh one in a task.
    let all = durability == Durability::Full;
    let mut group = c.benchmark_group(format!("executor on {label}"));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function(
        format!(
            "baseline: raw SQLite write txn (BEGIN IMMEDIATE + upsert {} B + COMMIT)",
            value.len()
        ),
        |b| {
            b.iter_custom(|iters| {
                let first = next_raw.fetch_add(iters, Ordering::Relaxed);
                let keys: Vec<String> = (first..first + iters).map(raw_key).collect();
                let start = Instant::now();
                for key in &keys {
                    raw_write(&db, key, &value);
                }
                start.elapsed()
            })
        },
    );
    if all {
        group.bench_function("baseline: raw SQLite read (SELECT by primary key)", |b| {
            b.iter(|| raw_read(&db, black_box(&read_key)))
        });
    }
    subject.bench_calls(&mut group, all);
    group.finish();

    let raw = |i: u64| {
        let key = raw_key(i);
        let (db, value) = (&db, &value);
        move || raw_write(db, &key, value)
    };
    subject.paired(&label, &raw, &next_raw, all);
}
