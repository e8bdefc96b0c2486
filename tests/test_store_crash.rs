//! Crash and restart of the stores in a file (`RedbStore`, `SqliteStore`), with real processes
//! killed by SIGKILL. Every test runs on each of them this build has ([`STORES`]).
//!
//! The harness: this test binary re-executes itself (`std::env::current_exe()`) to run the one
//! test [`crash_child`], with `--exact crash_child --nocapture` and three environment variables,
//! [`CHILD_ENV`] (what the child does), [`STORE_ENV`] (which store) and [`DB_ENV`] (the
//! database file). Without them,
//! `crash_child` does nothing, so it passes in an ordinary run. The child prints marker lines
//! ([`MARKER`] then a word) on stdout when it reaches a point the parent waits for; the parent
//! reads them ([`Child::wait_for`]), kills the child with SIGKILL (`std::process::Child::kill`
//! on unix), waits for it to be gone, and opens the same file to see what survived.
#![cfg(any(feature = "redb", feature = "sqlite"))]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use idem::clock::ManualClock;
use idem::store::{
    Claim, ClaimOutcome, Completion, Record, RecordKey, RecordState, Store, UnixMillis,
};

/// What the child does: one of the modes of [`crash_child`].
const CHILD_ENV: &str = "IDEM_CRASH_CHILD";
/// The store the child opens: one of [`STORES`].
const STORE_ENV: &str = "IDEM_CRASH_STORE";
/// The database file the child opens.
const DB_ENV: &str = "IDEM_CRASH_DB";
/// The start of every line the child prints for the parent.
const MARKER: &str = "idem-crash-child:";
/// How long the parent waits for a line before giving up on the child.
const PATIENCE: Duration = Duration::from_secs(60);

const T0: UnixMillis = UnixMillis(1_700_000_000_000);

/// The stores in a file that this build has.
const STORES: &[&str] = &[
    #[cfg(feature = "redb")]
    "redb",
    #[cfg(feature = "sqlite")]
    "sqlite",
];

/// The store `kind` on the file `db`, on `clock`.
fn open_store(kind: &str, db: &Path, clock: Arc<ManualClock>) -> Box<dyn Store> {
    match kind {
        #[cfg(feature = "redb")]
        "redb" => Box::new(
            idem::store::RedbStore::open(db)
                .expect("open the redb store")
                .with_clock(clock),
        ),
        #[cfg(feature = "sqlite")]
        "sqlite" => Box::new(
            idem::store::SqliteStore::open(db)
                .expect("open the SQLite store")
                .with_clock(clock),
        ),
        other => panic!("no store {other:?} in this build"),
    }
}

/// A manual clock reading `at`: the store's clock, in the child and in the parent.
fn clock_at(at: UnixMillis) -> Arc<ManualClock> {
    let clock = ManualClock::at_unix_seconds(0);
    clock.advance(Duration::from_millis(at.0));
    Arc::new(clock)
}

/// Moves `clock` forward to `at`.
fn move_to(clock: &ManualClock, at: UnixMillis) {
    let now = UnixMillis::now(clock);
    clock.advance(Duration::from_millis(at.0.saturating_sub(now.0)));
}
const LEASE: Duration = Duration::from_secs(5);
const TTL: Duration = Duration::from_secs(3600);
const TOOL: &str = "crash-test";
const CHILD_TOKEN: &str = "child-token";
const FP_CHILD: &str = "fp-child-token";
const OUTPUT: &[u8] = br#"{"charged":true,"amount":"10.50","note":"caf\u00e9"}"#;

fn key(key: &str) -> RecordKey<'_> {
    RecordKey { tool: TOOL, key }
}

