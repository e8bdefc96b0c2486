//! `idem`: compute and explain idempotency keys from the command line, so that people working in
//! other languages and on-call engineers can check a key.
//!
//! This file is only the entry point; the command lives in the library (`src/lib.rs`), so that
//! the fuzz target `cli_args` can run the same parser.

use std::process::ExitCode;

fn main() -> ExitCode {
    idem_cli::main()
}
