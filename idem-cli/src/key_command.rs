//! `idem key`: compute (and explain) the idempotency key of one tool call.
//!
//! The command is three steps, kept apart so each can be tested on its own:
//! 1. [`KeyRequest::from_args`] (in `request.rs`) checks the flags (before anything is read
//!    from stdin);
//! 2. [`read_arguments`] reads the arguments JSON from `--args` or stdin;
//! 3. [`compute`] runs the idem-core strategy and [`write_output`] prints the result.

use std::io::{self, IsTerminal, Read, Write};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use idem_core::clock::ManualClock;
use idem_core::key::{JsonArgs, Window, parse_json_arguments};
use idem_core::strategy::KeyInput;
use idem_core::{IdempotencyKey, KeyError};
use serde_json::Value;

use crate::error::{ArgsOrigin, CliError};
use request::{KeyRequest, MAX_NOW};

mod request;

const AFTER_HELP: &str = "\
Output:
  Without --explain: one line, the key (lowercase hex).
  With --explain: two lines,
    canonical: <the canonical envelope: exactly the bytes the key is the digest of>
    key: <the key>
  To check a key by hand, hash the text after `canonical: ` (without the newline):
    printf %s '<canonical>' | sha256sum
  (sha384sum or sha512sum for --strategy hash --algorithm sha384 or sha512).

Strategies:
  default  sha256 of the tool, tenant, user, session and all the arguments
           (only the --fields when they are given)
  fields   sha256 of the tool, tenant and the --fields only (--fields is required);
           --user and --session do not take part
  hash     like default, with --algorithm (default sha256), --include-user (default true)
           and --include-session (default false)
  A key field that is missing, null or \"\" is an error. --tenant, when given, always takes part.

Arguments:
  A JSON object (--args, or stdin). A member name given twice, an integer beyond the 64-bit
  range (send it as a string) and nesting deeper than 128 levels are errors.
  Without a Rust type there is no schema: an optional argument left out and the same argument
  given as null are different arguments, with different keys. For a derived type the key comes
  from the typed value, where an omitted Option field and null are the same.

Exit status:
  0  the key was printed
  2  bad input: one line on stderr, starting with `idem: error: `
  1  stdin, stdout or the system clock failed

Examples:
  idem key --tool payment-processor-v1 --strategy fields --fields transaction_id \\
      --args '{\"transaction_id\":\"txn-0001\",\"amount\":10.5}'
  echo '{\"query\":\"weather\"}' | idem key --tool search-v1 --user alice --session s-1 --explain
  idem key --tool report-v1 --window 60 --now 1700000000 --args '{}'";

/// Flags of `idem key`.
///
/// Strategy, algorithm, booleans and numbers are taken as text and checked by
/// [`KeyRequest::from_args`], so that a wrong value gets the same one-line `idem: error:` as
/// every other bad input.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub(crate) struct KeyArgs {
    /// The tool id, e.g. payment-processor-v1
    #[arg(long, value_name = "ID")]
    tool: String,

    /// The key strategy: default, fields or hash
    #[arg(long, value_name = "NAME", default_value = "default")]
    strategy: String,

    /// The key fields, comma-separated (or the flag repeated); required by --strategy fields
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    fields: Vec<String>,

    /// The digest of --strategy hash: sha256, sha384 or sha512 [default: sha256]
    #[arg(long, value_name = "NAME")]
    algorithm: Option<String>,

    /// Whether the user id takes part, for --strategy hash: true or false [default: true]
    #[arg(long, value_name = "BOOL")]
    include_user: Option<String>,

    /// Whether the session id takes part, for --strategy hash: true or false [default: false]
    #[arg(long, value_name = "BOOL")]
    include_session: Option<String>,

    /// The caller's user id
    #[arg(long, value_name = "U")]
    user: Option<String>,

    /// The caller's session id
    #[arg(long, value_name = "S")]
    session: Option<String>,

    /// The tenant id (always part of the key when given)
    #[arg(long, value_name = "T")]
    tenant: Option<String>,

    /// A time window: calls in the same window of SECONDS share a key
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    window: Option<String>,

    /// The time of the call for --window, in seconds since 1970 [default: the system time]
    #[arg(long, value_name = "UNIX_SECONDS", allow_negative_numbers = true)]
    now: Option<String>,

    /// The arguments as a JSON object; read from stdin when absent
    #[arg(long, value_name = "JSON", allow_negative_numbers = true)]
    args: Option<String>,

    /// Also print the canonical bytes the key is the digest of (see Output below)
    #[arg(long)]
    explain: bool,
}

