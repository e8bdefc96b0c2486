//! Behaviour of `#[derive(Idempotent)]`: the keys it computes, for every strategy of the design
//! document, agree with the runtime strategies over JSON and with key format v1.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use idem::clock::ManualClock;
use idem::key::{Algorithm, JsonArgs, Window};
use idem::strategy::{
    CustomStrategy, DefaultStrategy, FieldsStrategy, HashStrategy, KeyFields, KeyInput, KeyOptions,
    KeyStrategy, Registry,
};
use idem::{Canonical, Context, IdempotencyKey, Idempotent, KeyError};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

fn sha256_hex(bytes: &str) -> String {
    hex::encode(Sha256::digest(bytes.as_bytes()))
}

/// The key the runtime strategy computes for the same arguments given as JSON.
fn json_key(strategy: &dyn KeyStrategy, tool: &str, args: &Value, ctx: &Context) -> IdempotencyKey {
    let args = JsonArgs::new(args).unwrap();
    strategy.key(&KeyInput::new(tool, &args, ctx)).unwrap()
}

fn json_key_fields(
    strategy: &dyn KeyStrategy,
    tool: &str,
    args: &Value,
    ctx: &Context,
    fields: &[&str],
) -> IdempotencyKey {
    let args = JsonArgs::new(args).unwrap();
    let fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    strategy
        .key(&KeyInput::new(tool, &args, ctx).with_key_fields(&fields))
        .unwrap()
}

#[derive(Idempotent, Serialize, Clone)]
#[idem(tool = "payment-processor-v1", strategy = "fields")]
struct ProcessPayment {
    #[idem(key)]
    transaction_id: String,
    customer_id: String,
    amount: f64,
    currency: String,
}

fn payment(transaction_id: &str, amount: f64) -> ProcessPayment {
    ProcessPayment {
        transaction_id: transaction_id.into(),
        customer_id: "cust-7".into(),
        amount,
        currency: "EUR".into(),
    }
}

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

#[derive(Idempotent, Serialize)]
#[idem(
    tool = "secure-payment-v1",
    strategy = "hash",
    algorithm = "sha512",
    include_session = false
)]
struct SecurePayment {
    #[idem(key)]
    transaction_id: String,
    #[idem(key)]
    amount: f64,
    #[idem(key)]
    timestamp: u64,
    note: String,
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

#[derive(Idempotent)]
#[idem(tool = "timed-operation-v1", strategy = "fields", window = "1m")]
struct TimedOperation {
    #[idem(key)]
    request_id: String,
}

#[test]
fn window_keys_change_with_the_minute_and_not_within_it() {
    let clock = ManualClock::at_unix_seconds(1_700_000_040);
    let op = TimedOperation {
        request_id: "r-1".into(),
    };
    let ctx = Context::new();
    let at = |clock: &ManualClock| {
        op.idempotency_key_with(&ctx, &KeyOptions::new().with_clock(clock))
            .unwrap()
    };
    let first = at(&clock);
    assert_eq!(
        first.as_str(),
        sha256_hex(
            r#"{"args":{"request_id":"r-1"},"tool":"timed-operation-v1","v":1,"window":1700000040}"#
        )
    );
    clock.set_unix_seconds(1_700_000_099);
    assert_eq!(at(&clock), first);
    clock.set_unix_seconds(1_700_000_100);
    assert_ne!(at(&clock), first);
    // The runtime strategy with the same window agrees.
    let json = json!({"request_id": "r-1"});
    let window = Window::parse("1m")
        .unwrap()
        .with_clock(Arc::new(ManualClock::at_unix_seconds(1_700_000_041)));
    assert_eq!(
        json_key_fields(
            &FieldsStrategy::new().with_window(window),
            "timed-operation-v1",
            &json,
            &ctx,
            &["request_id"]
        ),
        first
    );
}

fn geo_key(args: &GeoOrder, ctx: &Context, tool: &str) -> String {
    format!(
        "{tool}:{}:{}:{}",
        args.region,
        ctx.user_id().unwrap_or("anonymous"),
        args.order_id
    )
}

#[derive(Idempotent)]
#[idem(tool = "geo-distributed-v1", strategy = "custom", key_with = geo_key)]
struct GeoOrder {
    order_id: String,
    region: String,
}

#[test]
fn custom_key_functions_are_used_as_they_are() {
    let order = GeoOrder {
        order_id: "o-9".into(),
        region: "us-west".into(),
    };
    let key = order
        .idempotency_key(&Context::new().with_user("alice"))
        .unwrap();
    assert_eq!(key.as_str(), "geo-distributed-v1:us-west:alice:o-9");
    assert!(!key.is_digest());
    let eu = GeoOrder {
        region: "eu-central".into(),
        ..order
    };
    assert_ne!(
        key,
        eu.idempotency_key(&Context::new().with_user("alice"))
            .unwrap()
    );
}

/// The design document's time-based key, on the call's clock: `fn(&Self, &KeyInput)`.
#[derive(Idempotent)]
#[idem(tool = "timed-operation-v1", key_with = minute_key)]
struct TimedCustom {
    request_id: String,
}

fn minute_key(args: &TimedCustom, input: &KeyInput<'_>) -> Result<String, KeyError> {
    let seconds = input
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| KeyError::ClockBeforeEpoch)?
        .as_secs();
    let user = input.context().user_id().unwrap_or("anonymous");
    Ok(format!(
        "{}:{user}:{}:{}",
        input.tool(),
        args.request_id,
        seconds - seconds % 60
    ))
}

