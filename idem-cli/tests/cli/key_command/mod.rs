//! What the `idem key` tests share: the design document's payment, and running the binary.

mod bad_input;
mod keys;

use sha2::{Digest, Sha256, Sha384, Sha512};

pub(super) use crate::run::idem;

/// The design document's payment example.
pub(super) const PAYMENT_ARGS: &str =
    r#"{"transaction_id":"txn-0001","customer_id":"c-1","amount":10.5,"currency":"EUR"}"#;
/// Its canonical envelope under `--strategy fields --fields transaction_id`.
pub(super) const PAYMENT_CANONICAL: &str =
    r#"{"args":{"transaction_id":"txn-0001"},"tool":"payment-processor-v1","v":1}"#;
/// `printf %s "$PAYMENT_CANONICAL" | sha256sum`, checked by hand.
pub(super) const PAYMENT_KEY: &str =
    "fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b";
pub(super) const PAYMENT_FLAGS: [&str; 7] = [
    "key",
    "--tool",
    "payment-processor-v1",
    "--strategy",
    "fields",
    "--fields",
    "transaction_id",
];

/// `idem ARGS` that must succeed; returns its stdout.
pub(super) fn ok(args: &[&str], stdin: Option<&str>) -> String {
    idem(args, stdin).succeeded(&args)
}

/// The key printed by `idem ARGS` (without `--explain`).
pub(super) fn key(args: &[&str]) -> String {
    let stdout = ok(args, None);
    let key = stdout
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{args:?}: no final newline in {stdout:?}"));
    assert!(
        !key.contains('\n'),
        "{args:?}: more than one line: {stdout:?}"
    );
    key.to_owned()
}

/// The canonical bytes and key printed by `idem ARGS --explain`.
pub(super) fn explain(args: &[&str]) -> (String, String) {
    let args: Vec<&str> = args.iter().copied().chain(["--explain"]).collect();
    let stdout = ok(&args, None);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{args:?}: {stdout:?}");
    let canonical = lines[0]
        .strip_prefix("canonical: ")
        .unwrap_or_else(|| panic!("first line is not `canonical: ...`: {stdout:?}"));
    let key = lines[1]
        .strip_prefix("key: ")
        .unwrap_or_else(|| panic!("second line is not `key: ...`: {stdout:?}"));
    (canonical.to_owned(), key.to_owned())
}

/// The key printed by `idem FLAGS --args JSON`.
pub(super) fn key_with_args(flags: &[&str], json: &str) -> String {
    key(&with_args(flags, json))
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn is_lower_hex(key: &str, len: usize) -> bool {
    key.len() == len && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(super) fn with_args<'a>(flags: &[&'a str], json: &'a str) -> Vec<&'a str> {
    flags.iter().copied().chain(["--args", json]).collect()
}

/// `idem ARGS` that must fail with exit code 2; returns its one line of stderr.
pub(super) fn bad_input(args: &[&str], stdin: Option<&str>) -> String {
    let run = idem(args, stdin);
    assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
    assert_eq!(run.stdout, "", "{args:?}: printed a key");
    run.stderr
        .strip_suffix('\n')
        .filter(|line| !line.contains('\n'))
        .unwrap_or_else(|| panic!("{args:?}: not one line on stderr: {run:?}"))
        .to_owned()
}
