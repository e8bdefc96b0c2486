use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPayment {
    transaction_id: String,
    #[idem(rename = "transaction_id")]
    legacy_id: String,
}

fn main() {}
