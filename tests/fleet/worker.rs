//! The worker: what `fleet_worker` does in a process the parent started with a [`Job`].
//!
//! It reads commands on its standard input, one per line (`go`, `finish`, `phase2`), and reports
//! on its standard output, one `@fleet <kind> <json>` line per fact: `ready` once connected,
//! `in-tool` from inside the tool (roles that get killed or stopped there), one `call` per call
//! ([`CallReport`]), and `done` ([`Done`]) at the end.

use std::future::Future;
use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use idem::executor::Executor;
use idem::spec::ToolSpec;
use idem::store::{RecordKey, Store};
use tokio::sync::mpsc;

use super::job::{Done, InTool, Job, Role, report};
use super::{Backend, CallReport, JOB_VAR, Rng, call, now_ms, spec};

/// The body of `fleet_worker`: nothing unless the parent gave a job.
pub fn main<B: Backend>() {
    let Ok(job) = std::env::var(JOB_VAR) else {
        return;
    };
    let job: Job = serde_json::from_str(&job).expect("a job from the parent");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        // No worker outlives its test, even if the parent forgets it.
        let name = job.name.clone();
        if tokio::time::timeout(Duration::from_secs(120), work::<B>(job))
            .await
            .is_err()
        {
            report("error", &format!("{name}: still working after 120 s"));
            panic!("{name}: still working after 120 s");
        }
    });
}

/// The commands from the parent, one per line of standard input.
pub struct Commands(mpsc::UnboundedReceiver<String>);

impl Commands {
    fn start() -> Commands {
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line.trim().to_owned()).is_err() {
                    break;
                }
            }
        });
        Commands(rx)
    }

    /// Waits for the command `word`.
    pub async fn expect(&mut self, word: &str) {
        match tokio::time::timeout(Duration::from_secs(90), self.0.recv()).await {
            Ok(Some(line)) if line == word => {}
            other => panic!("expected the command `{word}`, got {other:?}"),
        }
    }
}

/// What every role shares.
struct Worker<B> {
    job: Job,
    backend: Arc<B>,
    store: Arc<dyn Store>,
    executor: Arc<Executor>,
    spec: Arc<ToolSpec>,
}

impl<B: Backend> Worker<B> {
    fn call_id(&self, n: usize) -> String {
        format!("{}#{n}", self.job.name)
    }

    /// Opens the pool's connections (`n` concurrent looks at the store), then says `ready`.
    async fn ready(&self, n: usize) {
        let looks: Vec<_> = (0..n)
            .map(|_| {
                let store = Arc::clone(&self.store);
                tokio::spawn(async move {
                    let key = RecordKey {
                        tool: "fleet-warm-up",
                        key: "none",
                    };
                    store.get(key).await
                })
            })
            .collect();
        for look in looks {
            if let Err(err) = look.await.expect("a look") {
                report("error", &format!("the store does not answer: {err}"));
                panic!("the store does not answer: {err}");
            }
        }
        report("ready", &self.job.name);
    }

    fn done(&self, calls: &[CallReport], started: Instant, probe: (u32, u64)) {
        for call in calls {
            report("call", call);
        }
        report(
            "done",
            &Done {
                name: self.job.name.clone(),
                calls: calls.len(),
                elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                metrics: self.executor.metrics().into(),
                probe_failures: probe.0,
                probe_ms: probe.1,
            },
        );
    }

    /// `tasks` tasks calling `schedule[i]` as call `offset + i`, each taking the next order
    /// while `go_on` holds; `pause` after an error.
    async fn run_schedule(
        self: &Arc<Self>,
        schedule: Arc<Vec<String>>,
        offset: usize,
        tasks: usize,
        tool: Duration,
        pause: Duration,
        go_on: Arc<AtomicBool>,
    ) -> Vec<CallReport> {
        let next = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (worker, schedule, next, go_on) = (
                    Arc::clone(self),
                    Arc::clone(&schedule),
                    Arc::clone(&next),
                    Arc::clone(&go_on),
                );
                tokio::spawn(async move {
                    let mut reports = Vec::new();
                    while go_on.load(Ordering::SeqCst) {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(order) = schedule.get(i) else { break };
                        let id = worker.call_id(offset + i);
                        let report = worker.call(order, &id, tokio::time::sleep(tool)).await;
                        let failed = !report.got.is_ok();
                        reports.push(report);
                        if failed {
                            tokio::time::sleep(pause).await;
                        }
                    }
                    reports
                })
            })
            .collect();
        let mut reports = Vec::new();
        for handle in handles {
            reports.extend(handle.await.expect("a task of the worker"));
        }
        reports
    }

    async fn call(&self, order: &str, id: &str, before: impl Future<Output = ()>) -> CallReport {
        call(
            &*self.backend,
            &self.executor,
            &self.spec,
            order,
            id,
            before,
        )
        .await
    }
}

/// The orders `{prefix}{i:05}` for `i < n`, block by block, each block shuffled by `rng`;
/// `twice(i)`: the order comes twice in a row.
pub fn schedule(
    prefix: &str,
    n: usize,
    block: usize,
    rng: &mut Rng,
    twice: impl Fn(usize) -> bool,
) -> Vec<String> {
    let mut orders = Vec::with_capacity(n + n / 4);
    for start in (0..n).step_by(block.max(1)) {
        let mut ids: Vec<usize> = (start..(start + block).min(n)).collect();
        rng.shuffle(&mut ids);
        for i in ids {
            let order = format!("{prefix}{i:05}");
            if twice(i) {
                orders.push(order.clone());
            }
            orders.push(order);
        }
    }
    orders
}

