//! Key cost: the derived key of the design document's payment struct against the usual ways of
//! hashing JSON, and against the floor (hashing canonical bytes that are already built).
//!
//! Run with `cargo bench --bench key`; BENCHMARKS.md has the table.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use idem::{Context, Idempotent};
use serde::Serialize;
use sha2::{Digest, Sha256};

#[derive(Idempotent, Serialize, Clone)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
    currency: String,
}

/// The same struct with the default strategy: every argument, user and session in the key.
#[derive(Idempotent, Serialize, Clone)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPaymentAll {
    transaction_id: String,
    customer_id: String,
    amount: f64,
    currency: String,
}

/// What the serde baselines serialize: the envelope of the default strategy.
#[derive(Serialize)]
struct Envelope<'a, A> {
    args: &'a A,
    session: Option<&'a str>,
    tool: &'a str,
    user: Option<&'a str>,
    v: u8,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn bench(c: &mut Criterion) {
    let payment = ProcessPayment {
        transaction_id: "txn-0001".into(),
        customer_id: "cust-7".into(),
        amount: 10.5,
        currency: "EUR".into(),
    };
    let all = ProcessPaymentAll {
        transaction_id: payment.transaction_id.clone(),
        customer_id: payment.customer_id.clone(),
        amount: payment.amount,
        currency: payment.currency.clone(),
    };
    let ctx = Context::new().with_user("alice").with_session("s-1");
    let envelope = Envelope {
        args: &all,
        session: ctx.session_id(),
        tool: "payment-processor-v1",
        user: ctx.user_id(),
        v: 1,
    };
    let fields_bytes =
        br#"{"args":{"transaction_id":"txn-0001"},"tool":"payment-processor-v1","v":1}"#;
    let all_bytes = serde_json_canonicalizer::to_vec(&envelope).unwrap();
    // The baselines hash the same bytes as the derived default key.
    assert_eq!(
        sha256_hex(&all_bytes),
        all.idempotency_key(&ctx).unwrap().as_str()
    );
    assert_eq!(
        sha256_hex(fields_bytes),
        payment.idempotency_key(&ctx).unwrap().as_str()
    );

    let mut group = c.benchmark_group("payment key");
    group.bench_function("floor: sha256 + hex of built bytes (fields)", |b| {
        b.iter(|| sha256_hex(black_box(fields_bytes)))
    });
    group.bench_function("idem derived (fields)", |b| {
        b.iter(|| {
            black_box(&payment)
                .idempotency_key(black_box(&ctx))
                .unwrap()
        })
    });
    group.bench_function("floor: sha256 + hex of built bytes (default)", |b| {
        b.iter(|| sha256_hex(black_box(&all_bytes)))
    });
    group.bench_function("idem derived (default)", |b| {
        b.iter(|| black_box(&all).idempotency_key(black_box(&ctx)).unwrap())
    });
    group.bench_function("(a) serde_json::to_vec + sha256 + hex", |b| {
        b.iter(|| sha256_hex(&serde_json::to_vec(black_box(&envelope)).unwrap()))
    });
    group.bench_function("(b) serde_json::to_value + sort + sha256 + hex", |b| {
        b.iter(|| {
            // serde_json's Map is a BTreeMap: building the value sorts the members.
            let value = serde_json::to_value(black_box(&envelope)).unwrap();
            sha256_hex(&serde_json::to_vec(&value).unwrap())
        })
    });
    group.bench_function("(c) serde_json_canonicalizer + sha256 + hex", |b| {
        b.iter(|| sha256_hex(&serde_json_canonicalizer::to_vec(black_box(&envelope)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