/// A claim by `token` at `now`, with the fingerprint `fp-{token}`.
fn claim_by(token: &'static str, now: UnixMillis) -> Claim<'static> {
    let fingerprint = match token {
        CHILD_TOKEN => FP_CHILD,
        _ => "fp-parent",
    };
    Claim {
        token,
        fingerprint,
        now,
        lease: LEASE,
    }
}

// ---------------------------------------------------------------------------------------------
// The child side

/// The child's entry point: does nothing unless [`CHILD_ENV`] is set.
#[test]
fn crash_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let db = std::env::var(DB_ENV).expect("IDEM_CRASH_DB names the database file");
    let kind = std::env::var(STORE_ENV).expect("IDEM_CRASH_STORE names the store");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let clock = clock_at(T0);
        let store = open_store(&kind, Path::new(&db), clock.clone());
        match mode.as_str() {
            // Claims, then "runs the tool" until killed.
            "claim" => {
                let outcome = store.claim(key("k"), &claim_by(CHILD_TOKEN, T0)).await;
                assert_eq!(outcome.unwrap(), ClaimOutcome::Claimed);
                say("claimed");
            }
            // Claims and completes, then lingers until killed.
            "complete" => {
                let outcome = store.claim(key("k"), &claim_by(CHILD_TOKEN, T0)).await;
                assert_eq!(outcome.unwrap(), ClaimOutcome::Claimed);
                let done = Completion::Output(OUTPUT.to_vec());
                store
                    .complete(key("k"), &claim_by(CHILD_TOKEN, T0), &done, TTL)
                    .await
                    .unwrap();
                say("completed");
            }
            // Claims and completes keys one after another, saying each, until killed: the kill
            // lands in the middle of some transaction.
            "churn" => {
                for i in 0u64.. {
                    let k = format!("churn-{i}");
                    let now = UnixMillis(T0.0 + i);
                    move_to(&clock, now);
                    let outcome = store.claim(key(&k), &claim_by(CHILD_TOKEN, now)).await;
                    assert_eq!(outcome.unwrap(), ClaimOutcome::Claimed);
                    let done = Completion::Output(format!("{{\"i\":{i}}}").into_bytes());
                    store
                        .complete(key(&k), &claim_by(CHILD_TOKEN, now), &done, TTL)
                        .await
                        .unwrap();
                    say(&format!("completed {i}"));
                }
            }
            other => panic!("unknown crash child mode {other:?}"),
        }
        // As if the tool were still running: the parent kills us long before this ends.
        tokio::time::sleep(Duration::from_secs(600)).await;
        panic!("the parent did not kill the child");
    });
}

/// Prints a marker line for the parent, on a line of its own.
fn say(word: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n{MARKER} {word}").unwrap();
    out.flush().unwrap();
}

// ---------------------------------------------------------------------------------------------
// The parent side

/// A child process running [`crash_child`] in `mode` on the database at `db`.
struct Child {
    process: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Child {
    fn spawn(mode: &str, kind: &str, db: &Path) -> Child {
        let mut process = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, mode)
            .env(STORE_ENV, kind)
            .env(DB_ENV, db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the child");
        let stdout = process.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(word) = line.trim().strip_prefix(MARKER)
                    && sender.send(word.trim().to_owned()).is_err()
                {
                    break;
                }
            }
        });
        Child { process, lines }
    }

    /// Waits for the child to say `word`; the words said before it are skipped.
    fn wait_for(&mut self, word: &str) {
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(said) if said == word => return,
                Ok(_) => continue,
                Err(e) => {
                    let status = self.process.try_wait();
                    panic!("the child never said {word:?} ({e}); its status: {status:?}");
                }
            }
        }
    }

    /// The next word the child says.
    fn next_word(&mut self) -> String {
        self.lines
            .recv_timeout(PATIENCE)
            .expect("the child says something")
    }

    /// SIGKILL, and wait until the process is gone (its lock on the file with it).
    fn kill(mut self) {
        let early = self.process.try_wait().expect("the child's status");
        assert!(
            early.is_none(),
            "the child ended before the kill: {early:?}"
        );
        self.process.kill().expect("kill the child");
        let status = self.process.wait().expect("wait for the child");
        assert!(!status.success(), "the child was killed, not finished");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
        }
    }
}

/// (a) Killed while "running the tool": the claim survives; a claim before the end of its
/// lease finds it in progress, one at the end of the lease takes it over.
#[test]
fn killed_while_running_the_claim_is_taken_over_after_its_lease() {
    for kind in STORES {
        killed_while_running_the_claim_is_taken_over_after_its_lease_on(kind);
    }
}

