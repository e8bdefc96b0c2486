//! [`CliError`]: everything that can stop a command, each with one line of text and an exit code.
//!
//! Exit codes:
//! - `2`: bad input (a flag's value, a combination of flags, the arguments JSON, a key that cannot
//!   be computed from those arguments, a store path with no store, a record that is not in the
//!   store). clap's own usage errors use `2` as well.
//! - `1`: the environment failed us (stdin could not be read, stdout could not be written, the
//!   system clock reads a time before 1970, a store could not be opened or failed).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use idem_core::store::StoreError;
use idem_core::{KeyError, UnknownAlgorithm};

/// Exit code for bad input, the same one clap uses for usage errors.
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for failures that are not the user's input.
const EXIT_FAILURE: u8 = 1;

/// Where the arguments JSON came from, so that an error can say which input to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgsOrigin {
    /// `--args JSON`.
    Flag,
    /// Standard input.
    Stdin,
}

impl fmt::Display for ArgsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArgsOrigin::Flag => "--args",
            ArgsOrigin::Stdin => "stdin",
        })
    }
}

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum CliError {
    /// `--strategy` named no built-in strategy.
    UnknownStrategy { name: String },
    /// `--algorithm` named no supported digest.
    UnknownAlgorithm(UnknownAlgorithm),
    /// An option that only the `hash` strategy reads was given with another strategy.
    HashOnlyOption {
        option: &'static str,
        strategy: &'static str,
    },
    /// A `true|false` option got something else.
    InvalidBool { option: &'static str, value: String },
    /// A numeric option got something that is not a whole number of seconds.
    InvalidSeconds { option: &'static str, value: String },
    /// `--now` beyond what a clock can represent (nanoseconds since 1970 in a `u64`).
    NowOutOfRange { value: u64, max: u64 },
    /// `--window 0`.
    ZeroWindow,
    /// `--now` without `--window`.
    NowWithoutWindow,
    /// `--strategy fields` without `--fields`.
    FieldsStrategyWithoutFields,
    /// `--fields` with an empty name in its list (`a,,b`, a trailing comma, `''`).
    EmptyFieldName,
    /// `--tool ''`.
    EmptyToolId,
    /// No `--args` and nothing usable on standard input.
    NoArguments { stdin_is_terminal: bool },
    /// The arguments are not valid JSON.
    InvalidJson {
        origin: ArgsOrigin,
        source: serde_json::Error,
    },
    /// The key could not be computed from these arguments (not an object, a missing or empty
    /// key field, ...).
    Key(KeyError),
    /// A strategy that hashes no envelope was asked for its canonical bytes (cannot happen with
    /// the built-in strategies; kept so that no `unwrap` is needed).
    NoCanonicalForm,
    /// The system clock reads a time before the Unix epoch (only without `--now`).
    ClockBeforeEpoch,
    /// Standard input could not be read.
    ReadStdin(io::Error),
    /// Standard output could not be written.
    WriteStdout(io::Error),
    /// `idem store` without a store flag (clap requires one; kept so that no `unwrap` is needed).
    NoStoreGiven,
    /// The store path names nothing: a store is never created by `idem store`.
    NoStore { path: PathBuf },
    /// The store path names something that is not a store of that kind.
    NotAStore { path: PathBuf, reason: &'static str },
    /// The store file exists but could not be read to check it.
    ReadStoreFile { path: PathBuf, source: io::Error },
    /// The store could not be opened (locked by a running service, damaged, ...).
    OpenStore { path: PathBuf, source: StoreError },
    /// A store operation failed.
    Store(StoreError),
    /// The async runtime the stores run on could not be started.
    Runtime(io::Error),
    /// `idem store get`: no record has this key.
    RecordNotFound { query: String },
    /// `idem store get`: a bare key that several records match.
    AmbiguousKey { query: String, matches: Vec<String> },
    /// `idem store purge` without `--expired` or `--all`.
    PurgeWithoutScope,
    /// A network store could not be reached or refused the connection.
    ConnectStore {
        store: &'static str,
        source: StoreError,
    },
    /// `--redis-prefix` or `--postgres-table` is not valid.
    InvalidStoreOption(String),
    /// `idem store schema` with a store that has no schema.
    SchemaNotApplicable,
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            CliError::NoCanonicalForm
            | CliError::ClockBeforeEpoch
            | CliError::ReadStdin(_)
            | CliError::WriteStdout(_)
            | CliError::ReadStoreFile { .. }
            | CliError::OpenStore { .. }
            | CliError::ConnectStore { .. }
            | CliError::Store(_)
            | CliError::Runtime(_) => ExitCode::from(EXIT_FAILURE),
            _ => ExitCode::from(EXIT_BAD_INPUT),
        }
    }

    /// The message on a single line, as printed after `idem: error: `.
    pub(crate) fn one_line(&self) -> String {
        // Every message below is one line already; this guards against a line break coming
        // from a library's message.
        self.to_string()
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::UnknownStrategy { name } => write!(
                f,
                "unknown strategy `{name}`; expected one of: default, fields, hash"
            ),
            CliError::UnknownAlgorithm(err) => write!(f, "--algorithm: {err}"),
            CliError::HashOnlyOption { option, strategy } => write!(
                f,
                "{option} only applies to --strategy hash, not to --strategy {strategy} \
                 (default uses sha256 with user and session; fields uses sha256 with neither)"
            ),
            CliError::InvalidBool { option, value } => {
                write!(f, "{option} takes `true` or `false`, got `{value}`")
            }
            CliError::InvalidSeconds { option, value } => write!(
                f,
                "{option} takes a whole number of seconds (digits only), got `{value}`"
            ),
            CliError::NowOutOfRange { value, max } => {
                write!(
                    f,
                    "--now {value} is too far in the future; the largest is {max}"
                )
            }
            CliError::ZeroWindow => f.write_str("--window must be at least 1 second, got 0"),
            CliError::NowWithoutWindow => f.write_str(
                "--now needs --window: the time only takes part in a key with a window \
                 (e.g. --window 60 --now 1700000000)",
            ),
            CliError::FieldsStrategyWithoutFields => f.write_str(
                "--strategy fields needs the key fields: give them with --fields, \
                 e.g. --fields transaction_id or --fields order_id,region",
            ),
            CliError::EmptyFieldName => f.write_str(
                "--fields has an empty field name; give comma-separated names such as \
                 --fields order_id,region",
            ),
            CliError::EmptyToolId => f.write_str("--tool must not be empty"),
            CliError::NoArguments {
                stdin_is_terminal: true,
            } => f.write_str(
                "no arguments: give them with --args '{...}' or pipe the JSON object on stdin \
                 (use --args '{}' for a tool without arguments)",
            ),
            CliError::NoArguments {
                stdin_is_terminal: false,
            } => f.write_str(
                "no arguments: stdin is empty; pipe a JSON object on stdin or give --args '{...}' \
                 (use --args '{}' for a tool without arguments)",
            ),
            CliError::InvalidJson { origin, source } => {
                write!(f, "the arguments on {origin} are not valid JSON: {source}")
            }
            CliError::Key(err) => write_key_error(f, err),
            CliError::NoCanonicalForm => {
                f.write_str("this strategy does not hash an envelope, so it has no canonical bytes")
            }
            CliError::ClockBeforeEpoch => f.write_str(
                "the system clock reads a time before 1970; give the time with --now UNIX_SECONDS",
            ),
            CliError::ReadStdin(err) => write!(f, "cannot read the arguments from stdin: {err}"),
            CliError::WriteStdout(err) => write!(f, "cannot write to stdout: {err}"),
            CliError::NoStoreGiven => {
                f.write_str("give the store with --redb PATH, --redis URL or --postgres URL")
            }
            CliError::ConnectStore { store, source } => {
                write!(f, "cannot reach the {store} store: {source}")
            }
            CliError::InvalidStoreOption(reason) => f.write_str(reason),
            CliError::SchemaNotApplicable => f.write_str(
                "`schema` prints the PostgreSQL migration: use it with --postgres URL (a redb \
                 file and Redis need no schema)",
            ),
            CliError::NoStore { path } => write!(
                f,
                "no store at {}: give the file the service opens (idem store never creates one)",
                path.display()
            ),
            CliError::NotAStore { path, reason } => {
                write!(f, "{} is not a redb store: {reason}", path.display())
            }
            CliError::ReadStoreFile { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            CliError::OpenStore { path, source } => {
                write!(f, "cannot open the store at {}: {source}", path.display())
            }
            CliError::Store(err) => write!(f, "{err}"),
            CliError::Runtime(err) => write!(f, "cannot start the async runtime: {err}"),
            CliError::RecordNotFound { query } => write!(
                f,
                "no record `{query}` in the store, as TOOL/KEY or as the key of any tool \
                 (`list` shows every record)"
            ),
            CliError::AmbiguousKey { query, matches } => write!(
                f,
                "`{query}` matches {} records: {}; give it as TOOL/KEY, or with --tool TOOL",
                matches.len(),
                matches.join(", ")
            ),
            CliError::PurgeWithoutScope => f.write_str(
                "purge removes nothing without a scope: give --expired (the completed and failed \
                 records past their expiry) or --all (every record, live claims included)",
            ),
        }
    }
}

/// A [`KeyError`] in the words of the command line: the library's hints about Rust attributes
/// are replaced by the flag to use.
fn write_key_error(f: &mut fmt::Formatter<'_>, err: &KeyError) -> fmt::Result {
    match err {
        KeyError::EmptyKeyField { tool, field, found } => write!(
            f,
            "key field `{field}` of tool `{tool}` is {found}; a key field needs a value"
        ),
        KeyError::NoKeyFields { tool } => write!(
            f,
            "tool `{tool}` uses the `fields` strategy but has no key field; give them with --fields"
        ),
        KeyError::ArgumentsNotObject { found } => write!(
            f,
            "the arguments must be a JSON object such as {{\"order_id\":\"o-1\"}}, found {found}"
        ),
        KeyError::EmptyToolId => f.write_str("--tool must not be empty"),
        other => write!(f, "{other}"),
    }
}

impl From<KeyError> for CliError {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::ClockBeforeEpoch => CliError::ClockBeforeEpoch,
            other => CliError::Key(other),
        }
    }
}

