use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", window = "soon")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
