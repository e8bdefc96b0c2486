//! End-to-end tests of the `idem` binary: what people in other languages and on-call engineers
//! see when they check a key.

use std::io::{ErrorKind, Write};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256, Sha384, Sha512};

/// The design document's payment example.
const PAYMENT_ARGS: &str =
    r#"{"transaction_id":"txn-0001","customer_id":"c-1","amount":10.5,"currency":"EUR"}"#;
/// Its canonical envelope under `--strategy fields --fields transaction_id`.
const PAYMENT_CANONICAL: &str =
    r#"{"args":{"transaction_id":"txn-0001"},"tool":"payment-processor-v1","v":1}"#;
/// `printf %s "$PAYMENT_CANONICAL" | sha256sum`, checked by hand.
const PAYMENT_KEY: &str = "fb5f9548c85a45ebea520fad031352eede67603dbeeea9880d4f8192282e5d7b";
const PAYMENT_FLAGS: [&str; 7] = [
    "key",
    "--tool",
    "payment-processor-v1",
    "--strategy",
    "fields",
    "--fields",
    "transaction_id",
];

/// What one run of `idem` did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `idem` with these arguments and, when given, this text on stdin (otherwise stdin is
/// empty).
fn idem(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idem"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the idem binary starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        // idem may exit before reading stdin (a wrong flag is reported first): a broken pipe
        // is then expected. Dropping the pipe closes stdin.
        if let Err(err) = pipe.write_all(text.as_bytes()) {
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "writing stdin: {err}");
        }
    }
    let output = child.wait_with_output().expect("idem finishes");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// `idem ARGS` that must succeed; returns its stdout.
fn ok(args: &[&str], stdin: Option<&str>) -> String {
    let run = idem(args, stdin);
    assert_eq!(run.code, Some(0), "{args:?} failed: {run:?}");
    assert_eq!(run.stderr, "", "{args:?} wrote to stderr");
    run.stdout
}

