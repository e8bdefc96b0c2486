//! Generated code compiles warning-free under strict lints: users never see warnings from code
//! they did not write. `cargo clippy --all-targets -- -D warnings` checks the clippy part.
#![deny(
    warnings,
    clippy::all,
    clippy::pedantic,
    unused_qualifications,
    unused_results
)]
#![deny(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

use idem::{Canonical, Context, Idempotent};

/// A payment.
#[derive(Debug, Idempotent)]
#[idem(tool = "payment-processor-v1", strategy = "fields", window = "1h")]
pub struct Payment {
    #[idem(key)]
    transaction_id: String,
    amount: f64,
    #[idem(skip)]
    trace: u8,
}

/// A hashed call.
#[derive(Debug, Idempotent)]
#[idem(
    tool = "hash-v1",
    strategy = "hash",
    algorithm = "sha384",
    include_session = true
)]
pub struct Hashed<T> {
    value: T,
    #[idem(serde)]
    extra: Vec<u8>,
}

/// A shape.
#[derive(Debug, Canonical)]
pub enum Shape {
    /// None.
    Empty,
    /// One.
    Circle(f64),
    /// Two.
    Rect(f64, f64),
    /// Named.
    Poly {
        /// Sides.
        sides: u8,
    },
}

/// A delivery, with the serde attributes idem follows on variants and their fields.
#[derive(Debug, Canonical, serde::Serialize)]
pub enum Delivery {
    /// A newtype whose field is skipped: a unit variant.
    Courier(#[serde(skip)] u8),
    /// Fields written or not at run time.
    Post {
        /// Zip.
        #[serde(skip_serializing_if = "Option::is_none")]
        zip: Option<String>,
        /// Tracking.
        tracking: u32,
    },
    /// The same in a tuple.
    Drone(
        #[serde(skip_serializing_if = "Option::is_none")] Option<u8>,
        u8,
    ),
    /// Never written.
    #[serde(skip)]
    Internal,
    /// Its content alone.
    #[serde(untagged)]
    Other(String),
    /// `null`.
    #[serde(untagged)]
    Unknown,
}

/// A custom key.
#[derive(Debug, Idempotent)]
#[idem(tool = "custom-v1", key_with = key_of)]
pub struct Custom {
    shape: Shape,
}

fn key_of(args: &Custom, _: &Context, tool: &str) -> String {
    format!("{tool}:{:?}", args.shape)
}

/// A registered generator.
#[derive(Debug, Idempotent)]
#[idem(tool = "generator-v1", generator = "default")]
pub struct Generated {
    id: u32,
}

#[test]
fn strict_lints_hold() {
    let ctx = Context::new();
    let p = Payment {
        transaction_id: "t".into(),
        amount: 1.0,
        trace: 0,
    };
    assert!(p.idempotency_key(&ctx).is_ok());
    assert_eq!(p.trace, 0);
    assert!(p.amount > 0.0);
    let h = Hashed {
        value: 1_u8,
        extra: vec![1],
    };
    assert_eq!(
        h.idempotency_key(&ctx).map(|k| k.as_str().len()).ok(),
        Some(96)
    );
    assert!(h.extra.len() == 1 && h.value == 1);
    let c = Custom {
        shape: Shape::Poly { sides: 3 },
    };
    assert_eq!(
        c.idempotency_key(&ctx).ok().map(|k| k.to_string()),
        Some("custom-v1:Poly { sides: 3 }".to_owned())
    );
    for shape in [Shape::Empty, Shape::Circle(1.0), Shape::Rect(1.0, 2.0)] {
        assert!(shape.to_canonical_vec().is_ok());
    }
    for delivery in [
        Delivery::Courier(1),
        Delivery::Post {
            zip: None,
            tracking: 1,
        },
        Delivery::Drone(None, 1),
        Delivery::Other("o".into()),
        Delivery::Unknown,
    ] {
        assert!(delivery.to_canonical_vec().is_ok());
    }
    assert!(Delivery::Internal.to_canonical_vec().is_err());
    let g = Generated { id: 1 };
    assert!(g.idempotency_key(&ctx).is_ok() && g.id == 1);
}
