//! End-to-end tests of the `idem` binary: what people in other languages and on-call engineers
//! see when they check a key.
//! One file per concept in `tests/key_command/`.

mod key_command;
