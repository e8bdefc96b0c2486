//! Fuzz target `canonical`: the check is [`idem_fuzz::canonical::check`], shared with the replay tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idem_fuzz::canonical::check(data));
