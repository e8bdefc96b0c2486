//! The `idem` command as a library: its clap definition and subcommands.
//!
//! `main.rs` is one call to [`main`]. The library exists so that the fuzz target
//! `fuzz/fuzz_targets/cli_args.rs` can drive the very parser and key computation the binary
//! runs, through [`fuzz_command_line`]; it is not a public API (`doc = false`, `doctest = false`).
//!
//! One module per subcommand (`key_command` for `idem key`, `store_command` for `idem store`),
//! and [`error::CliError`] for every failure, printed as one `idem: error: ...` line.

mod error;
mod key_command;
mod store_command;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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

/// The `idem` command: parses the process's arguments, runs the subcommand, prints an error
/// as one line on stderr and returns the exit code.
pub fn main() -> ExitCode {
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

/// What [`fuzz_command_line`] did with one command line.
#[doc(hidden)]
#[derive(Debug)]
pub enum FuzzRun {
    /// clap refused the command line (or it asked for help or the version): the rendered
    /// message.
    Usage(String),
    /// `idem key ... --args JSON` ran: the key was printed on stdout, or this error line (and
    /// exit code) would have been printed.
    Key(Result<(), (String, ExitCode)>),
    /// A command that reads stdin (`idem key` without `--args`) or opens a store
    /// (`idem store ...`): parsed only.
    NotRun,
}

/// Parses `argv` (the program name first) exactly as the `idem` binary does and, when it is
/// `idem key` with `--args`, runs the key computation as the binary does, which prints the key
/// on stdout (fuzzers run with stdout closed: libFuzzer's `-close_fd_mask=1`).
///
/// Nothing else is touched: stdin is never read and no store is opened, so any input is safe
/// to run. Only for the fuzz target `cli_args` and its regression tests.
#[doc(hidden)]
pub fn fuzz_command_line<I, T>(argv: I) -> FuzzRun
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = match Cli::command().try_get_matches_from(argv) {
        Ok(matches) => matches,
        Err(err) => return FuzzRun::Usage(err.render().to_string()),
    };
    // `--args` is checked on the matches: the fields of `KeyArgs` belong to `key_command`.
    let has_args = matches
        .subcommand_matches("key")
        .is_some_and(|key| key.contains_id("args"));
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => return FuzzRun::Usage(err.render().to_string()),
    };
    match &cli.command {
        Command::Key(args) if has_args => {
            FuzzRun::Key(key_command::run(args).map_err(|err| (err.one_line(), err.exit_code())))
        }
        Command::Key(_) | Command::Store(_) => FuzzRun::NotRun,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn fuzz_entry_runs_only_key_with_args() {
        let key = ["idem", "key", "--tool", "t-v1", "--args", "{}"];
        assert!(matches!(fuzz_command_line(key), FuzzRun::Key(Ok(()))));
        let stdin = ["idem", "key", "--tool", "t-v1"];
        assert!(matches!(fuzz_command_line(stdin), FuzzRun::NotRun));
        let store = ["idem", "store", "--redb", "/nonexistent/idem.redb", "list"];
        assert!(matches!(fuzz_command_line(store), FuzzRun::NotRun));
        let unknown = ["idem", "key", "--nope"];
        assert!(matches!(fuzz_command_line(unknown), FuzzRun::Usage(_)));
        let bad_json = ["idem", "key", "--tool", "t-v1", "--args", "{"];
        assert!(matches!(fuzz_command_line(bad_json), FuzzRun::Key(Err(_))));
    }
}
