//! Behaviour of `#[derive(Idempotent)]`: the keys it computes, for every strategy of the design
//! document, agree with the runtime strategies over JSON and with key format v1. One file per
//! concept in `tests/derive/`.

mod derive;
