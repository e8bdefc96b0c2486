//! `idem store --redis URL` and `--postgres URL`, end to end against the servers named by
//! `IDEM_REDIS_URL` and `IDEM_POSTGRES_URL` (each test says it skipped when its variable is
//! unset, and fails under `IDEM_REQUIRE_SERVERS=1`). Every test works under a Redis prefix or a
//! PostgreSQL table of its own, unique to the run, and removes it at the end.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idem_core::clock::SystemClock;
use idem_core::store::{
    Claim, Completion, PostgresOptions, PostgresStore, PostgresTable, RecordKey, RedisOptions,
    RedisStore, Store, UnixMillis,
};

use super::{block_on, idem};
use crate::servers::{server_url, test_name};

fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}_{}_{nanos}", std::process::id())
}

/// Fills `store` with one completed record and one that expires (on the server's clock) before
/// this returns.
async fn fill(store: &dyn Store) {
    let at = UnixMillis::now(&SystemClock);
    for (key, ttl) in [
        ("live-key", Duration::from_secs(3600)),
        ("old-key", Duration::from_millis(50)),
    ] {
        let address = RecordKey {
            tool: "payment-processor-v1",
            key,
        };
        let token = format!("t-{key}");
        let claim = Claim {
            token: &token,
            fingerprint: "fp",
            now: at,
            lease: Duration::from_secs(60),
        };
        store.claim(address, &claim).await.unwrap();
        let output = Completion::Output(br#"{"charge_id":"ch_1"}"#.to_vec());
        store.complete(address, &claim, &output, ttl).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Runs `idem ARGS` to its end: its exit code, stdout and stderr.
fn run<S: AsRef<str>>(args: &[S]) -> (i32, String, String) {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let run = idem(&args, None);
    (run.code.unwrap_or(-1), run.stdout, run.stderr)
}

/// Lists, gets and purges through the binary; `store` is the flags naming the store, and
/// `keeps_expired` whether it keeps expired records until a purge (Redis lets them vanish).
fn exercise(store: &[&str], keeps_expired: bool) {
    let with = |rest: &[&'static str]| -> Vec<String> {
        store.iter().chain(rest).map(|s| (*s).to_owned()).collect()
    };
    let (code, list, err) = run(&with(&["list"]));
    assert_eq!(code, 0, "{err}");
    assert!(list.contains("live-key"), "{list}");
    assert_eq!(list.contains("old-key"), keeps_expired, "{list}");
    assert_eq!(list.contains("completed,expired"), keeps_expired, "{list}");
    let (code, record, err) = run(&with(&["get", "payment-processor-v1/live-key"]));
    assert_eq!(code, 0, "{err}");
    assert!(record.contains(r#"{"charge_id":"ch_1"}"#), "{record}");
    let (code, purged, err) = run(&with(&["purge", "--expired"]));
    assert_eq!(code, 0, "{err}");
    let expected = if keeps_expired {
        "removed 1 expired record"
    } else {
        "removed 0 expired records"
    };
    assert_eq!(purged.trim(), expected);
    let (code, purged, err) = run(&with(&["purge", "--all"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(purged.trim(), "removed 1 record");
}

#[test]
fn redis_store_list_get_purge() {
    let Some(url) = server_url("IDEM_REDIS_URL", &test_name!()) else {
        return;
    };
    let prefix = unique("idemcli");
    block_on(async {
        let options = RedisOptions::new().with_prefix(&prefix).unwrap();
        let store = RedisStore::connect_with(&url, options).await.unwrap();
        fill(&store).await;
    });
    exercise(
        &["store", "--redis", &url, "--redis-prefix", &prefix],
        false,
    );
}

/// Records under another prefix than the one listed: an empty table (exit 0), and on stderr the
/// prefix searched, the prefixes that hold records (found by a scan) and the flag to list them.
#[test]
fn redis_list_under_an_empty_prefix_says_which_prefix_and_how_to_pass_another() {
    let Some(url) = server_url("IDEM_REDIS_URL", &test_name!()) else {
        return;
    };
    let (written, listed) = (unique("idemcli_here"), unique("idemcli_not_here"));
    block_on(async {
        let options = RedisOptions::new().with_prefix(&written).unwrap();
        let store = RedisStore::connect_with(&url, options).await.unwrap();
        fill(&store).await;
    });
    let (code, list, err) = run(&["store", "--redis", &url, "--redis-prefix", &listed, "list"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(list.lines().count(), 1, "only the header: {list}");
    // The shared server may hold other tests' records too: the hint names them all.
    let start = format!(
        "idem: no records under the Redis key prefix `{listed}` (given by --redis-prefix); this \
         server has records under "
    );
    assert!(err.starts_with(&start), "{err}");
    assert!(err.contains(&format!("`{written}` (1)")), "{err}");
    assert!(
        err.ends_with(": list them with --redis-prefix PREFIX\n"),
        "{err}"
    );
    let (code, purged, err) = run(&[
        "store",
        "--redis",
        &url,
        "--redis-prefix",
        &written,
        "purge",
        "--all",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(purged.trim(), "removed 1 record");
}

#[test]
fn postgres_store_list_get_purge_and_schema() {
    let Some(url) = server_url("IDEM_POSTGRES_URL", &test_name!()) else {
        return;
    };
    let table = unique("idem_cli");
    // A table the command does not know is an error: it never creates one.
    let (code, _, err) = run(&[
        "store",
        "--postgres",
        &url,
        "--postgres-table",
        &table,
        "list",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("does not exist"), "{err}");
    block_on(async {
        let options = PostgresOptions::new().with_table(PostgresTable::new(&table).unwrap());
        let store = PostgresStore::connect_with(&url, options).await.unwrap();
        fill(&store).await;
    });
    exercise(
        &["store", "--postgres", &url, "--postgres-table", &table],
        true,
    );
    let (code, sql, err) = run(&[
        "store",
        "--postgres",
        &url,
        "--postgres-table",
        &table,
        "schema",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        sql.contains(&format!("CREATE TABLE IF NOT EXISTS \"{table}\"")),
        "{sql}"
    );
    block_on(async {
        let options = PostgresOptions::new().with_table(PostgresTable::new(&table).unwrap());
        let store = PostgresStore::connect_with(&url, options).await.unwrap();
        let client = store.pool().get().await.unwrap();
        client
            .batch_execute(&format!(
                "DROP FUNCTION IF EXISTS \"{table}_purge\"(bigint); \
                 DROP TABLE IF EXISTS \"{table}\" CASCADE"
            ))
            .await
            .unwrap();
    });
}

#[test]
fn schema_is_for_postgres_and_bad_options_are_bad_input() {
    let (code, _, err) = run(&["store", "--redb", "/nonexistent.redb", "schema"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("idem: error: `schema` prints the PostgreSQL migration"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "store",
        "--redis",
        "redis://127.0.0.1:1",
        "--redis-prefix",
        "a::b",
        "list",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["store", "--redis", "redis://127.0.0.1:1", "list"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot reach the Redis store"), "{err}");
}
