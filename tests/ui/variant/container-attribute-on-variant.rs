use idem::Canonical;

#[derive(Canonical)]
enum Shipping {
    Standard,
    #[idem(tool = "express-v1")]
    Express(u8),
}

fn main() {}
