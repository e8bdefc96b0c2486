//! `#[derive(Canonical)]`: nested structs and enums in serde's default data model.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::{presence, write_value};
use crate::ast::{Container, Data, Field, Style, Variant};
use crate::bound::{crate_path, with_bounds};

pub(crate) fn expand_canonical(cont: &Container<'_>) -> TokenStream {
    let krate = crate_path(cont.attrs.crate_path.as_ref().map(|p| &p.value));
    let p = quote!(#krate::__private);
    let ident = cont.ident;
    let all_fields: Vec<&Field<'_>> = match &cont.data {
        Data::Struct(_, fields) => fields.iter().collect(),
        // The fields of a skipped variant are never written: they need no bound.
        Data::Enum(variants) => variants
            .iter()
            .filter(|v| !v.is_skipped())
            .flat_map(|v| &v.fields)
            .collect(),
        Data::Union => return TokenStream::new(),
    };
    let generics = with_bounds(&cont.original.generics, all_fields, &krate);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    let body = match &cont.data {
        Data::Struct(style, fields) => {
            let bindings: Vec<TokenStream> = fields
                .iter()
                .map(|f| {
                    let member = &f.member;
                    quote!(&self.#member)
                })
                .collect();
            write_shape(*style, fields, &bindings, &krate)
        }
        Data::Enum(variants) => {
            let arms = variants.iter().map(|v| variant_arm(cont.ident, v, &krate));
            quote! {
                match self {
                    #(#arms)*
                }
            }
        }
        Data::Union => return TokenStream::new(),
    };

    // Structs are objects (newtypes are their inner value, tuples arrays); enums whose variants
    // are all written as their names are strings, other enums any JSON.
    let kind = match &cont.data {
        Data::Struct(Style::Struct, _) => quote!(Object),
        Data::Struct(Style::Tuple, _) => quote!(Array),
        Data::Enum(variants)
            if variants
                .iter()
                .filter(|v| !v.is_skipped())
                .all(|v| v.effective_style() == Style::Unit && !v.attrs.serde.untagged) =>
        {
            quote!(String)
        }
        _ => quote!(Any),
    };
    let presence = match &cont.data {
        Data::Enum(variants) => enum_presence(variants, &krate),
        _ => TokenStream::new(),
    };
    quote! {
        #[doc(hidden)]

        const _: () = {
            #[automatically_derived]
            impl #impl_generics #p::Canonical for #ident #ty_generics #where_clause {
                const PARAMETER_TYPE: #p::ParameterType = #p::ParameterType::#kind;

                fn write_canonical(
                    &self,
                    __writer: &mut #p::CanonicalWriter,
                ) -> #p::Result<(), #p::EncodeError> {
                    #body
                }

                #presence
            }
        };
    }
}

