//! Argument values that have no exact key are typed errors, never a key shared with another
//! call: nesting beyond `MAX_DEPTH`, NaN and infinities, member names given twice or produced
//! twice by a map, integers beyond 64 bits. Every path is checked: derived types, fields marked
//! `#[idem(serde)]`, `serde_json::Value` / `JsonArgs`, and JSON text (`parse_json_arguments`).
//! One file per concept in `tests/bad_values/`.

mod bad_values;
