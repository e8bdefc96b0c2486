use idem::Canonical;
use serde::Serialize;

mod as_text {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(days: &u8, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&days.to_string())
    }
}

#[derive(Canonical, Serialize)]
enum Shipping {
    Standard,
    Express {
        #[serde(with = "as_text")]
        days: u8,
    },
}

fn main() {}
