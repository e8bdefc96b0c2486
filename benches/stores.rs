//! Fleet stores: an idem call on `RedisStore` and on `PostgresStore` against the raw commands it
//! is made of, measured in the same run against the same server.
//!
//! For each store (skipped, saying why, when its variable is unset):
//!
//! - **fresh call** (a new key each operation): `Executor::execute` against the same round trips
//!   issued directly with the client, with values of the same size. Redis: `SET key claim NX PX`,
//!   then a small `EVALSHA` that compares the head of the claim and sets the completed record;
//!   PostgreSQL: `INSERT ... ON CONFLICT DO NOTHING`, then `UPDATE ... WHERE token = $3`, both
//!   prepared, in a table of idem's own schema.
//! - **replay** (a completed key): `Executor::execute` against a raw `GET` / prepared `SELECT` of a
//!   record of the same size.
//! - Each sequentially (the median latency of one operation, the two sides taking turns
//!   operation by operation, so that both meet the same load on a shared machine) and with 64
//!   concurrent tasks (operations per second), on a Tokio multi-thread runtime. Redis: each side
//!   has one multiplexed `ConnectionManager`, with the same settings; PostgreSQL: each side has a
//!   pool of 16 connections built the same way (`PostgresStore::connect_with`: the raw side uses
//!   the pool of a second store, on a table of its own).
//! - Diagnosis: the store alone (`Store::claim` + `Store::complete`; `Store::claim` of a completed
//!   key), without the executor; and what each operation costs: CPU time of this process and of
//!   the whole machine, and on the server, Redis CPU time and network bytes (`INFO`), PostgreSQL
//!   transaction ids consumed and WAL bytes written.
//!
//! The concurrent runs of a repetition alternate which side goes first; a figure is the median
//! over the repetitions, a ratio the median of the per-repetition ratios (with their range).
//!
//! ```console
//! IDEM_REDIS_URL=redis://127.0.0.1:6379 \
//! IDEM_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/idem_dev \
//! cargo bench --bench stores --features redis,postgres
//! ```
//!
//! BENCHMARKS.md has the tables. The keys go under a private Redis prefix and the rows into
//! private tables, all removed at the end; nothing else on the servers is touched. Without
//! `--bench` (as `cargo test --benches` runs it) every figure is taken once, on a few operations:
//! a smoke test, not a measurement.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod common;

use common::{ProcessPayment, TOOL, charge, payment, receipt};
use idem::clock::SystemClock;
use idem::executor::{Executor, Outcome, ToolInput};
use idem::spec::ToolSpec;
use idem::store::{
    Claim, ClaimOutcome, Completion, PostgresOptions, PostgresStore, PostgresTable, Record,
    RecordKey, RecordState, RedisOptions, RedisStore, Store, UnixMillis,
};
use idem::{Context, Idempotent};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

#[path = "stores/idem_side.rs"]
mod idem_side;
#[path = "stores/measure.rs"]
mod measure;
#[path = "stores/postgres_side.rs"]
mod postgres_side;
#[path = "stores/redis_side.rs"]
mod redis_side;

use idem_side::*;
use measure::*;
use postgres_side::*;
use redis_side::*;

// ---------------------------------------------------------------------------------------------
// The tool

/// How many bytes a raw record may differ from idem's: the executor's tokens end with a counter
/// in hex, whose digits grow over a run.
pub(crate) const TOKEN_SLACK: usize = 6;

/// A claim token laid out as the executor's: 32 hex digits, `-`, a counter in hex.
pub(crate) fn token(n: u64) -> String {
    format!(
        "{:032x}-{n:x}",
        u128::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

/// Key `n`, made as idem's keys are: SHA-256, 64 hex digits (never one of the executor's keys,
/// which hash other bytes).
pub(crate) fn hashed_key(n: u64) -> String {
    hex::encode(Sha256::digest(n.to_be_bytes()))
}

/// The lease and result TTL of the tool's spec (the defaults).
pub(crate) const LEASE: Duration = idem::spec::IdempotencyConfig::DEFAULT_LEASE;
pub(crate) const TTL: Duration = Duration::from_secs(24 * 3600);

// ---------------------------------------------------------------------------------------------
// Main

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then a smoke run.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let measuring = args.iter().any(|a| a == "--bench");
    // Other arguments (after `--`) select stores by name: `redis`, `postgres`.
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let selected =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let smoke = Plan {
        repetitions: 1,
        sequential: 8,
        per_task: 2,
    };
    let (redis_plan, postgres_plan) = if measuring {
        (
            Plan {
                repetitions: 7,
                sequential: 2_000,
                per_task: 400,
            },
            Plan {
                repetitions: 7,
                sequential: 300,
                per_task: 80,
            },
        )
    } else {
        println!("stores: a smoke run (no --bench): every figure once, on a few operations");
        (smoke, smoke)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a multi-thread Tokio runtime");
    println!(
        "stores: Tokio multi-thread runtime, {} worker threads",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut failed = false;
    let stores: [(&str, &str, &str, Plan); 2] = [
        (
            "redis",
            "IDEM_REDIS_URL",
            "redis://127.0.0.1:6379",
            redis_plan,
        ),
        (
            "postgres",
            "IDEM_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/idem_dev",
            postgres_plan,
        ),
    ];
    for (name, variable, example, plan) in stores {
        if !selected(name) {
            continue;
        }
        let url = match std::env::var(variable) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                println!(
                    "stores/{name}: skipped: {variable} is not set; set it to e.g. {example} \
                     to measure this store"
                );
                continue;
            }
        };
        let result = runtime.block_on(async {
            match name {
                "redis" => redis_bench(&url, plan).await,
                _ => postgres_bench(&url, plan).await,
            }
        });
        if let Err(err) = result {
            eprintln!("stores/{name}: failed: {err}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
