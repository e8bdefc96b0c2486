//! [`Execution`] and [`Outcome`]: the output of a call and how it was obtained.

use crate::key::IdempotencyKey;

/// How a call's output was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The tool ran now.
    Executed {
        /// Whether the key was taken over from a claim whose lease had run out (its holder
        /// crashed or stalled).
        took_over: bool,
    },
    /// The output was replayed from the store without running the tool.
    Replayed {
        /// Whether this call's arguments differ from the first call's (same key, other amount).
        args_differ: bool,
    },
    /// The call raced a duplicate in the same process and shared its execution.
    Joined {
        /// Whether this call's arguments differ from the executing call's.
        args_differ: bool,
    },
    /// Idempotency is disabled for the tool: it ran.
    NotIdempotent,
}

impl Outcome {
    /// Whether the tool ran for this call.
    pub fn executed(&self) -> bool {
        matches!(self, Outcome::Executed { .. } | Outcome::NotIdempotent)
    }

    /// Whether the arguments differed from those of the call that ran.
    pub fn args_differ(&self) -> bool {
        matches!(
            self,
            Outcome::Replayed { args_differ: true } | Outcome::Joined { args_differ: true }
        )
    }

    /// A stable name for the outcome, as recorded in the `idem.outcome` field of the call's
    /// span: `"executed"`, `"took_over"` (executed after taking over an expired claim),
    /// `"replayed"`, `"joined"` or `"not_idempotent"`.
    ///
    /// ```
    /// use idem::executor::Outcome;
    ///
    /// assert_eq!(Outcome::Replayed { args_differ: false }.as_str(), "replayed");
    /// assert_eq!(Outcome::Executed { took_over: true }.as_str(), "took_over");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Executed { took_over: false } => "executed",
            Outcome::Executed { took_over: true } => "took_over",
            Outcome::Replayed { .. } => "replayed",
            Outcome::Joined { .. } => "joined",
            Outcome::NotIdempotent => "not_idempotent",
        }
    }
}

/// A call's output, how it was obtained, and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution<T> {
    /// The tool's output (replayed or fresh).
    pub output: T,
    /// How it was obtained.
    pub outcome: Outcome,
    /// The idempotency key (`None` when idempotency is disabled).
    pub key: Option<IdempotencyKey>,
}
