use idem::Idempotent;
use serde::Serialize;

#[derive(Serialize)]
struct Money {
    amount: u64,
    currency: String,
}

#[derive(Idempotent, Serialize)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPayment {
    transaction_id: String,
    #[serde(flatten)]
    money: Money,
}

fn main() {}
