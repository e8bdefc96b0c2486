use idem::Idempotent;

// Neither `(&Args, &Context, &str)` nor `(&Args, &KeyInput)`.
fn payment_key(args: &ProcessPayment) -> String {
    args.transaction_id.clone()
}

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "custom", key_with = payment_key)]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
