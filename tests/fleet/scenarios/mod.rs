//! The fleet's proof, written once for every [`Backend`]: exactly once across processes (with a
//! corrupt record on the way), a worker killed in its tool, a worker stopped past its lease, and
//! an outage of the server in the middle of a load.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idem::executor::Executor;
use idem::store::{RecordKey, RecordState, StoreError};

use super::job::{Done, InTool, Job, Metrics, Role};
use super::proc::Proc;
use super::proxy::Proxy;
use super::{
    Backend, CallReport, Charge, Fleet, Got, Tuning, assert_no_order_twice, by_order, call, now_ms,
    run, spec, tally,
};

mod crashes;
mod exactly_once;
mod outage;

// Each backend's test file uses the scenarios that apply to it.
#[allow(unused_imports)]
pub use crashes::{killed_mid_tool, stopped_past_lease};
#[allow(unused_imports)]
pub use exactly_once::{Race, exactly_once, exactly_once_sized};
#[allow(unused_imports)]
pub use outage::outage;

/// The tool id of [`Charge`].
const TOOL: &str = "fleet-charge-v1";

fn record_key(key: &str) -> RecordKey<'_> {
    RecordKey { tool: TOOL, key }
}

/// The orders `k00000..k{n}`.
fn orders(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("k{i:05}")).collect()
}

/// Starts `jobs`, and waits until each says it is ready.
async fn start(jobs: Vec<Job>) -> Vec<Proc> {
    let mut procs: Vec<Proc> = jobs.iter().map(Proc::spawn).collect();
    for proc in &mut procs {
        let _: String = proc.expect("ready", Duration::from_secs(45)).await;
    }
    procs
}

/// Every worker's calls and last report, within `timeout` in all; each worker must then exit
/// successfully.
async fn finish(procs: &mut [Proc], timeout: Duration) -> Vec<(Vec<CallReport>, Done)> {
    let deadline = Instant::now() + timeout;
    let mut results = Vec::new();
    for proc in procs.iter_mut() {
        let left = deadline.saturating_duration_since(Instant::now());
        results.push(proc.calls_until_done(left).await);
    }
    for proc in procs.iter_mut() {
        let status = proc.wait(Duration::from_secs(10)).await;
        assert!(status.success(), "{}: exited with {status}", proc.name);
    }
    results
}

fn total(metrics: impl Iterator<Item = Metrics>) -> Metrics {
    metrics.fold(Metrics::default(), |a, m| Metrics {
        executions: a.executions + m.executions,
        replays: a.replays + m.replays,
        joins: a.joins + m.joins,
        waits: a.waits + m.waits,
        takeovers: a.takeovers + m.takeovers,
        errors: a.errors + m.errors,
    })
}

/// The output a completed record holds: the call id of its execution.
fn recorded_call(record: &idem::store::Record) -> Option<String> {
    match &record.state {
        RecordState::Completed {
            output: Some(bytes),
            ..
        } => serde_json::from_slice(bytes).ok(),
        _ => None,
    }
}
