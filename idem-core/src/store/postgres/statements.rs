//! Running one statement within the store's bounds: a connection from the pool within
//! `connection_timeout`, the statement prepared once per connection, its answer within
//! `answer_timeout` (a connection that does not answer in time is closed, see [`settle`]).

use deadpool_postgres::Object;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresStore;
use super::error::PostgresError;
use super::failure::{Failure, settle};

impl PostgresStore {
    /// A connection from the pool, within the store's bound.
    pub(super) async fn client(&self) -> Result<Object, Failure> {
        match tokio::time::timeout(self.connection_timeout, self.pool.get()).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(err)) => Err(Failure::Connect(PostgresError::connect(&err))),
            Err(_) => Err(Failure::Connect(PostgresError::new(
                "cannot connect to PostgreSQL",
                &format!("no connection within {:?}", self.connection_timeout),
            ))),
        }
    }

    /// Runs the statement `sql` (prepared once per connection) and returns its rows.
    pub(super) async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Failure> {
        let client = self.client().await?;
        let answer = tokio::time::timeout(self.answer_timeout, async {
            let statement = client.prepare_cached(sql).await?;
            client.query(&statement, params).await
        })
        .await;
        settle(client, answer, self.answer_timeout)
    }

    /// Runs the statement `sql` (prepared once per connection) and returns how many rows it
    /// changed.
    pub(super) async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Failure> {
        let client = self.client().await?;
        let answer = tokio::time::timeout(self.answer_timeout, async {
            let statement = client.prepare_cached(sql).await?;
            client.execute(&statement, params).await
        })
        .await;
        settle(client, answer, self.answer_timeout)
    }
}
