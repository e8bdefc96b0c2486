use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    #[idem(key = true)]
    transaction_id: String,
}

fn main() {}
