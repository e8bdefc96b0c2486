//! `PostgresStore`: the conformance suite (with corrupt rows planted in the table), then what is
//! particular to it: rows it cannot read, sizes, odd tool ids and keys, the schema, servers that
//! cannot be reached or stop answering, and several stores sharing a table.
//!
//! The tests that need a server read its URL from `IDEM_POSTGRES_URL` and skip (saying so) when
//! it is not set. Each one works in a table of its own, named after it
//! ([`support::fixture::PostgresFixture`]), dropped when the test ends, passed or failed. The tests
//! that cut connections do it through a proxy of their own: the server itself is never stopped.
//! One file per concept in `tests/store_postgres/`.
#![cfg(feature = "postgres")]

mod store_conformance;
mod store_postgres;
mod support;
