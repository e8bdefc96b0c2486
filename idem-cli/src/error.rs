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

use idem_core::KeyError;
use idem_core::key::UnknownAlgorithm;
use idem_core::store::StoreError;

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
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// `--strategy` named no built-in strategy.
    #[error("unknown strategy `{name}`; expected one of: default, fields, hash")]
    UnknownStrategy { name: String },
    /// `--algorithm` named no supported digest.
    #[error("--algorithm: {0}")]
    UnknownAlgorithm(#[source] UnknownAlgorithm),
    /// An option that only the `hash` strategy reads was given with another strategy.
    #[error(
        "{option} only applies to --strategy hash, not to --strategy {strategy} \
         (default uses sha256 with user and session; fields uses sha256 with neither)"
    )]
    HashOnlyOption {
        option: &'static str,
        strategy: &'static str,
    },
    /// A `true|false` option got something else.
    #[error("{option} takes `true` or `false`, got `{value}`")]
    InvalidBool { option: &'static str, value: String },
    /// A numeric option got something that is not a whole number of seconds.
    #[error("{option} takes a whole number of seconds (digits only), got `{value}`")]
    InvalidSeconds { option: &'static str, value: String },
    /// `--now` beyond what a clock can represent (nanoseconds since 1970 in a `u64`).
    #[error("--now {value} is too far in the future; the largest is {max}")]
    NowOutOfRange { value: u64, max: u64 },
    /// `--window 0`.
    #[error("--window must be at least 1 second, got 0")]
    ZeroWindow,
    /// `--now` without `--window`.
    #[error(
        "--now needs --window: the time only takes part in a key with a window \
         (e.g. --window 60 --now 1700000000)"
    )]
    NowWithoutWindow,
    /// `--strategy fields` without `--fields`.
    #[error(
        "--strategy fields needs the key fields: give them with --fields, \
         e.g. --fields transaction_id or --fields order_id,region"
    )]
    FieldsStrategyWithoutFields,
    /// `--fields` with an empty name in its list (`a,,b`, a trailing comma, `''`).
    #[error(
        "--fields has an empty field name; give comma-separated names such as \
         --fields order_id,region"
    )]
    EmptyFieldName,
    /// `--tool ''`.
    #[error("--tool must not be empty")]
    EmptyToolId,
    /// No `--args` and nothing usable on standard input.
    #[error("{}", no_arguments(*stdin_is_terminal))]
    NoArguments { stdin_is_terminal: bool },
    /// The arguments are not valid JSON.
    #[error("the arguments on {origin} are not valid JSON: {source}")]
    InvalidJson {
        origin: ArgsOrigin,
        source: serde_json::Error,
    },
    /// The key could not be computed from these arguments (not an object, a missing or empty
    /// key field, ...).
    #[error("{}", CommandLineKeyError(.0))]
    Key(#[source] KeyError),
    /// A strategy that hashes no envelope was asked for its canonical bytes (cannot happen with
    /// the built-in strategies; kept so that no `unwrap` is needed).
    #[error("this strategy does not hash an envelope, so it has no canonical bytes")]
    NoCanonicalForm,
    /// The system clock reads a time before the Unix epoch (only without `--now`).
    #[error("the system clock reads a time before 1970; give the time with --now UNIX_SECONDS")]
    ClockBeforeEpoch,
    /// Standard input could not be read.
    #[error("cannot read the arguments from stdin: {0}")]
    ReadStdin(#[source] io::Error),
    /// Standard output could not be written.
    #[error("cannot write to stdout: {0}")]
    WriteStdout(#[source] io::Error),
    /// `idem store` without a store flag (clap requires one; kept so that no `unwrap` is needed).
    #[error("give the store with --redb PATH, --sqlite PATH, --redis URL or --postgres URL")]
    NoStoreGiven,
    /// The store path names nothing: a store is never created by `idem store`.
    #[error(
        "no store at {}: give the file the service opens (idem store never creates one)",
        path.display()
    )]
    NoStore { path: PathBuf },
    /// The store path names something that is not a store of that kind.
    #[error("{} is not a {kind} store: {reason}", path.display())]
    NotAStore {
        path: PathBuf,
        /// `redb`, `SQLite`.
        kind: &'static str,
        reason: &'static str,
    },
    /// The store file exists but could not be read to check it.
    #[error("cannot read {}: {source}", path.display())]
    ReadStoreFile { path: PathBuf, source: io::Error },
    /// The store could not be opened (locked by a running service, damaged, ...).
    #[error("cannot open the store at {}: {source}", path.display())]
    OpenStore { path: PathBuf, source: StoreError },
    /// A store operation failed.
    #[error("{0}")]
    Store(#[source] StoreError),
    /// The async runtime the stores run on could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] io::Error),
    /// `idem store get`: no record has this key.
    #[error(
        "no record `{query}` in the store, as TOOL/KEY or as the key of any tool \
         (`list` shows every record)"
    )]
    RecordNotFound { query: String },
    /// `idem store get`: a bare key that several records match.
    #[error(
        "`{query}` matches {} records: {}; give it as TOOL/KEY, or with --tool TOOL",
        matches.len(),
        matches.join(", ")
    )]
    AmbiguousKey { query: String, matches: Vec<String> },
    /// `idem store get`: the start of a key that several records' keys begin with.
    #[error(
        "`{query}` is the start of {} keys: {}; give more of the key (or TOOL/KEY, or --tool TOOL)",
        matches.len(),
        matches.join(", ")
    )]
    AmbiguousKeyPrefix { query: String, matches: Vec<String> },
    /// `idem store purge` without `--expired` or `--all`.
    #[error(
        "purge removes nothing without a scope: give --expired (the completed and failed \
         records past their expiry) or --all (every record, live claims included)"
    )]
    PurgeWithoutScope,
    /// A network store could not be reached or refused the connection.
    #[error("cannot reach the {store} store: {source}")]
    ConnectStore {
        store: &'static str,
        source: StoreError,
    },
    /// `--redis-prefix` or `--postgres-table` is not valid.
    #[error("{0}")]
    InvalidStoreOption(String),
    /// `idem store schema` with a store that has no schema.
    #[error(
        "`schema` prints the PostgreSQL migration: use it with --postgres URL (a redb or \
         SQLite file and Redis need no schema)"
    )]
    SchemaNotApplicable,
}

/// What to say when no arguments were given, by whether standard input is a terminal.
fn no_arguments(stdin_is_terminal: bool) -> &'static str {
    if stdin_is_terminal {
        "no arguments: give them with --args '{...}' or pipe the JSON object on stdin \
         (use --args '{}' for a tool without arguments)"
    } else {
        "no arguments: stdin is empty; pipe a JSON object on stdin or give --args '{...}' \
         (use --args '{}' for a tool without arguments)"
    }
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

/// A [`KeyError`] in the words of the command line: the library's hints about Rust attributes
/// are replaced by the flag to use.
struct CommandLineKeyError<'a>(&'a KeyError);

impl fmt::Display for CommandLineKeyError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            KeyError::EmptyKeyField { tool, field, found } => write!(
                f,
                "key field `{field}` of tool `{tool}` is {found}; a key field needs a value"
            ),
            KeyError::NoKeyFields { tool } => write!(
                f,
                "tool `{tool}` uses the `fields` strategy but has no key field; give them with \
                 --fields"
            ),
            KeyError::ArgumentsNotObject { found } => write!(
                f,
                "the arguments must be a JSON object such as {{\"order_id\":\"o-1\"}}, found \
                 {found}"
            ),
            KeyError::EmptyToolId => f.write_str("--tool must not be empty"),
            other => write!(f, "{other}"),
        }
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