#[test]
fn a_key_function_may_take_the_call_and_read_its_clock() {
    let op = TimedCustom {
        request_id: "r-1".into(),
    };
    let ctx = Context::new().with_user("alice");
    let clock = ManualClock::at_unix_seconds(1_700_000_059);
    let at = |clock: &ManualClock| {
        op.idempotency_key_with(&ctx, &KeyOptions::new().with_clock(clock))
            .unwrap()
    };
    let first = at(&clock);
    assert_eq!(first.as_str(), "timed-operation-v1:alice:r-1:1700000040");
    clock.set_unix_seconds(1_700_000_099);
    assert_eq!(at(&clock), first);
    clock.set_unix_seconds(1_700_000_100);
    assert_eq!(
        at(&clock).as_str(),
        "timed-operation-v1:alice:r-1:1700000100"
    );
    // The tool id a spec gives is the one the function sees.
    let renamed = op
        .idempotency_key_with(
            &ctx,
            &KeyOptions::new().with_clock(&clock).with_tool("timed-v2"),
        )
        .unwrap();
    assert_eq!(renamed.as_str(), "timed-v2:alice:r-1:1700000100");
}

#[derive(Debug)]
struct ServiceDown;
impl std::fmt::Display for ServiceDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("id service unreachable")
    }
}
impl std::error::Error for ServiceDown {}

fn external_id(args: &Distributed, _: &Context, _: &str) -> Result<String, ServiceDown> {
    if args.payload.is_empty() {
        Err(ServiceDown)
    } else {
        Ok(format!("ext-{}", args.payload.len()))
    }
}

#[derive(Idempotent)]
#[idem(tool = "distributed-tool-v1", key_with = external_id)]
struct Distributed {
    payload: String,
}

#[test]
fn custom_key_function_errors_and_invalid_keys_are_typed_errors() {
    let ok = Distributed {
        payload: "abc".into(),
    };
    assert_eq!(
        ok.idempotency_key(&Context::new()).unwrap().as_str(),
        "ext-3"
    );
    let down = Distributed {
        payload: String::new(),
    };
    let err = down.idempotency_key(&Context::new()).unwrap_err();
    assert!(matches!(&err, KeyError::Custom { tool, .. } if tool == "distributed-tool-v1"));
    assert!(err.to_string().contains("id service unreachable"), "{err}");
}

#[derive(Idempotent, Serialize)]
#[idem(tool = "multi-tenant-tool-v1", generator = "tenant_based_test")]
struct TenantOperation {
    action: String,
}

#[derive(Idempotent, Serialize)]
#[idem(tool = "unregistered-v1", generator = "nobody_registered_this")]
struct Unregistered {
    action: String,
}

#[test]
fn generators_are_looked_up_in_the_registry_at_run_time() {
    let registry = Registry::new();
    registry
        .register(
            "tenant_based_test",
            CustomStrategy::new(|input| {
                let tenant = input.context().tenant_id().unwrap_or("default");
                let user = input.context().user_id().unwrap_or("anonymous");
                let action = input.arg_str("action").unwrap_or_default();
                Ok(format!("{}:{tenant}:{user}:{action}", input.tool()))
            }),
        )
        .unwrap();
    let op = TenantOperation {
        action: "sync".into(),
    };
    let ctx = Context::new().with_tenant("acme").with_user("ada");
    let key = op
        .idempotency_key_with(&ctx, &KeyOptions::new().with_registry(&registry))
        .unwrap();
    assert_eq!(key.as_str(), "multi-tenant-tool-v1:acme:ada:sync");

    let err = Unregistered { action: "x".into() }
        .idempotency_key(&ctx)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no key strategy named `nobody_registered_this`; registered: default, fields, hash"
    );
}

