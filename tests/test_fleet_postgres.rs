//! The fleet proof on `PostgresStore`: worker processes sharing one PostgreSQL database (see
//! `tests/fleet/mod.rs` for the harness and `tests/fleet/scenarios.rs` for what is proved).
//!
//! The tests read the server's URL from `IDEM_POSTGRES_URL`
//! (`postgres://postgres@127.0.0.1:5432/idem_dev`) and skip, saying so, when it is not set. Each
//! test works in a table of its own with a random name, and a ledger table next to it
//! (`{table}_ledger`), and drops both at the end; it cuts connections only through a proxy of
//! its own. A worker holds at most 5 + 1 connections (store, ledger) and the parent 2 more: 8
//! workers use at most 50, well under PostgreSQL's default `max_connections` of 100.
#![cfg(feature = "postgres")]

mod fleet;
mod support;

use std::sync::Arc;
use std::time::Duration;

use fleet::{Backend, Entry, Tuning};
use idem::store::{PostgresOptions, PostgresStore, PostgresTable, RecordKey, Store, StoreError};
use support::fixture::drop_table_sql;
use support::test_name;
use support::urls::PostgresUrl;

#[test]
fn fleet_worker() {
    fleet::worker::main::<Postgres>();
}

#[test]
fn exactly_once_across_processes() {
    fleet::scenarios::exactly_once::<Postgres>(&test_name!());
}

#[test]
fn a_worker_killed_in_its_tool_is_taken_over_once() {
    fleet::scenarios::killed_mid_tool::<Postgres>(&test_name!());
}

#[test]
fn a_worker_stopped_past_its_lease_loses_its_claim() {
    fleet::scenarios::stopped_past_lease::<Postgres>(&test_name!());
}

#[test]
fn an_outage_in_the_middle_of_a_load() {
    // One store operation under `Tuning::Short`: up to two statements (a completion that did not
    // apply reads the record again), each within a connection (500 ms waiting for a free one,
    // 500 ms opening one) and an answer (500 ms, plus 500 ms of grace).
    fleet::scenarios::outage::<Postgres>(&test_name!(), Duration::from_millis(4_000));
}

// ---------------------------------------------------------------------------------------------
// The backend

/// Connections of a worker's store.
const POOL: usize = 5;
/// Connections for a worker's ledger, and for the parent's ledger and checks.
const LEDGER_POOL: usize = 1;
const PARENT_POOL: usize = 2;

struct Postgres {
    url: String,
    table: PostgresTable,
    /// The store of the namespace, connected directly; its pool also serves the ledger.
    admin: Arc<PostgresStore>,
}

impl Postgres {
    /// `{table}_ledger`, quoted.
    fn ledger_table(&self) -> String {
        format!("\"{}_ledger\"", self.table.name())
    }

    async fn batch(&self, sql: &str) -> Result<(), String> {
        let client = self.admin.pool().get().await.map_err(|e| e.to_string())?;
        client.batch_execute(sql).await.map_err(|e| e.to_string())
    }
}

impl Backend for Postgres {
    const NAME: &'static str = "postgres";
    const URL_VAR: &'static str = "IDEM_POSTGRES_URL";

    fn upstream(url: &str) -> Option<String> {
        PostgresUrl::parse(url).map(|url| url.host)
    }

    async fn open(url: String, ns: String, setup: bool) -> Self {
        let table = PostgresTable::new(&ns).expect("a valid table name");
        // The parent creates the table; the workers find it.
        let options = PostgresOptions::new()
            .with_table(table.clone())
            .with_pool_size(if setup { PARENT_POOL } else { LEDGER_POOL })
            .with_create_schema(setup);
        let admin = PostgresStore::connect_with(&url, options)
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", Self::URL_VAR));
        let backend = Postgres {
            url,
            table,
            admin: Arc::new(admin),
        };
        if setup {
            let ledger = backend.ledger_table();
            backend
                .batch(&format!(
                    "CREATE TABLE {ledger} (id bigserial PRIMARY KEY, ord text NOT NULL, \
                     call text NOT NULL)"
                ))
                .await
                .expect("create the ledger");
        }
        backend
    }

    async fn store(&self, via: Option<&str>, tuning: Tuning) -> Result<Arc<dyn Store>, StoreError> {
        let url = match via {
            Some(proxy) => PostgresUrl::parse(&self.url)
                .expect("a URL the proxy can forward")
                .with_host(proxy),
            None => self.url.clone(),
        };
        let mut options = PostgresOptions::new()
            .with_table(self.table.clone())
            .with_pool_size(POOL)
            .with_create_schema(false);
        if tuning == Tuning::Short {
            options = options
                .with_connect_timeout(Duration::from_millis(500))
                .with_wait_timeout(Duration::from_millis(500))
                .with_statement_timeout(Duration::from_millis(500));
        }
        Ok(Arc::new(PostgresStore::connect_with(&url, options).await?))
    }

    fn admin(&self) -> Arc<dyn Store> {
        Arc::clone(&self.admin) as Arc<dyn Store>
    }

    async fn append(&self, order: &str, call: &str) -> Result<(), String> {
        let client = self.admin.pool().get().await.map_err(|e| e.to_string())?;
        let sql = format!(
            "INSERT INTO {} (ord, call) VALUES ($1, $2)",
            self.ledger_table()
        );
        client
            .execute(sql.as_str(), &[&order, &call])
            .await
            .map(|_| ())
            .map_err(|e| format!("INSERT into the ledger: {e}"))
    }

    async fn ledger(&self) -> Vec<Entry> {
        let client = self.admin.pool().get().await.expect("a connection");
        let sql = format!("SELECT ord, call FROM {} ORDER BY id", self.ledger_table());
        let rows = client
            .query(sql.as_str(), &[])
            .await
            .expect("read the ledger");
        rows.iter()
            .map(|row| Entry {
                order: row.get(0),
                call: row.get(1),
            })
            .collect()
    }

    async fn plant_corrupt(&self, key: RecordKey<'_>) {
        let client = self.admin.pool().get().await.expect("a connection");
        // A row of format 1 whose state no idem writes: `Corrupt`, never overwritten.
        let sql = format!(
            "INSERT INTO {} (tool, key, format, state, token, fingerprint, created_at) \
             VALUES ($1, $2, 1, 'garbled', 't', 'f', 1)",
            self.table.quoted()
        );
        client
            .execute(sql.as_str(), &[&key.tool.as_bytes(), &key.key.as_bytes()])
            .await
            .expect("plant a corrupt row");
    }

    async fn cleanup(&self) {
        let sql = format!(
            "DROP TABLE IF EXISTS {}; {}",
            self.ledger_table(),
            drop_table_sql(&self.table)
        );
        if let Err(err) = self.batch(&sql).await {
            eprintln!("the tables of {} were not dropped: {err}", self.table);
        }
    }
}
