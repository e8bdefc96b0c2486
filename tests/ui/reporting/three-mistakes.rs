use idem::Idempotent;

// Three mistakes, all reported in one compilation: an unknown strategy, an unknown field
// attribute, and `allow_empty` without `key`.
#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "feilds")]
struct ProcessPayment {
    #[idem(kye)]
    transaction_id: String,
    #[idem(allow_empty)]
    note: String,
}

fn main() {}
