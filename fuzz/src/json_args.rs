//! Target `json_args`: keys of JSON arguments, with every built-in strategy.
//!
//! The input is JSON text; anything serde_json does not read is skipped. The parsed value is
//! taken as a tool call's arguments ([`JsonArgs::new`], the entry point for tools without a Rust
//! type; a value that is not an object must be the typed error `ArgumentsNotObject`) and keyed
//! under a grid of configurations: the strategies `default`, `fields` and `hash` (SHA-256,
//! SHA-384 and SHA-512, user and session in or out), some of them with a time window; key fields
//! drawn from the value's own member names (none, the first, all of them, all of them reversed
//! and listed twice, one that is missing); no context, and a full one. Each configuration must
//! give a key or a typed error, never a panic, and:
//!
//! - the key is the digest of the canonical bytes the strategy explains
//!   ([`KeyStrategy::canonical_bytes`]), which are JSON; an error there is the same error here;
//! - the value serialized by serde_json and parsed again gives the same outcomes (the same keys,
//!   the same errors): a key does not depend on how the JSON text was laid out;
//! - the rules of `docs/key-format.md` that relate configurations hold: `default` is `hash` with
//!   SHA-256, user and session (section 2); key fields listed in another order, or twice, select
//!   the same arguments; listing every argument is selecting all of them when none is absent
//!   (section 3);
//! - the arguments written as one object ([`write_arguments_object`]) are the canonical bytes of
//!   the object itself.

use std::sync::Arc;

use idem_core::Context;
use idem_core::canonical::{Canonical, CanonicalWriter, Presence};
// What derived code writes a fingerprint with: generated-code support, fuzzed like the rest.
use idem_core::__private::write_arguments_object;
use idem_core::clock::ManualClock;
use idem_core::key::{Algorithm, Arguments, JsonArgs, Window};
use idem_core::strategy::{DefaultStrategy, FieldsStrategy, HashStrategy, KeyInput, KeyStrategy};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The tool id of every call.
const TOOL: &str = "fuzz-tool-v1";
/// A key field name for the `missing_key_field` error (used only when the value lacks it).
const MISSING_FIELD: &str = "no such field \u{1F50D}";
/// The time of the windowed calls, in seconds since 1970.
const NOW: u64 = 1_764_239_519;

/// One configuration's outcome: its label, and the key or the error message.
type Outcome = (String, Result<String, String>);

/// Checks one input: see the module documentation.
pub fn check(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let first = outcomes(&value);

    let text = serde_json::to_vec(&value).expect("a parsed value serializes");
    let again: Value = serde_json::from_slice(&text).unwrap_or_else(|e| {
        panic!(
            "serde_json cannot read what it wrote ({e}): {}",
            String::from_utf8_lossy(&text)
        )
    });
    assert_eq!(
        first,
        outcomes(&again),
        "the keys of {value} change when it is serialized and parsed again",
    );
}

/// A strategy of the grid, with the digest its keys are made with.
struct Configured {
    name: &'static str,
    strategy: Box<dyn KeyStrategy>,
    algorithm: Algorithm,
}

/// A window of 60 seconds on a clock stopped at [`NOW`].
fn window() -> Window {
    Window::from_secs(60)
        .expect("60 s is a valid window")
        .with_clock(Arc::new(ManualClock::at_unix_seconds(NOW)))
}

/// `hash` with these settings.
fn hash(algorithm: Algorithm, include_user: bool, include_session: bool) -> HashStrategy {
    HashStrategy::new()
        .algorithm(algorithm)
        .include_user(include_user)
        .include_session(include_session)
}

/// The strategies of the grid. The first two pairs are the ones that must agree: `default` and
/// `hash` with SHA-256, user and session, without and with a window.
fn strategies() -> [Configured; 8] {
    let configured = |name, strategy: Box<dyn KeyStrategy>, algorithm| Configured {
        name,
        strategy,
        algorithm,
    };
    [
        configured(
            "default",
            Box::new(DefaultStrategy::new()),
            Algorithm::Sha256,
        ),
        configured(
            "hash sha256 user session",
            Box::new(hash(Algorithm::Sha256, true, true)),
            Algorithm::Sha256,
        ),
        configured(
            "default window",
            Box::new(DefaultStrategy::new().with_window(window())),
            Algorithm::Sha256,
        ),
        configured(
            "hash sha256 user session window",
            Box::new(hash(Algorithm::Sha256, true, true).with_window(window())),
            Algorithm::Sha256,
        ),
        configured("fields", Box::new(FieldsStrategy::new()), Algorithm::Sha256),
        configured(
            "fields window",
            Box::new(FieldsStrategy::new().with_window(window())),
            Algorithm::Sha256,
        ),
        configured(
            "hash sha384 session",
            Box::new(hash(Algorithm::Sha384, false, true)),
            Algorithm::Sha384,
        ),
        configured(
            "hash sha512",
            Box::new(hash(Algorithm::Sha512, false, false)),
            Algorithm::Sha512,
        ),
    ]
}

