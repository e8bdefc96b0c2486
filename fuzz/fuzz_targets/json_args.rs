//! Fuzz target `json_args`: the check is [`idem_fuzz::json_args::check`], shared with the replay tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idem_fuzz::json_args::check(data));
