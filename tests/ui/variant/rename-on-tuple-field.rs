use idem::Canonical;

#[derive(Canonical)]
enum Shipping {
    Standard,
    Express(#[idem(rename = "days")] u8),
}

fn main() {}
