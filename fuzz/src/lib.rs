//! The checks behind idem's fuzz targets, one module per target in `fuzz_targets/`.
//!
//! Each module has one entry point, `check(data: &[u8])`, which returns for any input that
//! keeps the module's promises and panics (a crash for libFuzzer) for any that breaks one. The
//! modules depend only on crates the idem workspace's tests have too, so the ordinary test suite
//! replays the committed corpus and regressions through the very same code on the stable
//! toolchain: `tests/test_fuzz_corpus.rs` and `idem-cli/tests/fuzz_corpus.rs` include these
//! files with `#[path]`, and [`replay`] runs them over the inputs.
//!
//! | target | input | promise |
//! |---|---|---|
//! | [`canonical`] | JSON text | idem's canonical bytes are RFC 8785's (`serde_json_canonicalizer`) where key format v1 says they are |
//! | [`json_args`] | JSON text | every built-in strategy gives a key or a typed error, the same after a serialize/parse round trip |
//! | [`record_decode`] | record bytes | `Record::decode` never panics; what it reads encodes and decodes back to itself |
//! | [`cli_args`] | argv words, separated by NUL bytes | the `idem` parser and `idem key` never panic; errors stay one line |
//!
//! Run one with `cargo +nightly fuzz run <target> fuzz/corpus/<target>` from the repository
//! root (add `-- -close_fd_mask=1` for `cli_args`, which prints keys).

pub mod canonical;
pub mod cli_args;
pub mod json_args;
pub mod record_decode;
pub mod replay;
