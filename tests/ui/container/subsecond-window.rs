use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", window = "500ms")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