/// The key printed by `idem ARGS` (without `--explain`).
fn key(args: &[&str]) -> String {
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
fn explain(args: &[&str]) -> (String, String) {
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
fn key_with_args(flags: &[&str], json: &str) -> String {
    key(&with_args(flags, json))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_lower_hex(key: &str, len: usize) -> bool {
    key.len() == len && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn with_args<'a>(flags: &[&'a str], json: &'a str) -> Vec<&'a str> {
    flags.iter().copied().chain(["--args", json]).collect()
}

#[test]
fn payment_example_prints_the_documented_key() {
    // The hard-coded hex and the digest of the literal canonical bytes agree.
    assert_eq!(hex(&Sha256::digest(PAYMENT_CANONICAL)), PAYMENT_KEY);
    let stdout = ok(&with_args(&PAYMENT_FLAGS, PAYMENT_ARGS), None);
    assert_eq!(stdout, format!("{PAYMENT_KEY}\n"));
}

#[test]
fn explain_prints_the_canonical_bytes_then_the_key() {
    let args: Vec<&str> = with_args(&PAYMENT_FLAGS, PAYMENT_ARGS)
        .into_iter()
        .chain(["--explain"])
        .collect();
    let stdout = ok(&args, None);
    assert_eq!(
        stdout,
        format!("canonical: {PAYMENT_CANONICAL}\nkey: {PAYMENT_KEY}\n")
    );
}

#[test]
fn args_from_stdin_give_the_same_key() {
    let stdout = ok(&PAYMENT_FLAGS, Some(PAYMENT_ARGS));
    assert_eq!(stdout, format!("{PAYMENT_KEY}\n"));
    // Pretty-printed JSON with a final newline, as `jq` or a file would give it.
    let pretty = "{\n  \"currency\": \"EUR\",\n  \"transaction_id\": \"txn-0001\"\n}\n";
    assert_eq!(ok(&PAYMENT_FLAGS, Some(pretty)), format!("{PAYMENT_KEY}\n"));
}

#[test]
fn explained_canonical_bytes_hash_to_the_key() {
    let user_args = r#"{"query":"weather in Paris","page":2,"tags":["a","b"]}"#;
    /// Flags, and the digest their key is made with.
    type Case = (Vec<&'static str>, fn(&[u8]) -> String);
    let cases: Vec<Case> = vec![
        (
            vec![
                "key",
                "--tool",
                "search-v1",
                "--user",
                "alice",
                "--session",
                "s-1",
                "--tenant",
                "acme",
            ],
            |b| hex(&Sha256::digest(b)),
        ),
        (
            vec![
                "key",
                "--tool",
                "secure-v1",
                "--strategy",
                "hash",
                "--algorithm",
                "sha384",
                "--include-session",
                "true",
                "--session",
                "s-2",
            ],
            |b| hex(&Sha384::digest(b)),
        ),
        (
            vec![
                "key",
                "--tool",
                "secure-v1",
                "--strategy",
                "hash",
                "--algorithm",
                "sha512",
                "--window",
                "3600",
                "--now",
                "1700000000",
            ],
            |b| hex(&Sha512::digest(b)),
        ),
    ];
    for (flags, digest) in cases {
        let (canonical, key) = explain(&with_args(&flags, user_args));
        assert_eq!(digest(canonical.as_bytes()), key, "{flags:?}");
        // --explain prints the same key as the plain command.
        assert_eq!(key_with_args(&flags, user_args), key, "{flags:?}");
    }
}

#[test]
fn canonical_bytes_follow_rfc_8785() {
    let (canonical, _) = explain(&[
        "key",
        "--tool",
        "t",
        "--tenant",
        "acme",
        "--args",
        r#"{"é":1.0,"b":[true,null,"x\ny"],"a":1e2,"amount":10.50}"#,
    ]);
    assert_eq!(
        canonical,
        r#"{"args":{"a":100,"amount":10.5,"b":[true,null,"x\ny"],"é":1},"session":null,"tenant":"acme","tool":"t","user":null,"v":1}"#
    );
}

#[test]
fn hash_algorithms_give_their_lengths() {
    let base = ["key", "--tool", "t", "--strategy", "hash", "--algorithm"];
    for (algorithm, len) in [("sha256", 64), ("sha384", 96), ("sha512", 128)] {
        let flags: Vec<&str> = base.iter().copied().chain([algorithm]).collect();
        let key = key_with_args(&flags, r#"{"a":1}"#);
        assert!(is_lower_hex(&key, len), "{algorithm}: {key}");
    }
    let default = key_with_args(&["key", "--tool", "t"], r#"{"a":1}"#);
    assert!(is_lower_hex(&default, 64), "{default}");
}

#[test]
fn hash_defaults_are_sha256_user_on_session_off() {
    let who = ["--user", "alice", "--session", "s-1"];
    let implicit: Vec<&str> = ["key", "--tool", "t", "--strategy", "hash"]
        .into_iter()
        .chain(who)
        .collect();
    let explicit: Vec<&str> = implicit
        .iter()
        .copied()
        .chain([
            "--algorithm",
            "sha256",
            "--include-user",
            "true",
            "--include-session",
            "false",
        ])
        .collect();
    let (canonical, key) = explain(&with_args(&implicit, "{}"));
    assert_eq!(canonical, r#"{"args":{},"tool":"t","user":"alice","v":1}"#);
    assert_eq!(key_with_args(&explicit, "{}"), key);

    // With the session on too, hash is the default strategy.
    let default: Vec<&str> = ["key", "--tool", "t"].into_iter().chain(who).collect();
    let both: Vec<&str> = implicit
        .iter()
        .copied()
        .chain(["--include-session", "true"])
        .collect();
    assert_eq!(key_with_args(&both, "{}"), key_with_args(&default, "{}"));

    let (canonical, _) = explain(&with_args(
        &[
            "key",
            "--tool",
            "t",
            "--strategy",
            "hash",
            "--include-user",
            "false",
            "--user",
            "alice",
        ],
        "{}",
    ));
    assert_eq!(canonical, r#"{"args":{},"tool":"t","v":1}"#);
}

#[test]
fn fields_strategy_ignores_other_arguments_and_the_caller() {
    let plain = key_with_args(
        &PAYMENT_FLAGS,
        r#"{"transaction_id":"txn-0001","amount":1}"#,
    );
    let flags: Vec<&str> = PAYMENT_FLAGS
        .into_iter()
        .chain(["--user", "bob", "--session", "s-9"])
        .collect();
    let other = key_with_args(&flags, r#"{"transaction_id":"txn-0001","amount":2}"#);
    assert_eq!(plain, PAYMENT_KEY);
    assert_eq!(other, PAYMENT_KEY);
}

#[test]
fn window_groups_calls_by_window() {
    let at = |now: &str| {
        key_with_args(
            &["key", "--tool", "t", "--window", "60", "--now", now],
            r#"{"a":1}"#,
        )
    };
    let first = at("1700000040");
    assert_eq!(at("1700000099"), first, "same 60 s window");
    assert_ne!(at("1700000100"), first, "next window");
    assert_ne!(at("1700000039"), first, "previous window");

    let (canonical, _) = explain(&[
        "key",
        "--tool",
        "t",
        "--window",
        "60",
        "--now",
        "1700000059",
        "--args",
        "{}",
    ]);
    assert!(
        canonical.ends_with(r#""v":1,"window":1700000040}"#),
        "{canonical}"
    );

    // Without --now the system time is used.
    let now_key = key_with_args(&["key", "--tool", "t", "--window", "60"], "{}");
    assert!(is_lower_hex(&now_key, 64), "{now_key}");
}

/// Every bad input exits 2 with one line on stderr that says what to fix.
#[test]
fn bad_input_exits_2_with_one_clear_line() {
    let fields = [
        "key",
        "--tool",
        "pay-v1",
        "--strategy",
        "fields",
        "--fields",
    ];
    let cases: Vec<(Vec<&str>, Option<&str>, &[&str])> = vec![
        // invalid JSON, from --args and from stdin
        (
            vec!["key", "--tool", "t", "--args", r#"{"a":"#],
            None,
            &["--args", "not valid JSON"],
        ),
        (
            vec!["key", "--tool", "t"],
            Some("{'a': 1}"),
            &["stdin", "not valid JSON"],
        ),
        (
            vec!["key", "--tool", "t"],
            None,
            &["no arguments", "stdin is empty", "--args"],
        ),
        // arguments that are not an object
        (
            vec!["key", "--tool", "t", "--args", "[1,2]"],
            None,
            &["must be a JSON object", "an array"],
        ),
        (
            vec!["key", "--tool", "t", "--args", "-1"],
            None,
            &["must be a JSON object", "a number"],
        ),
        // key fields missing or empty
        (
            [&fields[..], &["order_id", "--args", r#"{"region":"eu"}"#]].concat(),
            None,
            &["key field `order_id` is missing", "pay-v1"],
        ),
        (
            [&fields[..], &["order_id", "--args", r#"{"order_id":""}"#]].concat(),
            None,
            &["key field `order_id`", "an empty string"],
        ),
        (
            [&fields[..], &["order_id", "--args", r#"{"order_id":null}"#]].concat(),
            None,
            &["key field `order_id`", "null"],
        ),
        (
            vec!["key", "--tool", "t", "--strategy", "fields", "--args", "{}"],
            None,
            &["--strategy fields", "--fields"],
        ),
        (
            vec!["key", "--tool", "t", "--fields", "a,,b", "--args", "{}"],
            None,
            &["--fields", "empty field name"],
        ),
        (
            vec!["key", "--tool", "", "--args", "{}"],
            None,
            &["--tool", "empty"],
        ),
        // strategy and algorithm
        (
            vec!["key", "--tool", "t", "--strategy", "custom", "--args", "{}"],
            None,
            &["unknown strategy `custom`", "default, fields, hash"],
        ),
        (
            vec![
                "key",
                "--tool",
                "t",
                "--strategy",
                "hash",
                "--algorithm",
                "md5",
                "--args",
                "{}",
            ],
            None,
            &["unknown hash algorithm `md5`", "sha256, sha384, sha512"],
        ),
        (
            vec![
                "key",
                "--tool",
                "t",
                "--algorithm",
                "sha512",
                "--args",
                "{}",
            ],
            None,
            &["--algorithm", "only applies to --strategy hash"],
        ),
        (
            [
                &fields[..],
                &["a", "--include-user", "false", "--args", "{}"],
            ]
            .concat(),
            None,
            &["--include-user", "only applies to --strategy hash"],
        ),
        (
            vec![
                "key",
                "--tool",
                "t",
                "--strategy",
                "default",
                "--include-session",
                "true",
                "--args",
                "{}",
            ],
            None,
            &["--include-session", "only applies to --strategy hash"],
        ),
        (
            vec![
                "key",
                "--tool",
                "t",
                "--strategy",
                "hash",
                "--include-user",
                "yes",
                "--args",
                "{}",
            ],
            None,
            &["--include-user", "`true` or `false`", "`yes`"],
        ),
        // window and time
        (
            vec!["key", "--tool", "t", "--now", "1700000000", "--args", "{}"],
            None,
            &["--now needs --window"],
        ),
        (
            vec!["key", "--tool", "t", "--window", "0", "--args", "{}"],
            None,
            &["--window", "at least 1 second"],
        ),
        (
            vec!["key", "--tool", "t", "--window", "1m", "--args", "{}"],
            None,
            &["--window", "whole number of seconds", "`1m`"],
        ),
        (
            vec![
                "key", "--tool", "t", "--window", "60", "--now", "-5", "--args", "{}",
            ],
            None,
            &["--now", "whole number of seconds", "`-5`"],
        ),
    ];
    for (args, stdin, expected) in cases {
        let run = idem(&args, stdin);
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert_eq!(run.stdout, "", "{args:?}: printed a key");
        let line = run
            .stderr
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("{args:?}: stderr does not end a line: {run:?}"));
        assert!(
            !line.contains('\n'),
            "{args:?}: more than one line: {line:?}"
        );
        assert!(line.starts_with("idem: error: "), "{args:?}: {line:?}");
        for part in expected {
            assert!(line.contains(part), "{args:?}: {line:?} lacks {part:?}");
        }
    }
}

#[test]
fn flag_errors_win_over_reading_stdin() {
    // A wrong flag is reported even when stdin holds valid arguments.
    let run = idem(
        &["key", "--tool", "t", "--strategy", "nope"],
        Some(r#"{"a":1}"#),
    );
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("unknown strategy"), "{run:?}");
}

#[test]
fn clap_usage_errors_exit_2() {
    for args in [
        &["key", "--args", "{}"][..],
        &["key", "--tool", "t", "--bogus"],
        &["frobnicate"],
        &[],
    ] {
        let run = idem(args, None);
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(!run.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn help_documents_the_explain_layout() {
    let run = idem(&["key", "--help"], None);
    assert_eq!(run.code, Some(0), "{run:?}");
    for part in [
        "--explain",
        "canonical: ",
        "key: ",
        "sha256sum",
        "--strategy",
        "--window",
        "Exit status",
    ] {
        assert!(run.stdout.contains(part), "help lacks {part:?}");
    }
    assert_eq!(idem(&["--version"], None).code, Some(0));
}

/// `idem ARGS` that must fail with exit code 2; returns its one line of stderr.
fn bad_input(args: &[&str], stdin: Option<&str>) -> String {
    let run = idem(args, stdin);
    assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
    assert_eq!(run.stdout, "", "{args:?}: printed a key");
    run.stderr
        .strip_suffix('\n')
        .filter(|line| !line.contains('\n'))
        .unwrap_or_else(|| panic!("{args:?}: not one line on stderr: {run:?}"))
        .to_owned()
}

#[test]
fn a_member_given_twice_is_refused_not_last_one_wins() {
    let expected = "idem: error: the arguments JSON has the member `a` twice in one object \
                    (at `/a`); member names must be unique";
    assert_eq!(
        bad_input(&["key", "--tool", "t", "--args", r#"{"a":1,"a":2}"#], None),
        expected
    );
    // The same from stdin, and in a nested object (named by its JSON pointer).
    assert_eq!(
        bad_input(&["key", "--tool", "t"], Some(r#"{"a":1,"a":2}"#)),
        expected
    );
    assert_eq!(
        bad_input(
            &[
                "key",
                "--tool",
                "t",
                "--args",
                r#"{"items":[{"id":1,"id":1}]}"#
            ],
            None
        ),
        "idem: error: the arguments JSON has the member `id` twice in one object \
         (at `/items/0/id`); member names must be unique"
    );
}

#[test]
fn integers_beyond_64_bits_are_refused_not_rounded() {
    // 2^64 and 2^64+1 are the same double: they would share a key.
    for literal in [
        "18446744073709551616",
        "18446744073709551617",
        "-9223372036854775809",
    ] {
        let json = format!(r#"{{"n":{literal}}}"#);
        assert_eq!(
            bad_input(&["key", "--tool", "t", "--args", &json], None),
            format!(
                "idem: error: the arguments JSON has the integer {literal} at `/n`, outside the \
                 64-bit range (-2^63 to 2^64-1): it would be rounded to a double; send it as a \
                 string (\"{literal}\")"
            )
        );
    }
    // The extremes of the range keep their exact digits (key format v1, section 5.4).
    let (canonical, _) = explain(&[
        "key",
        "--tool",
        "t",
        "--args",
        r#"{"max":18446744073709551615,"min":-9223372036854775808}"#,
    ]);
    assert_eq!(
        canonical,
        r#"{"args":{"max":18446744073709551615,"min":-9223372036854775808},"session":null,"tool":"t","user":null,"v":1}"#
    );
}

#[test]
fn a_value_nested_too_deep_is_refused() {
    let deep = format!(r#"{{"a":{}{}}}"#, "[".repeat(129), "]".repeat(129));
    assert_eq!(
        bad_input(&["key", "--tool", "t"], Some(&deep)),
        "idem: error: argument `a` cannot be encoded: the value nests arrays and objects more \
         than 128 levels deep"
    );
    let deepest = format!(r#"{{"a":{}{}}}"#, "[".repeat(128), "]".repeat(128));
    let (canonical, _) = explain(&["key", "--tool", "t", "--args", &deepest]);
    assert!(canonical.starts_with(&format!(r#"{{"args":{{"a":{}]"#, "[".repeat(128))));
}

#[test]
fn help_says_null_and_omitted_differ_without_a_type() {
    let run = idem(&["key", "--help"], None);
    assert_eq!(run.code, Some(0), "{run:?}");
    for part in [
        "given as null are different arguments, with different keys",
        "an omitted Option field and null are the same",
        "A member name given twice",
    ] {
        assert!(run.stdout.contains(part), "help lacks {part:?}");
    }
}
