//! `SqliteStore` against raw SQLite: a fresh call and a replay through the executor, against the
//! statements a store would run without idem, through rusqlite on a file with the same PRAGMAs
//! (WAL, the same `synchronous`, a busy timeout) and the same table, in the same temporary
//! directory: a write transaction (`BEGIN IMMEDIATE`, an upsert of a completed record's bytes,
//! `COMMIT`) and a read (one `SELECT` by primary key). Under `Durability::Full` (the default)
//! and `Durability::Normal`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::Criterion;
use idem::executor::Executor;
use idem::spec::ToolSpec;
use idem::store::{Durability, SqliteOptions, SqliteStore};
use rusqlite::{Connection, params};

use super::common::{ProcessPayment, TOOL, payment};
use super::{
    fresh_payments, multi_thread_runtime, paired_fresh_and_raw_writes, prime_replay, raw_key,
    runtime, time_calls_in_task, time_fresh_calls, time_replays,
};

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
    let rt = runtime();
    let rt_multi = multi_thread_runtime();
    let spec = Arc::new(
        ToolSpec::for_args::<ProcessPayment>()
            .build()
            .expect("a spec"),
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = SqliteOptions::new().with_synchronous(durability);
    let store =
        SqliteStore::open_with(dir.path().join("idem.sqlite"), options).expect("a SQLite store");
    let executor = Arc::new(Executor::new(store));
    let args = payment(u64::MAX / 2);
    prime_replay(&rt, &executor, &spec, &args);

    // The bytes of a completed record of this tool, as SqliteStore writes them.
    let records = rt.block_on(executor.store().list()).expect("the records");
    let stored = records.first().expect("the primed record");
    let name = format!("{}/{}", stored.tool, stored.key);
    let record = stored.record.as_ref().expect("a readable record");
    let value = record.encode(&name).expect("an encoding");
    assert_eq!(raw_key(0).len(), stored.key.len());

    let db = raw_database(&dir.path().join("raw.sqlite"), durability);
    let read_key = raw_key(u64::MAX);
    raw_write(&db, &read_key, &value);
    let next_raw = AtomicU64::new(0);

    let label = match durability {
        Durability::Full => "SqliteStore".to_owned(),
        other => format!("SqliteStore (synchronous = {})", other.pragma()),
    };
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
    group.bench_function(
        "executor: fresh call (multi-thread runtime, in a task)",
        |b| {
            b.iter_custom(|iters| {
                time_calls_in_task(&rt_multi, &executor, &spec, fresh_payments(iters))
            })
        },
    );
    // Reads do not depend on the durability: measured once, under the default.
    if durability == Durability::Full {
        group.bench_function("baseline: raw SQLite read (SELECT by primary key)", |b| {
            b.iter(|| raw_read(&db, black_box(&read_key)))
        });
        group.bench_function("executor: replay (multi-thread runtime, in a task)", |b| {
            b.iter_custom(|iters| {
                let calls = (0..iters).map(|_| args.clone()).collect();
                time_calls_in_task(&rt_multi, &executor, &spec, calls)
            })
        });
        group.bench_function("executor: fresh call (current-thread runtime)", |b| {
            b.iter_custom(|iters| time_fresh_calls(&rt, &executor, &spec, &fresh_payments(iters)))
        });
        group.bench_function("executor: replay (current-thread runtime)", |b| {
            b.iter_custom(|iters| time_replays(&rt, &executor, &spec, &args, iters))
        });
    }
    group.finish();

    let raw = |i: u64| {
        let key = raw_key(i);
        let (db, value) = (&db, &value);
        move || raw_write(db, &key, value)
    };
    paired_fresh_and_raw_writes(
        &label,
        "multi-thread runtime, in a task",
        &raw,
        &next_raw,
        || time_calls_in_task(&rt_multi, &executor, &spec, fresh_payments(1)),
    );
    if durability == Durability::Full {
        paired_fresh_and_raw_writes(&label, "current-thread runtime", &raw, &next_raw, || {
            time_fresh_calls(&rt, &executor, &spec, &fresh_payments(1))
        });
    }
}
