//! [`Clock`]: where time comes from, so that windows and TTLs are testable without sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to: for tests and examples.
///
/// ```
/// use std::time::Duration;
/// use idem::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::at_unix_seconds(1_700_000_000);
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.unix_seconds(), 1_700_000_090);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock that reads `seconds` after the Unix epoch.
    pub fn at_unix_seconds(seconds: u64) -> Self {
        Self {
            nanos: AtomicU64::new(seconds.saturating_mul(1_000_000_000)),
        }
    }

    /// Sets the time, in seconds since the Unix epoch.
    pub fn set_unix_seconds(&self, seconds: u64) {
        self.nanos
            .store(seconds.saturating_mul(1_000_000_000), Ordering::SeqCst);
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }

    /// The time in whole seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst) / 1_000_000_000
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// Whole seconds since the Unix epoch, or `None` before it.
pub(crate) fn unix_seconds(clock: &dyn Clock) -> Option<u64> {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}
