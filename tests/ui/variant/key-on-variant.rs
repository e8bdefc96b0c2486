use idem::Canonical;

#[derive(Canonical)]
enum Shipping {
    #[idem(key)]
    Standard,
    Express { days: u8 },
}

fn main() {}
