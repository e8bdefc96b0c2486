use idem::Idempotent;

#[derive(Idempotent)]
#[idem(tool = "payment-processor-v1")]
enum ProcessPayment {
    Card { number: String },
    Transfer { iban: String },
}

fn main() {}
