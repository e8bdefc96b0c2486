//! `RedisStore`: the conformance suite on the server's clock (with corrupt values planted by a
//! raw `SET`), then what is particular to it: the key layout and Redis TTLs, leases read from
//! the server's `PTTL` whatever the claimers' clocks, renewals, null outputs and unknown
//! outcomes as stored, values that are not records, records too large, odd tool ids and keys,
//! prefixes that stay apart, a server that is unreachable, silent or cut mid-way, the round trips
//! of an executor call (counted with `MONITOR`), claims by the Lua script (forced, and on a
//! server that refuses `SET` with `NX` and `GET` as Redis 6.2 does, impersonated by a proxy of
//! the test's own). One file per concept in `tests/store_redis/`.
//!
//! The tests need a server: set `IDEM_REDIS_URL` (`redis://127.0.0.1:6379`); without it each test
//! says it skipped. The server may be shared: every test works under a prefix of its own, named
//! after the test ([`support::fixture::RedisFixture`]), whose keys are removed when the test ends,
//! passed or failed, with `purge(all)`, which only touches that prefix. Nothing here flushes a
//! database or stops the server; the connection cuts go through a proxy of the test's own.
#![cfg(feature = "redis")]

mod store_conformance;
mod store_redis;
mod support;
