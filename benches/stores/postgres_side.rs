//! PostgreSQL: the raw side, its counters, and the pairs.

#[allow(unused_imports)]
use super::*;

/// Connections of each side's pool (PostgresOptions' default).
pub(crate) const POOL: usize = PostgresOptions::DEFAULT_POOL_SIZE;

/// The raw side of PostgreSQL: the pool of a second store (whose connection created a table of
/// idem's schema), its prepared statements, and the values it writes.
pub(crate) struct RawPostgres {
    pub(crate) store: PostgresStore,
    pub(crate) insert: String,
    pub(crate) update: String,
    pub(crate) select: String,
    pub(crate) ids: Ids,
    pub(crate) fingerprint: String,
    pub(crate) output: String,
    pub(crate) now: i64,
    pub(crate) lease_until: i64,
    pub(crate) expires_at: i64,
}

impl RawPostgres {
    pub(crate) fn new(store: PostgresStore, values: &Values) -> Result<Self, BoxError> {
        let t = store.table().quoted();
        let now = i64::try_from(values.now.0)?;
        let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Ok(RawPostgres {
            insert: format!(
                "INSERT INTO {t} (tool, key, format, state, token, fingerprint, created_at, \
                 lease_until) VALUES ($1, $2, 1, 'in_progress', $3, $4, $5, $6) \
                 ON CONFLICT (tool, key) DO NOTHING"
            ),
            update: format!(
                "UPDATE {t} SET state = 'completed', lease_until = NULL, expires_at = $4, \
                 output = $5::text::json WHERE tool = $1 AND key = $2 AND token = $3"
            ),
            select: format!(
                "SELECT format, state, token, fingerprint, created_at, lease_until, expires_at, \
                 output::text, error FROM {t} WHERE tool = $1 AND key = $2"
            ),
            ids: Ids::from(0),
            fingerprint: values.fingerprint.clone(),
            output: String::from_utf8(values.output.clone())?,
            now,
            lease_until: now + millis(LEASE),
            expires_at: now + millis(TTL),
            store,
        })
    }

    /// Key `n`: spread over the primary key's B-tree as idem's keys are (consecutive keys
    /// would all go to its rightmost leaf).
    pub(crate) fn key(n: u64) -> String {
        hashed_key(n)
    }

    pub(crate) async fn fresh_call(&self) -> Result<(), BoxError> {
        let n = self.ids.take();
        let (key, token) = (Self::key(n), token(n));
        // A connection from the pool for each statement, as the store takes one.
        let inserted = {
            let client = self.store.pool().get().await?;
            let insert = client.prepare_cached(&self.insert).await?;
            client
                .execute(
                    &insert,
                    &[
                        &TOOL.as_bytes(),
                        &key.as_bytes(),
                        &token,
                        &self.fingerprint,
                        &self.now,
                        &self.lease_until,
                    ],
                )
                .await?
        };
        ensure(inserted == 1, || {
            format!("raw INSERT of key {n}: {inserted} rows")
        })?;
        let updated = {
            let client = self.store.pool().get().await?;
            let update = client.prepare_cached(&self.update).await?;
            client
                .execute(
                    &update,
                    &[
                        &TOOL.as_bytes(),
                        &key.as_bytes(),
                        &token,
                        &self.expires_at,
                        &self.output,
                    ],
                )
                .await?
        };
        ensure(updated == 1, || {
            format!("raw UPDATE of key {n}: {updated} rows")
        })
    }

    pub(crate) async fn replay(&self, n: u64) -> Result<(), BoxError> {
        let key = Self::key(n % PRIMED);
        let client = self.store.pool().get().await?;
        let select = client.prepare_cached(&self.select).await?;
        let row = client
            .query_opt(&select, &[&TOOL.as_bytes(), &key.as_bytes()])
            .await?;
        let output: Option<String> = match &row {
            Some(row) => row.try_get(7)?,
            None => None,
        };
        ensure(output.is_some_and(|o| o.len() == self.output.len()), || {
            format!("raw SELECT of key {n}: not the completed record")
        })
    }

