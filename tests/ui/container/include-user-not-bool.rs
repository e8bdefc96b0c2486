use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "hash", include_user = "yes")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
