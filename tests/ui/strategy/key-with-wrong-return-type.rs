use idem::{Context, Idempotent};

// A key function returns `String` or `Result<String, E>`, not a number.
fn payment_key(args: &ProcessPayment, _: &Context, _: &str) -> u64 {
    args.transaction_id.len() as u64
}

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "custom", key_with = payment_key)]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
