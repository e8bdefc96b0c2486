use idem::{Context, Idempotent};

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
    let _ = &call.details.number;
    let _ = Idempotent::idempotency_key(&call, &Context::new());
}