/// The outcome of every configuration of the grid for `value`, after checking the relations
/// between them.
fn outcomes(value: &Value) -> Vec<Outcome> {
    let args = match JsonArgs::new(value) {
        Ok(args) => args,
        Err(err) => {
            assert!(
                !value.is_object(),
                "JsonArgs refuses the object {value}: {err}"
            );
            return vec![("arguments".to_owned(), Err(err.to_string()))];
        }
    };

    let mut writer = CanonicalWriter::buffer();
    let as_arguments = write_arguments_object(&args, &mut writer)
        .map(|()| writer.into_bytes().expect("a buffering writer has bytes"));
    assert_eq!(
        as_arguments.map_err(|e| e.to_string()),
        value.to_canonical_vec().map_err(|e| e.to_string()),
        "the arguments of {value}, written as an object, are not the object's canonical bytes",
    );

    let names: Vec<String> = (0..args.field_count())
        .map(|i| args.field_name(i).to_owned())
        .collect();
    let none_absent = (0..args.field_count()).all(|i| args.field_presence(i) == Presence::Present);
    let mut key_field_sets: Vec<(&str, Vec<String>)> = vec![("no key fields", Vec::new())];
    if let Some(first) = names.first() {
        key_field_sets.push(("first field", vec![first.clone()]));
        key_field_sets.push(("every field", names.clone()));
        let shuffled = names.iter().rev().chain(&names).cloned().collect();
        key_field_sets.push(("every field reversed and twice", shuffled));
    }
    if !names.iter().any(|name| name == MISSING_FIELD) {
        key_field_sets.push(("a missing field", vec![MISSING_FIELD.to_owned()]));
    }
    let contexts = [
        ("no context", Context::new()),
        (
            "full context",
            Context::new()
                .with_tenant("acme")
                .with_user("alice")
                .with_session("s-1"),
        ),
    ];

    let strategies = strategies();
    let mut all = Vec::new();
    for (context_name, context) in &contexts {
        let mut by_strategy = Vec::new();
        for configured in &strategies {
            let mut by_fields = Vec::new();
            for (_, key_fields) in &key_field_sets {
                let input = KeyInput::new(TOOL, &args, context).with_key_fields(key_fields);
                by_fields.push(key_of(configured, &input));
            }
            // The sets are: none, first, every, every reversed and twice, missing.
            if by_fields.len() >= 4 {
                assert_eq!(
                    by_fields[2], by_fields[3],
                    "{}: the order and repetition of key fields matter for {value}",
                    configured.name,
                );
                if none_absent && !configured.name.starts_with("fields") {
                    assert_eq!(
                        by_fields[0], by_fields[2],
                        "{}: every field as key fields is not all of {value}",
                        configured.name,
                    );
                }
            }
            for ((fields_name, _), outcome) in key_field_sets.iter().zip(&by_fields) {
                let label = format!("{} / {fields_name} / {context_name}", configured.name);
                all.push((label, outcome.clone()));
            }
            by_strategy.push(by_fields);
        }
        assert_eq!(
            by_strategy[0], by_strategy[1],
            "default and hash(sha256, user, session) differ for {value}, {context_name}",
        );
        assert_eq!(
            by_strategy[2], by_strategy[3],
            "default and hash(sha256, user, session) with a window differ for {value}, \
             {context_name}",
        );
    }
    all
}

/// The key of one call, or the error's message, after checking that the key is the digest of
/// the canonical bytes the strategy explains.
fn key_of(configured: &Configured, input: &KeyInput<'_>) -> Result<String, String> {
    let key = configured.strategy.key(input);
    let canonical = configured
        .strategy
        .canonical_bytes(input)
        .unwrap_or_else(|| panic!("{}: a built-in strategy explains its keys", configured.name));
    match (key, canonical) {
        (Ok(key), Ok(bytes)) => {
            assert_eq!(
                key.as_str(),
                digest(configured.algorithm, &bytes),
                "{}: the key is not the digest of the explained bytes {}",
                configured.name,
                String::from_utf8_lossy(&bytes),
            );
            if let Err(e) = serde_json::from_slice::<Value>(&bytes) {
                panic!(
                    "{}: the envelope is not JSON ({e}): {}",
                    configured.name,
                    String::from_utf8_lossy(&bytes)
                );
            }
            Ok(key.as_str().to_owned())
        }
        (Err(key_err), Err(explain_err)) => {
            assert_eq!(
                key_err.to_string(),
                explain_err.to_string(),
                "{}: the key and its explanation fail differently",
                configured.name,
            );
            Err(key_err.to_string())
        }
        (key, canonical) => panic!(
            "{}: only one of key and explanation fails: key {:?}, explanation {:?}",
            configured.name,
            key.map(|k| k.as_str().to_owned()),
            canonical.map(|b| String::from_utf8_lossy(&b).into_owned()),
        ),
    }
}

/// The lowercase hex digest of `bytes`, computed with the `sha2` crate directly.
fn digest(algorithm: Algorithm, bytes: &[u8]) -> String {
    match algorithm {
        Algorithm::Sha256 => hex::encode(Sha256::digest(bytes)),
        Algorithm::Sha384 => hex::encode(Sha384::digest(bytes)),
        Algorithm::Sha512 => hex::encode(Sha512::digest(bytes)),
    }
}
