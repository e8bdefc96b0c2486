//! Bad input: one clear line and exit code 2, never a wrong key.

use super::*;

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
