use idem::{Context, Idempotent};

// The attribute is wrong, but the struct still implements `Idempotent` (with a stub), so the
// uses below compile and only the attribute error is shown.
#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "feilds")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
}

fn takes_idempotent<T: Idempotent>(_: &T) {}

fn main() {
    let call = ProcessPayment { transaction_id: "txn-0001".to_owned() };
    takes_idempotent(&call);
    let _ = call.idempotency_key(&Context::new());
}
