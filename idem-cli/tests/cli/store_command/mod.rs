//! `idem store` on the files of a host: a redb file is filled through `RedbStore`, as a service
//! would fill it, then the binary lists, shows and purges its records; a SQLite file likewise,
//! while the service has it open; and (in `network.rs`) the Redis and PostgreSQL stores.
//!
//! What the files share is here: the fixture store (seven records, one of each kind) and the
//! runs of `idem store`.

mod list_and_get;
mod network;
mod opening;
mod purge;
mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use idem_core::clock::ManualClock;
use idem_core::store::{Claim, ClaimOutcome, Completion, RecordKey, RedbStore, Store, UnixMillis};
use tempfile::TempDir;

use crate::run::{Run, block_on, idem};

/// 2023-11-14T22:13:20.000Z: records claimed then are live (their TTL runs for a century).
const RECENT: UnixMillis = UnixMillis(1_700_000_000_000);
/// 2001-09-09T01:46:40.000Z: records claimed then have expired (their TTL is an hour).
const LONG_AGO: UnixMillis = UnixMillis(1_000_000_000_000);
const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);

const PAYMENT: &str = "payment-processor-v1";
const EMAIL: &str = "email-sender-v1";
const ORDER: &str = "order-fulfillment-v1";
/// A key that two tools have a record of.
const SHARED_KEY: &str = "fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b";
const EXPIRED_KEY: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";
const CLAIM_KEY: &str = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
const MARKER_KEY: &str = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";
const STALE_CLAIM_KEY: &str = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";
const CORRUPT_KEY: &str = "corrupt-1";
const OUTPUT: &str = r#"{"charge_id":"ch_1","amount":10.5}"#;

/// Claims `tool/key` at `now` on the store's clock with `lease` (and the token `t-{key}`), then
/// completes it with `completion` for `ttl` unless it is `None`.
async fn put(
    (store, clock): (&dyn Store, &ManualClock),
    (tool, key): (&str, &str),
    now: UnixMillis,
    lease: Duration,
    completion: Option<(Completion, Duration)>,
) {
    clock.set_unix_seconds(now.0 / 1000);
    let address = RecordKey { tool, key };
    let (token, fingerprint) = (format!("t-{key}"), format!("fp-{key}"));
    let claim = Claim {
        token: &token,
        fingerprint: &fingerprint,
        now,
        lease,
    };
    let claimed = store.claim(address, &claim).await.expect("the claim");
    assert_eq!(claimed, ClaimOutcome::Claimed);
    if let Some((completion, ttl)) = completion {
        store
            .complete(address, &claim, &completion, ttl)
            .await
            .expect("the completion");
    }
}

/// A store of seven records, one of each kind, closed again so that `idem` can open it.
fn fixture() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("idem.redb");
    let clock = Arc::new(ManualClock::at_unix_seconds(0));
    let redb = RedbStore::open(&path)
        .expect("a new store")
        .with_clock(clock.clone());
    let store = (&redb as &dyn Store, &*clock);
    block_on(async {
        let output = Completion::Output(OUTPUT.as_bytes().to_vec());
        let lease = Duration::from_secs(30);
        put(
            store,
            (PAYMENT, SHARED_KEY),
            RECENT,
            lease,
            Some((output.clone(), CENTURY)),
        )
        .await;
        put(
            store,
            (PAYMENT, EXPIRED_KEY),
            LONG_AGO,
            lease,
            Some((output, HOUR)),
        )
        .await;
        let failed = Completion::Failed("mailbox \"full\"\nretry later".into());
        put(
            store,
            (EMAIL, SHARED_KEY),
            RECENT,
            lease,
            Some((failed, CENTURY)),
        )
        .await;
        put(store, (EMAIL, CLAIM_KEY), RECENT, CENTURY, None).await;
        let marker = Some((Completion::Marker, CENTURY));
        put(store, (ORDER, MARKER_KEY), RECENT, lease, marker).await;
        put(store, (ORDER, STALE_CLAIM_KEY), LONG_AGO, lease, None).await;
        let corrupt = RecordKey {
            tool: PAYMENT,
            key: CORRUPT_KEY,
        };
        redb.write_raw(corrupt, b"{not json".to_vec())
            .await
            .expect("a raw write");
    });
    (dir, path)
}

/// `idem store --redb PATH ARGS`.
fn store_cmd(path: &Path, args: &[&str]) -> Run {
    store_cmd_with("--redb", path, args)
}

/// `idem store FLAG PATH ARGS`.
fn store_cmd_with(flag: &str, path: &Path, args: &[&str]) -> Run {
    let path = path.to_str().expect("a UTF-8 path");
    let all: Vec<&str> = ["store", flag, path]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    idem(&all, None)
}

/// `idem store --redb PATH ARGS` that must succeed; returns its stdout.
fn ok(path: &Path, args: &[&str]) -> String {
    store_cmd(path, args).succeeded(&args)
}

/// Checks a failed run: exit `code`, nothing on stdout, one `idem: error: ` line on stderr that
/// contains every one of `needles`.
fn assert_error(run: &Run, code: i32, needles: &[&str]) {
    assert_eq!(run.code, Some(code), "{run:?}");
    assert_eq!(run.stdout, "", "{run:?}");
    assert!(run.stderr.starts_with("idem: error: "), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    for needle in needles {
        assert!(run.stderr.contains(needle), "{needle:?} not in {run:?}");
    }
}

/// The whitespace-separated cells of each line of `list` after the header.
fn rows(list: &str) -> Vec<Vec<String>> {
    let mut lines = list.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(
        header,
        ["TOOL", "KEY", "STATE", "CREATED", "EXPIRES", "OUTPUT"]
    );
    lines
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}
