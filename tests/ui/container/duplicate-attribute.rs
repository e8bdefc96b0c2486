use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
#[idem(tool = "payment-processor-v2")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
