//! The field attributes: `#[idem(...)]` and `#[serde(...)]` on a field.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, LitStr};

use crate::ctxt::Ctxt;
use crate::symbol::*;

use super::{
    Attr, Flag, Spanned, doc_comment, no_value, parse_lit_str, recover, serialize_name,
    skip_meta_value,
};

/// The field attributes.
pub(crate) struct Field {
    pub(crate) key: Option<TokenStream>,
    pub(crate) skip: Option<TokenStream>,
    pub(crate) rename: Option<Spanned<LitStr>>,
    pub(crate) allow_empty: Option<TokenStream>,
    pub(crate) with_serde: Option<TokenStream>,
    /// Whether an unknown `#[idem(...)]` attribute was reported here (likely a misspelt `key`),
    /// so that the checks do not add errors that only follow from it.
    pub(crate) had_unknown: bool,
    /// The doc comment, lines joined.
    pub(crate) doc: String,
    pub(crate) serde: SerdeField,
}

/// What `#[serde(...)]` says of a field.
#[derive(Default)]
pub(crate) struct SerdeField {
    pub(crate) rename: Option<String>,
    /// `#[serde(skip)]` or `#[serde(skip_serializing)]`: serde leaves the field out.
    pub(crate) skip: bool,
    /// `#[serde(flatten)]`, which idem does not reproduce.
    pub(crate) flatten: Option<TokenStream>,
    /// `#[serde(skip_serializing_if = "path")]`: serde leaves the field out when `path(&value)`
    /// is true.
    pub(crate) skip_serializing_if: Option<syn::ExprPath>,
    /// `serialize_with` or `with`, which idem does not reproduce, with its tokens.
    pub(crate) unsupported: Vec<(String, TokenStream)>,
}

impl Field {
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut key = Flag::none(cx, KEY);
        let mut skip = Flag::none(cx, SKIP);
        let mut rename = Attr::none(cx, RENAME);
        let mut allow_empty = Flag::none(cx, ALLOW_EMPTY);
        let mut with_serde = Flag::none(cx, WITH_SERDE);
        let mut had_unknown = false;

        for attr in attrs.iter().filter(|a| a.path().is_ident(IDEM)) {
            let result = attr.parse_nested_meta(|meta| {
                let Some(name) = meta.path.get_ident().map(ToString::to_string) else {
                    return Err(meta.error("expected an attribute name such as `key`"));
                };
                let read = (|| -> syn::Result<()> {
                    match name.as_str() {
                        // #[idem(key)]
                        KEY => {
                            key.set(&meta.path);
                            no_value(&meta, KEY)?;
                        }
                        // #[idem(skip)]
                        SKIP => {
                            skip.set(&meta.path);
                            no_value(&meta, SKIP)?;
                        }
                        // #[idem(rename = "transactionId")]
                        RENAME => rename.set(&meta.path, parse_lit_str(&meta, RENAME)?),
                        // #[idem(allow_empty)]
                        ALLOW_EMPTY => {
                            allow_empty.set(&meta.path);
                            no_value(&meta, ALLOW_EMPTY)?;
                        }
                        // #[idem(serde)]
                        WITH_SERDE => {
                            with_serde.set(&meta.path);
                            no_value(&meta, WITH_SERDE)?;
                        }
                        other => {
                            let hint = if CONTAINER_ATTRS.contains(&other) {
                                format!("; `{other}` belongs on the struct, not on a field")
                            } else {
                                suggestion(other, FIELD_ATTRS)
                            };
                            cx.error_spanned_by(
                                &meta.path,
                                format!("unknown idem field attribute `{other}`{hint}"),
                            );
                            had_unknown = true;
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

        Field {
            key: key.get(),
            skip: skip.get(),
            rename: rename.get(),
            allow_empty: allow_empty.get(),
            with_serde: with_serde.get(),
            doc: doc_comment(attrs),
            had_unknown,
            serde: SerdeField::from_ast(attrs),
        }
    }
}

impl SerdeField {
    fn from_ast(attrs: &[Attribute]) -> Self {
        let mut out = SerdeField::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident(SERDE)) {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    if let Some(lit) = serialize_name(&meta)? {
                        out.rename = Some(lit.value());
                    }
                } else if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                    out.skip = true;
                } else if meta.path.is_ident("flatten") {
                    out.flatten = Some(meta.path.to_token_stream());
                } else if meta.path.is_ident("skip_serializing_if") {
                    // #[serde(skip_serializing_if = "Option::is_none")]
                    let lit: LitStr = meta.value()?.parse()?;
                    // A path that does not parse is serde's error to report.
                    out.skip_serializing_if = lit.parse().ok();
                } else if meta.path.is_ident("serialize_with") || meta.path.is_ident("with") {
                    let word = meta.path.to_token_stream().to_string();
                    out.unsupported.push((word, meta.path.to_token_stream()));
                    skip_meta_value(&meta)?;
                } else {
                    skip_meta_value(&meta)?;
                }
                Ok(())
            });
        }
        out
    }
}
