use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "hash", generator = "tenant_based")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
