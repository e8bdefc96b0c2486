use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPayment {
    #[idem(key, skip)]
    transaction_id: String,
}

fn main() {}
