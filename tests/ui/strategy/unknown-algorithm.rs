use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "hash", algorithm = "md5")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
