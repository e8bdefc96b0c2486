use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", include_user = false)]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
