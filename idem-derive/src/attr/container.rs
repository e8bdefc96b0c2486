//! The container attributes: `#[idem(...)]` and `#[serde(...)]` on the struct or enum.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, LitBool, LitStr};

use crate::case::RenameRule;
use crate::ctxt::Ctxt;
use crate::symbol::*;

use super::{
    Attr, Spanned, doc_comment, parse_lit_bool, parse_lit_str, recover, serialize_name,
    skip_meta_value,
};

/// The container attributes.
pub(crate) struct Container {
    pub(crate) tool: Option<Spanned<LitStr>>,
    pub(crate) strategy: Option<Spanned<LitStr>>,
    pub(crate) algorithm: Option<Spanned<LitStr>>,
    pub(crate) include_user: Option<Spanned<LitBool>>,
    pub(crate) include_session: Option<Spanned<LitBool>>,
    pub(crate) window: Option<Spanned<LitStr>>,
    pub(crate) generator: Option<Spanned<LitStr>>,
    pub(crate) key_with: Option<Spanned<syn::Path>>,
    pub(crate) crate_path: Option<Spanned<syn::Path>>,
    pub(crate) name: Option<Spanned<LitStr>>,
    pub(crate) ttl: Option<Spanned<LitStr>>,
    pub(crate) lease: Option<Spanned<LitStr>>,
    pub(crate) persist_result: Option<Spanned<LitBool>>,
    /// The doc comment, lines joined.
    pub(crate) doc: String,
    pub(crate) serde: SerdeContainer,
}

/// What `#[serde(...)]` says of a container or variant.
#[derive(Default)]
pub(crate) struct SerdeContainer {
    pub(crate) rename_all: Option<RenameRule>,
    /// `rename_all_fields`: the rule for the fields of an enum's struct variants.
    pub(crate) rename_all_fields: Option<RenameRule>,
    /// A representation idem does not reproduce (`tag`, `untagged`, ...), with its tokens.
    pub(crate) unsupported: Vec<(String, TokenStream)>,
}

impl Container {
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut tool = Attr::none(cx, TOOL);
        let mut strategy = Attr::none(cx, STRATEGY);
        let mut algorithm = Attr::none(cx, ALGORITHM);
        let mut include_user = Attr::none(cx, INCLUDE_USER);
        let mut include_session = Attr::none(cx, INCLUDE_SESSION);
        let mut window = Attr::none(cx, WINDOW);
        let mut generator = Attr::none(cx, GENERATOR);
        let mut key_with = Attr::none(cx, KEY_WITH);
        let mut crate_path = Attr::none(cx, CRATE);
        let mut name_attr = Attr::none(cx, NAME);
        let mut ttl = Attr::none(cx, TTL);
        let mut lease = Attr::none(cx, LEASE);
        let mut persist_result = Attr::none(cx, PERSIST_RESULT);