/// What `idem key` prints.
#[derive(Debug)]
struct KeyOutput {
    key: IdempotencyKey,
    /// The canonical envelope, with `--explain`.
    canonical: Option<Vec<u8>>,
}

/// Runs `idem key` on the process's stdin and stdout.
pub(crate) fn run(args: &KeyArgs) -> Result<(), CliError> {
    let request = KeyRequest::from_args(args)?;
    let (json, origin) = match &args.args {
        Some(text) => (text.as_bytes().to_vec(), ArgsOrigin::Flag),
        None => {
            let stdin = io::stdin();
            // Reading a terminal would wait silently for input nobody knows to type.
            if stdin.is_terminal() {
                return Err(CliError::NoArguments {
                    stdin_is_terminal: true,
                });
            }
            let mut bytes = Vec::new();
            stdin
                .lock()
                .read_to_end(&mut bytes)
                .map_err(CliError::ReadStdin)?;
            (bytes, ArgsOrigin::Stdin)
        }
    };
    let arguments = read_arguments(&json, origin)?;
    let output = compute(&request, &arguments, system_unix_seconds)?;
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    write_output(&mut stdout, &output).map_err(CliError::WriteStdout)
}

/// Parses the arguments JSON, refusing what would make two calls share a key (a member given
/// twice, an integer beyond 64 bits, a value nested too deep).
fn read_arguments(json: &[u8], origin: ArgsOrigin) -> Result<Value, CliError> {
    if origin == ArgsOrigin::Stdin && json.iter().all(u8::is_ascii_whitespace) {
        return Err(CliError::NoArguments {
            stdin_is_terminal: false,
        });
    }
    parse_json_arguments(json).map_err(|err| match err {
        KeyError::InvalidJson(source) => CliError::InvalidJson { origin, source },
        other => CliError::from(other),
    })
}

/// Computes the key (and the canonical bytes with `--explain`). `system_now` is only called for
/// a window without `--now`.
fn compute(
    request: &KeyRequest,
    arguments: &Value,
    system_now: impl FnOnce() -> Result<u64, CliError>,
) -> Result<KeyOutput, CliError> {
    let args = JsonArgs::new(arguments)?;
    let window = match request.window {
        None => None,
        Some(spec) => {
            let now = match spec.now {
                Some(now) => now,
                None => system_now()?,
            };
            // A fixed clock: the key and the canonical bytes see the same window.
            let clock = Arc::new(ManualClock::at_unix_seconds(now));
            Some(Window::from_secs(spec.seconds)?.with_clock(clock))
        }
    };
    let strategy = request.strategy.into_strategy(window);
    let input =
        KeyInput::new(&request.tool, &args, &request.context).with_key_fields(&request.key_fields);

    let canonical = if request.explain {
        let bytes = strategy
            .canonical_bytes(&input)
            .ok_or(CliError::NoCanonicalForm)??;
        Some(bytes)
    } else {
        None
    };
    let key = strategy.key(&input)?;
    Ok(KeyOutput { key, canonical })
}

/// Prints the key, after the canonical bytes with `--explain`.
fn write_output(out: &mut impl Write, output: &KeyOutput) -> io::Result<()> {
    if let Some(canonical) = &output.canonical {
        // Canonical JSON escapes control characters, so the bytes hold no line break.
        out.write_all(b"canonical: ")?;
        out.write_all(canonical)?;
        out.write_all(b"\n")?;
        writeln!(out, "key: {}", output.key)?;
    } else {
        writeln!(out, "{}", output.key)?;
    }
    out.flush()
}

