//! Compile-fail tests of `#[derive(Idempotent)]` and `#[derive(Canonical)]`: every mistake in the
//! attributes must be a compile error that names the attribute, says what to do, and points at
//! the token at fault. `tests/ui/executor/` holds the mistakes in calling the executor (an output
//! it cannot store), each reported with idem's own message rather than serde's internals.
//!
//! One case per diagnostic under `tests/ui/<area>/`, each with the expected `.stderr` beside it.
//! After a deliberate change of a message, regenerate with
//! `TRYBUILD=overwrite cargo test --test compiletest` and review every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
