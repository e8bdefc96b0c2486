//! `#[derive(Canonical)]`: nested structs and enums in serde's default data model.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::write_value;
use crate::ast::{Container, Data, Field, Style};
use crate::bound::{crate_path, with_bounds};

pub(crate) fn expand_canonical(cont: &Container<'_>) -> TokenStream {
    let krate = crate_path(cont.attrs.crate_path.as_ref().map(|p| &p.value));
    let p = quote!(#krate::__private);
    let ident = cont.ident;
    let all_fields: Vec<&Field<'_>> = match &cont.data {
        Data::Struct(_, fields) => fields.iter().collect(),
        Data::Enum(variants) => variants.iter().flat_map(|v| &v.fields).collect(),
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
            let arms = variants.iter().map(|variant| {
                let variant_ident = variant.ident;
                let name = &variant.name;
                let bindings: Vec<TokenStream> = (0..variant.fields.len())
                    .map(|i| {
                        let binding = format_ident!("__field{}", i);
                        quote!(#binding)
                    })
                    .collect();
                let members = variant.fields.iter().map(|f| &f.member);
                let pattern = match variant.style {
                    Style::Unit => quote!(Self::#variant_ident),
                    _ => quote!(Self::#variant_ident { #(#members: #bindings),* }),
                };
                let body = if variant.style == Style::Unit {
                    quote! {
                        __writer.write_str(#name);
                        #p::Result::Ok(())
                    }
                } else {
                    let inner = write_shape(variant.style, &variant.fields, &bindings, &krate);
                    quote! {
                        #p::write_tagged(__writer, #name, |__writer| { #inner })
                    }
                };
                quote!(#pattern => { #body })
            });
            quote! {
                match self {
                    #(#arms)*
                }
            }
        }
        Data::Union => return TokenStream::new(),
    };

    // Structs are objects (newtypes are their inner value, tuples arrays); enums of unit variants
    // are strings, other enums any JSON.
    let kind = match &cont.data {
        Data::Struct(Style::Struct, _) => quote!(Object),
        Data::Struct(Style::Tuple, _) => quote!(Array),
        Data::Enum(variants) if variants.iter().all(|v| v.style == Style::Unit) => quote!(String),
        _ => quote!(Any),
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
            }
        };
    }
}

/// Writes fields of one shape; `bindings[i]` is an expression of a reference to field `i`.
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
                let comma = (i > 0).then(|| quote!(__writer.write_raw(b",");));
                quote! {
                    #comma
                    #write?;
                }
            });
            quote! {
                __writer.write_raw(b"[");
                #(#writes)*
                __writer.write_raw(b"]");
                #p::Result::Ok(())
            }
        }
        Style::Struct => {
            included.sort_by(|a, b| a.0.name.encode_utf16().cmp(b.0.name.encode_utf16()));
            let writes = included.iter().enumerate().map(|(i, (field, binding))| {
                let write = write_value(field, (*binding).clone(), krate);
                let name = &field.name;
                let first = i == 0;
                quote! {
                    __writer.write_member_name(#first, #name);
                    #write?;
                }
            });
            quote! {
                __writer.write_raw(b"{");
                #(#writes)*
                __writer.write_raw(b"}");
                #p::Result::Ok(())
            }
        }
    };
    quote! {
        #(#unused)*
        #body
    }
}