impl From<UnknownAlgorithm> for CliError {
    fn from(err: UnknownAlgorithm) -> Self {
        CliError::UnknownAlgorithm(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_one_line() {
        let json_err = serde_json::from_str::<serde_json::Value>("{\"a\":")
            .err()
            .map(|source| CliError::InvalidJson {
                origin: ArgsOrigin::Stdin,
                source,
            });
        let errors = [
            CliError::UnknownStrategy { name: "x".into() },
            CliError::ZeroWindow,
            CliError::NowWithoutWindow,
            CliError::NoArguments {
                stdin_is_terminal: true,
            },
            CliError::Key(KeyError::EmptyToolId),
        ];
        for err in errors.iter().chain(json_err.as_ref()) {
            let line = err.one_line();
            assert!(!line.is_empty());
            assert!(!line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn one_line_joins_broken_lines() {
        let err = CliError::ReadStdin(io::Error::other("first\nsecond\r\n"));
        assert_eq!(
            err.one_line(),
            "cannot read the arguments from stdin: first second"
        );
    }

    #[test]
    fn environment_failures_exit_1_and_input_errors_exit_2() {
        assert_eq!(
            CliError::WriteStdout(io::Error::other("x")).exit_code(),
            ExitCode::from(1)
        );
        assert_eq!(CliError::ZeroWindow.exit_code(), ExitCode::from(2));
        assert_eq!(
            CliError::NoStore {
                path: PathBuf::from("x.redb")
            }
            .exit_code(),
            ExitCode::from(2)
        );
        assert_eq!(CliError::PurgeWithoutScope.exit_code(), ExitCode::from(2));
        assert_eq!(
            CliError::Store(StoreError::Full { capacity: 1 }).exit_code(),
            ExitCode::from(1)
        );
        assert_eq!(
            CliError::from(KeyError::ClockBeforeEpoch).exit_code(),
            ExitCode::from(1)
        );
    }
}
