//! The golden vectors of key format v1 (`tests/vectors/keys-v1.json`, specified in
//! `docs/key-format.md`): every case is recomputed with idem-core and must give exactly the
//! canonical bytes and the key written in the file, or exactly the error kind.
//!
//! The file is a public contract: when this test fails, the code changed keys. Fix the code; a
//! deliberate change of keys is a new format version with a new vectors file, never an edit of
//! this one.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use idem_core::clock::ManualClock;
use idem_core::key::{Algorithm, JsonArgs, Window};
use idem_core::strategy::{DefaultStrategy, FieldsStrategy, HashStrategy, KeyInput, KeyStrategy};
use idem_core::{Context, IdempotencyKey, KeyError};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};

const VECTORS: &str = include_str!("vectors/keys-v1.json");

/// The file must hold at least this many cases, so that the test cannot pass on an empty list.
const MIN_CASES: usize = 45;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VectorFile {
    format: String,
    version: u32,
    specification: String,
    description: String,
    cases: Vec<Case>,
    custom_keys: Vec<CustomCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    note: Option<String>,
    tool: String,
    strategy: String,
    #[serde(default)]
    key_fields: Option<Vec<String>>,
    algorithm: String,
    include_user: bool,
    include_session: bool,
    context: CaseContext,
    #[serde(default)]
    window: Option<u64>,
    #[serde(default)]
    now: Option<u64>,
    args: Value,
    #[serde(default)]
    canonical: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseContext {
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    session: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomCase {
    name: String,
    #[serde(default)]
    note: Option<String>,
    key: String,
    #[serde(default)]
    error: Option<String>,
}

/// What a case expects.
enum Expected<'a> {
    Key { canonical: &'a str, key: &'a str },
    Error(&'a str),
}

impl Case {
    fn expected(&self) -> Expected<'_> {
        match (&self.canonical, &self.key, &self.error) {
            (Some(canonical), Some(key), None) => Expected::Key { canonical, key },
            (None, None, Some(error)) => Expected::Error(error),
            _ => panic!(
                "case `{}`: a case has either `canonical` and `key`, or `error`",
                self.name
            ),
        }
    }

    fn context(&self) -> Context {
        let mut context = Context::new();
        if let Some(tenant) = &self.context.tenant {
            context = context.with_tenant(tenant);
        }
        if let Some(user) = &self.context.user {
            context = context.with_user(user);
        }
        if let Some(session) = &self.context.session {
            context = context.with_session(session);
        }
        context
    }

    fn algorithm(&self) -> Algorithm {
        self.algorithm
            .parse()
            .unwrap_or_else(|e| panic!("case `{}`: {e}", self.name))
    }

    /// The strategy the case describes, with its window on a manual clock.
    fn strategy(&self) -> Box<dyn KeyStrategy> {
        let window = match (self.window, self.now) {
            (Some(seconds), Some(now)) => Some(
                Window::from_secs(seconds)
                    .unwrap_or_else(|e| panic!("case `{}`: {e}", self.name))
                    .with_clock(Arc::new(ManualClock::at_unix_seconds(now))),
            ),
            (None, None) => None,
            _ => panic!("case `{}`: `window` and `now` go together", self.name),
        };
        // `default` and `fields` have a fixed digest and context: the file states them anyway,
        // and they must be the fixed ones.
        let fixed = |algorithm: &str, user: bool, session: bool| {
            assert_eq!(
                (
                    self.algorithm.as_str(),
                    self.include_user,
                    self.include_session
                ),
                (algorithm, user, session),
                "case `{}`: strategy `{}` always uses {algorithm}, include_user {user}, \
                 include_session {session}",
                self.name,
                self.strategy
            );
        };
        match self.strategy.as_str() {
            "default" => {
                fixed("sha256", true, true);
                let strategy = DefaultStrategy::new();
                Box::new(match window {
                    Some(window) => strategy.with_window(window),
                    None => strategy,
                })
            }
            "fields" => {
                fixed("sha256", false, false);
                let strategy = FieldsStrategy::new();
                Box::new(match window {
                    Some(window) => strategy.with_window(window),
                    None => strategy,
                })
            }
            "hash" => {
                let strategy = HashStrategy::new()
                    .algorithm(self.algorithm())
                    .include_user(self.include_user)
                    .include_session(self.include_session);
                Box::new(match window {
                    Some(window) => strategy.with_window(window),
                    None => strategy,
                })
            }
            other => panic!("case `{}`: unknown strategy `{other}`", self.name),
        }
    }

    /// The canonical bytes and the key idem-core computes for this case.
    fn compute(&self) -> Result<(Vec<u8>, IdempotencyKey), KeyError> {
        let strategy = self.strategy();
        let context = self.context();
        let args = JsonArgs::new(&self.args)?;
        let mut input = KeyInput::new(&self.tool, &args, &context);
        if let Some(key_fields) = &self.key_fields {
            input = input.with_key_fields(key_fields);
        }
        let canonical = strategy
            .canonical_bytes(&input)
            .unwrap_or_else(|| panic!("case `{}`: the strategy has no canonical bytes", self.name));
        let key = strategy.key(&input);
        match (canonical, key) {
            (Ok(canonical), Ok(key)) => Ok((canonical, key)),
            (Err(a), Err(b)) => {
                assert_eq!(
                    error_kind(&a),
                    error_kind(&b),
                    "case `{}`: canonical_bytes and key fail differently: {a} / {b}",
                    self.name
                );
                Err(b)
            }
            (canonical, key) => panic!(
                "case `{}`: canonical_bytes and key disagree: {canonical:?} / {key:?}",
                self.name
            ),
        }
    }
}

/// The name of an error kind in the vectors file.
fn error_kind(error: &KeyError) -> String {
    match error {
        KeyError::MissingKeyField { .. } => "missing_key_field".into(),
        KeyError::EmptyKeyField { .. } => "empty_key_field".into(),
        KeyError::NoKeyFields { .. } => "no_key_fields".into(),
        KeyError::ArgumentsNotObject { .. } => "arguments_not_object".into(),
        KeyError::EmptyToolId => "empty_tool_id".into(),
        KeyError::InvalidCustomKey { .. } => "invalid_custom_key".into(),
        other => format!("unexpected error: {other}"),
    }
}

/// The lowercase hex digest of `bytes`, computed here with `sha2` rather than by idem-core.
fn hex_digest(algorithm: Algorithm, bytes: &[u8]) -> String {
    match algorithm {
        Algorithm::Sha256 => hex::encode(Sha256::digest(bytes)),
        Algorithm::Sha384 => hex::encode(Sha384::digest(bytes)),
        Algorithm::Sha512 => hex::encode(Sha512::digest(bytes)),
    }
}

/// Checks one case; returns a description of every mismatch.
fn check_case(case: &Case) -> Vec<String> {
    let mut failures = Vec::new();
    let mut fail = |what: String| failures.push(format!("case `{}`: {what}", case.name));
    match (case.expected(), case.compute()) {
        (Expected::Key { canonical, key }, Ok((bytes, actual_key))) => {
            if bytes != canonical.as_bytes() {
                fail(format!(
                    "canonical bytes differ\n  expected: {canonical}\n  actual:   {}",
                    String::from_utf8_lossy(&bytes)
                ));
            }
            if actual_key.as_str() != key {
                fail(format!(
                    "key differs\n  expected: {key}\n  actual:   {actual_key}"
                ));
            }
            // The key is the digest of the expected canonical bytes, independently of idem-core.
            let digest = hex_digest(case.algorithm(), canonical.as_bytes());
            if digest != key {
                fail(format!(
                    "the file's key is not the {} digest of its canonical text: {digest}",
                    case.algorithm
                ));
            }
            if !actual_key.is_digest() || key.len() != case.algorithm().hex_len() {
                fail(format!(
                    "key `{key}` is not a {} hex digest",
                    case.algorithm
                ));
            }
        }
        (Expected::Key { .. }, Err(error)) => fail(format!("expected a key, got error: {error}")),
        (Expected::Error(kind), Ok((bytes, key))) => fail(format!(
            "expected error `{kind}`, got key {key} of {}",
            String::from_utf8_lossy(&bytes)
        )),
        (Expected::Error(kind), Err(error)) => {
            let actual = error_kind(&error);
            if actual != kind {
                fail(format!("expected error `{kind}`, got `{actual}` ({error})"));
            }
        }
    }
    failures
}

fn load() -> VectorFile {
    let file: VectorFile = serde_json::from_str(VECTORS)
        .expect("tests/vectors/keys-v1.json is not a valid vector file");
    assert_eq!(file.version, 1, "keys-v1.json must be format version 1");
    assert!(!file.format.is_empty() && !file.description.is_empty());
    assert_eq!(file.specification, "docs/key-format.md");
    file
}

#[test]
fn golden_vectors_v1() {
    let file = load();
    assert!(
        file.cases.len() >= MIN_CASES,
        "keys-v1.json has {} cases, fewer than {MIN_CASES}: the test would prove little",
        file.cases.len()
    );
    let mut names = BTreeSet::new();
    for case in &file.cases {
        assert!(
            names.insert(&case.name),
            "case name `{}` appears twice",
            case.name
        );
        assert!(
            case.note.as_deref().is_none_or(|n| !n.is_empty()),
            "case `{}`: empty note",
            case.name
        );
    }

    let failures: Vec<String> = file.cases.iter().flat_map(check_case).collect();
    if !failures.is_empty() {
        let mut report = format!(
            "{} of {} golden cases of key format v1 failed:\n",
            failures.len(),
            file.cases.len()
        );
        for failure in &failures {
            let _ = writeln!(report, "- {failure}");
        }
        panic!("{report}");
    }
}

/// The file covers what the specification promises to pin down, so that a case removed by
/// mistake does not go unnoticed.
#[test]
fn golden_vectors_cover_the_format() {
    let file = load();
    let cases = &file.cases;
    let has = |what: &str, pred: &dyn Fn(&Case) -> bool| {
        assert!(
            cases.iter().any(pred),
            "keys-v1.json has no case with {what}"
        );
    };
    for strategy in ["default", "fields", "hash"] {
        has(strategy, &|c| c.strategy == strategy && c.error.is_none());
    }
    for algorithm in ["sha256", "sha384", "sha512"] {
        has(algorithm, &|c| {
            c.strategy == "hash" && c.algorithm == algorithm && c.error.is_none()
        });
    }
    for tenant in [false, true] {
        for user in [false, true] {
            for session in [false, true] {
                has("this context combination", &|c| {
                    c.strategy == "default"
                        && c.context.tenant.is_some() == tenant
                        && c.context.user.is_some() == user
                        && c.context.session.is_some() == session
                });
            }
        }
    }
    for user in [false, true] {
        for session in [false, true] {
            has("these hash flags", &|c| {
                c.strategy == "hash" && c.include_user == user && c.include_session == session
            });
        }
    }
    has("a window", &|c| c.window.is_some() && c.error.is_none());
    for kind in [
        "missing_key_field",
        "empty_key_field",
        "no_key_fields",
        "arguments_not_object",
    ] {
        has(kind, &|c| c.error.as_deref() == Some(kind));
    }
    for needle in [
        "\\\"",
        "\\\\",
        "\\b",
        "\\t",
        "\\n",
        "\\f",
        "\\r",
        "\\u0000",
        "\\u001f",
        "\u{7f}",
        "é",
        "東京",
        "😀",
        "\u{e000}",
        "9007199254740991",
        "9007199254740992",
        "18446744073709551615",
        "-9223372036854775808",
        "1e+21",
        "1e-7",
        "333333333.3333333",
        "5e-324",
        "1.7976931348623157e+308",
        "0.1",
        "\"args\":{}",
    ] {
        has(&format!("`{needle}` in its canonical text"), &|c| {
            c.canonical.as_deref().is_some_and(|s| s.contains(needle))
        });
    }
    // The issue's example, byte for byte.
    has("the design document's payment example", &|c| {
        c.canonical.as_deref()
            == Some(r#"{"args":{"transaction_id":"txn-0001"},"tool":"payment-processor-v1","v":1}"#)
    });
}

/// `default` is `hash` with SHA-256 and both contexts on: for every `hash` case with those
/// settings, the default strategy gives the same key.
#[test]
fn default_equals_hash_sha256_with_both_contexts() {
    let file = load();
    let mut checked = 0;
    for case in file.cases.iter().filter(|c| {
        c.strategy == "hash"
            && c.algorithm == "sha256"
            && c.include_user
            && c.include_session
            && c.error.is_none()
    }) {
        let context = case.context();
        let args = JsonArgs::new(&case.args).unwrap();
        let mut input = KeyInput::new(&case.tool, &args, &context);
        if let Some(key_fields) = &case.key_fields {
            input = input.with_key_fields(key_fields);
        }
        let mut strategy = DefaultStrategy::new();
        if let (Some(seconds), Some(now)) = (case.window, case.now) {
            strategy = strategy.with_window(
                Window::from_secs(seconds)
                    .unwrap()
                    .with_clock(Arc::new(ManualClock::at_unix_seconds(now))),
            );
        }
        let key = strategy
            .key(&input)
            .unwrap_or_else(|e| panic!("case `{}`: {e}", case.name));
        assert_eq!(
            Some(key.as_str()),
            case.key.as_deref(),
            "case `{}`: default and hash(sha256, user, session) disagree",
            case.name
        );
        checked += 1;
    }
    assert!(
        checked >= 2,
        "only {checked} cases compare default with hash"
    );
}

/// Custom keys are used as they are once they pass the rules: 1 to 255 bytes, no control
/// character.
#[test]
fn custom_key_validation() {
    let file = load();
    assert!(file.custom_keys.len() >= 5);
    let mut failures = Vec::new();
    for case in &file.custom_keys {
        match (
            IdempotencyKey::custom(case.key.clone()),
            case.error.as_deref(),
        ) {
            (Ok(key), None) => {
                if key.as_str() != case.key {
                    failures.push(format!("custom key `{}`: changed to {key}", case.name));
                }
            }
            (Ok(key), Some(kind)) => failures.push(format!(
                "custom key `{}`: expected error `{kind}`, got the key {key:?}",
                case.name
            )),
            (Err(error), None) => failures.push(format!(
                "custom key `{}`: expected a key, got error: {error}",
                case.name
            )),
            (Err(error), Some(kind)) => {
                if error_kind(&error) != kind {
                    failures.push(format!(
                        "custom key `{}`: expected error `{kind}`, got {error}",
                        case.name
                    ));
                }
            }
        }
        if case.note.as_deref() == Some("") {
            failures.push(format!("custom key `{}`: empty note", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
