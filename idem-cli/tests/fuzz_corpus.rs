//! The committed inputs of the fuzz target `cli_args`, replayed on the stable toolchain by the
//! ordinary test suite: every seed of `fuzz/corpus/cli_args/` and every crash kept in
//! `fuzz/regressions/cli_args/` runs through the very check the fuzzer runs (included from
//! `fuzz/src/` with `#[path]`). The `idem key` command lines among them print their keys.

use std::path::Path;

#[path = "../../fuzz/src/cli_args.rs"]
mod cli_args;
#[path = "../../fuzz/src/replay.rs"]
mod replay;

#[test]
fn cli_args_inputs_pass() {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    replay::replay(&fuzz_dir, "cli_args", cli_args::check);
}
