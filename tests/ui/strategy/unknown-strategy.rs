use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "feilds")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
}

fn main() {}
