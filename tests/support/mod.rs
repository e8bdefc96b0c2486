//! What several test files share, written once. A test file includes it with `mod support;`.
//!
//! - [`servers`]: the servers' URLs from the environment, a skip or (in CI) a failure without,
//!   and the test's own name ([`test_name!`]);
//! - [`fixture`]: a server test's store namespace, named after the test, removed on drop
//!   ([`redis_fixture!`], [`postgres_fixture!`]);
//! - [`proxy`]: a TCP proxy to cut, close, pause and tap connections to a server;
//! - [`resp`]: a raw RESP client, independent of the store under test;
//! - [`urls`]: the parts of `redis://` and `postgres://` URLs, to point them at a proxy.
// Each test file uses a part of it.
#![allow(dead_code, unused_imports, unused_macros)]

pub mod fixture;
pub mod proxy;
pub mod resp;
pub mod servers;
pub mod urls;

#[cfg(feature = "postgres")]
pub(crate) use fixture::postgres_fixture;
#[cfg(feature = "redis")]
pub(crate) use fixture::redis_fixture;
pub(crate) use servers::test_name;
