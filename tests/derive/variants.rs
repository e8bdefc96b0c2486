//! Enum variants: `#[serde(...)]` and `#[idem(...)]` on variants and their fields, written as
//! serde writes them.

use idem::key::JsonArgs;
use idem::strategy::{FieldsStrategy, KeyInput, KeyStrategy};
use idem::{Canonical, Context, Idempotent};
use serde::Serialize;

use super::json_key_fields;

/// idem's canonical bytes of `value`.
fn canonical_string<T: Canonical>(value: &T) -> String {
    String::from_utf8(value.to_canonical_vec().unwrap()).unwrap()
}

/// What serde_json writes for `value`, in RFC 8785 form (members sorted).
fn serde_string<T: Serialize>(value: &T) -> String {
    serde_json_canonicalizer::to_string(value).unwrap()
}

#[derive(Canonical, Serialize)]
#[serde(rename_all = "snake_case", rename_all_fields = "camelCase")]
enum Payment {
    CardOnFile {
        card_id: String,
        save_card: bool,
    },
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    BankTransfer {
        iban_number: String,
    },
    #[idem(rename = "cash")]
    CashOnDelivery,
    #[serde(untagged)]
    Voucher(String),
    #[serde(untagged)]
    Split(u32, u32),
    #[serde(untagged)]
    Custom {
        provider_name: String,
        amount: u64,
    },
    #[serde(untagged)]
    Nothing,
}

fn payments() -> Vec<Payment> {
    vec![
        Payment::CardOnFile {
            card_id: "c-1".into(),
            save_card: true,
        },
        Payment::BankTransfer {
            iban_number: "FR76".into(),
        },
        Payment::Voucher("v-9".into()),
        Payment::Split(30, 70),
        Payment::Custom {
            provider_name: "acme".into(),
            amount: 5,
        },
        Payment::Nothing,
    ]
}

