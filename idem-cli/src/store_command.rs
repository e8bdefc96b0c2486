//! `idem store`: look at and clean up the records of a store, for operators.
//!
//! - [`open::StoreArgs`] says which store (exactly one store flag: `--redb PATH`, `--sqlite PATH`,
//!   `--redis URL`, `--postgres URL`) and
//!   [`open::open`] opens it as an `Arc<dyn Store>`, never creating one;
//! - [`list`](list::list) (in `list.rs`), [`get`](get::get) (in `get.rs`) and [`purge`] work on
//!   any `&dyn Store`: a new kind of store needs no change here;
//! - [`render`] prints records: one line each for `list`, in full for `get`.
//!
//! Flags are checked before the store is opened, so a wrong command touches nothing.

mod get;
mod list;
mod open;
mod render;

use std::io::{self, Write};

use clap::{Args, Subcommand};
use idem_core::clock::SystemClock;
use idem_core::store::{Store, UnixMillis};

use crate::error::CliError;
use get::{Query, get};
use list::{empty_hint, list, records_elsewhere};
use open::{StoreArgs, StoreLocation, StoreOptions};

const AFTER_HELP: &str = "\
The store is only opened, never created: a path with no store is an error, and so is a
PostgreSQL database or a SQLite file without the table. A redb file is opened by one process at
a time: while a service holds it, `idem store` fails (exit 1). SQLite files, Redis and
PostgreSQL are shared: `list`, `get` and `purge` work while the services run.

Exit status:
  0  done
  2  bad input: no store at the path, not a store, no such record, purge without a scope;
     one line on stderr, starting with `idem: error: `
  1  the store could not be opened or failed, or stdout could not be written

Examples:
  idem store --redb /var/lib/app/idem.redb list
  idem store --redb /var/lib/app/idem.redb get payment-processor-v1/fb5f9548c85a45eb...
  idem store --redb /var/lib/app/idem.redb purge --expired
  idem store --sqlite /var/lib/app/idem.sqlite list
  idem store --redis redis://127.0.0.1:6379 list
  idem store --postgres postgres://app@db.internal/app purge --expired
  idem store --postgres postgres://app@db.internal/app schema > migrations/001_idem.sql";

const LIST_AFTER_HELP: &str = "\
Output: a header, then one line per record, sorted by tool then key:
  TOOL KEY STATE CREATED EXPIRES OUTPUT
  STATE    completed, failed, unknown (the call may or may not have taken effect: it does not
           run again until the record expires or is deleted) or in_progress; `,expired` when a
           finished record is past its expiry by this host's clock (it counts as absent; purge
           --expired removes it); `,lease_over` when a claim's lease has run out (the next claim
           takes the key over); corrupt when the record cannot be read, newer_format when a newer
           idem wrote it (upgrade; do not delete it); the reason ends the line.
  TOOL,KEY white space, control characters and backslashes are escaped as in Rust (`\n`,
           `\u{20}`, `\\`).
  CREATED  when the key was claimed; EXPIRES: the expiry, or the end of the lease of an
           in_progress record. Both in RFC 3339 (UTC), in unix milliseconds past year 9999.
  OUTPUT   the size of the stored output JSON (`17B`), `marker` when only the fact that the
           call ran is kept, `-` when there is none.
Cells hold no spaces: the columns split on whitespace.";

const GET_AFTER_HELP: &str = "\
KEY is TOOL/KEY (e.g. payment-processor-v1/fb5f9548...), or the key alone when no other tool
has a record with that key; with --tool TOOL, KEY is the key alone. The key may be shortened to
its start (e.g. fb5f9548c85a) when no other record's key begins the same way; when several do,
the error lists them. Expired and corrupt records are shown too.

Output: one `name: value` line per field (tool, key, state, token, fingerprint, created, then
expires or lease_until), the output JSON (or the remembered error, as a JSON string) last.";

const PURGE_AFTER_HELP: &str = "\
--expired removes the completed and failed records past their expiry. In-progress records stay,
even after their lease (the next claim takes them over), and so do corrupt records.
--all removes every record: live claims, results and corrupt records. One of the two is required.

Output: one line, `removed N expired records` or `removed N records`.";

/// `idem store`: the store flag, then what to do.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct StoreCommandArgs {
    #[command(flatten)]
    store: StoreArgs,

    #[command(flatten)]
    options: StoreOptions,

    #[command(subcommand)]
    action: StoreAction,
}

#[derive(Debug, Subcommand)]
enum StoreAction {
    /// One line per record, sorted by tool and key (expired and corrupt ones included)
    #[command(after_help = LIST_AFTER_HELP)]
    List,
    /// One record in full, its output JSON included; KEY is TOOL/KEY, or the key (or its start) alone when unique
    #[command(after_help = GET_AFTER_HELP)]
    Get(GetArgs),
    /// Remove the expired records (--expired) or every record (--all), and print how many
    #[command(after_help = PURGE_AFTER_HELP)]
    Purge(PurgeArgs),
    /// Print the SQL that creates the PostgresStore table, to run as a migration (--postgres only)
    Schema,
}

