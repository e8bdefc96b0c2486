//! NaN and infinities have no JSON form: an error through serde as through a derived `f64`,
//! map keys included.

use std::collections::BTreeMap;

use idem::canonical::{Canonical, SerdeCanonical};
use idem::key::EncodeError;
use idem::{Context, Idempotent, KeyError};

use super::FloatKey;

#[derive(Idempotent)]
#[idem(tool = "stats-v1")]
struct Samples {
    #[idem(serde)]
    values: Vec<f64>,
}

#[derive(Idempotent)]
#[idem(tool = "stats-v1")]
struct Sample {
    value: f64,
}

#[test]
fn non_finite_numbers_through_serde_are_errors_like_a_derived_f64() {
    for (number, text) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        let serde = Samples {
            values: vec![1.0, number],
        };
        let err = serde.idempotency_key(&Context::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "argument `values` cannot be encoded: the number {text} is not finite; NaN and \
                 infinities cannot be part of a key"
            )
        );
        assert!(matches!(
            err,
            KeyError::Encode { ref field, source: EncodeError::NonFiniteNumber(n) }
                if field == "values" && n.to_bits() == number.to_bits()
        ));

        // The derived `f64` field gives the same kind of error.
        let derived = Sample { value: number }
            .idempotency_key(&Context::new())
            .unwrap_err();
        assert!(matches!(
            derived,
            KeyError::Encode {
                source: EncodeError::NonFiniteNumber(_),
                ..
            }
        ));
    }
    // `f32` too, and a float map key.
    assert!(matches!(
        SerdeCanonical(&[f32::INFINITY]).to_canonical_vec(),
        Err(EncodeError::NonFiniteNumber(n)) if n == f64::INFINITY
    ));
    let mut by_float = BTreeMap::new();
    by_float.insert(FloatKey(f64::NAN), 1);
    assert!(matches!(
        SerdeCanonical(&by_float).to_canonical_vec(),
        Err(EncodeError::NonFiniteNumber(n)) if n.is_nan()
    ));
    // A finite one keeps serde_json's form: `null` was the only loss.
    let finite = Samples {
        values: vec![1.5, -0.0, 1e21],
    };
    assert!(finite.idempotency_key(&Context::new()).is_ok());
    assert_eq!(
        SerdeCanonical(&finite.values).to_canonical_vec().unwrap(),
        b"[1.5,0,1e+21]"
    );
}
