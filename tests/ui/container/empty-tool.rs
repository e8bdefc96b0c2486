use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "")]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
