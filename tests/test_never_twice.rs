//! "A duplicate never runs twice" on the ordinary paths where it used to break: hosts whose
//! clocks disagree, a caller that gives up mid-call, a tool that panics or fails while
//! duplicates wait for it, a tool that runs longer than its lease, outputs of `()` and `None`, a
//! waiter meeting a dead holder.
//!
//! Every test runs on every store: memory, redb, SQLite (with the `sqlite` feature), and Redis
//! and PostgreSQL when `IDEM_REDIS_URL` and `IDEM_POSTGRES_URL` are set (with the `redis` and
//! `postgres` features). Each counts the tool's runs: the expected count is 1.

//!
//! One file per path in `tests/never_twice/`.

mod support;

mod never_twice;
