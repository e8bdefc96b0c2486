//! `idem store --redis URL` and `--postgres URL`, end to end against the servers named by
//! `IDEM_REDIS_URL` and `IDEM_POSTGRES_URL` (each test says it skipped when its variable is
//! unset). Every test works under its own Redis prefix or PostgreSQL table.

#[path = "../../tests/support/servers.rs"]
mod servers;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idem_core::store::{
    Claim, Completion, PostgresOptions, PostgresStore, PostgresTable, RecordKey, RedisOptions,
    RedisStore, Store, UnixMillis,
};

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime")
        .block_on(future)
}

fn unique(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}_{}_{nanos}", std::process::id())
}

fn now() -> UnixMillis {
    UnixMillis(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

/// Fills `store` with one completed record and one that expires (on the server's clock) before
/// this returns.
async fn fill(store: &dyn Store) {
    let at = now();
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

fn idem<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_idem"))
        .args(args)
        .output()
        .expect("the idem binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Lists, gets and purges through the binary; `store` is the flags naming the store, and
/// `keeps_expired` whether it keeps expired records until a purge (Redis lets them vanish).
fn exercise(store: &[&str], keeps_expired: bool) {
    let with = |rest: &[&'static str]| -> Vec<String> {
        store.iter().chain(rest).map(|s| (*s).to_owned()).collect()
    };
    let (code, list, err) = idem(&with(&["list"]));
    assert_eq!(code, 0, "{err}");
    assert!(list.contains("live-key"), "{list}");
    assert_eq!(list.contains("old-key"), keeps_expired, "{list}");
    assert_eq!(list.contains("completed,expired"), keeps_expired, "{list}");
    let (code, record, err) = idem(&with(&["get", "payment-processor-v1/live-key"]));
    assert_eq!(code, 0, "{err}");
    assert!(record.contains(r#"{"charge_id":"ch_1"}"#), "{record}");
    let (code, purged, err) = idem(&with(&["purge", "--expired"]));
    assert_eq!(code, 0, "{err}");
    let expected = if keeps_expired {
        "removed 1 expired record"
    } else {
        "removed 0 expired records"
    };
    assert_eq!(purged.trim(), expected);
    let (code, purged, err) = idem(&with(&["purge", "--all"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(purged.trim(), "removed 1 record");
}

#[test]
fn redis_store_list_get_purge() {
    let Some(url) = servers::server_url("IDEM_REDIS_URL", "redis_store_list_get_purge") else {
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
    let Some(url) = servers::server_url(
        "IDEM_REDIS_URL",
        "redis_list_under_an_empty_prefix_says_which_prefix_and_how_to_pass_another",
    ) else {
        return;
    };
    let (written, listed) = (unique("idemcli_here"), unique("idemcli_not_here"));
    block_on(async {
        let options = RedisOptions::new().with_prefix(&written).unwrap();
        let store = RedisStore::connect_with(&url, options).await.unwrap();
        fill(&store).await;
    });
    let (code, list, err) = idem(&["store", "--redis", &url, "--redis-prefix", &listed, "list"]);
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
    let (code, purged, err) = idem(&[
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
    let Some(url) = servers::server_url(
        "IDEM_POSTGRES_URL",
        "postgres_store_list_get_purge_and_schema",
    ) else {
        return;
    };
    let table = unique("idem_cli");
    // A table the command does not know is an error: it never creates one.
    let (code, _, err) = idem(&[
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
    let (code, sql, err) = idem(&[
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
            .batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\" CASCADE"))
            .await
            .unwrap();
    });
}

#[test]
fn schema_is_for_postgres_and_bad_options_are_bad_input() {
    let (code, _, err) = idem(&["store", "--redb", "/nonexistent.redb", "schema"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("idem: error: `schema` prints the PostgreSQL migration"),
        "{err}"
    );
    let (code, _, err) = idem(&[
        "store",
        "--redis",
        "redis://127.0.0.1:1",
        "--redis-prefix",
        "a::b",
        "list",
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = idem(&["store", "--redis", "redis://127.0.0.1:1", "list"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot reach the Redis store"), "{err}");
}
