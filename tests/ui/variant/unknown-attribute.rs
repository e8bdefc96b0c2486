use idem::Canonical;

#[derive(Canonical)]
enum Shipping {
    #[idem(renam = "standard")]
    Standard,
    Express(u8),
}

fn main() {}
