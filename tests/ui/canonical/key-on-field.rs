use idem::Canonical;

#[derive(Canonical)]
struct Money {
    #[idem(key)]
    amount: u64,
    currency: String,
}

fn main() {}
