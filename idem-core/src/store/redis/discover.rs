//! [`RedisStore::record_prefixes`]: which key prefixes hold idem records on a server, for
//! tools that look for records a service wrote under a prefix of its own.

use std::collections::BTreeMap;

use super::RedisStore;
use super::layout::prefix_of;
use crate::store::StoreError;

/// The `MATCH` pattern of keys that may be records under any prefix: `*:{n}:*`.
const ANY_PREFIX: &str = "*:[0-9]*:*";
/// The `COUNT` hint of each `SCAN`.
const SCAN_COUNT: usize = 1_000;

impl RedisStore {
    /// The key prefixes under which this server holds idem records, with the number of records
    /// seen under each, sorted by prefix: the store's own prefix and any other
    /// ([`RedisOptions::with_prefix`](super::RedisOptions::with_prefix)).
    ///
    /// It scans the keyspace (`SCAN`, never `KEYS`) and stops after `max_keys` matching keys, so
    /// the counts are a sample on a large server. Meant for tools (`idem store list` says where
    /// records are when none are under the prefix asked for), not for the path of a call.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), idem::store::StoreError> {
    /// let store = idem::store::RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// for (prefix, records) in store.record_prefixes(10_000).await? {
    ///     println!("{prefix}: {records} records");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server does not answer.
    pub async fn record_prefixes(&self, max_keys: usize) -> Result<Vec<(String, u64)>, StoreError> {
        let mut conn = self.conn();
        let mut prefixes: BTreeMap<String, u64> = BTreeMap::new();
        let mut seen = 0;
        let mut cursor: u64 = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(ANY_PREFIX)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, batch): (u64, Vec<Vec<u8>>) =
                self.bounded(scan.query_async(&mut conn)).await?;
            for key in &batch {
                if let Some(prefix) = prefix_of(key) {
                    *prefixes.entry(prefix.to_owned()).or_default() += 1;
                }
            }
            seen += batch.len();
            if next == 0 || seen >= max_keys {
                break;
            }
            cursor = next;
        }
        Ok(prefixes.into_iter().collect())
    }
}
