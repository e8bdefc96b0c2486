//! Code generation, once the input has passed the checks.

mod canonical;
mod idempotent;

pub(crate) use canonical::expand_canonical;
pub(crate) use idempotent::expand_idempotent;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Field;

/// An expression writing the canonical value of `value` (an expression of a `&T`) to `writer`.
pub(crate) fn write_value(
    field: &Field<'_>,
    value: TokenStream,
    krate: &TokenStream,
) -> TokenStream {
    if field.attrs.with_serde.is_some() {
        quote! {
            #krate::__private::Canonical::write_canonical(
                &#krate::__private::SerdeCanonical(#value),
                __writer,
            )
        }
    } else {
        let ty = field.ty;
        quote_spanned_ty(
            ty,
            quote! {
                <#ty as #krate::__private::Canonical>::write_canonical(#value, __writer)
            },
        )
    }
}

/// The presence of `value` (an expression of a `&T`) as a key field.
pub(crate) fn presence(field: &Field<'_>, value: TokenStream, krate: &TokenStream) -> TokenStream {
    if field.attrs.with_serde.is_some() {
        quote! {
            #krate::__private::Canonical::presence(&#krate::__private::SerdeCanonical(#value))
        }
    } else {
        let ty = field.ty;
        quote_spanned_ty(
            ty,
            quote! {
                <#ty as #krate::__private::Canonical>::presence(#value)
            },
        )
    }
}

/// Re-spans generated tokens on the field's type, so that "does not implement Canonical"
/// points at the type of the field at fault.
fn quote_spanned_ty(ty: &syn::Type, tokens: TokenStream) -> TokenStream {
    use syn::spanned::Spanned;
    let span = ty.span();
    tokens
        .into_iter()
        .map(|mut tt| {
            tt.set_span(tt.span().resolved_at(span).located_at(span));
            tt
        })
        .collect()
}
