use idem::Canonical;

#[derive(Canonical)]
enum Shipping {
    Standard,
    #[idem(skip)]
    Express { days: u8 },
}

fn main() {}
