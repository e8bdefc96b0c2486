//! idem's canonical encoder against the reference test data of RFC 8785 (JSON Canonicalization
//! Scheme), copied in `tests/vectors/rfc8785/` (Apache-2.0, see its README.md and LICENSE).
//!
//! For every `input/NAME.json`: parse it with serde_json, write it with
//! [`Canonical::to_canonical_vec`] on the `serde_json::Value`, and compare with the bytes of
//! `output/NAME.json` and with the hex bytes of `outhex/NAME.txt`. Every file is checked: none
//! is skipped and none is allowed to fail.
//!
//! Why serde_json loses nothing here:
//! - Numbers. The inputs hold no integer beyond ±(2^53 − 1), so key format v1's big-integer
//!   extension (exact digits instead of the nearest double) never applies, and every other number
//!   becomes an `f64`, as in ECMAScript. One input needs care: `values.json` has
//!   `333333333.33333329`, 17 significant digits, whose correctly rounded double is
//!   `0x41B3DE4355555555` (written `333333333.3333333`). serde_json rounds it correctly only with
//!   its `float_roundtrip` feature; without it, it parses the neighbouring double
//!   `0x41B3DE4355555554` (written `333333333.33333325`) and this test fails. In this test build
//!   the feature is on (Cargo unifies features, and the dev-dependency
//!   `serde_json_canonicalizer` enables it); `parser_rounds_long_decimals_correctly` below checks
//!   that, so that a missing feature is reported as such and not as an encoder bug.
//! - Strings. serde_json decodes every escape (`\u20ac`, `\/`, the surrogate pair
//!   `\ud83d\ude02`) to the same Unicode scalar values that RFC 8785 canonicalizes; the inputs
//!   hold no lone surrogate (which serde_json would reject and RFC 8785 forbids).
//! - Objects. No input repeats a member name (serde_json would keep the last one; RFC 8785
//!   requires unique names), and member order in the input does not matter: the encoder sorts
//!   by UTF-16 code units.

use std::fs;
use std::path::{Path, PathBuf};

use idem_core::canonical::Canonical;
use serde_json::Value;

/// The reference files: every one must be present and checked.
const EXPECTED_CASES: [&str; 6] = [
    "arrays",
    "french",
    "structures",
    "unicode",
    "values",
    "weird",
];

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rfc8785")
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The file names (without extension) of a directory, sorted.
fn stems(dir: &Path, extension: &str) -> Vec<String> {
    let mut stems: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .map(|path| {
            path.file_stem()
                .and_then(|stem| stem.to_str())
                .expect("UTF-8 file name")
                .to_owned()
        })
        .collect();
    stems.sort();
    stems
}

/// `outhex/NAME.txt`: bytes as two-digit hex numbers separated by white space.
fn parse_outhex(text: &str, name: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|byte| {
            u8::from_str_radix(byte, 16)
                .unwrap_or_else(|e| panic!("outhex/{name}.txt: `{byte}` is not a hex byte: {e}"))
        })
        .collect()
}

/// Canonicalizes `input/NAME.json`; returns the failures, empty when it matches both
/// `output/NAME.json` and `outhex/NAME.txt`.
fn check(name: &str) -> Vec<String> {
    let dir = vectors_dir();
    let input = read(&dir.join(format!("input/{name}.json")));
    let expected = read(&dir.join(format!("output/{name}.json")));
    let hex_text = String::from_utf8(read(&dir.join(format!("outhex/{name}.txt"))))
        .unwrap_or_else(|e| panic!("outhex/{name}.txt is not UTF-8: {e}"));
    let expected_hex = parse_outhex(&hex_text, name);

    let mut failures = Vec::new();
    if expected_hex != expected {
        failures.push(format!(
            "{name}: output/{name}.json and outhex/{name}.txt disagree (corrupt test data)"
        ));
    }
    let value: Value = match serde_json::from_slice(&input) {
        Ok(value) => value,
        Err(e) => {
            failures.push(format!("{name}: serde_json cannot parse the input: {e}"));
            return failures;
        }
    };
    let actual = match value.to_canonical_vec() {
        Ok(bytes) => bytes,
        Err(e) => {
            failures.push(format!("{name}: no canonical form: {e}"));
            return failures;
        }
    };
    if actual != expected {
        let position = actual
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(actual.len().min(expected.len()));
        failures.push(format!(
            "{name}: canonical bytes differ from byte {position}\n  expected: {}\n  actual:   {}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(&actual),
        ));
    }
    if actual != expected_hex {
        failures.push(format!(
            "{name}: canonical bytes differ from outhex/{name}.txt"
        ));
    }
    failures
}

#[test]
fn every_reference_file_is_present() {
    let dir = vectors_dir();
    let expected: Vec<String> = EXPECTED_CASES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(stems(&dir.join("input"), "json"), expected, "input/");
    assert_eq!(stems(&dir.join("output"), "json"), expected, "output/");
    assert_eq!(stems(&dir.join("outhex"), "txt"), expected, "outhex/");
    for file in ["LICENSE", "README.md", "SOURCE-README.md"] {
        assert!(
            dir.join(file).is_file(),
            "tests/vectors/rfc8785/{file} is missing"
        );
    }
}

#[test]
fn reference_vectors_canonicalize_exactly() {
    let names = stems(&vectors_dir().join("input"), "json");
    assert!(
        names.len() >= EXPECTED_CASES.len(),
        "only {} input files in tests/vectors/rfc8785/input",
        names.len()
    );
    let failures: Vec<String> = names.iter().flat_map(|name| check(name)).collect();
    assert!(
        failures.is_empty(),
        "{} RFC 8785 reference failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Each reference file on its own, so that a failure names the file in the test list too.
mod each {
    macro_rules! reference_case {
        ($($name:ident)*) => {$(
            #[test]
            fn $name() {
                let failures = super::check(stringify!($name));
                assert!(failures.is_empty(), "{}", failures.join("\n"));
            }
        )*};
    }
    reference_case!(arrays french structures unicode values weird);
}

/// The precondition of `values.json` (see the module comment): the JSON parser must round a
/// 17-digit decimal to the nearest double. If this fails, serde_json's `float_roundtrip` feature
/// is off in this build, and `values.json` fails for that reason alone.
#[test]
fn parser_rounds_long_decimals_correctly() {
    let parsed: f64 = serde_json::from_str("333333333.33333329").unwrap();
    assert_eq!(
        parsed.to_bits(),
        0x41B3_DE43_5555_5555,
        "serde_json parsed 333333333.33333329 as {parsed:?}; enable its `float_roundtrip` feature"
    );
    assert_eq!(parsed, "333333333.33333329".parse::<f64>().unwrap());
}
