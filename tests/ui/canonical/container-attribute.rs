use idem::Canonical;

#[derive(Canonical)]
#[idem(tool = "payment-processor-v1")]
struct Money {
    amount: u64,
    currency: String,
}

fn main() {}
