//! A server test's fixture: the server from its environment variable ([`super::servers`]), a
//! namespace of the test's own on it, named after the test (a Redis key prefix, a PostgreSQL
//! table), and the namespace's removal when the fixture drops, whether the test passed or
//! failed.
//!
//! ```ignore
//! #[tokio::test]
//! async fn renewal_keeps_a_claim_alive() {
//!     // Skips the test (returns) without IDEM_REDIS_URL; fails it instead under
//!     // IDEM_REQUIRE_SERVERS=1.
//!     let redis = support::redis_fixture!();
//!     let store = redis.connect(redis.options()).await;
//!     // ...
//! } // the fixture drops: the test's prefix is purged
//! ```
//!
//! The removal runs on a thread and a runtime of its own, over a connection of its own: it
//! needs nothing of the test's runtime, which may be single-threaded and busy dropping.

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[cfg(feature = "postgres")]
pub use postgres::{PostgresFixture, drop_table_sql};
#[cfg(feature = "redis")]
pub use redis::RedisFixture;

/// The [`RedisFixture`] of the test it is called in; returns from the test (which skips, saying
/// so) when `IDEM_REDIS_URL` is not set.
#[cfg(feature = "redis")]
macro_rules! redis_fixture {
    () => {
        match $crate::support::fixture::RedisFixture::open(&$crate::support::servers::test_name!())
        {
            Some(fixture) => fixture,
            None => return,
        }
    };
}

/// The [`PostgresFixture`] of the test it is called in; returns from the test (which skips,
/// saying so) when `IDEM_POSTGRES_URL` is not set.
#[cfg(feature = "postgres")]
macro_rules! postgres_fixture {
    () => {
        match $crate::support::fixture::PostgresFixture::open(
            &$crate::support::servers::test_name!(),
        ) {
            Some(fixture) => fixture,
            None => return,
        }
    };
}

#[cfg(feature = "postgres")]
pub(crate) use postgres_fixture;
#[cfg(feature = "redis")]
pub(crate) use redis_fixture;

/// `url`, or `None` after a line saying that `test` skips: a proxy of the test's own cannot
/// stand in front of the server of `variable`.
fn proxyable<T>(url: Option<T>, test: &str, variable: &str) -> Option<T> {
    if url.is_none() {
        println!(
            "{test}: skipped: {variable} is not a URL that a proxy of the test's own can stand in \
             front of"
        );
    }
    url
}

/// A name no other fixture of any run uses: `{pid}-{ns}-{n}`, the process, the time in
/// nanoseconds and a counter of the process.
pub fn unique() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{:x}-{}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `removal` to its end on a thread and a runtime of its own. Its panic (a removal that
/// failed) is passed on, unless the test is failing already: then it is only reported, since a
/// second panic would abort the test binary.
fn remove_on_drop<F>(what: &str, removal: impl FnOnce() -> F + Send)
where
    F: Future<Output = ()>,
{
    let outcome = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the clean-up")
                    .block_on(removal());
            })
            .join()
    });
    if let Err(panic) = outcome {
        if std::thread::panicking() {
            eprintln!("{what} was not removed (see the panic above)");
        } else {
            std::panic::resume_unwind(panic);
        }
    }
}
