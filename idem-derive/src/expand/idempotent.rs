//! `#[derive(Idempotent)]`: `Arguments`, `Canonical` and `Idempotent` for a tool's arguments.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{presence, write_value};
use crate::ast::{Container, Data, Field};
use crate::bound::{crate_path, with_bounds};
use crate::check::{KeyModel, Strategy};

pub(crate) fn expand_idempotent(cont: &Container<'_>, model: &KeyModel) -> TokenStream {
    let Data::Struct(_, all_fields) = &cont.data else {
        return TokenStream::new();
    };
    let krate = crate_path(cont.attrs.crate_path.as_ref().map(|p| &p.value));
    let p = quote!(#krate::__private);
    let ident = cont.ident;
    let generics = with_bounds(&cont.original.generics, all_fields, &krate);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    let fields = Container::canonical_fields(all_fields);
    let count = fields.len();
    let indices: Vec<usize> = (0..count).collect();
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let writes = fields.iter().map(|f| {
        let member = &f.member;
        write_value(f, quote!(&self.#member), &krate)
    });
    let presences = fields.iter().map(|f| {
        let member = &f.member;
        presence(f, quote!(&self.#member), &krate)
    });
    let key_indices = indices_where(&fields, |f| f.attrs.key.is_some());
    let allow_empty_indices = indices_where(&fields, |f| f.attrs.allow_empty.is_some());
    let key_names: Vec<&str> = fields
        .iter()
        .filter(|f| f.attrs.key.is_some())
        .map(|f| f.name.as_str())
        .collect();
    let has_key_fields = !key_names.is_empty();

    let tool = &model.tool;
    let strategy = match &model.strategy {
        Strategy::Default => quote!(#p::DeclaredStrategy::Builtin(#p::BuiltinStrategy::Default)),
        Strategy::Fields => quote!(#p::DeclaredStrategy::Builtin(#p::BuiltinStrategy::Fields)),
        Strategy::Hash {
            algorithm,
            include_user,
            include_session,
        } => {
            let algorithm = match *algorithm {
                "sha384" => quote!(Sha384),
                "sha512" => quote!(Sha512),
                _ => quote!(Sha256),
            };
            quote! {
                #p::DeclaredStrategy::Builtin(#p::BuiltinStrategy::Hash {
                    algorithm: #p::Algorithm::#algorithm,
                    include_user: #include_user,
                    include_session: #include_session,
                })
            }
        }
        Strategy::Custom(path) => {
            // Spanned on the path: a function of neither signature, or one returning something
            // else than a key, is reported there.
            // (`__key` is bound first so that the return type's error points at the path too.)
            let call = quote_spanned! {path.span()=>
                let __key = #p::key_with::<Self, _, _>(#path, __args, __input);
                #p::custom_key(__key)
            };
            quote! {
                #p::DeclaredStrategy::Custom(|__args, __input| { #call })
            }
        }
        Strategy::Generator(name) => quote!(#p::DeclaredStrategy::Generator(#name)),
    };
    let window = match model.window_seconds {
        Some(seconds) => quote!(#p::Option::Some(#seconds)),
        None => quote!(#p::Option::None),
    };

    let parameters = all_fields
        .iter()
        .filter(|f| !f.attrs.serde.skip)
        .map(|f| parameter(f, &krate));
    let name = &model.name;
    let description = &cont.attrs.doc;
    let option_u64 = |v: Option<u64>| match v {
        Some(v) => quote!(#p::Option::Some(#v)),
        None => quote!(#p::Option::None),
    };
    let ttl = option_u64(model.ttl_seconds);
    let lease = option_u64(model.lease_seconds);
    let persist_result = match model.persist_result {
        Some(v) => quote!(#p::Option::Some(#v)),
        None => quote!(#p::Option::None),
    };

    quote! {
        #[doc(hidden)]

        const _: () = {
            #[automatically_derived]
            impl #impl_generics #p::Arguments for #ident #ty_generics #where_clause {
                #[inline]
                fn field_count(&self) -> usize {
                    #count
                }

                #[inline]
                fn field_name(&self, __index: usize) -> &str {
                    match __index {
                        #(#indices => #names,)*
                        _ => "",
                    }
                }

                #[inline]
                fn field_presence(&self, __index: usize) -> #p::Presence {
                    match __index {
                        #(#indices => #presences,)*
                        _ => #p::Presence::Null,
                    }
                }

                #[inline]
                fn write_field(
                    &self,
                    __index: usize,
                    __writer: &mut #p::CanonicalWriter,
                ) -> #p::Result<(), #p::EncodeError> {
                    match __index {
                        #(#indices => #writes,)*
                        _ => #p::Result::Ok(()),
                    }
                }

                #[inline]
                fn is_key_field(&self, __index: usize) -> bool {
                    #key_indices
                }

                #[inline]
                fn allows_empty(&self, __index: usize) -> bool {
                    #allow_empty_indices
                }

                #[inline]
                fn has_key_fields(&self) -> bool {
                    #has_key_fields
                }

                #[inline]
                fn field_index(&self, __name: &str) -> #p::Option<usize> {
                    match __name {
                        #(#names => #p::Option::Some(#indices),)*
                        _ => #p::Option::None,
                    }
                }
            }

            #[automatically_derived]
            impl #impl_generics #p::Canonical for #ident #ty_generics #where_clause {
                const PARAMETER_TYPE: #p::ParameterType = #p::ParameterType::Object;

                fn write_canonical(
                    &self,
                    __writer: &mut #p::CanonicalWriter,
                ) -> #p::Result<(), #p::EncodeError> {
                    #p::write_arguments_object(self, __writer)
                }
            }

            #[automatically_derived]
            impl #impl_generics #p::Idempotent for #ident #ty_generics #where_clause {
                const KEY: #p::KeyDeclaration<Self> = #p::KeyDeclaration {
                    tool: #tool,
                    strategy: #strategy,
                    window_seconds: #window,
                    fields: &[#(#names),*],
                    key_fields: &[#(#key_names),*],
                };

                const TOOL: #p::ToolDeclaration = #p::ToolDeclaration {
                    name: #name,
                    description: #description,
                    parameters: &[#(#parameters),*],
                    ttl_seconds: #ttl,
                    lease_seconds: #lease,
                    persist_result: #persist_result,
                };
            }
        };
    }
}

/// `matches!(__index, 0 | 2)`, or `false` when no field qualifies.
fn indices_where(fields: &[&Field<'_>], pred: impl Fn(&Field<'_>) -> bool) -> TokenStream {
    let indices: Vec<usize> = fields
        .iter()
        .enumerate()
        .filter(|(_, f)| pred(f))
        .map(|(i, _)| i)
        .collect();
    if indices.is_empty() {
        quote! {
            {
                let _ = __index;
                false
            }
        }
    } else {
        quote!(::core::matches!(__index, #(#indices)|*))
    }
}

/// A `ParameterDeclaration` for a field. Fields that take part in keys report their JSON type
/// through `Canonical`; others (skipped, or encoded through serde) need not implement it, so
/// their type is read from the syntax.
fn parameter(field: &Field<'_>, krate: &TokenStream) -> TokenStream {
    let p = quote!(#krate::__private);
    let name = &field.name;
    let description = &field.attrs.doc;
    let ty = field.ty;
    let (kind, required) = if field.is_included() && field.attrs.with_serde.is_none() {
        (
            quote!(<#ty as #p::Canonical>::PARAMETER_TYPE),
            quote!(!<#ty as #p::Canonical>::OPTIONAL),
        )
    } else {
        let (kind, optional) = syntactic_type(ty);
        let kind = syn::Ident::new(kind, proc_macro2::Span::call_site());
        let required = !optional;
        (quote!(#p::ParameterType::#kind), quote!(#required))
    };
    quote! {
        #p::ParameterDeclaration {
            name: #name,
            kind: #kind,
            required: #required,
            description: #description,
        }
    }
}

/// The JSON type of a type judged by its name, and whether it is an `Option`.
fn syntactic_type(ty: &syn::Type) -> (&'static str, bool) {
    match ty {
        syn::Type::Reference(r) => syntactic_type(&r.elem),
        syn::Type::Array(_) | syn::Type::Slice(_) | syn::Type::Tuple(_) => ("Array", false),
        syn::Type::Path(path) => {
            let Some(last) = path.path.segments.last() else {
                return ("Any", false);
            };
            let name = last.ident.to_string();
            if name == "Option" {
                if let syn::PathArguments::AngleBracketed(args) = &last.arguments
                    && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
                {
                    return (syntactic_type(inner).0, true);
                }
                return ("Any", true);
            }
            let kind = match name.as_str() {
                "String" | "str" | "char" | "Cow" => "String",
                "bool" => "Boolean",
                "f32" | "f64" => "Number",
                "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64"
                | "i128" | "isize" => "Integer",
                "Vec" | "VecDeque" | "HashSet" | "BTreeSet" => "Array",
                "HashMap" | "BTreeMap" => "Object",
                _ => "Any",
            };
            (kind, false)
        }
        _ => ("Any", false),
    }
}
