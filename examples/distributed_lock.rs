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
//! Where the counter and the records live depends on the environment, so that the example runs
//! as a fleet would:
//! - `IDEM_REDIS_URL` set (and built with `--features redis`): the records in a [`RedisStore`],
//!   the counter the Redis key `tool:counter` (`INCR`), as in the design document;
//! - else `IDEM_POSTGRES_URL` set (built with `--features postgres`): the records in a
//!   [`PostgresStore`], the counter the sequence `idem_tool_counter` (`nextval`);
//! - else both in this process: a `MemoryStore` and an `AtomicU64`.
//!
//! With a server, the counter is shared by every process that runs the example, and keeps
//! counting from one run to the next: the ids are unique across the fleet, not small.
//!
//! ```console
//! cargo run --example distributed_lock
//! IDEM_REDIS_URL=redis://127.0.0.1:6379 cargo run --example distributed_lock --features redis
//! IDEM_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo run --example distributed_lock --features postgres
//! ```

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use idem::executor::Executor;
use idem::spec::ToolSpec;
use idem::store::{MemoryStore, Store};
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

/// The shared counter of the design document's key function.
enum Counter {
    /// This process only: `INCR` is `fetch_add(1) + 1`.
    Local(AtomicU64),
    /// The Redis key `tool:counter`.
    #[cfg(feature = "redis")]
    Redis(Mutex<redis::Connection>),
    /// The PostgreSQL sequence `idem_tool_counter`, on the store's pool.
    #[cfg(feature = "postgres")]
    Postgres(Arc<idem::store::PostgresStore>),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Counter {
    /// The next id: one atomic increment of the shared counter.
    fn next(&self) -> Result<u64, BoxError> {
        match self {
            Counter::Local(n) => Ok(n.fetch_add(1, Ordering::SeqCst) + 1),
            #[cfg(feature = "redis")]
            Counter::Redis(connection) => {
                let mut connection = connection.lock().map_err(|_| "counter lock poisoned")?;
                Ok(redis::cmd("INCR")
                    .arg("tool:counter")
                    .query(&mut *connection)?)
            }
            #[cfg(feature = "postgres")]
            Counter::Postgres(store) => {
                // The key function is synchronous; the sequence is read on this worker thread.
                let pool = store.pool().clone();
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(async move {
                        let client = pool.get().await?;
                        let row = client
                            .query_one("SELECT nextval('idem_tool_counter')", &[])
                            .await?;
                        Ok(u64::try_from(row.get::<_, i64>(0))?)
                    })
                })
            }
        }
    }

    /// The value of an in-process counter (`None` for a server's, which others move too).
    // Built without a server feature, `Local` is the only kind of counter.
    #[allow(irrefutable_let_patterns)]
    fn local_count(&self) -> Option<u64> {
        if let Counter::Local(n) = self {
            return Some(n.load(Ordering::SeqCst));
        }
        None
    }
}

/// The counter the key function reads, set once by `main`.
static TOOL_COUNTER: OnceLock<Counter> = OnceLock::new();

/// Acquire distributed lock.
#[derive(Idempotent, Clone)]
#[idem(tool = "distributed-lock-v1", name = "acquire_lock", key_with = redis_based_key)]
struct AcquireLock {
    resource_id: String,
}

/// The design document's `redis_based_key`: a fresh id per call.
fn redis_based_key(_args: &AcquireLock, ctx: &Context, tool: &str) -> Result<String, BoxError> {
    let counter = TOOL_COUNTER.get().ok_or("the counter is not set up")?;
    let unique_id = counter.next()?;
    let user = ctx.user_id().unwrap_or("anonymous");
    Ok(format!("{tool}:{user}:{unique_id}"))
}

/// The store and the counter, on the servers the environment names.
async fn backend() -> Result<(Arc<dyn Store>, Counter, String), BoxError> {
    #[cfg(feature = "redis")]
    if let Some(url) = std::env::var("IDEM_REDIS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        let store = idem::store::RedisStore::connect(&url).await?;
        let connection = redis::Client::open(url.as_str())?.get_connection()?;
        let counter = Counter::Redis(Mutex::new(connection));
        return Ok((Arc::new(store), counter, format!("RedisStore at {url}")));
    }
    #[cfg(feature = "postgres")]
    if let Some(url) = std::env::var("IDEM_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        let store = Arc::new(idem::store::PostgresStore::connect(&url).await?);
        let client = store.pool().get().await?;
        client
            .batch_execute("CREATE SEQUENCE IF NOT EXISTS idem_tool_counter")
            .await?;
        let counter = Counter::Postgres(store.clone());
        return Ok((store, counter, format!("PostgresStore at {url}")));
    }
    let counter = Counter::Local(AtomicU64::new(0));
    Ok((
        Arc::new(MemoryStore::new()),
        counter,
        "MemoryStore".to_owned(),
    ))
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Lease {
    lock_id: u32,
    resource_id: String,
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let (store, counter, name) = backend().await?;
    println!("store: {name}");
    let counter = TOOL_COUNTER.get_or_init(|| counter);
    let executor = Executor::with_store(store);
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
    println!("every call got a unique key and ran: {acquired} executions");
    assert_eq!(acquired, 4);
    assert_eq!(keys.len(), 4);
    if let Some(count) = counter.local_count() {
        // The executor calls the key function exactly once per call: the counter moved 4 times.
        assert_eq!(count, 4);
    }
    Ok(())
}
