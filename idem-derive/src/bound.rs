//! Trait bounds for generic types: added only for the type parameters that included fields use.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{Generics, Ident};

use crate::ast::Field;

/// `generics` with `T: Canonical` (or `T: Serialize` for `#[idem(serde)]` fields) added for every
/// type parameter an included field mentions.
pub(crate) fn with_bounds<'a>(
    generics: &Generics,
    fields: impl IntoIterator<Item = &'a Field<'a>>,
    krate: &TokenStream,
) -> Generics {
    let params: BTreeSet<Ident> = generics.type_params().map(|p| p.ident.clone()).collect();
    if params.is_empty() {
        return generics.clone();
    }
    let mut canonical = BTreeSet::new();
    let mut serialize = BTreeSet::new();
    for field in fields.into_iter().filter(|f| f.is_included()) {
        let target = if field.attrs.with_serde.is_some() {
            &mut serialize
        } else {
            &mut canonical
        };
        collect_idents(field.ty.to_token_stream(), &params, target);
    }
    let mut generics = generics.clone();
    let where_clause = generics.make_where_clause();
    for param in &canonical {
        where_clause
            .predicates
            .push(syn::parse_quote!(#param: #krate::__private::Canonical));
    }
    for param in &serialize {
        where_clause
            .predicates
            .push(syn::parse_quote!(#param: #krate::__private::Serialize));
    }
    generics
}

fn collect_idents(tokens: TokenStream, params: &BTreeSet<Ident>, out: &mut BTreeSet<Ident>) {
    for token in tokens {
        match token {
            TokenTree::Ident(ident) if params.contains(&ident) => {
                out.insert(ident);
            }
            TokenTree::Group(group) => collect_idents(group.stream(), params, out),
            _ => {}
        }
    }
}

/// The path generated code uses for the runtime: `::idem` unless `#[idem(crate = "...")]`.
pub(crate) fn crate_path(path: Option<&syn::Path>) -> TokenStream {
    match path {
        Some(path) => path.to_token_stream(),
        None => quote!(::idem),
    }
}
