use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "fields", algorithm = "sha512")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
}

fn main() {}
