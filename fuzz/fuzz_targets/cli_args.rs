//! Fuzz target `cli_args`: the check is [`idem_fuzz::cli_args::check`], shared with the replay tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idem_fuzz::cli_args::check(data));