/// The system time in whole seconds since 1970.
fn system_unix_seconds() -> Result<u64, CliError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs().min(MAX_NOW))
        .map_err(|_| CliError::ClockBeforeEpoch)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use idem_core::key::Algorithm;
    use idem_core::strategy::BuiltinStrategy;

    use super::*;

    /// `idem key` alone, to parse flags in unit tests.
    #[derive(Debug, Parser)]
    struct KeyOnly {
        #[command(flatten)]
        args: KeyArgs,
    }

    fn request(flags: &[&str]) -> Result<KeyRequest, CliError> {
        let argv = std::iter::once("key").chain(flags.iter().copied());
        let parsed = KeyOnly::try_parse_from(argv).expect("clap accepts the flags");
        KeyRequest::from_args(&parsed.args)
    }

    fn no_clock() -> Result<u64, CliError> {
        panic!("the system clock must not be read")
    }

    #[test]
    fn defaults_are_the_default_strategy_without_window() {
        let request = request(&["--tool", "t"]).ok();
        let request = request.as_ref();
        assert_eq!(request.map(|r| r.strategy), Some(BuiltinStrategy::Default));
        assert_eq!(request.and_then(|r| r.window), None);
    }

    #[test]
    fn hash_defaults_match_the_spec() {
        let strategy = request(&["--tool", "t", "--strategy", "hash"])
            .ok()
            .map(|r| r.strategy);
        assert_eq!(
            strategy,
            Some(BuiltinStrategy::Hash {
                algorithm: Algorithm::Sha256,
                include_user: true,
                include_session: false,
            })
        );
    }

    #[test]
    fn fields_accept_commas_and_repetition() {
        let fields = request(&["--tool", "t", "--fields", "a,b", "--fields", "c"])
            .ok()
            .map(|r| r.key_fields);
        assert_eq!(
            fields,
            Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
    }

    #[test]
    fn flag_errors_are_typed() {
        /// Flags, and whether the error is the expected one.
        type Case = (&'static [&'static str], fn(&CliError) -> bool);
        let cases: [Case; 7] = [
            (&["--tool", ""], |e| matches!(e, CliError::EmptyToolId)),
            (&["--tool", "t", "--strategy", "x"], |e| {
                matches!(e, CliError::UnknownStrategy { .. })
            }),
            (&["--tool", "t", "--strategy", "fields"], |e| {
                matches!(e, CliError::FieldsStrategyWithoutFields)
            }),
            (&["--tool", "t", "--fields", "a,,b"], |e| {
                matches!(e, CliError::EmptyFieldName)
            }),
            (&["--tool", "t", "--window", "-5"], |e| {
                matches!(e, CliError::InvalidSeconds { .. })
            }),
            (
                &["--tool", "t", "--window", "60", "--now", "99999999999"],
                |e| matches!(e, CliError::NowOutOfRange { .. }),
            ),
            (
                &["--tool", "t", "--strategy", "hash", "--include-user", "yes"],
                |e| matches!(e, CliError::InvalidBool { .. }),
            ),
        ];
        for (flags, expected) in cases {
            match request(flags) {
                Err(err) => assert!(expected(&err), "{flags:?}: {err:?}"),
                Ok(r) => panic!("{flags:?} was accepted: {r:?}"),
            }
        }
    }

    #[test]
    fn window_start_and_now_take_part() {
        let request = request(&["--tool", "t", "--window", "60", "--now", "1700000059"]);
        let output = request.and_then(|mut r| {
            r.explain = true;
            compute(&r, &serde_json::json!({}), no_clock)
        });
        let canonical = output.ok().and_then(|o| o.canonical);
        assert_eq!(
            canonical.as_deref(),
            Some(
                &br#"{"args":{},"session":null,"tool":"t","user":null,"v":1,"window":1700000040}"#
                    [..]
            )
        );
    }

    #[test]
    fn window_without_now_reads_the_system_clock() {
        let request = request(&["--tool", "t", "--window", "60"]);
        let output = request.and_then(|mut r| {
            r.explain = true;
            compute(&r, &serde_json::json!({}), || Ok(1_700_000_101))
        });
        let canonical = output.ok().and_then(|o| o.canonical);
        let canonical = canonical.map(String::from_utf8);
        assert!(
            matches!(&canonical, Some(Ok(text)) if text.ends_with(r#""window":1700000100}"#)),
            "{canonical:?}"
        );
    }

    #[test]
    fn explain_layout() {
        let output = KeyOutput {
            key: IdempotencyKey::parse(&"ab".repeat(32)).expect("a valid key"),
            canonical: Some(br#"{"v":1}"#.to_vec()),
        };
        let mut printed = Vec::new();
        write_output(&mut printed, &output).expect("a Vec takes the output");
        let expected = format!("canonical: {{\"v\":1}}\nkey: {}\n", "ab".repeat(32));
        assert_eq!(String::from_utf8_lossy(&printed), expected);
    }

    #[test]
    fn empty_stdin_is_no_arguments() {
        assert!(matches!(
            read_arguments(b" \n", ArgsOrigin::Stdin),
            Err(CliError::NoArguments {
                stdin_is_terminal: false
            })
        ));
        assert!(matches!(
            read_arguments(b"", ArgsOrigin::Flag),
            Err(CliError::InvalidJson {
                origin: ArgsOrigin::Flag,
                ..
            })
        ));
    }
}
