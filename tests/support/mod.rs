//! What several test files share. A test file includes it with `mod support;`.
#![allow(dead_code)]

pub mod servers;
