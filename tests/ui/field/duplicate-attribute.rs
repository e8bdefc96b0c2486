use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPayment {
    #[idem(key, key)]
    transaction_id: String,
}

fn main() {}
