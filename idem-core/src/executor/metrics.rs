//! Counters an executor keeps, readable at any time.

use std::sync::atomic::{AtomicU64, Ordering};

/// A copy of an executor's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Times a tool ran.
    pub executions: u64,
    /// Outputs replayed from the store.
    pub replays: u64,
    /// Calls that shared a running execution in the same process.
    pub joins: u64,
    /// Duplicates whose arguments differed from the first call's.
    pub mismatches: u64,
    /// Calls that waited for a running execution (in this process or elsewhere).
    pub waits: u64,
    /// Claims taken over after their lease ran out.
    pub takeovers: u64,
    /// Calls that ended in an error (the tool's or idem's).
    pub errors: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    executions: AtomicU64,
    replays: AtomicU64,
    joins: AtomicU64,
    mismatches: AtomicU64,
    waits: AtomicU64,
    takeovers: AtomicU64,
    errors: AtomicU64,
}

/// Which counter.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Execution,
    Replay,
    Join,
    Mismatch,
    Wait,
    Takeover,
    Error,
}

impl Metrics {
    pub(crate) fn add(&self, counter: Counter) {
        let cell = match counter {
            Counter::Execution => &self.executions,
            Counter::Replay => &self.replays,
            Counter::Join => &self.joins,
            Counter::Mismatch => &self.mismatches,
            Counter::Wait => &self.waits,
            Counter::Takeover => &self.takeovers,
            Counter::Error => &self.errors,
        };
        cell.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            executions: self.executions.load(Ordering::Relaxed),
            replays: self.replays.load(Ordering::Relaxed),
            joins: self.joins.load(Ordering::Relaxed),
            mismatches: self.mismatches.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            takeovers: self.takeovers.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}
