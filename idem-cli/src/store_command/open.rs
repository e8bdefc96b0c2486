//! Which store `idem store` works on: [`StoreArgs`], exactly one store flag, and [`open`], which
//! turns it into an `Arc<dyn Store>`.
//!
//! To add a store (`--sqlite PATH`, `--redis URL`): a field in [`StoreArgs`] (the group keeps the
//! flags exclusive), a variant of [`StoreLocation`], and an arm in [`StoreArgs::location`] and
//! [`open`]. Nothing else in `idem store` depends on the kind of store.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use idem_core::store::{
    PostgresOptions, PostgresStore, PostgresTable, RedbStore, RedisOptions, RedisStore,
    SqliteOptions, SqliteStore, Store,
};

use crate::error::CliError;

/// The store flags: exactly one of them.
#[derive(Debug, Args)]
#[group(id = "store", required = true, multiple = false)]
pub(crate) struct StoreArgs {
    /// A RedbStore: the redb file the service opens (it must exist; it is never created)
    #[arg(long, value_name = "PATH")]
    redb: Option<PathBuf>,

    /// A SqliteStore: the SQLite file the services share (it must exist; it is never created)
    #[arg(long, value_name = "PATH")]
    sqlite: Option<PathBuf>,

    /// A RedisStore: the server's URL, e.g. redis://127.0.0.1:6379/0
    #[arg(long, value_name = "URL")]
    redis: Option<String>,

    /// A PostgresStore: the database's URL, e.g. postgres://app@db.internal:5432/app
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
}

/// Where the network stores keep their records, when the service changed the defaults.
#[derive(Debug, Args, Default)]
pub(crate) struct StoreOptions {
    /// With --redis: the key prefix the service's RedisStore uses (default: idem)
    #[arg(long, value_name = "PREFIX", requires = "redis")]
    redis_prefix: Option<String>,

    /// With --postgres: the table the service's PostgresStore uses (default: idem_records)
    #[arg(long, value_name = "TABLE", requires = "postgres")]
    postgres_table: Option<String>,
}

/// A store named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreLocation {
    /// `--redb PATH`.
    Redb(PathBuf),
    /// `--sqlite PATH`.
    Sqlite(PathBuf),
    /// `--redis URL [--redis-prefix PREFIX]`.
    Redis { url: String, prefix: Option<String> },
    /// `--postgres URL [--postgres-table TABLE]`.
    Postgres { url: String, table: PostgresTable },
}

impl StoreArgs {
    /// The store the flags name.
    pub(crate) fn location(&self, options: &StoreOptions) -> Result<StoreLocation, CliError> {
        if let Some(path) = &self.redb {
            return Ok(StoreLocation::Redb(path.clone()));
        }
        if let Some(path) = &self.sqlite {
            return Ok(StoreLocation::Sqlite(path.clone()));
        }
        if let Some(url) = &self.redis {
            if let Some(prefix) = &options.redis_prefix {
                RedisOptions::check_prefix(prefix)
                    .map_err(|e| CliError::InvalidStoreOption(e.to_string()))?;
            }
            return Ok(StoreLocation::Redis {
                url: url.clone(),
                prefix: options.redis_prefix.clone(),
            });
        }
        if let Some(url) = &self.postgres {
            let table = match &options.postgres_table {
                Some(name) => PostgresTable::new(name)
                    .map_err(|e| CliError::InvalidStoreOption(e.to_string()))?,
                None => PostgresTable::default(),
            };
            return Ok(StoreLocation::Postgres {
                url: url.clone(),
                table,
            });
        }
        Err(CliError::NoStoreGiven)
    }
}

