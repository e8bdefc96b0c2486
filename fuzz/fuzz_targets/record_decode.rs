//! Fuzz target `record_decode`: the check is [`idem_fuzz::record_decode::check`], shared with the replay tests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idem_fuzz::record_decode::check(data));
