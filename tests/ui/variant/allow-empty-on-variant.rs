use idem::Canonical;

#[derive(Canonical)]
enum Shipping {
    Standard,
    #[idem(allow_empty)]
    Express { days: u8 },
}

fn main() {}
