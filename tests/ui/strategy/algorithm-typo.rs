use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "hash", algorithm = "sha521")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