#[test]
fn runtime_key_fields_override_the_declared_ones_and_are_checked_when_built() {
    let fields = KeyFields::for_type::<ProcessPayment>(["customer_id"]).unwrap();
    let ctx = Context::new();
    let a = payment("txn-1", 1.0)
        .idempotency_key_with(&ctx, &KeyOptions::new().with_key_fields(&fields))
        .unwrap();
    assert_eq!(
        a.as_str(),
        sha256_hex(r#"{"args":{"customer_id":"cust-7"},"tool":"payment-processor-v1","v":1}"#)
    );
    let err = KeyFields::for_type::<ProcessPayment>(["txn_id"]).unwrap_err();
    assert!(matches!(&err, KeyError::UnknownKeyField { field, .. } if field == "txn_id"));
    assert!(
        err.to_string()
            .contains("its fields are: amount, currency, customer_id, transaction_id"),
        "{err}"
    );
}

#[derive(Canonical, Serialize, Clone)]
enum Shipping {
    Pickup,
    Standard(u8),
    Split(u8, u8),
    #[serde(rename = "express")]
    Express {
        days: u8,
        #[serde(rename = "signature")]
        needs_signature: bool,
    },
}

#[derive(Canonical, Serialize, Clone)]
struct Address {
    street: String,
    zip: Option<String>,
    #[serde(skip)]
    internal: u32,
}

#[derive(Canonical, Serialize, Clone)]
struct Meters(f32);

#[derive(Idempotent, Serialize, Clone)]
#[idem(tool = "shipment-v1")]
struct Shipment {
    shipping: Vec<Shipping>,
    address: Address,
    distance: Meters,
    tags: HashSet<String>,
    counts: HashMap<u32, i64>,
    #[idem(serde)]
    extra: SerdeOnly,
    pair: (bool, char),
    unit: (),
}

#[derive(Serialize, Clone)]
struct SerdeOnly {
    b: u8,
    a: Vec<u8>,
}

#[test]
fn nested_values_follow_serde_data_model() {
    let shipment = Shipment {
        shipping: vec![
            Shipping::Pickup,
            Shipping::Standard(3),
            Shipping::Split(1, 2),
            Shipping::Express {
                days: 1,
                needs_signature: true,
            },
        ],
        address: Address {
            street: "1 \"Main\" St\n".into(),
            zip: None,
            internal: 7,
        },
        distance: Meters(0.1),
        tags: HashSet::from(["b".into(), "a".into(), "c".into()]),
        counts: HashMap::from([(10, -1), (9, 2)]),
        extra: SerdeOnly { b: 1, a: vec![2] },
        pair: (true, 'é'),
        unit: (),
    };
    let _ = shipment.address.internal;
    let bytes = String::from_utf8(shipment.to_canonical_vec().unwrap()).unwrap();
    assert_eq!(
        bytes,
        concat!(
            r#"{"address":{"street":"1 \"Main\" St\n","zip":null},"counts":{"10":-1,"9":2},"#,
            r#""distance":0.10000000149011612,"extra":{"a":[2],"b":1},"pair":[true,"é"],"#,
            r#""shipping":["Pickup",{"Standard":3},{"Split":[1,2]},{"express":{"days":1,"signature":true}}],"#,
            r#""tags":["a","b","c"],"unit":null}"#
        )
    );
    // serde_json sees the same data, except for the set, whose order serde leaves to the hasher.
    let ctx = Context::new();
    let mut json = serde_json::to_value(&shipment).unwrap();
    json["tags"] = json!(["a", "b", "c"]);
    assert_eq!(
        shipment.idempotency_key(&ctx).unwrap(),
        json_key(&DefaultStrategy::new(), "shipment-v1", &json, &ctx)
    );
}

#[test]
fn non_finite_numbers_are_errors_naming_the_field() {
    let err = payment("txn-1", f64::NAN);
    // `amount` is not a key field of the payment: it does not take part, so the key works.
    assert!(err.idempotency_key(&Context::new()).is_ok());
    let search = SecurePayment {
        transaction_id: "t".into(),
        amount: f64::INFINITY,
        timestamp: 1,
        note: String::new(),
    };
    let err = search.idempotency_key(&Context::new()).unwrap_err();
    assert!(
        matches!(&err, KeyError::Encode { field, .. } if field == "amount"),
        "{err}"
    );
}

#[derive(Idempotent)]
#[idem(tool = "generic-v1")]
struct Wrapper<T, U> {
    value: T,
    #[idem(skip)]
    _marker: std::marker::PhantomData<U>,
}

struct NotCanonical;

#[test]
fn generic_arguments_need_canonical_only_for_used_parameters() {
    let w: Wrapper<u64, NotCanonical> = Wrapper {
        value: u64::MAX,
        _marker: std::marker::PhantomData,
    };
    assert_eq!(
        w.idempotency_key(&Context::new()).unwrap().as_str(),
        sha256_hex(
            r#"{"args":{"value":18446744073709551615},"session":null,"tool":"generic-v1","user":null,"v":1}"#
        )
    );
}

#[derive(Idempotent)]
#[idem(tool = "ping-v1")]
struct Ping;

#[test]
fn unit_structs_have_empty_arguments() {
    assert_eq!(
        Ping.idempotency_key(&Context::new()).unwrap().as_str(),
        sha256_hex(r#"{"args":{},"session":null,"tool":"ping-v1","user":null,"v":1}"#)
    );
}

#[derive(Idempotent)]
#[idem(tool = "borrowed-v1", strategy = "fields")]
struct Borrowed<'a> {
    #[idem(key)]
    id: &'a str,
    tags: &'a [&'a str],
}

#[test]
fn borrowed_arguments_work() {
    let tags = ["x"];
    let b = Borrowed {
        id: "b-1",
        tags: &tags,
    };
    let _ = b.tags;
    assert_eq!(
        b.idempotency_key(&Context::new()).unwrap().as_str(),
        sha256_hex(r#"{"args":{"id":"b-1"},"tool":"borrowed-v1","v":1}"#)
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

// ---- Enum variants: `#[serde(...)]` and `#[idem(...)]` on variants and their fields ----

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
