use idem::Idempotent;
use std::time::Instant;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPayment {
    transaction_id: String,
    requested_at: Instant,
}

fn main() {}
