//! The attributes of an enum variant.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, LitStr};

use crate::case::RenameRule;
use crate::ctxt::Ctxt;
use crate::symbol::*;

use super::{Attr, Spanned, parse_lit_str, recover, serialize_name, skip_meta_value};

/// The attributes of an enum variant: `#[idem(rename = "...")]` is the only one that applies.
pub(crate) struct Variant {
    pub(crate) rename: Option<Spanned<LitStr>>,
    pub(crate) serde: SerdeVariant,
}

/// What `#[serde(...)]` says of an enum variant.
#[derive(Default)]
pub(crate) struct SerdeVariant {
    pub(crate) rename: Option<String>,
    /// `rename_all`: the rule for the variant's fields.
    pub(crate) rename_all: Option<RenameRule>,
    /// `#[serde(untagged)]` (serde >= 1.0.181): the variant is written as its content alone.
    pub(crate) untagged: bool,
    /// `#[serde(skip)]` or `#[serde(skip_serializing)]`: serde fails to serialize the variant.
    pub(crate) skip: bool,
    /// `serialize_with` or `with`, which idem does not reproduce, with its tokens.
    pub(crate) unsupported: Vec<(String, TokenStream)>,
}

impl Variant {
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut rename = Attr::none(cx, RENAME);
        for attr in attrs.iter().filter(|a| a.path().is_ident(IDEM)) {
            let result = attr.parse_nested_meta(|meta| {
                let Some(name) = meta.path.get_ident().map(ToString::to_string) else {
                    return Err(meta.error("expected an attribute name such as `rename`"));
                };
                let read = (|| -> syn::Result<()> {
                    match name.as_str() {
                        // #[idem(rename = "express")]
                        RENAME => rename.set(&meta.path, parse_lit_str(&meta, RENAME)?),
                        other => {
                            let message = match field_attr_on_variant(other) {
                                Some(place) => format!("`{other}` is not expected here; {place}"),
                                None if CONTAINER_ATTRS.contains(&other) => format!(
                                    "unknown idem variant attribute `{other}`; `{other}` \
                                     belongs on the struct, not on a variant"
                                ),
                                None => format!(
                                    "unknown idem variant attribute `{other}`{}",
                                    suggestion(other, VARIANT_ATTRS)
                                ),
                            };
                            cx.error_spanned_by(&meta.path, message);
                            skip_meta_value(&meta)?;
                        }
                    }
                    Ok(())
                })();
                recover(cx, &meta, read)
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        Variant {
            rename: rename.get(),
            serde: SerdeVariant::from_ast(attrs),
        }
    }
}

/// Where a field attribute written on a variant belongs instead.
fn field_attr_on_variant(name: &str) -> Option<&'static str> {
    Some(match name {
        KEY => {
            "`key` belongs on a field of a tool's argument struct with #[derive(Idempotent)], \
             not on an enum variant"
        }
        ALLOW_EMPTY => {
            "`allow_empty` belongs next to `key` on a field of a tool's argument struct with \
             #[derive(Idempotent)], not on an enum variant"
        }
        SKIP => {
            "`skip` belongs on a field: a value of this variant cannot be left out of its enum; \
             mark the variant's fields `#[idem(skip)]`, or the field that holds the enum"
        }
        WITH_SERDE => {
            "`serde` belongs on a field: mark the variant's fields `#[idem(serde)]`, or the \
             field that holds the enum"
        }
        _ => return None,
    })
}

impl SerdeVariant {
    fn from_ast(attrs: &[Attribute]) -> Self {
        let mut out = SerdeVariant::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident(SERDE)) {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    // #[serde(rename = "express")]
                    if let Some(lit) = serialize_name(&meta)? {
                        out.rename = Some(lit.value());
                    }
                } else if meta.path.is_ident("rename_all") {
                    // #[serde(rename_all = "camelCase")]
                    if let Some(lit) = serialize_name(&meta)? {
                        out.rename_all = RenameRule::from_lit(&lit);
                    }
                } else if meta.path.is_ident("untagged") {
                    // #[serde(untagged)]
                    out.untagged = true;
                } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                    // #[serde(skip)], #[serde(skip_serializing)]
                    out.skip = true;
                } else if meta.path.is_ident("serialize_with") || meta.path.is_ident("with") {
                    let word = meta.path.to_token_stream().to_string();
                    out.unsupported.push((word, meta.path.to_token_stream()));
                    skip_meta_value(&meta)?;
                } else {
                    // `alias`, `other`, `skip_deserializing`, `deserialize_with`, `bound`,
                    // `borrow`: they do not change what serde writes.
                    skip_meta_value(&meta)?;
                }
                Ok(())
            });
        }
        out
    }
}
