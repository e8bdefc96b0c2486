//! Keys as documented: the payment's key, explained canonical bytes, algorithms, strategies,
//! windows.

use super::*;

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