async fn work<B: Backend>(job: Job) {
    let mut commands = Commands::start();
    let backend = Arc::new(B::open(job.url.clone(), job.ns.clone(), false).await);
    let store = match backend.store(job.via.as_deref(), job.tuning).await {
        Ok(store) => store,
        Err(err) => {
            report("error", &format!("cannot open the store: {err}"));
            panic!("cannot open the store: {err}");
        }
    };
    let executor = Arc::new(Executor::with_store(Arc::clone(&store)));
    let spec = Arc::new(spec(
        Duration::from_millis(job.lease_ms),
        job.wait_ms.map(Duration::from_millis),
    ));
    let worker = Arc::new(Worker {
        job: job.clone(),
        backend,
        store,
        executor,
        spec,
    });
    match job.role {
        Role::Race {
            seed,
            keys,
            block,
            tasks,
            dup_every,
            dup_phase,
            corrupt,
            tool_ms,
        } => {
            let mut rng = Rng::new(seed);
            let mut orders = schedule("k", keys, block, &mut rng, |i| {
                i % dup_every == dup_phase % dup_every
            });
            let at = rng.below(orders.len());
            orders.insert(at, corrupt);
            worker.ready(tasks).await;
            commands.expect("go").await;
            let started = Instant::now();
            let calls = worker
                .run_schedule(
                    Arc::new(orders),
                    0,
                    tasks,
                    Duration::from_millis(tool_ms),
                    Duration::ZERO,
                    Arc::new(AtomicBool::new(true)),
                )
                .await;
            worker.done(&calls, started, (0, 0));
        }
        Role::Hold { orders } => {
            worker.ready(1).await;
            let started = Instant::now();
            let calls = futures_join(orders.iter().enumerate().map(|(n, order)| {
                let worker = Arc::clone(&worker);
                let order = order.clone();
                async move {
                    let id = worker.call_id(n);
                    let (o, i) = (order.clone(), id.clone());
                    let before = async move {
                        let marker = InTool {
                            order: o,
                            call: i,
                            at_ms: now_ms(),
                        };
                        report("in-tool", &marker);
                        // Killed here; the ledger append after it never happens.
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    };
                    worker.call(&order, &id, before).await
                }
            }))
            .await;
            worker.done(&calls, started, (0, 0));
        }
        Role::Stall { order } => {
            worker.ready(1).await;
            let started = Instant::now();
            let id = worker.call_id(0);
            let (o, i) = (order.clone(), id.clone());
            let commands = &mut commands;
            let before = async move {
                let marker = InTool {
                    order: o,
                    call: i,
                    at_ms: now_ms(),
                };
                report("in-tool", &marker);
                // Stopped here (SIGSTOP) past the lease, continued, then told to finish.
                commands.expect("finish").await;
            };
            let call = worker.call(&order, &id, before).await;
            worker.done(&[call], started, (0, 0));
        }
        Role::Contend { orders } => {
            worker.ready(orders.len()).await;
            commands.expect("go").await;
            let started = Instant::now();
            let calls = futures_join(orders.iter().enumerate().map(|(n, order)| {
                let worker = Arc::clone(&worker);
                let order = order.clone();
                async move {
                    let id = worker.call_id(n);
                    worker.call(&order, &id, async {}).await
                }
            }))
            .await;
            worker.done(&calls, started, (0, 0));
        }
        Role::Load {
            seed,
            keys,
            fresh,
            block,
            tasks,
            dup_every,
            tool_ms,
            pause_ms,
        } => {
            let mut rng = Rng::new(seed);
            let twice = |i: usize| i % dup_every == usize::try_from(seed).unwrap_or(0) % dup_every;
            let first = Arc::new(schedule("k", keys, block, &mut rng, twice));
            let second = Arc::new(schedule("f", fresh, block, &mut rng, twice));
            let (tool, pause) = (
                Duration::from_millis(tool_ms),
                Duration::from_millis(pause_ms),
            );
            worker.ready(tasks).await;
            commands.expect("go").await;
            let started = Instant::now();
            let go_on = Arc::new(AtomicBool::new(true));
            let phase1 = {
                let (worker, first, go_on) =
                    (Arc::clone(&worker), Arc::clone(&first), Arc::clone(&go_on));
                tokio::spawn(async move {
                    worker
                        .run_schedule(first, 0, tasks, tool, pause, go_on)
                        .await
                })
            };
            commands.expect("phase2").await;
            go_on.store(false, Ordering::SeqCst);
            let mut calls = phase1.await.expect("phase 1");
            // The store is back: wait for this process's connections to be too.
            let probing = Instant::now();
            let mut failures = 0;
            loop {
                let key = RecordKey {
                    tool: "fleet-probe",
                    key: "none",
                };
                match worker.store.get(key).await {
                    Ok(_) => break,
                    Err(_) if probing.elapsed() < Duration::from_secs(10) => {
                        failures += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(err) => panic!("the store is still unavailable after 10 s: {err}"),
                }
            }
            let probe_ms = u64::try_from(probing.elapsed().as_millis()).unwrap_or(u64::MAX);
            let offset = first.len();
            calls.extend(
                worker
                    .run_schedule(
                        second,
                        offset,
                        tasks,
                        tool,
                        pause,
                        Arc::new(AtomicBool::new(true)),
                    )
                    .await,
            );
            worker.done(&calls, started, (failures, probe_ms));
        }
    }
}

/// Runs `futures` concurrently on the runtime and collects their outputs in order.
async fn futures_join<T, F>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.expect("a task of the worker"));
    }
    outputs
}
