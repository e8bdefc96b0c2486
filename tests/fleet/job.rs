//! What the parent and a worker process say to each other: the [`Job`] the parent gives (in the
//! environment variable [`JOB_VAR`](super::JOB_VAR)) and the reports the worker prints
//! ([`report`]): [`InTool`], then [`Done`] with its executor's [`Metrics`].

use idem::executor::MetricsSnapshot;
use serde::{Deserialize, Serialize};

use super::Tuning;
use super::proc::MARK;

/// What a worker process does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub url: String,
    /// The test's namespace (Redis prefix, PostgreSQL table).
    pub ns: String,
    /// The worker's name, unique in its test: its call ids are `{name}#{n}`.
    pub name: String,
    /// The proxy to reach the store through (`host:port`), or `None` to connect directly.
    pub via: Option<String>,
    pub tuning: Tuning,
    /// The claims' lease.
    pub lease_ms: u64,
    /// How long a duplicate waits for a running execution; `None`: it fails at once.
    pub wait_ms: Option<u64>,
    pub role: Role,
}

/// The worker's part in its test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Role {
    /// Races the fleet on orders `k00000..k{keys}`: after `go`, `tasks` tasks call every order
    /// once, block by block (`block` orders; every worker takes the blocks in the same order and
    /// shuffles each its own way, so that the processes meet on the same orders at the same
    /// time), twice in a row for every `dup_every`-th order (`dup_phase` onwards) so that two
    /// tasks of the process race on it, plus the order `corrupt` once. The tool takes `tool_ms`.
    Race {
        seed: u64,
        keys: usize,
        block: usize,
        tasks: usize,
        dup_every: usize,
        dup_phase: usize,
        corrupt: String,
        tool_ms: u64,
    },
    /// Calls each of `orders` at once; in the tool, reports `in-tool` and sleeps (to be killed).
    Hold { orders: Vec<String> },
    /// Calls `order`; in the tool, reports `in-tool` and waits for the command `finish` (to be
    /// stopped and continued meanwhile).
    Stall { order: String },
    /// After `go`, calls each of `orders` at once.
    Contend { orders: Vec<String> },
    /// A load for the outage: after `go`, `tasks` tasks call orders `k00000..` (block by block,
    /// as `Race`, every `dup_every`-th twice) until the command `phase2`, pausing `pause_ms`
    /// after an error; then the worker waits for its store to answer again and calls
    /// `f00000..f{fresh}` the same way, to the end.
    Load {
        seed: u64,
        keys: usize,
        fresh: usize,
        block: usize,
        tasks: usize,
        dup_every: usize,
        tool_ms: u64,
        pause_ms: u64,
    },
}

/// The counters of the worker's executor.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Metrics {
    pub executions: u64,
    pub replays: u64,
    pub joins: u64,
    pub waits: u64,
    pub takeovers: u64,
    pub errors: u64,
}

impl From<MetricsSnapshot> for Metrics {
    fn from(m: MetricsSnapshot) -> Metrics {
        Metrics {
            executions: m.executions,
            replays: m.replays,
            joins: m.joins,
            waits: m.waits,
            takeovers: m.takeovers,
            errors: m.errors,
        }
    }
}

/// The worker's last report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Done {
    pub name: String,
    pub calls: usize,
    /// From `go` to the last call.
    pub elapsed_ms: u64,
    pub metrics: Metrics,
    /// `Load`: how many looks at the store failed after `phase2` before it answered, and how
    /// long that took.
    pub probe_failures: u32,
    pub probe_ms: u64,
}

/// An `in-tool` report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InTool {
    pub order: String,
    pub call: String,
    pub at_ms: u64,
}

/// Prints a report for the parent.
pub fn report(kind: &str, value: &impl Serialize) {
    let json = serde_json::to_string(value).expect("a report");
    println!("{MARK}{kind} {json}");
}
