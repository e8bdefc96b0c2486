use idem::Idempotent;

// A wrong value does not stop the reading of the attribute: `tool`, after it, is still seen, so
// there is no follow-on "missing tool id".
#[derive(Idempotent)]
#[idem(strategy = "hash", include_user = "yes", tool = "payment-processor-v1")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