/// The first bytes of every redb file (redb's file format: its magic number).
const REDB_MAGIC: &[u8] = &[b'r', b'e', b'd', b'b', 0x1A, 0x0A, 0xA9, 0x0D, 0x0A];
/// The first bytes of every SQLite database file (SQLite's file format: its header string).
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// Opens the store at `location`. An existing store only: nothing is created.
///
/// Async so that network stores can connect here; opening a file is synchronous, which is fine in
/// a command that does nothing else meanwhile.
pub(crate) async fn open(location: &StoreLocation) -> Result<Arc<dyn Store>, CliError> {
    match location {
        StoreLocation::Redb(path) => {
            check_store_file(path, "redb", REDB_MAGIC)?;
            let store = RedbStore::open(path).map_err(|source| CliError::OpenStore {
                path: path.clone(),
                source,
            })?;
            Ok(Arc::new(store))
        }
        StoreLocation::Sqlite(path) => {
            check_store_file(path, "SQLite", SQLITE_MAGIC)?;
            // Never create the table either: the file may be another program's database.
            let options = SqliteOptions::new().with_create_schema(false);
            let store =
                SqliteStore::open_with(path, options).map_err(|source| CliError::OpenStore {
                    path: path.clone(),
                    source,
                })?;
            Ok(Arc::new(store))
        }
        StoreLocation::Redis { url, prefix } => {
            let unavailable = |source| CliError::ConnectStore {
                store: "Redis",
                source,
            };
            let mut options = RedisOptions::new();
            if let Some(prefix) = prefix {
                options = options
                    .with_prefix(prefix)
                    .map_err(|e| CliError::InvalidStoreOption(e.to_string()))?;
            }
            let store = RedisStore::connect_with(url, options)
                .await
                .map_err(unavailable)?;
            Ok(Arc::new(store))
        }
        StoreLocation::Postgres { url, table } => {
            // Never create the table: an operator's typo must not leave an empty one behind.
            let options = PostgresOptions::new()
                .with_table(table.clone())
                .with_create_schema(false);
            let store = PostgresStore::connect_with(url, options)
                .await
                .map_err(|source| CliError::ConnectStore {
                    store: "PostgreSQL",
                    source,
                })?;
            Ok(Arc::new(store))
        }
    }
}

/// Checks that `path` is a file of the store `kind` (it starts with `magic`) before the store
/// opens it: `RedbStore::open` would create a missing file and initialize an empty one, which
/// an operator's typo must not do.
fn check_store_file(path: &Path, kind: &'static str, magic: &[u8]) -> Result<(), CliError> {
    let not_a_store = |reason| CliError::NotAStore {
        path: path.to_path_buf(),
        kind,
        reason,
    };
    let unreadable = |source| CliError::ReadStoreFile {
        path: path.to_path_buf(),
        source,
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(CliError::NoStore {
                path: path.to_path_buf(),
            });
        }
        Err(err) => return Err(unreadable(err)),
    };
    if metadata.is_dir() {
        return Err(not_a_store("it is a directory"));
    }
    if metadata.len() == 0 {
        return Err(not_a_store("the file is empty"));
    }
    let mut head = Vec::with_capacity(magic.len());
    File::open(path)
        .and_then(|file| file.take(magic.len() as u64).read_to_end(&mut head))
        .map_err(unreadable)?;
    if head != magic {
        return Err(not_a_store(
            "the file does not start with the header of one",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_no_store_and_is_not_created() {
        let dir = std::env::temp_dir().join(format!("idem-cli-open-{}", std::process::id()));
        let path = dir.join("missing.redb");
        let result = check_store_file(&path, "redb", REDB_MAGIC);
        assert!(
            matches!(result, Err(CliError::NoStore { .. })),
            "{result:?}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn the_location_is_the_flag_given() {
        let options = StoreOptions::default();
        let args = StoreArgs {
            redb: Some(PathBuf::from("idem.redb")),
            sqlite: None,
            redis: None,
            postgres: None,
        };
        assert_eq!(
            args.location(&options).ok(),
            Some(StoreLocation::Redb(PathBuf::from("idem.redb")))
        );
        let none = StoreArgs {
            redb: None,
            sqlite: None,
            redis: None,
            postgres: None,
        };
        assert!(matches!(
            none.location(&options),
            Err(CliError::NoStoreGiven)
        ));
    }

    #[test]
    fn bad_prefixes_and_table_names_are_bad_input() {
        let redis = StoreArgs {
            redb: None,
            sqlite: None,
            redis: Some("redis://127.0.0.1:6379".into()),
            postgres: None,
        };
        let prefix = StoreOptions {
            redis_prefix: Some("idem:2".into()),
            postgres_table: None,
        };
        assert!(matches!(
            redis.location(&prefix),
            Err(CliError::InvalidStoreOption(_))
        ));
        let postgres = StoreArgs {
            redb: None,
            sqlite: None,
            redis: None,
            postgres: Some("postgres://127.0.0.1/db".into()),
        };
        let table = StoreOptions {
            redis_prefix: None,
            postgres_table: Some("records; drop table x".into()),
        };
        assert!(matches!(
            postgres.location(&table),
            Err(CliError::InvalidStoreOption(_))
        ));
    }
}
