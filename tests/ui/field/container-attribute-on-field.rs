use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPayment {
    #[idem(strategy = "fields")]
    transaction_id: String,
}

fn main() {}
