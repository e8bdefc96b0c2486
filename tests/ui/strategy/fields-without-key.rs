use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    transaction_id: String,
    amount: u64,
}

fn main() {}
