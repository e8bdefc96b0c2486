use idem::Idempotent;

#[derive(Idempotent)]
struct ProcessPayment {
    transaction_id: String,
}

fn main() {}
