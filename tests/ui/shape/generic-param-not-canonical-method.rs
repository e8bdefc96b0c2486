use idem::{Context, Idempotent};

// The same mistake as `generic-param-not-canonical.rs`, reached through method-call syntax,
// where rustc reports E0599 (method exists but its trait bounds are not satisfied).

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPayment<T> {
    transaction_id: String,
    details: T,
}

struct CardDetails {
    number: String,
}

fn main() {
    let call = ProcessPayment {
        transaction_id: "txn-0001".to_owned(),
        details: CardDetails { number: "4242".to_owned() },
    };
    let _ = call.details.number;
    let _ = call.idempotency_key(&Context::new());
}
