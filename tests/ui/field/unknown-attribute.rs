use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    #[idem(kye)]
    transaction_id: String,
}

fn main() {}
