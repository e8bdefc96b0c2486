//! The `PostgresStore` tests, by concept, and what they share: claims, statements run beside the
//! store, and rows written by hand ([`rows`]). Each test works in tables of its own, named after it
//! and dropped when its [`PostgresFixture`](crate::support::fixture::PostgresFixture) drops.

mod conformance;
mod connections;
mod outcomes;
mod rows;
mod schema;
mod server_clock;
mod shared_table;
mod sizes_and_keys;
mod unreadable_rows;

use std::time::Duration;

use idem::store::{PostgresStore, RecordKey, Store, StoreError, UnixMillis};

use crate::store_conformance::{ClaimBy, Shape};
use crate::support::fixture::drop_table_sql;

/// The lease of the claims of these tests (but those that wait for a lease to end).
const LEASE: Duration = Duration::from_secs(30);

/// The time on this host's clock.
fn host_now() -> UnixMillis {
    UnixMillis::now(&idem::clock::SystemClock)
}

/// A claim by `token`, with fingerprint `fp-{token}`, the time of this host (which the store
/// ignores) and [`LEASE`].
fn claim_by(token: &str) -> ClaimBy {
    ClaimBy::new(token, host_now(), LEASE)
}

/// The shape of `key`'s record; panics on a store error.
async fn shape(store: &PostgresStore, key: RecordKey<'_>) -> Option<Shape> {
    store
        .get(key)
        .await
        .unwrap_or_else(|e| panic!("get of {key}: {e}"))
        .map(|record| Shape::of(&record))
}

/// Runs `sql` (one or more statements, no parameters) on one of the store's connections.
async fn sql(store: &PostgresStore, sql: &str) {
    let client = store.pool().get().await.expect("a connection");
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Drops the store's table and its purge function.
async fn drop_table(store: &PostgresStore) {
    sql(store, &drop_table_sql(store.table())).await;
}

fn is_corrupt<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Corrupt { .. }))
}

fn is_unavailable<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
    matches!(
        result,
        Err(StoreError::Unavailable {
            store: "postgres",
            ..
        })
    )
}
