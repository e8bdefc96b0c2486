//! [`Window`]: "the same request within the same minute" as part of the key.

use std::fmt;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock, unix_seconds};
use crate::error::KeyError;

/// A time window of W seconds: calls in the same window share a key, calls in the next one do
/// not. The envelope gets `"window": floor(now / W) * W`.
///
/// ```
/// use std::sync::Arc;
/// use idem::clock::ManualClock;
/// use idem::key::Window;
///
/// let clock = Arc::new(ManualClock::at_unix_seconds(1_700_000_059));
/// let window = Window::parse("1m").unwrap().with_clock(clock.clone());
/// assert_eq!(window.start().unwrap(), 1_700_000_040);
/// clock.set_unix_seconds(1_700_000_100);
/// assert_eq!(window.start().unwrap(), 1_700_000_100);
/// ```
#[derive(Clone)]
pub struct Window {
    seconds: NonZeroU64,
    /// Set by [`Window::with_clock`]; otherwise the clock of the call.
    clock: Option<Arc<dyn Clock>>,
}

impl Window {
    /// A window of `seconds` seconds on the system clock.
    ///
    /// # Errors
    /// [`KeyError::InvalidWindow`] for zero.
    pub fn from_secs(seconds: u64) -> Result<Self, KeyError> {
        let seconds = NonZeroU64::new(seconds).ok_or_else(|| {
            KeyError::InvalidWindow("a window must be at least one second".into())
        })?;
        Ok(Self {
            seconds,
            clock: None,
        })
    }

    /// A window of a whole number of seconds.
    ///
    /// # Errors
    /// [`KeyError::InvalidWindow`] for zero or a fraction of a second.
    pub fn new(length: Duration) -> Result<Self, KeyError> {
        if length.subsec_nanos() != 0 {
            return Err(KeyError::InvalidWindow(format!(
                "a window is a whole number of seconds, got {length:?}"
            )));
        }
        Self::from_secs(length.as_secs())
    }

    /// Parses a length such as `"30s"`, `"1m"`, `"1h"` or `"1d"`.
    ///
    /// # Errors
    /// [`KeyError::InvalidWindow`] when the text is not a duration of whole seconds.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let length = humantime::parse_duration(text)
            .map_err(|e| KeyError::InvalidWindow(format!("`{text}`: {e}")))?;
        Self::new(length)
    }

    /// Reads the time from `clock` whatever the clock of the call (a strategy's window
    /// otherwise reads the clock its [`KeyInput`](crate::strategy::KeyInput) carries: the system clock, or
    /// the executor's).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The window's length in seconds.
    pub fn seconds(&self) -> u64 {
        self.seconds.get()
    }

    /// The start of the current window, in seconds since the Unix epoch, on the window's own
    /// clock or the system clock.
    ///
    /// # Errors
    /// [`KeyError::ClockBeforeEpoch`] when the clock reads a time before 1970.
    pub fn start(&self) -> Result<u64, KeyError> {
        self.start_on(&SystemClock)
    }

    /// The start of the current window on the window's own clock, or on `clock` when it has
    /// none.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use idem::clock::ManualClock;
    /// use idem::key::Window;
    ///
    /// let call = ManualClock::at_unix_seconds(1_700_000_100);
    /// let window = Window::parse("1m").unwrap();
    /// assert_eq!(window.start_on(&call).unwrap(), 1_700_000_100);
    /// // A clock of its own wins over the call's.
    /// let own = window.with_clock(Arc::new(ManualClock::at_unix_seconds(1_700_000_059)));
    /// assert_eq!(own.start_on(&call).unwrap(), 1_700_000_040);
    /// ```
    ///
    /// # Errors
    /// [`KeyError::ClockBeforeEpoch`] when the clock reads a time before 1970.
    pub fn start_on(&self, clock: &dyn Clock) -> Result<u64, KeyError> {
        let clock = self.clock.as_deref().unwrap_or(clock);
        window_start(self.seconds.get(), clock)
    }
}

/// `floor(now / seconds) * seconds` on `clock`.
pub(crate) fn window_start(seconds: u64, clock: &dyn Clock) -> Result<u64, KeyError> {
    let now = unix_seconds(clock).ok_or(KeyError::ClockBeforeEpoch)?;
    Ok(now - now % seconds.max(1))
}

impl fmt::Debug for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Window")
            .field("seconds", &self.seconds)
            .field("clock", &self.clock)
            .finish()
    }
}
