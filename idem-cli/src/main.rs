//! `idem`: compute and explain idempotency keys from the command line, so that people working in
//! other languages and on-call engineers can check a key.
//!
//! This file is only the entry point: one module per subcommand (`key_command` for `idem key`,
//! `store_command` for `idem store`), and [`error::CliError`] for every failure, printed as one
//! `idem: error: ...` line.

mod error;
mod key_command;
mod store_command;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Idempotency keys for tool calls: compute and explain them.
#[derive(Debug, Parser)]
#[command(name = "idem", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once per process: the size of the enum does not matter"
)]
enum Command {
    /// Print the idempotency key of one tool call (key format v1)
    Key(key_command::KeyArgs),
    /// List, show and purge the records of a store (for operators)
    Store(store_command::StoreCommandArgs),
}

fn main() -> ExitCode {
    // clap prints help and version with exit code 0, and usage errors (an unknown flag, a
    // missing --tool) with exit code 2, the code of every other bad input.
    let cli = Cli::parse();
    let result: Result<(), CliError> = match &cli.command {
        Command::Key(args) => key_command::run(args),
        Command::Store(args) => store_command::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Nothing more can be done if stderr itself is gone.
            let _ = writeln!(std::io::stderr(), "idem: error: {}", err.one_line());
            err.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }
}
