use idem::Canonical;
use serde::Serialize;

#[derive(Canonical, Serialize)]
#[serde(tag = "type")]
enum Shipping {
    Standard,
    Express { days: u8 },
}

fn main() {}
