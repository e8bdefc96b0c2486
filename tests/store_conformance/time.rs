//! [`TestTime`]: how the suite moves a store's clock, whether it can be driven or not.

use std::sync::Arc;
use std::time::Duration;

use idem::clock::ManualClock;
use idem::store::UnixMillis;

/// The time a store under test runs on.
///
/// The store's clock decides leases and expiry, never the caller's. A store on a clock the test
/// can drive ([`MemoryStore`](idem::store::MemoryStore) and
/// [`RedbStore`](idem::store::RedbStore) given a [`ManualClock`]) lets the suite jump: leases of
/// 30 s and TTLs of an hour, checked to the millisecond. A store on a server's clock (Redis,
/// PostgreSQL) runs on real time: leases and TTLs of a few hundred milliseconds, and the suite
/// sleeps, checking with a margin on each side.
#[derive(Debug, Clone)]
pub enum TestTime {
    /// The store reads this clock: [`TestTime::pass`] moves it.
    Manual(Arc<ManualClock>),
    /// The store reads real time (its server's): [`TestTime::pass`] sleeps.
    Real,
}

impl TestTime {
    /// A manual clock at 2023-11-14, and the time that drives it. Give the clock to the store.
    pub fn manual() -> (Arc<ManualClock>, TestTime) {
        let clock = Arc::new(ManualClock::at_unix_seconds(1_700_000_000));
        (Arc::clone(&clock), TestTime::Manual(clock))
    }

    /// The lease of the suite's claims.
    pub fn lease(&self) -> Duration {
        match self {
            TestTime::Manual(_) => Duration::from_secs(30),
            TestTime::Real => Duration::from_millis(600),
        }
    }

    /// The TTL of the suite's completions that are meant to expire during a check.
    pub fn ttl(&self) -> Duration {
        match self {
            TestTime::Manual(_) => Duration::from_secs(3600),
            TestTime::Real => Duration::from_millis(900),
        }
    }

    /// How far from an instant the suite stays when it checks either side of it: a millisecond
    /// on a manual clock, enough for scheduling noise on real time.
    pub fn margin(&self) -> Duration {
        match self {
            TestTime::Manual(_) => Duration::from_millis(1),
            TestTime::Real => Duration::from_millis(250),
        }
    }

    /// Lets `duration` pass on the store's clock.
    pub async fn pass(&self, duration: Duration) {
        match self {
            TestTime::Manual(clock) => clock.advance(duration),
            TestTime::Real => tokio::time::sleep(duration).await,
        }
    }

    /// The time now, on the clock the store reads (on real time, this host's clock: a server's
    /// may differ, which is the point of the store-clock checks).
    pub fn now(&self) -> UnixMillis {
        match self {
            TestTime::Manual(clock) => UnixMillis::now(&**clock),
            TestTime::Real => UnixMillis::now(&idem::clock::SystemClock),
        }
    }

    /// Whether instants can be checked to the millisecond.
    pub fn is_manual(&self) -> bool {
        matches!(self, TestTime::Manual(_))
    }
}