        for attr in attrs.iter().filter(|a| a.path().is_ident(IDEM)) {
            let result = attr.parse_nested_meta(|meta| {
                let Some(name) = meta.path.get_ident().map(ToString::to_string) else {
                    return Err(meta.error("expected an attribute name such as `tool`"));
                };
                // A wrong value is reported and skipped: the attributes after it are still read.
                let read = (|| -> syn::Result<()> {
                    match name.as_str() {
                        // #[idem(tool = "payment-processor-v1")]
                        TOOL => tool.set(&meta.path, parse_lit_str(&meta, TOOL)?),
                        // #[idem(strategy = "fields")]
                        STRATEGY => strategy.set(&meta.path, parse_lit_str(&meta, STRATEGY)?),
                        // #[idem(algorithm = "sha512")]
                        ALGORITHM => algorithm.set(&meta.path, parse_lit_str(&meta, ALGORITHM)?),
                        // #[idem(include_user = true)]
                        INCLUDE_USER => {
                            include_user.set(&meta.path, parse_lit_bool(&meta, INCLUDE_USER)?)
                        }
                        // #[idem(include_session = false)]
                        INCLUDE_SESSION => {
                            include_session.set(&meta.path, parse_lit_bool(&meta, INCLUDE_SESSION)?)
                        }
                        // #[idem(window = "1m")]
                        WINDOW => window.set(&meta.path, parse_lit_str(&meta, WINDOW)?),
                        // #[idem(generator = "tenant_based")]
                        GENERATOR => generator.set(&meta.path, parse_lit_str(&meta, GENERATOR)?),
                        // #[idem(key_with = path::to::function)]
                        KEY_WITH => {
                            let value = meta.value()?;
                            if value.peek(LitStr) {
                                // `key_with = "f"`, as serde's `serialize_with`: keep the path
                                // (no follow-on "needs a key function") and say how to write it.
                                let lit: LitStr = value.parse()?;
                                if let Ok(path) = lit.parse::<syn::Path>() {
                                    key_with.set(&meta.path, path);
                                }
                                return Err(syn::Error::new(
                                    lit.span(),
                                    format!(
                                        "`key_with` takes a path, without quotes: \
                                         `key_with = {}`",
                                        lit.value()
                                    ),
                                ));
                            }
                            let path: syn::Path = value.parse().map_err(|e| {
                                syn::Error::new(
                                    e.span(),
                                    "expected a path to a function: \
                                     `key_with = path::to::function`",
                                )
                            })?;
                            key_with.set(&meta.path, path);
                        }
                        // #[idem(name = "process_payment")]
                        NAME => name_attr.set(&meta.path, parse_lit_str(&meta, NAME)?),
                        // #[idem(ttl = "24h")]
                        TTL => ttl.set(&meta.path, parse_lit_str(&meta, TTL)?),
                        // #[idem(lease = "60s")]
                        LEASE => lease.set(&meta.path, parse_lit_str(&meta, LEASE)?),
                        // #[idem(persist_result = true)]
                        PERSIST_RESULT => {
                            persist_result.set(&meta.path, parse_lit_bool(&meta, PERSIST_RESULT)?)
                        }
                        // #[idem(crate = "::my_idem")]
                        CRATE => {
                            let lit = parse_lit_str(&meta, CRATE)?;
                            let path: syn::Path = lit.parse().map_err(|_| {
                                syn::Error::new(lit.span(), "expected a path such as `::idem`")
                            })?;
                            crate_path.set(&meta.path, path);
                        }
                        other => {
                            let hint = if FIELD_ATTRS.contains(&other) {
                                format!("; `{other}` belongs on a field")
                            } else {
                                suggestion(other, CONTAINER_ATTRS)
                            };
                            cx.error_spanned_by(
                                &meta.path,
                                format!("unknown idem container attribute `{other}`{hint}"),
                            );
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

        Container {
            tool: tool.get(),
            strategy: strategy.get(),
            algorithm: algorithm.get(),
            include_user: include_user.get(),
            include_session: include_session.get(),
            window: window.get(),
            generator: generator.get(),
            key_with: key_with.get(),
            crate_path: crate_path.get(),
            name: name_attr.get(),
            ttl: ttl.get(),
            lease: lease.get(),
            persist_result: persist_result.get(),
            doc: doc_comment(attrs),
            serde: SerdeContainer::from_ast(attrs),
        }
    }
}

impl SerdeContainer {
    /// Reads `#[serde(rename_all = "...")]` and `rename_all_fields`, and notes representations
    /// idem cannot follow. Other serde attributes are serde's business and are ignored here.
    pub(crate) fn from_ast(attrs: &[Attribute]) -> Self {
        let mut out = SerdeContainer::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident(SERDE)) {
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename_all") {
                    // #[serde(rename_all = "camelCase")]
                    if let Some(lit) = serialize_name(&meta)? {
                        out.rename_all = RenameRule::from_lit(&lit);
                    }
                } else if meta.path.is_ident("rename_all_fields") {
                    // #[serde(rename_all_fields = "camelCase")] (serde >= 1.0.183)
                    if let Some(lit) = serialize_name(&meta)? {
                        out.rename_all_fields = RenameRule::from_lit(&lit);
                    }
                } else if ["tag", "untagged", "content", "transparent", "into"]
                    .iter()
                    .any(|w| meta.path.is_ident(w))
                {
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
