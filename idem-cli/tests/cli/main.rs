//! End-to-end tests of the `idem` binary: what people in other languages and on-call engineers
//! see when they check a key (`key_command/`), and what an operator sees of a store
//! (`store_command/`). Both run the binary through `run.rs`; the server tests find their servers
//! with the suite's shared `tests/support/servers.rs`.

#[path = "../../../tests/support/servers.rs"]
mod servers;

mod key_command;
mod run;
mod store_command;