    /// Transaction ids consumed and WAL bytes written so far, server-wide.
    pub(crate) async fn counters(&self) -> Result<[f64; 2], BoxError> {
        let client = self.store.pool().get().await?;
        let row = client
            .query_one(
                "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, \
                 pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint",
                &[],
            )
            .await?;
        let (xid, wal): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        Ok([xid as f64, wal as f64])
    }

    /// Drops `tables` and their purge functions.
    pub(crate) async fn drop_tables(&self, tables: &[&PostgresTable]) -> Result<(), BoxError> {
        let client = self.store.pool().get().await?;
        for table in tables {
            client
                .batch_execute(&format!(
                    "DROP TABLE IF EXISTS {}; DROP FUNCTION IF EXISTS \"{}_purge\"(bigint);",
                    table.quoted(),
                    table.name()
                ))
                .await?;
        }
        Ok(())
    }
}

pub(crate) async fn postgres_bench(url: &str, plan: Plan) -> Result<(), BoxError> {
    let base = unique("idem_bench", '_');
    let idem_table = PostgresTable::new(&format!("{base}_idem"))?;
    let raw_table = PostgresTable::new(&format!("{base}_base"))?;
    let options = |table: &PostgresTable| {
        PostgresOptions::new()
            .with_table(table.clone())
            .with_pool_size(POOL)
    };
    let values = values()?;
    let raw_store = PostgresStore::connect_with(url, options(&raw_table)).await?;
    let raw = Arc::new(RawPostgres::new(raw_store, &values)?);
    let measured = match PostgresStore::connect_with(url, options(&idem_table)).await {
        Ok(store) => tokio::spawn(postgres_measure(store, Arc::clone(&raw), values, plan))
            .await
            .map_err(BoxError::from),
        Err(err) => Err(err.into()),
    };
    let dropped = raw.drop_tables(&[&idem_table, &raw_table]).await;
    let mut results = measured??;
    dropped?;
    println!("(dropped the tables {idem_table} and {raw_table})");
    let costs = Costs {
        names: ["transaction ids", "WAL (bytes)"],
        decimals: [2, 0],
    };
    report("PostgreSQL", plan, &mut results, &costs);
    Ok(())
}

pub(crate) async fn postgres_measure(
    store: PostgresStore,
    raw: Arc<RawPostgres>,
    values: Values,
    plan: Plan,
) -> Result<Vec<PairResult>, BoxError> {
    let idem_table = store.table().quoted();
    // Keys 0..PRIMED completed for the raw replays; fresh calls go on from there.
    for _ in 0..PRIMED {
        raw.fresh_call().await?;
    }
    let idem = IdemSide::new(Arc::new(store)).await?;
    // Same sizes: the raw rows hold values of the lengths idem wrote.
    {
        let client = raw.store.pool().get().await?;
        let row = client
            .query_one(
                &format!(
                    "SELECT length(key), length(token), length(fingerprint), \
                     length(output::text) FROM {idem_table} LIMIT 1"
                ),
                &[],
            )
            .await?;
        let lengths: [i32; 4] = [
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        ];
        let expected = [64, token(0).len(), raw.fingerprint.len(), raw.output.len()];
        let expected = expected.map(|n| n as i32);
        let close = |(a, b): (&i32, &i32)| a.abs_diff(*b) as usize <= TOKEN_SLACK;
        ensure(lengths.iter().zip(&expected).all(close), || {
            format!("idem's row lengths {lengths:?}, the raw rows' {expected:?}")
        })?;
    }

    let raw_fresh = op_of(&raw, |raw, _| async move { raw.fresh_call().await });
    let raw_replay = op_of(&raw, |raw, n| async move { raw.replay(n).await });
    let pairs = standard_pairs(&idem, &values, raw_fresh, raw_replay)?;
    let probe: Probe = Arc::new(move || {
        let raw = Arc::clone(&raw);
        Box::pin(async move { raw.counters().await })
    });
    measure(&pairs, plan, &probe, None).await
}
