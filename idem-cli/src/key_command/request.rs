//! `idem key`'s flags, checked into a [`KeyRequest`] before anything is read from stdin.

use idem_core::Context;
use idem_core::key::Algorithm;
use idem_core::strategy::BuiltinStrategy;

use super::KeyArgs;
use crate::error::CliError;

/// The largest `--now`: a [`ManualClock`] counts nanoseconds in a `u64`.
pub(super) const MAX_NOW: u64 = u64::MAX / 1_000_000_000;

/// Parses `--strategy` and the options only `hash` reads.
fn strategy_from_args(args: &KeyArgs) -> Result<BuiltinStrategy, CliError> {
    let Some(builtin) = BuiltinStrategy::from_name(&args.strategy) else {
        return Err(CliError::UnknownStrategy {
            name: args.strategy.clone(),
        });
    };
    // The hash strategy's defaults are the core's (`from_name`): the flags override them.
    let BuiltinStrategy::Hash {
        algorithm,
        include_user,
        include_session,
    } = builtin
    else {
        let hash_only = [
            ("--algorithm", args.algorithm.is_some()),
            ("--include-user", args.include_user.is_some()),
            ("--include-session", args.include_session.is_some()),
        ];
        if let Some((option, _)) = hash_only.into_iter().find(|(_, given)| *given) {
            return Err(CliError::HashOnlyOption {
                option,
                strategy: builtin.name(),
            });
        }
        return Ok(builtin);
    };
    let algorithm = match &args.algorithm {
        Some(text) => text.parse::<Algorithm>()?,
        None => algorithm,
    };
    Ok(BuiltinStrategy::Hash {
        algorithm,
        include_user: parse_bool("--include-user", args.include_user.as_deref(), include_user)?,
        include_session: parse_bool(
            "--include-session",
            args.include_session.as_deref(),
            include_session,
        )?,
    })
}

/// `--window` and `--now`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WindowSpec {
    /// The length of the window, at least 1.
    pub(super) seconds: u64,
    /// The time of the call; `None` reads the system clock.
    pub(super) now: Option<u64>,
}

/// Everything `idem key` needs besides the arguments JSON, checked.
#[derive(Debug, Clone)]
pub(super) struct KeyRequest {
    pub(super) tool: String,
    pub(super) strategy: BuiltinStrategy,
    pub(super) key_fields: Vec<String>,
    pub(super) context: Context,
    pub(super) window: Option<WindowSpec>,
    pub(super) explain: bool,
}

impl KeyRequest {
    /// Checks the flags. Nothing is read from stdin yet, so a wrong flag fails at once.
    pub(super) fn from_args(args: &KeyArgs) -> Result<Self, CliError> {
        if args.tool.is_empty() {
            return Err(CliError::EmptyToolId);
        }
        let strategy = strategy_from_args(args)?;

        if args.fields.iter().any(String::is_empty) {
            return Err(CliError::EmptyFieldName);
        }
        if strategy == BuiltinStrategy::Fields && args.fields.is_empty() {
            return Err(CliError::FieldsStrategyWithoutFields);
        }

        let window = match (&args.window, &args.now) {
            (None, Some(_)) => return Err(CliError::NowWithoutWindow),
            (None, None) => None,
            (Some(window), now) => {
                let seconds = parse_seconds("--window", window)?;
                if seconds == 0 {
                    return Err(CliError::ZeroWindow);
                }
                let now = now
                    .as_deref()
                    .map(|now| parse_seconds("--now", now))
                    .transpose()?;
                if let Some(value) = now.filter(|&now| now > MAX_NOW) {
                    return Err(CliError::NowOutOfRange {
                        value,
                        max: MAX_NOW,
                    });
                }
                Some(WindowSpec { seconds, now })
            }
        };

        let mut context = Context::new();
        if let Some(tenant) = &args.tenant {
            context = context.with_tenant(tenant.as_str());
        }
        if let Some(user) = &args.user {
            context = context.with_user(user.as_str());
        }
        if let Some(session) = &args.session {
            context = context.with_session(session.as_str());
        }

        Ok(Self {
            tool: args.tool.clone(),
            strategy,
            key_fields: args.fields.clone(),
            context,
            window,
            explain: args.explain,
        })
    }
}

/// Parses `true` or `false`, `default` when the flag is absent.
fn parse_bool(option: &'static str, value: Option<&str>, default: bool) -> Result<bool, CliError> {
    match value {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(CliError::InvalidBool {
            option,
            value: other.to_owned(),
        }),
    }
}

/// Parses a whole number of seconds: ASCII digits only (no sign, no unit, no fraction).
fn parse_seconds(option: &'static str, value: &str) -> Result<u64, CliError> {
    let invalid = || CliError::InvalidSeconds {
        option,
        value: value.to_owned(),
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    value.parse::<u64>().map_err(|_| invalid())
}
