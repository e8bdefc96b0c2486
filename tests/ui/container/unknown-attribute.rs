use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategey = "fields")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
}

fn main() {}
