//! The executor's state machine: run once, replay, mismatches, failures, waits, takeovers,
//! stale completions, TTL expiry and a failing store, on the in-memory store with a manual clock.
//! One file per concept in `tests/executor/`.

mod executor;