fn killed_while_running_the_claim_is_taken_over_after_its_lease_on(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(format!("idem.{kind}"));
    let mut child = Child::spawn("claim", kind, &db);
    child.wait_for("claimed");
    child.kill();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let clock = clock_at(T0);
        let store = open_store(kind, &db, clock.clone());
        let held = Record::in_progress(CHILD_TOKEN.into(), FP_CHILD.to_owned(), T0, T0.plus(LEASE));
        assert_eq!(store.get(key("k")).await.unwrap(), Some(held.clone()));
        let before_end = UnixMillis(T0.plus(LEASE).0 - 1);
        move_to(&clock, before_end);
        assert_eq!(
            store
                .claim(key("k"), &claim_by("parent", before_end))
                .await
                .unwrap(),
            ClaimOutcome::Existing(held),
            "the dead child's lease still holds"
        );
        move_to(&clock, T0.plus(LEASE));
        assert_eq!(
            store
                .claim(key("k"), &claim_by("parent", T0.plus(LEASE)))
                .await
                .unwrap(),
            ClaimOutcome::TookOver {
                previous_token: CHILD_TOKEN.into()
            },
            "after the lease, the key is taken over"
        );
        // The dead child can no longer complete: if it came back, it would find its claim lost.
        let late = store
            .complete(
                key("k"),
                &claim_by(CHILD_TOKEN, T0),
                &Completion::Marker,
                TTL,
            )
            .await;
        assert!(late.is_err(), "{late:?}");
    });
}

/// (b) Killed right after `complete` returned: a fresh open replays the completed record with
/// its output, byte for byte.
#[test]
fn killed_after_completing_the_result_is_replayed() {
    for kind in STORES {
        killed_after_completing_the_result_is_replayed_on(kind);
    }
}

fn killed_after_completing_the_result_is_replayed_on(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(format!("idem.{kind}"));
    let mut child = Child::spawn("complete", kind, &db);
    child.wait_for("completed");
    child.kill();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let clock = clock_at(T0);
        let store = open_store(kind, &db, clock.clone());
        let record = store.get(key("k")).await.unwrap().expect("the record");
        assert_eq!(record.token, CHILD_TOKEN);
        match &record.state {
            RecordState::Completed { output, expires_at } => {
                assert_eq!(output.as_deref(), Some(OUTPUT));
                assert_eq!(*expires_at, T0.plus(TTL));
            }
            other => panic!("{kind}: expected Completed, got {other:?}"),
        }
        move_to(&clock, T0.plus(LEASE));
        let replay = store
            .claim(key("k"), &claim_by("parent", T0.plus(LEASE)))
            .await
            .unwrap();
        assert_eq!(replay, ClaimOutcome::Existing(record));
    });
}

/// (c) Killed in the middle of a stream of commits: the file opens, every completion the child
/// reported is there, and every record there decodes (a claim the kill cut short is either
/// absent or whole).
#[test]
fn killed_mid_stream_every_reported_completion_survives() {
    for kind in STORES {
        killed_mid_stream_every_reported_completion_survives_on(kind);
    }
}

fn killed_mid_stream_every_reported_completion_survives_on(kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(format!("idem.{kind}"));
    let mut child = Child::spawn("churn", kind, &db);
    let mut reported = 0u64;
    while reported < 200 {
        let word = child.next_word();
        let i: u64 = word
            .strip_prefix("completed ")
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("unexpected word {word:?}"));
        assert_eq!(i, reported);
        reported += 1;
    }
    child.kill();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = open_store(kind, &db, clock_at(T0));
        for i in 0..reported {
            let k = format!("churn-{i}");
            let record = store.get(key(&k)).await.unwrap();
            let Some(Record {
                state: RecordState::Completed { output, .. },
                ..
            }) = record
            else {
                panic!("{kind}: {k}: reported completed, found {record:?}");
            };
            assert_eq!(output.unwrap(), format!("{{\"i\":{i}}}").into_bytes());
        }
        let all = store.list().await.unwrap();
        assert!(all.len() as u64 >= reported);
        for stored in &all {
            assert!(stored.record.is_ok(), "{}: {:?}", stored.key, stored.record);
        }
    });
}
