use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", key)]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
