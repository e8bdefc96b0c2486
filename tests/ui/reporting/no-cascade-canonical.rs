use idem::{Canonical, Idempotent};

// `Money` has a wrong attribute, but still implements `Canonical` (with a stub), so the struct
// that holds it compiles and only the attribute error is shown.
#[derive(Canonical)]
struct Money {
    #[idem(renam = "value")]
    amount: u64,
    currency: String,
}

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
struct ProcessPayment {
    transaction_id: String,
    money: Money,
}

fn main() {}
