//! Hash-based strategy, example 2 of the design document: a stateless API.
//!
//! An HTTP tool keyed by SHA-256 over the tool id, the user and all the arguments, without the
//! session: the same request from the same user is a duplicate in any session.
//!
//! The HTTP call itself is simulated (no network): the point is what idem does around it.
//!
//! `cargo run --example stateless_api`

use std::sync::atomic::{AtomicUsize, Ordering};

use idem::Context;
use idem::executor::{Executor, Outcome};
use idem::key::Algorithm;
use idem::spec::{ToolKind, ToolSpec};
use idem::store::MemoryStore;
use idem::strategy::HashStrategy;
use serde_json::{Value, json};

/// A stand-in for `https://api.example.com/data`: counts the requests it receives.
#[derive(Default)]
struct ExampleApi {
    requests: AtomicUsize,
}

impl ExampleApi {
    async fn get(&self, args: &Value) -> Result<Value, std::io::Error> {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(json!({"request": n, "dataset": args["dataset"], "page": args["page"], "rows": 25}))
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = ToolSpec::http(
        "api-call-v1",
        "external_api",
        "GET",
        "https://api.example.com/data",
    )
    .description("Call external API")
    .generator(
        HashStrategy::new()
            .algorithm(Algorithm::Sha256)
            .include_user(true)
            .include_session(false), // stateless: no session
    )
    .build()?;
    if let ToolKind::Http { method, url } = spec.kind() {
        println!("tool {} ({}): {method} {url}", spec.id(), spec.name());
    }

    let executor = Executor::new(MemoryStore::new());
    let api = ExampleApi::default();
    // No key fields: all the arguments take part in the key.
    let page_2 = json!({"dataset": "sales", "page": 2});

    let calls = [
        ("alice", "s-1", &page_2, "first request"),
        ("alice", "s-2", &page_2, "same user, another session"),
        ("bob", "s-1", &page_2, "another user"),
    ];
    let mut keys = Vec::new();
    for (user, session, args, what) in calls {
        let ctx = Context::new().with_user(user).with_session(session);
        let run = executor
            .execute(&spec, &ctx, args, || api.get(args))
            .await?;
        let key = run.key.clone().expect("idempotency is on");
        println!(
            "{what:<27} ({user}, {session}): {:?}, key {key}, output {}, requests {}",
            run.outcome,
            run.output,
            api.requests()
        );
        keys.push((run.outcome, key));
    }
    assert!(keys[0].0.executed());
    assert_eq!(keys[1].0, Outcome::Replayed { args_differ: false });
    assert_eq!(keys[1].1, keys[0].1, "sessions do not take part");
    assert!(keys[2].0.executed());
    assert_ne!(keys[2].1, keys[0].1, "users do");

    // Other arguments are another request.
    let page_3 = json!({"dataset": "sales", "page": 3});
    let ctx = Context::new().with_user("alice").with_session("s-3");
    let run = executor
        .execute(&spec, &ctx, &page_3, || api.get(&page_3))
        .await?;
    println!(
        "page 3 (alice, s-3): {:?}, requests {}",
        run.outcome,
        api.requests()
    );
    assert!(run.outcome.executed());

    // JSON arguments are canonical: member order and number spelling do not matter.
    let reordered: Value = serde_json::from_str(r#"{"page": 2.0, "dataset": "sales"}"#)?;
    let run = executor
        .execute(&spec, &ctx, &reordered, || api.get(&reordered))
        .await?;
    println!(
        "{{\"page\": 2.0, \"dataset\": \"sales\"}} (alice, s-3): {:?}, requests {}",
        run.outcome,
        api.requests()
    );
    assert_eq!(run.outcome, Outcome::Replayed { args_differ: false });

    let requests = api.requests();
    println!("requests: {requests} (alice page 2, bob page 2, alice page 3)");
    assert_eq!(requests, 3);
    Ok(())
}
