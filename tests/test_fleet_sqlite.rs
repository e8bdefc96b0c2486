//! The fleet proof on `SqliteStore`: worker processes of one host sharing one SQLite file (see
//! `tests/fleet/mod.rs` for the harness and `tests/fleet/scenarios.rs` for what is proved).
//!
//! No server: each test works in a temporary directory of its own, holding the store's file
//! (`{ns}.sqlite`) and the ledger (`{ns}.ledger`, one `order<TAB>call` line appended per
//! execution with a single `write` in append mode, independent of SQLite), and removes it at
//! the end. There is no outage scenario: nothing stands between a process and its file.
#![cfg(feature = "sqlite")]

mod fleet;
mod support;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fleet::scenarios::Race;
use fleet::{Backend, Entry, Tuning};
use idem::store::{RecordKey, SqliteOptions, SqliteStore, Store, StoreError};
use support::test_name;

#[test]
fn fleet_worker() {
    fleet::worker::main::<Sqlite>();
}

/// 8 processes × 8 tasks × 500 orders on one file, every commit on the disk
/// (`Durability::Full`, the default): each order runs once.
#[test]
fn exactly_once_across_processes() {
    fleet::scenarios::exactly_once_sized::<Sqlite>(
        &test_name!(),
        Race {
            workers: 8,
            tasks: 8,
            keys: 500,
        },
    );
}

#[test]
fn a_worker_killed_in_its_tool_is_taken_over_once() {
    fleet::scenarios::killed_mid_tool::<Sqlite>(&test_name!());
}

#[test]
fn a_worker_stopped_past_its_lease_loses_its_claim() {
    fleet::scenarios::stopped_past_lease::<Sqlite>(&test_name!());
}

// ---------------------------------------------------------------------------------------------
// The backend

struct Sqlite {
    /// The test's directory.
    dir: PathBuf,
    /// The store's file.
    file: PathBuf,
    /// The ledger's file.
    ledger: PathBuf,
    admin: Arc<SqliteStore>,
}

/// A store on `file`.
fn open(file: &Path, tuning: Tuning) -> Result<SqliteStore, StoreError> {
    let options = match tuning {
        Tuning::Normal => SqliteOptions::new(),
        Tuning::Short => SqliteOptions::new().with_busy_timeout(Duration::from_millis(300)),
    };
    SqliteStore::open_with(file, options)
}

impl Backend for Sqlite {
    const NAME: &'static str = "sqlite";
    /// No server: [`Backend::locate`] gives a temporary directory.
    const URL_VAR: &'static str = "";

    fn locate(_test: &str) -> Option<String> {
        let dir = tempfile::Builder::new()
            .prefix("idem-fleet-sqlite-")
            .tempdir()
            .expect("a temporary directory");
        // Removed by `cleanup`, once the workers are gone.
        Some(dir.keep().to_string_lossy().into_owned())
    }

    fn upstream(_url: &str) -> Option<String> {
        None
    }

    async fn open(url: String, ns: String, _setup: bool) -> Self {
        let dir = PathBuf::from(url);
        let file = dir.join(format!("{ns}.sqlite"));
        let ledger = dir.join(format!("{ns}.ledger"));
        let admin =
            open(&file, Tuning::Normal).unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
        Sqlite {
            dir,
            file,
            ledger,
            admin: Arc::new(admin),
        }
    }

    async fn store(&self, via: Option<&str>, tuning: Tuning) -> Result<Arc<dyn Store>, StoreError> {
        assert!(via.is_none(), "no proxy stands before a file");
        Ok(Arc::new(open(&self.file, tuning)?))
    }

    fn admin(&self) -> Arc<dyn Store> {
        Arc::clone(&self.admin) as Arc<dyn Store>
    }

    async fn append(&self, order: &str, call: &str) -> Result<(), String> {
        let line = format!("{order}\t{call}\n");
        let path = self.ledger.clone();
        tokio::task::spawn_blocking(move || {
            // One `write` in append mode: a line is whole, and lines of all the processes
            // follow one another.
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            file.write_all(line.as_bytes())
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("append to the ledger: {e}"))
    }

    async fn ledger(&self) -> Vec<Entry> {
        let text = match std::fs::read_to_string(&self.ledger) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(err) => panic!("read the ledger: {err}"),
        };
        text.lines()
            .map(|line| {
                let (order, call) = line.split_once('\t').expect("order<TAB>call");
                Entry {
                    order: order.to_owned(),
                    call: call.to_owned(),
                }
            })
            .collect()
    }

    async fn plant_corrupt(&self, key: RecordKey<'_>) {
        self.admin
            .write_raw(key, b"{\"idem_record\":1,\"state\":\"\xff".to_vec())
            .await
            .expect("plant a corrupt record");
    }

    async fn cleanup(&self) {
        if let Err(err) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("{} was not removed: {err}", self.dir.display());
        }
    }
}