#[derive(Debug, Args)]
struct GetArgs {
    /// TOOL/KEY, or the key alone when no other tool has a record with that key; the key may be
    /// shortened to a start no other record's key shares
    #[arg(value_name = "KEY")]
    key: String,

    /// The record's tool: KEY is then the key alone
    #[arg(long, value_name = "ID")]
    tool: Option<String>,
}

#[derive(Debug, Args)]
struct PurgeArgs {
    /// Remove the completed and failed records past their expiry
    #[arg(long, conflicts_with = "all")]
    expired: bool,

    /// Remove every record, live claims and corrupt records included
    #[arg(long)]
    all: bool,
}

/// Which records `purge` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PurgeScope {
    Expired,
    All,
}

impl PurgeScope {
    fn from_args(args: &PurgeArgs) -> Result<Self, CliError> {
        match (args.expired, args.all) {
            (true, _) => Ok(PurgeScope::Expired),
            (false, true) => Ok(PurgeScope::All),
            (false, false) => Err(CliError::PurgeWithoutScope),
        }
    }
}

/// Runs `idem store` on the process's stdout, at the system time.
pub(crate) fn run(args: &StoreCommandArgs) -> Result<(), CliError> {
    let location = args.store.location(&args.options)?;
    let scope = match &args.action {
        StoreAction::Purge(purge) => Some(PurgeScope::from_args(purge)?),
        StoreAction::List | StoreAction::Get(_) => None,
        StoreAction::Schema => {
            // The migration text needs no connection: it is printed for a DBA to review and run.
            let StoreLocation::Postgres { table, .. } = &location else {
                return Err(CliError::SchemaNotApplicable);
            };
            let sql = idem_core::store::PostgresStore::schema_sql(table);
            let mut out = io::stdout().lock();
            return writeln!(out, "{sql}").map_err(CliError::WriteStdout);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let now = UnixMillis::now(&SystemClock);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    runtime.block_on(async {
        let store = open::open(&location).await?;
        match (&args.action, scope) {
            (StoreAction::List, _) => {
                let found = list(&*store, now, &mut out).await?;
                if found == 0 {
                    let elsewhere = records_elsewhere(&location).await;
                    // A hint that cannot be written is no reason to fail the listing.
                    let _ = writeln!(io::stderr().lock(), "{}", empty_hint(&location, &elsewhere));
                }
                Ok(())
            }
            (StoreAction::Get(get_args), _) => {
                let query = Query {
                    key: &get_args.key,
                    tool: get_args.tool.as_deref(),
                };
                get(&*store, query, now, &mut out).await
            }
            (StoreAction::Purge(_), Some(scope)) => purge(&*store, scope, &mut out).await,
            // The scope was checked above.
            (StoreAction::Purge(_), None) => Err(CliError::PurgeWithoutScope),
            // Answered above, without opening the store.
            (StoreAction::Schema, _) => Err(CliError::SchemaNotApplicable),
        }
    })
}

/// `idem store purge`.
async fn purge(store: &dyn Store, scope: PurgeScope, out: &mut impl Write) -> Result<(), CliError> {
    let removed = store
        .purge(scope == PurgeScope::All)
        .await
        .map_err(CliError::Store)?;
    let what = match (scope, removed) {
        (PurgeScope::Expired, 1) => "expired record",
        (PurgeScope::Expired, _) => "expired records",
        (PurgeScope::All, 1) => "record",
        (PurgeScope::All, _) => "records",
    };
    writeln!(out, "removed {removed} {what}")
        .and_then(|()| out.flush())
        .map_err(CliError::WriteStdout)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use idem_core::store::{Claim, Completion, MemoryStore, RecordKey};

    use super::*;

    fn block_on<T>(future: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    const NOW: UnixMillis = UnixMillis(1_700_000_000_000);

    /// A memory store with `tool/key` completed (expiring after `ttl`) for each entry.
    fn store_with(entries: &[(&str, &str, Duration)]) -> MemoryStore {
        let store = MemoryStore::new();
        block_on(async {
            for &(tool, key, ttl) in entries {
                let address = RecordKey { tool, key };
                let token = format!("t-{tool}-{key}");
                let claim = Claim {
                    token: &token,
                    fingerprint: "f",
                    now: NOW,
                    lease: Duration::from_secs(60),
                };
                store.claim(address, &claim).await.expect("claimed");
                let output = Completion::Output(b"{\"ok\":true}".to_vec());
                store
                    .complete(address, &claim, &output, ttl)
                    .await
                    .expect("completed");
            }
        });
        store
    }

    fn get_text(store: &dyn Store, key: &str, tool: Option<&str>) -> Result<String, CliError> {
        let mut out = Vec::new();
        block_on(get(store, Query { key, tool }, NOW, &mut out))?;
        Ok(String::from_utf8(out).expect("UTF-8"))
    }

    #[test]
    fn get_finds_tool_slash_key_and_unique_bare_keys() {
        let hour = Duration::from_secs(3600);
        let store = store_with(&[("a", "k1", hour), ("b", "k1", hour), ("b", "k2", hour)]);
        let text = get_text(&store, "a/k1", None).expect("found");
        assert!(
            text.starts_with("tool: a\nkey: k1\nstate: completed\n"),
            "{text}"
        );
        assert!(text.ends_with("output: {\"ok\":true}\n"), "{text}");
        assert!(get_text(&store, "k2", None).is_ok_and(|t| t.starts_with("tool: b\n")));
        assert!(get_text(&store, "k1", Some("b")).is_ok_and(|t| t.starts_with("tool: b\n")));
        match get_text(&store, "k1", None) {
            Err(CliError::AmbiguousKey { matches, .. }) => assert_eq!(matches, ["a/k1", "b/k1"]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            get_text(&store, "k3", None),
            Err(CliError::RecordNotFound { .. })
        ));
        assert!(matches!(
            get_text(&store, "a/k1", Some("a")),
            Err(CliError::RecordNotFound { .. })
        ));
    }

    #[test]
    fn get_takes_the_start_of_a_key_when_no_whole_key_matches() {
        let hour = Duration::from_secs(3600);
        let store = store_with(&[("a", "abc", hour), ("a", "abcd", hour), ("b", "xyz1", hour)]);
        // A whole key wins over the longer keys it begins.
        assert!(get_text(&store, "abc", None).is_ok_and(|t| t.starts_with("tool: a\nkey: abc\n")));
        assert!(get_text(&store, "xy", None).is_ok_and(|t| t.starts_with("tool: b\nkey: xyz1\n")));
        assert!(get_text(&store, "b/x", None).is_ok_and(|t| t.starts_with("tool: b\n")));
        assert!(get_text(&store, "xyz", Some("b")).is_ok_and(|t| t.starts_with("tool: b\n")));
        match get_text(&store, "ab", None) {
            Err(CliError::AmbiguousKeyPrefix { query, matches }) => {
                assert_eq!(query, "ab");
                assert_eq!(matches, ["a/abc", "a/abcd"]);
            }
            other => panic!("{other:?}"),
        }
        // An empty start matches nothing.
        assert!(matches!(
            get_text(&store, "b/", None),
            Err(CliError::RecordNotFound { .. })
        ));
        assert!(matches!(
            get_text(&store, "", Some("a")),
            Err(CliError::RecordNotFound { .. })
        ));
    }

    #[test]
    fn an_empty_list_names_where_it_looked_and_the_flag_for_elsewhere() {
        let redis = StoreLocation::Redis {
            url: "redis://h".into(),
            prefix: None,
        };
        assert_eq!(
            empty_hint(&redis, &[]),
            "idem: no records under the Redis key prefix `idem` (the default); a service whose \
             RedisStore uses another prefix (RedisOptions::with_prefix) is listed with \
             --redis-prefix PREFIX"
        );
        assert_eq!(
            empty_hint(&redis, &[("billing".into(), 12), ("idem:v2".into(), 1)]),
            "idem: no records under the Redis key prefix `idem` (the default); this server has \
             records under `billing` (12), `idem:v2` (1): list them with --redis-prefix PREFIX"
        );
        let postgres = StoreLocation::Postgres {
            url: "postgres://h/db".into(),
            table: idem_core::store::PostgresTable::default(),
        };
        assert_eq!(
            empty_hint(&postgres, &[]),
            "idem: no records in the PostgreSQL table `idem_records`; a service whose \
             PostgresStore uses another table (PostgresOptions::table) is listed with \
             --postgres-table TABLE"
        );
    }

    #[test]
    fn a_list_prints_the_header_and_counts_the_records() {
        let (mut out, mut full_out) = (Vec::new(), Vec::new());
        let empty = block_on(list(&MemoryStore::new(), NOW, &mut out)).expect("listed");
        let table = String::from_utf8(out).expect("UTF-8");
        assert_eq!(
            (empty, table.lines().count()),
            (0, 1),
            "only the header: {table}"
        );
        assert!(table.starts_with("TOOL"), "{table}");
        let full = store_with(&[("a", "k", Duration::from_secs(3600))]);
        assert_eq!(
            block_on(list(&full, NOW, &mut full_out)).expect("listed"),
            1
        );
    }

    #[test]
    fn purge_counts_what_it_removed() {
        let store = store_with(&[
            ("a", "old", Duration::ZERO),
            ("a", "new", Duration::from_secs(3600)),
        ]);
        let mut out = Vec::new();
        block_on(purge(&store, PurgeScope::Expired, &mut out)).expect("purged");
        assert_eq!(out, b"removed 1 expired record\n");
        assert_eq!(store.len(), 1);
        out.clear();
        block_on(purge(&store, PurgeScope::All, &mut out)).expect("purged");
        assert_eq!(out, b"removed 1 record\n");
        assert!(store.is_empty());
    }

    #[test]
    fn purge_needs_a_scope() {
        let scope = |expired, all| PurgeScope::from_args(&PurgeArgs { expired, all });
        assert!(matches!(
            scope(false, false),
            Err(CliError::PurgeWithoutScope)
        ));
        assert_eq!(scope(true, false).ok(), Some(PurgeScope::Expired));
        assert_eq!(scope(false, true).ok(), Some(PurgeScope::All));
    }
}
