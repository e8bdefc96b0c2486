//! Crash and restart with the embedded store, with real processes killed by SIGKILL.
//!
//! The test re-executes its own binary as the worker (`IDEM_EXECUTOR_CRASH_CHILD` tells the
//! child test what to do): the worker runs the executor on a redb file and is killed in the
//! middle of the tool, or right after the result was stored. A new process opening the same file
//! then takes the key over after the lease (tool runs once more, exactly once) or replays.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use idem::clock::ManualClock;
use idem::executor::{ExecuteError, Executor, Outcome};
use idem::spec::{InProgressPolicy, ToolSpec};
use idem::store::RedbStore;
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

#[derive(Idempotent, Serialize, Deserialize, Clone)]
#[idem(tool = "payment-processor-v1", strategy = "fields", lease = "5s")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    amount: f64,
}

const CHILD: &str = "IDEM_EXECUTOR_CRASH_CHILD";
const DB: &str = "IDEM_EXECUTOR_CRASH_DB";

fn args() -> ProcessPayment {
    ProcessPayment {
        transaction_id: "txn-crash".into(),
        amount: 12.0,
    }
}

/// The worker: runs only when the parent test starts this binary with `IDEM_EXECUTOR_CRASH_CHILD`.
#[tokio::test]
async fn worker() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let db = std::env::var(DB).expect("the parent gives the store path");
    let executor = Executor::new(RedbStore::open(&db).unwrap());
    let spec = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    let args = args();
    let pid = std::process::id();
    let result = executor
        .execute(&spec, &Context::new(), &args, || async {
            if mode == "die-during-tool" {
                println!("@crash-point running");
                std::thread::sleep(Duration::from_secs(60));
            }
            Ok::<_, std::io::Error>(format!("charged by {pid}"))
        })
        .await
        .unwrap();
    assert_eq!(result.outcome, Outcome::Executed { took_over: false });
    println!("@crash-point stored {}", result.output);
    std::thread::sleep(Duration::from_secs(60));
}

/// Starts the worker and kills it (SIGKILL) once it printed `wait_for`; returns its line.
fn run_and_kill(mode: &str, db: &Path, wait_for: &str) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "worker", "--nocapture", "--test-threads", "1"])
        .env(CHILD, mode)
        .env(DB, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = loop {
        let line = lines
            .next()
            .expect("the worker exited before reaching the point of the crash")
            .unwrap();
        // libtest may print `test worker ... ` before the worker's own output on a line.
        if let Some((_, point)) = line.split_once("@crash-point ")
            && point.starts_with(wait_for)
        {
            break point.to_owned();
        }
    };
    child.kill().unwrap();
    child.wait().unwrap();
    line
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_worker_killed_during_the_tool_is_taken_over_after_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("idem.redb");
    run_and_kill("die-during-tool", &db, "running");

    // The store's clock decides leases: the new process's store runs on a clock it can move.
    let clock = Arc::new(ManualClock::at_unix_seconds(unix_now()));
    let store = RedbStore::open(&db).unwrap().with_clock(clock.clone());
    let executor = Executor::new(store).with_clock(clock.clone());
    let spec = ToolSpec::for_args::<ProcessPayment>()
        .configure(|c| c.on_in_progress(InProgressPolicy::Fail))
        .build()
        .unwrap();
    let args = args();
    let run = || async { Ok::<_, std::io::Error>("charged by the new process".to_owned()) };
    // Within the dead worker's lease the key is still in progress: nothing runs.
    let err = executor
        .execute(&spec, &Context::new(), &args, run)
        .await
        .unwrap_err();
    assert!(matches!(err, ExecuteError::InProgress { .. }), "{err}");
    // After the lease the new process takes over and runs the tool, once.
    clock.advance(Duration::from_secs(6));
    let taken = executor
        .execute(&spec, &Context::new(), &args, run)
        .await
        .unwrap();
    assert_eq!(taken.outcome, Outcome::Executed { took_over: true });
    assert_eq!(taken.output, "charged by the new process");
    let replay = executor
        .execute(&spec, &Context::new(), &args, run)
        .await
        .unwrap();
    assert_eq!(replay.outcome, Outcome::Replayed { args_differ: false });
}

#[tokio::test]
async fn a_worker_killed_after_storing_the_result_is_replayed_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("idem.redb");
    let line = run_and_kill("die-after-store", &db, "stored");
    let charged_by = line.trim_start_matches("stored ").to_owned();

    let executor = Executor::new(RedbStore::open(&db).unwrap());
    let spec = ToolSpec::for_args::<ProcessPayment>().build().unwrap();
    let args = args();
    let replay = executor
        .execute(&spec, &Context::new(), &args, || async {
            Ok::<_, std::io::Error>("charged twice!".to_owned())
        })
        .await
        .unwrap();
    assert_eq!(replay.outcome, Outcome::Replayed { args_differ: false });
    assert_eq!(replay.output, charged_by);
}