/// The pattern of a variant, binding its fields to `__field0`, `__field1`... unless serde
/// writes it as a unit variant (then nothing is bound).
fn variant_pattern(variant: &Variant<'_>) -> (TokenStream, Vec<TokenStream>) {
    let variant_ident = variant.ident;
    if variant.style == Style::Unit {
        return (quote!(Self::#variant_ident), Vec::new());
    }
    if variant.is_skipped() || variant.effective_style() == Style::Unit {
        return (quote!(Self::#variant_ident { .. }), Vec::new());
    }
    let bindings: Vec<TokenStream> = (0..variant.fields.len())
        .map(|i| {
            let binding = format_ident!("__field{}", i);
            quote!(#binding)
        })
        .collect();
    let members = variant.fields.iter().map(|f| &f.member);
    (
        quote!(Self::#variant_ident { #(#members: #bindings),* }),
        bindings,
    )
}

/// One arm of the `match` that writes an enum, as serde's externally tagged representation
/// writes the variant: its name, `{"name": content}`, the content alone for a
/// `#[serde(untagged)]` variant, or an error for a `#[serde(skip)]` one.
fn variant_arm(enum_ident: &syn::Ident, variant: &Variant<'_>, krate: &TokenStream) -> TokenStream {
    let p = quote!(#krate::__private);
    let (pattern, bindings) = variant_pattern(variant);
    if variant.is_skipped() {
        let type_name = enum_ident.to_string();
        let variant_name = variant.ident.to_string();
        return quote! {
            #pattern => #p::Result::Err(#p::EncodeError::SkippedVariant {
                type_name: #type_name,
                variant: #variant_name,
            }),
        };
    }
    let style = variant.effective_style();
    let name = &variant.name;
    let body = match (style, variant.attrs.serde.untagged) {
        (Style::Unit, false) => quote! {
            __writer.write_str(#name);
            #p::Result::Ok(())
        },
        (Style::Unit, true) => write_shape(Style::Unit, &[], &[], krate),
        (_, false) => {
            let inner = write_shape(style, &variant.fields, &bindings, krate);
            quote! {
                #p::write_tagged(__writer, #name, |__writer| { #inner })
            }
        }
        (_, true) => write_shape(style, &variant.fields, &bindings, krate),
    };
    quote!(#pattern => { #body })
}

/// `Canonical::presence` for an enum with `#[serde(untagged)]` variants: such a variant is
/// `null` when serde writes it as a unit, and its value's presence when it is a newtype. Nothing
/// (the default, always present) for other enums.
fn enum_presence(variants: &[Variant<'_>], krate: &TokenStream) -> TokenStream {
    let p = quote!(#krate::__private);
    let arms: Vec<TokenStream> = variants
        .iter()
        .filter(|v| v.attrs.serde.untagged && !v.is_skipped())
        .filter_map(|v| {
            let (pattern, bindings) = variant_pattern(v);
            match v.effective_style() {
                Style::Unit => Some(quote!(#pattern => #p::Presence::Null,)),
                Style::Newtype => {
                    let value = presence(&v.fields[0], bindings[0].clone(), krate);
                    Some(quote!(#pattern => #value,))
                }
                Style::Tuple | Style::Struct => None,
            }
        })
        .collect();
    if arms.is_empty() {
        return TokenStream::new();
    }
    let rest = (arms.len() < variants.len()).then(|| quote!(_ => #p::Presence::Present,));
    quote! {
        fn presence(&self) -> #p::Presence {
            match self {
                #(#arms)*
                #rest
            }
        }
    }
}

/// Writes fields of one shape; `bindings[i]` is an expression of a reference to field `i`.
/// A field with `#[serde(skip_serializing_if = "path")]` is left out when `path` says so, as
/// serde does, except in a newtype (serde writes the value of a newtype whatever `path` says).
fn write_shape(
    style: Style,
    fields: &[Field<'_>],
    bindings: &[TokenStream],
    krate: &TokenStream,
) -> TokenStream {
    let p = quote!(#krate::__private);
    let mut included: Vec<(&Field<'_>, &TokenStream)> = fields
        .iter()
        .zip(bindings)
        .filter(|(f, _)| f.is_included())
        .collect();
    let unused = fields
        .iter()
        .zip(bindings)
        .filter(|(f, _)| !f.is_included())
        .map(|(_, b)| quote!(let _ = #b;));
    // With a field that may be left out, whether a member comes first is known at run time.
    let conditional = included
        .iter()
        .any(|(f, _)| f.attrs.serde.skip_serializing_if.is_some());
    let first = |i: usize| {
        if conditional {
            quote!(::core::mem::replace(&mut __first, false))
        } else {
            let first = i == 0;
            quote!(#first)
        }
    };
    let declare_first = conditional.then(|| quote!(let mut __first = true;));
    let unless_skipped = |field: &Field<'_>, binding: &TokenStream, write: TokenStream| match &field
        .attrs
        .serde
        .skip_serializing_if
    {
        Some(path) => quote! {
            if !#path(#binding) {
                #write
            }
        },
        None => write,
    };
    let body = match style {
        Style::Unit => quote! {
            __writer.write_null();
            #p::Result::Ok(())
        },
        Style::Newtype if included.len() == 1 => {
            let (field, binding) = included[0];
            let write = write_value(field, binding.clone(), krate);
            quote!(#write)
        }
        Style::Newtype | Style::Tuple => {
            let writes = included.iter().enumerate().map(|(i, (field, binding))| {
                let write = write_value(field, (*binding).clone(), krate);
                let comma = match (conditional, i) {
                    (false, 0) => None,
                    (false, _) => Some(quote!(__writer.write_separator();)),
                    (true, _) => {
                        let first = first(i);
                        Some(quote! {
                            if !#first {
                                __writer.write_separator();
                            }
                        })
                    }
                };
                unless_skipped(
                    field,
                    binding,
                    quote! {
                        #comma
                        #write?;
                    },
                )
            });
            quote! {
                __writer.begin_array()?;
                #declare_first
                #(#writes)*
                __writer.end_array();
                #p::Result::Ok(())
            }
        }
        Style::Struct => {
            included.sort_by(|a, b| a.0.name.encode_utf16().cmp(b.0.name.encode_utf16()));
            let writes = included.iter().enumerate().map(|(i, (field, binding))| {
                let write = write_value(field, (*binding).clone(), krate);
                let name = &field.name;
                let first = first(i);
                unless_skipped(
                    field,
                    binding,
                    quote! {
                        __writer.write_member_name(#first, #name);
                        #write?;
                    },
                )
            });
            quote! {
                __writer.begin_object()?;
                #declare_first
                #(#writes)*
                __writer.end_object();
                #p::Result::Ok(())
            }
        }
    };
    quote! {
        #(#unused)*
        #body
    }
}
