//! Use case 4 of the design document: a distributed lock with a custom strategy.
//!
//! The design document's key function takes a fresh id from a shared Redis counter
//! (`redis_client.incr('tool:counter')`) and returns `{spec.id}:{user}:{unique_id}`. Every call
//! therefore gets a key no other call has, and every call runs: that is what this design asks
//! for ("guaranteed unique keys across distributed system").
//!
//! Mind what it means: such a tool is not idempotent. A network retry of the same call gets a
//! new key and runs again. To make retries safe, key on something the caller repeats
//! (`resource_id`, a request id) instead; the counter only names the executions.
//!
//! The counter is simulated in-process by an `AtomicU64` (the same atomic increment, shared by
//! every call of this process). The Redis-backed version comes with the Redis store in a later
//! issue.
//!
//! `cargo run --example distributed_lock`

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use idem::executor::Executor;
use idem::spec::ToolSpec;
use idem::store::MemoryStore;
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

/// Stands in for the Redis key `tool:counter`: `INCR` is `fetch_add(1) + 1`.
static TOOL_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Acquire distributed lock.
#[derive(Idempotent, Clone)]
#[idem(tool = "distributed-lock-v1", name = "acquire_lock", key_with = redis_based_key)]
struct AcquireLock {
    resource_id: String,
}

/// The design document's `redis_based_key`: a fresh id per call.
fn redis_based_key(_args: &AcquireLock, ctx: &Context, tool: &str) -> String {
    let unique_id = TOOL_COUNTER.fetch_add(1, Ordering::SeqCst) + 1;
    let user = ctx.user_id().unwrap_or("anonymous");
    format!("{tool}:{user}:{unique_id}")
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Lease {
    lock_id: u32,
    resource_id: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let executor = Executor::new(MemoryStore::new());
    let spec = ToolSpec::for_args::<AcquireLock>().build()?;
    let acquired = Mutex::new(0u32);
    let acquire = |request: &AcquireLock| {
        let mut n = acquired.lock().expect("not poisoned");
        *n += 1;
        let lease = Lease {
            lock_id: *n,
            resource_id: request.resource_id.clone(),
        };
        async move { Ok::<_, std::io::Error>(lease) }
    };
    let request = AcquireLock {
        resource_id: "invoice-batch-42".into(),
    };

    // The very same call three times (say, a client retrying), then once by another worker.
    let callers = [
        Context::new().with_user("worker-a"),
        Context::new().with_user("worker-a"),
        Context::new().with_user("worker-a"),
        Context::new().with_user("worker-b"),
    ];
    let mut keys = HashSet::new();
    for (i, ctx) in callers.iter().enumerate() {
        let run = executor
            .execute(&spec, ctx, &request, || acquire(&request))
            .await?;
        let key = run.key.expect("idempotency is on");
        println!(
            "call {} ({}): {:?}, key {key}, lock #{} on {}",
            i + 1,
            ctx.user_id().unwrap_or("anonymous"),
            run.outcome,
            run.output.lock_id,
            run.output.resource_id
        );
        assert!(
            run.outcome.executed(),
            "a fresh key every time: every call runs"
        );
        assert!(keys.insert(key), "keys are unique");
    }

    let acquired = *acquired.lock().expect("not poisoned");
    println!(
        "every call got a unique key and ran: {acquired} executions, counter at {}",
        TOOL_COUNTER.load(Ordering::SeqCst)
    );
    assert_eq!(acquired, 4);
    assert_eq!(keys.len(), 4);
    // The executor calls the key function exactly once per call: the counter moved 4 times.
    assert_eq!(TOOL_COUNTER.load(Ordering::SeqCst), 4);
    Ok(())
}
