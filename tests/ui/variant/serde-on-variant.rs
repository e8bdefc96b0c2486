use idem::Canonical;

#[derive(Canonical)]
enum Shipping {
    Standard,
    #[idem(serde)]
    Express(u8),
}

fn main() {}
