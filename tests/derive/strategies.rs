//! The strategies of the design document, derived: the key fields of `fields`, the digests of
//! `hash`, the contexts each one reads, names as serde writes them, and the migration of a tool
//! with key fields and no generator.

use std::collections::BTreeMap;

use idem::key::Algorithm;
use idem::strategy::{DefaultStrategy, FieldsStrategy, HashStrategy, Registry};
use idem::{Canonical, Context, Idempotent, KeyError};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha512};

use super::{SecurePayment, json_key, json_key_fields, payment, sha256_hex};

#[test]
fn payment_key_is_the_sha256_of_the_documented_envelope() {
    let key = payment("txn-0001", 10.5)
        .idempotency_key(&Context::new())
        .unwrap();
    let expected =
        sha256_hex(r#"{"args":{"transaction_id":"txn-0001"},"tool":"payment-processor-v1","v":1}"#);
    assert_eq!(key.as_str(), expected);
    assert_eq!(
        key.as_str(),
        "fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b"
    );
}

#[test]
fn fields_strategy_ignores_other_arguments_and_user_but_not_tenant() {
    let alice = Context::new().with_user("alice").with_session("s1");
    let bob = Context::new().with_user("bob");
    let a = payment("txn-1", 10.0).idempotency_key(&alice).unwrap();
    assert_eq!(a, payment("txn-1", 99.0).idempotency_key(&bob).unwrap());
    assert_ne!(a, payment("txn-2", 10.0).idempotency_key(&alice).unwrap());
    let tenant = payment("txn-1", 10.0)
        .idempotency_key(&Context::new().with_tenant("acme"))
        .unwrap();
    assert_ne!(a, tenant);
    assert_eq!(
        tenant.as_str(),
        sha256_hex(
            r#"{"args":{"transaction_id":"txn-1"},"tenant":"acme","tool":"payment-processor-v1","v":1}"#
        )
    );
}

#[test]
fn derived_and_json_arguments_give_the_same_key() {
    let ctx = Context::new().with_tenant("t").with_user("u");
    let p = payment("txn-9", 12.25);
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(
        p.idempotency_key(&ctx).unwrap(),
        json_key_fields(
            &FieldsStrategy::new(),
            "payment-processor-v1",
            &json,
            &ctx,
            &["transaction_id"]
        )
    );
}

#[test]
fn a_missing_or_empty_key_field_is_an_error_naming_the_field() {
    let err = payment("", 1.0)
        .idempotency_key(&Context::new())
        .unwrap_err();
    assert!(matches!(&err, KeyError::EmptyKeyField { field, found, .. }
        if field == "transaction_id" && *found == "an empty string"));
    assert!(err.to_string().contains("`transaction_id`"), "{err}");
}

#[derive(Idempotent, Serialize)]
#[idem(tool = "order-fulfillment-v1", strategy = "fields")]
struct FulfillOrder {
    #[idem(key)]
    order_id: Option<String>,
    warehouse_id: Option<String>,
    shipping_method: Option<String>,
}

#[test]
fn order_fulfillment_is_keyed_by_order_only_and_a_null_order_is_refused() {
    let ctx = Context::new();
    let order = |w: &str| FulfillOrder {
        order_id: Some("o-1".into()),
        warehouse_id: Some(w.into()),
        shipping_method: None,
    };
    assert_eq!(
        order("w-1").idempotency_key(&ctx).unwrap(),
        order("w-2").idempotency_key(&ctx).unwrap()
    );
    let none = FulfillOrder {
        order_id: None,
        warehouse_id: None,
        shipping_method: None,
    };
    assert!(matches!(
        none.idempotency_key(&ctx),
        Err(KeyError::EmptyKeyField { found: "null", .. })
    ));
}

#[test]
fn high_security_payment_uses_sha512_over_user_and_key_fields() {
    let ctx = Context::new().with_user("alice").with_session("s-1");
    let p = SecurePayment {
        transaction_id: "t-1".into(),
        amount: 99.5,
        timestamp: 1_700_000_000,
        note: "ignored".into(),
    };
    let key = p.idempotency_key(&ctx).unwrap();
    let canonical = r#"{"args":{"amount":99.5,"timestamp":1700000000,"transaction_id":"t-1"},"tool":"secure-payment-v1","user":"alice","v":1}"#;
    assert_eq!(
        key.as_str(),
        hex::encode(Sha512::digest(canonical.as_bytes()))
    );
    assert_eq!(key.as_str().len(), 128);
    let json = serde_json::to_value(&p).unwrap();
    let strategy = HashStrategy::new().algorithm(Algorithm::Sha512);
    assert_eq!(
        key,
        json_key_fields(
            &strategy,
            "secure-payment-v1",
            &json,
            &ctx,
            &["transaction_id", "amount", "timestamp"]
        )
    );
}

#[derive(Idempotent, Serialize)]
#[idem(tool = "api-call-v1", strategy = "hash")]
struct ExternalApi {
    endpoint: String,
    query: BTreeMap<String, String>,
}

#[test]
fn stateless_api_keys_follow_the_user_across_sessions() {
    let args = ExternalApi {
        endpoint: "/data".into(),
        query: BTreeMap::from([("page".into(), "2".into())]),
    };
    let s1 = Context::new().with_user("alice").with_session("s1");
    let s2 = Context::new().with_user("alice").with_session("s2");
    let bob = Context::new().with_user("bob").with_session("s1");
    assert_eq!(
        args.idempotency_key(&s1).unwrap(),
        args.idempotency_key(&s2).unwrap()
    );
    assert_ne!(
        args.idempotency_key(&s1).unwrap(),
        args.idempotency_key(&bob).unwrap()
    );
    let json = serde_json::to_value(&args).unwrap();
    assert_eq!(
        args.idempotency_key(&s1).unwrap(),
        json_key(&HashStrategy::new(), "api-call-v1", &json, &s1)
    );
}

#[derive(Idempotent, Serialize)]
#[idem(tool = "search-v1")]
struct Search {
    query: String,
    limit: u32,
}

#[test]
fn default_strategy_is_hash_sha256_with_both_contexts_and_includes_nulls() {
    let args = Search {
        query: "weather".into(),
        limit: 5,
    };
    let ctx = Context::new().with_user("alice");
    let key = args.idempotency_key(&ctx).unwrap();
    assert_eq!(
        key.as_str(),
        sha256_hex(
            r#"{"args":{"limit":5,"query":"weather"},"session":null,"tool":"search-v1","user":"alice","v":1}"#
        )
    );
    let json = serde_json::to_value(&args).unwrap();
    let same_as_hash = HashStrategy::new().include_user(true).include_session(true);
    assert_eq!(key, json_key(&same_as_hash, "search-v1", &json, &ctx));
    assert_eq!(
        key,
        json_key(&DefaultStrategy::new(), "search-v1", &json, &ctx)
    );
}

#[derive(Idempotent, Serialize)]
#[serde(rename_all = "camelCase")]
#[idem(tool = "user-registration-v1", strategy = "fields")]
struct RegisterUser {
    #[idem(key)]
    email_address: String,
    #[serde(rename = "login")]
    user_name: String,
    #[idem(skip)]
    #[serde(skip)]
    password: String,
    #[idem(rename = "referral")]
    referral_code: Option<String>,
}

#[test]
fn names_follow_serde_and_idem_rename() {
    let user = RegisterUser {
        email_address: "ada@example.com".into(),
        user_name: "ada".into(),
        password: "secret".into(),
        referral_code: None,
    };
    assert_eq!(
        RegisterUser::KEY.fields,
        ["emailAddress", "login", "referral"]
    );
    assert_eq!(RegisterUser::KEY.key_fields, ["emailAddress"]);
    let key = user.idempotency_key(&Context::new()).unwrap();
    assert_eq!(
        key.as_str(),
        sha256_hex(
            r#"{"args":{"emailAddress":"ada@example.com"},"tool":"user-registration-v1","v":1}"#
        )
    );
    // The password never takes part, even in the object of all arguments.
    assert_eq!(user.password, "secret");
    assert_eq!(
        String::from_utf8(user.to_canonical_vec().unwrap()).unwrap(),
        r#"{"emailAddress":"ada@example.com","login":"ada","referral":null}"#
    );
}

#[derive(Idempotent)]
#[idem(tool = "note-v1", strategy = "fields")]
struct Note {
    #[idem(key, allow_empty)]
    title: String,
    #[idem(key)]
    author: String,
}

#[test]
fn allow_empty_key_fields_accept_the_empty_string() {
    let note = Note {
        title: String::new(),
        author: "ada".into(),
    };
    let key = note.idempotency_key(&Context::new()).unwrap();
    assert_eq!(
        key.as_str(),
        sha256_hex(r#"{"args":{"author":"ada","title":""},"tool":"note-v1","v":1}"#)
    );
}

/// The design document's migration: a tool that sets key fields and no generator keeps the old
/// behaviour, the default strategy over the key fields (with user and session).
#[derive(Idempotent)]
#[idem(tool = "legacy-payment-v1")]
struct LegacyPayment {
    #[idem(key)]
    transaction_id: String,
    amount: f64,
}

#[test]
fn migration_without_a_generator_means_the_default_strategy_over_the_key_fields() {
    let ctx = Context::new().with_user("alice").with_session("s-1");
    let legacy = LegacyPayment {
        transaction_id: "txn-1".into(),
        amount: 5.0,
    };
    assert!(legacy.amount > 0.0);
    let canonical = r#"{"args":{"transaction_id":"txn-1"},"session":"s-1","tool":"legacy-payment-v1","user":"alice","v":1}"#;
    assert_eq!(
        legacy.idempotency_key(&ctx).unwrap().as_str(),
        sha256_hex(canonical)
    );
    // The same tool described at run time: key fields set, no generator.
    let json = json!({"transaction_id": "txn-1", "amount": 5.0});
    assert_eq!(
        json_key_fields(
            &DefaultStrategy::new(),
            "legacy-payment-v1",
            &json,
            &ctx,
            &["transaction_id"]
        )
        .as_str(),
        sha256_hex(canonical)
    );
    // The registry's `default` is that strategy.
    let default = Registry::new().get("default").unwrap();
    assert_eq!(
        json_key_fields(
            &*default,
            "legacy-payment-v1",
            &json,
            &ctx,
            &["transaction_id"]
        )
        .as_str(),
        sha256_hex(canonical)
    );
}
