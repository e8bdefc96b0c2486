//! The schema: `ensure_schema` run again and from several stores at once, the DDL of
//! `schema_sql` run by hand, the purge function, and a table of the previous idem.

use std::time::Duration;

use idem::store::{
    ClaimOutcome, Completion, PostgresOptions, PostgresStore, PostgresTable, RecordKey, Store,
    StoreError,
};

use super::{claim_by, sql};
use crate::store_conformance::{LONG_TTL as TTL, Shape};

/// `ensure_schema` runs again, and from several stores at once; the DDL of `schema_sql` is what
/// it runs, and runs again by hand; a store told not to create the table fails without it; the
/// purge function removes what `purge` would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema() {
    let pg = crate::support::postgres_fixture!();
    let store = pg.store(PostgresOptions::new()).await;
    store.ensure_schema().await.expect("twice");
    store.ensure_schema().await.expect("thrice");

    // Four stores race to create one table.
    let table = pg.another_table();
    let options = PostgresOptions::new()
        .with_table(table.clone())
        .with_create_schema(false);
    let r = PostgresStore::connect_with(pg.url(), options.clone()).await;
    let err = r.expect_err("no table yet");
    assert!(
        matches!(
            err,
            StoreError::Unavailable {
                store: "postgres",
                ..
            }
        ) && err.to_string().contains("does not exist"),
        "{err}"
    );
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let options = options.clone().with_create_schema(true);
            let url = pg.url().to_owned();
            tokio::spawn(async move { PostgresStore::connect_with(&url, options).await })
        })
        .collect();
    let mut stores = Vec::new();
    for racer in racers {
        stores.push(racer.await.unwrap().expect("concurrent ensure_schema"));
    }
    let raced = &stores[0];
    let key = RecordKey {
        tool: "schema",
        key: "k",
    };
    assert_eq!(
        raced.claim(key, &claim_by("a").claim()).await.unwrap(),
        ClaimOutcome::Claimed
    );

    // The DDL by hand, twice, in a schema of its own, with a mixed-case name.
    let schema_name = format!(
        "idem_schema_{}",
        pg.table().name().trim_start_matches("idem_")
    );
    let table = PostgresTable::new(&format!("{schema_name}.Idem_Records")).unwrap();
    let ddl = PostgresStore::schema_sql(&table);
    sql(&store, &format!("CREATE SCHEMA \"{schema_name}\"")).await;
    sql(&store, &ddl).await;
    sql(&store, &ddl).await;
    let migrated = PostgresStore::connect_with(
        pg.url(),
        PostgresOptions::new()
            .with_table(table.clone())
            .with_create_schema(false),
    )
    .await
    .expect("the migrated table");
    migrated.ensure_schema().await.expect("a table that exists");
    let output = Completion::Output(b"{}".to_vec());
    let unknown = Completion::Unknown("the tool panicked".into());
    let records = [
        ("expired", Some((&output, Duration::ZERO))),
        ("live", Some((&output, TTL))),
        ("unknown-expired", Some((&unknown, Duration::ZERO))),
        ("claim", None),
    ];
    for (k, completion) in records {
        let key = RecordKey {
            tool: "schema",
            key: k,
        };
        migrated.claim(key, &claim_by(k).claim()).await.unwrap();
        if let Some((completion, ttl)) = completion {
            migrated
                .complete(key, &claim_by(k).claim(), completion, ttl)
                .await
                .unwrap();
        }
    }
    let client = store.pool().get().await.unwrap();
    let default_now = format!("SELECT \"{schema_name}\".\"Idem_Records_purge\"()");
    let purged: i64 = client
        .query_one(default_now.as_str(), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        purged, 2,
        "the purge function, on the server's clock, removes the expired records, an unknown \
         outcome's included"
    );
    // A day past the live record's TTL, on the server's clock.
    let later = format!(
        "SELECT \"{schema_name}\".\"Idem_Records_purge\"(\
             (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $1)"
    );
    let ttl_and_a_day = i64::try_from((TTL + Duration::from_secs(86_400)).as_millis()).unwrap();
    let purged: i64 = client
        .query_one(later.as_str(), &[&ttl_and_a_day])
        .await
        .unwrap()
        .get(0);
    assert_eq!(purged, 1, "the live record has expired by then");
    let left: Vec<String> = migrated
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(left, ["claim"]);
    drop(client);
    sql(&store, &format!("DROP SCHEMA \"{schema_name}\" CASCADE")).await;
}

