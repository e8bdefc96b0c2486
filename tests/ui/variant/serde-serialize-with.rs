use idem::Canonical;
use serde::{Serialize, Serializer};

fn days_as_text<S: Serializer>(days: &u8, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&days.to_string())
}

#[derive(Canonical, Serialize)]
enum Shipping {
    Standard,
    #[serde(serialize_with = "days_as_text")]
    Express(u8),
}

fn main() {}