#[test]
fn untagged_variants_are_written_as_their_content_as_serde_does() {
    // main wrote `{"Voucher":"v-9"}`, `{"Split":[30,70]}`, `{"Custom":{...}}` and `"Nothing"`,
    // and ignored `rename_all_fields`.
    let expected = [
        r#"{"card_on_file":{"cardId":"c-1","saveCard":true}}"#,
        r#"{"bank_transfer":{"IBAN_NUMBER":"FR76"}}"#,
        r#""v-9""#,
        "[30,70]",
        r#"{"amount":5,"providerName":"acme"}"#,
        "null",
    ];
    for (payment, expected) in payments().iter().zip(expected) {
        assert_eq!(canonical_string(payment), expected);
        assert_eq!(serde_string(payment), expected);
    }
    // `#[idem(rename)]` overrides serde's name, as on fields.
    assert_eq!(canonical_string(&Payment::CashOnDelivery), r#""cash""#);
    assert_eq!(
        serde_string(&Payment::CashOnDelivery),
        r#""cash_on_delivery""#
    );
    // Not all values are strings any more.
    assert_eq!(Payment::PARAMETER_TYPE, idem::spec::ParameterType::Any);
}

#[derive(Canonical, Serialize)]
enum Reference {
    Order(String),
    #[serde(untagged)]
    Free(Option<String>),
    #[serde(untagged)]
    Unknown,
}

#[derive(Idempotent, Serialize)]
#[idem(tool = "refund-v1", strategy = "fields")]
struct Refund {
    #[idem(key)]
    reference: Reference,
}

#[test]
fn untagged_variants_are_absent_key_fields_when_serde_writes_null_or_empty() {
    assert_eq!(
        Reference::Order(String::new()).presence(),
        idem::canonical::Presence::Present
    );
    assert_eq!(
        Reference::Free(Some("r".into())).presence(),
        idem::canonical::Presence::Present
    );
    assert_eq!(
        Reference::Free(Some(String::new())).presence(),
        idem::canonical::Presence::Empty
    );
    assert_eq!(
        Reference::Free(None).presence(),
        idem::canonical::Presence::Null
    );
    assert_eq!(
        Reference::Unknown.presence(),
        idem::canonical::Presence::Null
    );

    // The key agrees with the runtime strategy over serde's JSON, present or absent.
    let ctx = Context::new();
    for reference in [
        Reference::Order("o-1".into()),
        Reference::Free(Some("r".into())),
    ] {
        let refund = Refund { reference };
        let json = serde_json::to_value(&refund).unwrap();
        assert_eq!(
            refund.idempotency_key(&ctx).unwrap(),
            json_key_fields(
                &FieldsStrategy::new(),
                "refund-v1",
                &json,
                &ctx,
                &["reference"]
            )
        );
    }
    let err = Refund {
        reference: Reference::Unknown,
    }
    .idempotency_key(&ctx)
    .unwrap_err();
    let json = serde_json::to_value(Refund {
        reference: Reference::Unknown,
    })
    .unwrap();
    let json_err = FieldsStrategy::new()
        .key(
            &KeyInput::new("refund-v1", &JsonArgs::new(&json).unwrap(), &ctx)
                .with_key_fields(&["reference".to_owned()]),
        )
        .unwrap_err();
    assert_eq!(err.to_string(), json_err.to_string());
}

/// The same enum twice: fields left out by `#[idem(skip)]`, then by serde.
#[derive(Canonical, Serialize)]
enum DeliveryIdem {
    Courier(#[idem(skip)] u32),
    Drone(u8, #[idem(skip)] u32, u8),
    Post {
        zip: String,
        #[idem(skip)]
        tracking: u32,
    },
    #[serde(untagged)]
    Locker(#[idem(skip)] u32),
}

#[derive(Canonical, Serialize)]
enum DeliverySerde {
    Courier(#[serde(skip)] u32),
    Drone(u8, #[serde(skip_serializing)] u32, u8),
    Post {
        zip: String,
        #[serde(skip)]
        tracking: u32,
    },
    #[serde(untagged)]
    Locker(#[serde(skip)] u32),
}

#[test]
fn skipped_variant_fields_are_left_out_as_serde_leaves_them_out() {
    let idem_skips = [
        DeliveryIdem::Courier(1),
        DeliveryIdem::Drone(1, 2, 3),
        DeliveryIdem::Post {
            zip: "75001".into(),
            tracking: 4,
        },
        DeliveryIdem::Locker(5),
    ];
    let serde_skips = [
        DeliverySerde::Courier(1),
        DeliverySerde::Drone(1, 2, 3),
        DeliverySerde::Post {
            zip: "75001".into(),
            tracking: 4,
        },
        DeliverySerde::Locker(5),
    ];
    // A newtype variant whose field is skipped is a unit variant for serde; main wrote
    // `{"Courier":[]}` and `null` was `{"Locker":[]}`.
    let expected = [
        r#""Courier""#,
        r#"{"Drone":[1,3]}"#,
        r#"{"Post":{"zip":"75001"}}"#,
        "null",
    ];
    for ((by_idem, by_serde), expected) in idem_skips.iter().zip(&serde_skips).zip(expected) {
        assert_eq!(canonical_string(by_idem), expected);
        assert_eq!(canonical_string(by_serde), expected);
        assert_eq!(serde_string(by_serde), expected);
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Canonical, Serialize)]
enum Discount {
    Percent(#[serde(skip_serializing_if = "is_zero")] u32, u32),
    Amount {
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        #[serde(skip_serializing_if = "is_zero")]
        cents: u32,
        currency: String,
    },
    // serde writes a newtype's value whatever `skip_serializing_if` says.
    Fixed(#[serde(skip_serializing_if = "is_zero")] u32),
}

#[test]
fn skip_serializing_if_on_variant_fields_is_followed() {
    let discounts = [
        (Discount::Percent(0, 5), r#"{"Percent":[5]}"#),
        (Discount::Percent(3, 5), r#"{"Percent":[3,5]}"#),
        (
            Discount::Amount {
                code: None,
                cents: 0,
                currency: "EUR".into(),
            },
            r#"{"Amount":{"currency":"EUR"}}"#,
        ),
        (
            Discount::Amount {
                code: Some("X".into()),
                cents: 0,
                currency: "EUR".into(),
            },
            r#"{"Amount":{"code":"X","currency":"EUR"}}"#,
        ),
        (
            Discount::Amount {
                code: Some("X".into()),
                cents: 9,
                currency: "EUR".into(),
            },
            r#"{"Amount":{"cents":9,"code":"X","currency":"EUR"}}"#,
        ),
        (Discount::Fixed(0), r#"{"Fixed":0}"#),
    ];
    for (discount, expected) in &discounts {
        assert_eq!(canonical_string(discount), *expected);
        assert_eq!(serde_string(discount), *expected);
    }
}

#[derive(Canonical, Serialize)]
enum Carrier {
    Known(String),
    #[serde(skip)]
    Internal(u32),
    #[serde(skip_serializing)]
    Legacy,
}

#[test]
fn skipped_variants_cannot_be_written_as_serde_cannot_serialize_them() {
    assert_eq!(
        canonical_string(&Carrier::Known("ups".into())),
        r#"{"Known":"ups"}"#
    );
    for carrier in [Carrier::Internal(1), Carrier::Legacy] {
        // main wrote `{"Internal":1}` and `"Legacy"`, where serde fails.
        let err = carrier.to_canonical_vec().unwrap_err();
        assert!(serde_json::to_string(&carrier).is_err());
        let variant = match carrier {
            Carrier::Internal(id) => {
                assert_eq!(id, 1);
                "Internal"
            }
            _ => "Legacy",
        };
        assert!(
            matches!(err, idem::key::EncodeError::SkippedVariant { type_name: "Carrier", variant: v } if v == variant),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "the enum variant Carrier::{variant} cannot be serialized: serde skips it \
                 (`#[serde(skip)]`), so it cannot be part of a key"
            )
        );
    }
}

#[derive(Canonical, Serialize)]
enum Speed {
    Slow,
    Fast(#[serde(skip)] u8),
    #[serde(skip)]
    Teleport(NotSerializable),
}

#[derive(Clone, Copy)]
struct NotSerializable;

#[test]
fn enums_written_as_names_are_string_parameters() {
    // `Fast` is a unit variant for serde; `Teleport` is never written (main called it `Any`).
    assert_eq!(Speed::PARAMETER_TYPE, idem::spec::ParameterType::String);
    assert_eq!(
        canonical_string(&Speed::Fast(1)),
        serde_string(&Speed::Fast(1))
    );
    assert_eq!(canonical_string(&Speed::Slow), r#""Slow""#);
    let _ = Speed::Teleport(NotSerializable);
}
