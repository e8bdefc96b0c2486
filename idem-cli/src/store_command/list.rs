//! `idem store list`: the table of records, and when it is empty, where records are instead.

use std::io::Write;

use idem_core::store::{RedisOptions, RedisStore, Store, StoredRecord, UnixMillis};

use super::open::StoreLocation;
use super::render;
use crate::error::CliError;

/// Every record of `store`, sorted by tool then key.
pub(super) async fn sorted_records(store: &dyn Store) -> Result<Vec<StoredRecord>, CliError> {
    let mut records = store.list().await.map_err(CliError::Store)?;
    records.sort_by(|a, b| (&a.tool, &a.key).cmp(&(&b.tool, &b.key)));
    Ok(records)
}

/// `idem store list`: the table of records; how many there were.
pub(super) async fn list(
    store: &dyn Store,
    now: UnixMillis,
    out: &mut impl Write,
) -> Result<usize, CliError> {
    let records = sorted_records(store).await?;
    render::write_list(out, &records, now).map_err(CliError::WriteStdout)?;
    Ok(records.len())
}

/// How many keys `records_elsewhere` looks at, at most.
const PREFIX_SCAN_LIMIT: usize = 100_000;

/// The other places of the same server that hold records, with how many: the Redis key
/// prefixes other than the one listed. Best effort, for a hint: a failure finds nothing.
pub(super) async fn records_elsewhere(location: &StoreLocation) -> Vec<(String, u64)> {
    let StoreLocation::Redis { url, prefix } = location else {
        return Vec::new();
    };
    let listed = prefix.as_deref().unwrap_or(RedisOptions::DEFAULT_PREFIX);
    let Ok(store) = RedisStore::connect(url).await else {
        return Vec::new();
    };
    let found = store.record_prefixes(PREFIX_SCAN_LIMIT).await;
    found
        .unwrap_or_default()
        .into_iter()
        .filter(|(prefix, _)| prefix != listed)
        .collect()
}

/// What an empty `list` prints on stderr: the place searched, where records are instead (the
/// Redis prefixes found, `elsewhere`), and the flag that names another place.
pub(super) fn empty_hint(location: &StoreLocation, elsewhere: &[(String, u64)]) -> String {
    match location {
        StoreLocation::Redb(path) | StoreLocation::Sqlite(path) => {
            format!("idem: no records in {}", path.display())
        }
        StoreLocation::Redis { prefix, .. } => {
            let (prefix, origin) = match prefix {
                Some(prefix) => (prefix.as_str(), "given by --redis-prefix"),
                None => (RedisOptions::DEFAULT_PREFIX, "the default"),
            };
            if elsewhere.is_empty() {
                return format!(
                    "idem: no records under the Redis key prefix `{prefix}` ({origin}); a \
                     service whose RedisStore uses another prefix (RedisOptions::with_prefix) is \
                     listed with --redis-prefix PREFIX"
                );
            }
            let found: Vec<String> = elsewhere
                .iter()
                .map(|(other, records)| format!("`{other}` ({records})"))
                .collect();
            format!(
                "idem: no records under the Redis key prefix `{prefix}` ({origin}); this server \
                 has records under {}: list them with --redis-prefix PREFIX",
                found.join(", ")
            )
        }
        StoreLocation::Postgres { table, .. } => format!(
            "idem: no records in the PostgreSQL table `{table}`; a service whose PostgresStore \
             uses another table (PostgresOptions::table) is listed with --postgres-table TABLE"
        ),
    }
}
