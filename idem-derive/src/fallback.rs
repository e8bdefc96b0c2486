//! What a derive emits when the input is wrong: the errors, plus stub impls so that the user
//! sees the mistakes in the attributes and not a cascade of "trait not implemented" at every use.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

/// The errors and stub `Arguments`, `Canonical` and `Idempotent` impls.
pub(crate) fn idempotent(
    input: &DeriveInput,
    krate: &TokenStream,
    errors: syn::Error,
) -> TokenStream {
    with_stubs(input, krate, errors, |p, header| {
        let (impl_generics, ty_generics, where_clause) = header;
        let ident = &input.ident;
        quote! {
            impl #impl_generics #p::Arguments for #ident #ty_generics #where_clause {
                fn field_count(&self) -> usize { 0 }
                fn field_name(&self, _: usize) -> &str { "" }
                fn field_presence(&self, _: usize) -> #p::Presence { #p::Presence::Null }
                fn write_field(&self, _: usize, _: &mut #p::CanonicalWriter)
                    -> #p::Result<(), #p::EncodeError> { ::core::unreachable!() }
            }
            impl #impl_generics #p::Idempotent for #ident #ty_generics #where_clause {
                const KEY: #p::KeyDeclaration<Self> = #p::KeyDeclaration {
                    tool: "",
                    strategy: #p::DeclaredStrategy::Builtin(#p::BuiltinStrategy::Default),
                    window_seconds: #p::Option::None,
                    fields: &[],
                    key_fields: &[],
                };
                const TOOL: #p::ToolDeclaration = #p::ToolDeclaration {
                    name: "",
                    description: "",
                    parameters: &[],
                    ttl_seconds: #p::Option::None,
                    lease_seconds: #p::Option::None,
                    persist_result: #p::Option::None,
                };
            }
        }
    })
}

/// The errors and a stub `Canonical` impl.
pub(crate) fn canonical(
    input: &DeriveInput,
    krate: &TokenStream,
    errors: syn::Error,
) -> TokenStream {
    with_stubs(input, krate, errors, |_, _| TokenStream::new())
}

type Split<'a> = (
    syn::ImplGenerics<'a>,
    syn::TypeGenerics<'a>,
    Option<&'a syn::WhereClause>,
);

/// The errors, a stub `Canonical` impl (both derives implement it), and the stubs `more` adds,
/// in one `const _` block. A union gets the errors alone: no stub fits it.
fn with_stubs(
    input: &DeriveInput,
    krate: &TokenStream,
    errors: syn::Error,
    more: impl FnOnce(&TokenStream, Split<'_>) -> TokenStream,
) -> TokenStream {
    let errors = errors.to_compile_error();
    if matches!(input.data, syn::Data::Union(_)) {
        return errors;
    }
    let p = quote!(#krate::__private);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let more = more(&p, input.generics.split_for_impl());
    quote! {
        #errors
        #[allow(unreachable_code, clippy::all)]
        const _: () = {
            impl #impl_generics #p::Canonical for #ident #ty_generics #where_clause {
                fn write_canonical(&self, _: &mut #p::CanonicalWriter)
                    -> #p::Result<(), #p::EncodeError> { ::core::unreachable!() }
            }
            #more
        };
    }
}
