//! The derives of [idem](https://docs.rs/idem): `#[derive(Idempotent)]` for a tool's argument
//! struct and `#[derive(Canonical)]` for the values nested in it.
//!
//! Use them through the `idem` crate, which documents every attribute. The macro works in three
//! stages: read the input (`ast`, `attr`), check the rules (`check`), generate (`expand`); every
//! error found on the way is reported at once, with its span (`ctxt`), and a wrong input still
//! gets stub impls (`fallback`) so the user sees the mistakes and not a cascade.

extern crate proc_macro;

mod ast;
mod attr;
mod bound;
mod case;
mod check;
mod ctxt;
mod expand;
mod fallback;
mod symbol;
mod unordered;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `idem::Idempotent` (with `idem::key::Arguments` and `idem::Canonical`). See the `idem`
/// crate for the attributes.
#[proc_macro_derive(Idempotent, attributes(idem))]
pub fn derive_idempotent(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let cx = ctxt::Ctxt::new();
    let cont = ast::Container::from_ast(&cx, &input);
    // Checking reports every broken rule and always gives a model; the errors alone decide
    // whether code is generated from it.
    let model = check::idempotent(&cx, &cont);
    let krate = bound::crate_path(cont.attrs.crate_path.as_ref().map(|p| &p.value));
    match cx.check() {
        Ok(()) => expand::expand_idempotent(&cont, &model).into(),
        Err(errors) => fallback::idempotent(&input, &krate, errors).into(),
    }
}

/// Derives `idem::Canonical` for a struct or an enum nested in a tool's arguments, in serde's
/// default (externally tagged) data model. See the `idem` crate for the attributes.
#[proc_macro_derive(Canonical, attributes(idem))]
pub fn derive_canonical(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let cx = ctxt::Ctxt::new();
    let cont = ast::Container::from_ast(&cx, &input);
    check::canonical(&cx, &cont);
    let krate = bound::crate_path(cont.attrs.crate_path.as_ref().map(|p| &p.value));
    match cx.check() {
        Ok(()) => expand::expand_canonical(&cont).into(),
        Err(errors) => fallback::canonical(&input, &krate, errors).into(),
    }
}
