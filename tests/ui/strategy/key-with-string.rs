use idem::{Context, Idempotent};

fn payment_key(args: &ProcessPayment, _: &Context, tool: &str) -> String {
    format!("{tool}:{}", args.transaction_id)
}

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "custom", key_with = "payment_key")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
