use idem::Canonical;
use serde::Serialize;

#[derive(Canonical, Serialize)]
enum Shipping {
    Standard,
    #[serde(untagged)]
    #[idem(rename = "express")]
    Express(u8),
}

fn main() {}
