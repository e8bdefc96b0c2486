use idem::Idempotent;

// The strategy is misspelt: `algorithm` is not also reported as "only applies to hash".
#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "hsah", algorithm = "sha512")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
