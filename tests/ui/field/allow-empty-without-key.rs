use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPayment {
    #[idem(allow_empty)]
    transaction_id: String,
}

fn main() {}
