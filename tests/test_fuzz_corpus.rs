//! The committed inputs of the fuzz targets `canonical`, `json_args` and `record_decode`, replayed
//! on the stable toolchain by the ordinary test suite.
//!
//! `fuzz/` (cargo-fuzz, nightly) is not a member of the workspace, but its checks are plain
//! functions in `fuzz/src/`, included here with `#[path]`: every seed of `fuzz/corpus/<target>/`
//! and every crash kept in `fuzz/regressions/<target>/` runs through the very check the fuzzer
//! runs. (`cli_args` is replayed by `idem-cli/tests/fuzz_corpus.rs`, where `idem_cli` is.)

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/canonical.rs"]
mod canonical;
#[path = "../fuzz/src/json_args.rs"]
mod json_args;
#[path = "../fuzz/src/record_decode.rs"]
mod record_decode;
#[path = "../fuzz/src/replay.rs"]
mod replay;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn canonical_inputs_pass() {
    replay::replay(&fuzz_dir(), "canonical", canonical::check);
}

#[test]
fn json_args_inputs_pass() {
    replay::replay(&fuzz_dir(), "json_args", json_args::check);
}

#[test]
fn record_decode_inputs_pass() {
    replay::replay(&fuzz_dir(), "record_decode", record_decode::check);
}