/// A store on a table created by the previous idem (its DDL, as it shipped), which reads format
/// 1 only: unknown outcomes work on it as they are (no `CHECK` on `state`). Its purge function
/// leaves them; the store's own purge does not; `ensure_schema` replaces the function (the
/// role owns it) and the new one purges them; `ensure_schema` builds no index on the live
/// table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_the_previous_idem() {
    let pg = crate::support::postgres_fixture!();
    let table = pg.another_table();
    let admin = pg.store(PostgresOptions::new()).await;
    sql(&admin, &previous_ddl(&table)).await;
    let store = PostgresStore::connect_with(
        pg.url(),
        PostgresOptions::new()
            .with_table(table.clone())
            .with_create_schema(false),
    )
    .await
    .expect("the previous idem's table");
    let unknown = Completion::Unknown("the caller stopped waiting".into());
    let complete_unknown = |key: &'static str, ttl: Duration| {
        let store = &store;
        let unknown = &unknown;
        async move {
            let key = RecordKey {
                tool: "previous",
                key,
            };
            store.claim(key, &claim_by("a").claim()).await.unwrap();
            store
                .complete(key, &claim_by("a").claim(), unknown, ttl)
                .await
                .unwrap();
            key
        }
    };
    let live = complete_unknown("live", TTL).await;
    match store.claim(live, &claim_by("b").claim()).await.unwrap() {
        ClaimOutcome::Existing(record) => {
            assert_eq!(Shape::of(&record), Shape::done("a", &unknown));
        }
        other => panic!("{other:?}"),
    }
    complete_unknown("expired-1", Duration::ZERO).await;

    let purge_function = format!("SELECT \"{}_purge\"()", table.name());
    let client = admin.pool().get().await.unwrap();
    let purged: i64 = client
        .query_one(purge_function.as_str(), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(purged, 0, "the previous purge function reads format 1 only");
    assert_eq!(store.purge(false).await.unwrap(), 1, "the store's purge");

    store.ensure_schema().await.expect("ensure_schema");
    store.ensure_schema().await.expect("again");
    complete_unknown("expired-2", Duration::ZERO).await;
    let purged: i64 = client
        .query_one(purge_function.as_str(), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(purged, 1, "the replaced purge function");
    let indexes: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = $1",
            &[&table.name()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        indexes, 2,
        "the primary key and the previous index, no more"
    );
    let left: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(left, ["live"]);
}

/// The DDL of `table` as the previous idem (row format 1 only) wrote it.
fn previous_ddl(table: &PostgresTable) -> String {
    let t = table.quoted();
    let name = table.name();
    format!(
        r#"CREATE TABLE IF NOT EXISTS {t} (
    tool           bytea    NOT NULL,
    key            bytea    NOT NULL,
    format         smallint NOT NULL,
    state          text,
    token          text,
    fingerprint    text,
    created_at     bigint,
    lease_until    bigint,
    expires_at     bigint,
    output         json,
    error          text,
    previous_token text,
    PRIMARY KEY (tool, key)
);
CREATE INDEX IF NOT EXISTS "{name}_expires_at" ON {t} (expires_at)
    WHERE state IN ('completed', 'failed');
CREATE OR REPLACE FUNCTION "{name}_purge"(
    now_ms bigint DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
) RETURNS bigint LANGUAGE sql AS $idem_purge$
    WITH purged AS (DELETE FROM {t} AS r WHERE r.format = 1 AND r.token IS NOT NULL
        AND r.fingerprint IS NOT NULL AND r.created_at >= 0
        AND ((r.state = 'completed' AND r.expires_at BETWEEN 0 AND now_ms)
        OR (r.state = 'failed' AND r.error IS NOT NULL AND r.expires_at BETWEEN 0 AND now_ms))
        RETURNING 1)
    SELECT count(*) FROM purged
$idem_purge$;
"#
    )
}
