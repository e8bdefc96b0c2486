//! Reading `#[idem(...)]` and the `#[serde(...)]` attributes that change what serde writes.
//!
//! Each parsing branch names the syntax it accepts. Errors go to the [`Ctxt`] with the span of
//! the offending token; parsing goes on so that every mistake is reported at once.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitBool, LitStr, Token};

use crate::case::RenameRule;
use crate::ctxt::Ctxt;
use crate::symbol::*;

/// One attribute value, remembering where it was set to report duplicates.
pub(crate) struct Attr<'c, T> {
    cx: &'c Ctxt,
    name: &'static str,
    value: Option<(T, TokenStream)>,
}

impl<'c, T> Attr<'c, T> {
    fn none(cx: &'c Ctxt, name: &'static str) -> Self {
        Attr {
            cx,
            name,
            value: None,
        }
    }

    fn set<A: ToTokens>(&mut self, obj: A, value: T) {
        let tokens = obj.into_token_stream();
        if self.value.is_some() {
            self.cx.error_spanned_by(
                tokens,
                format!(
                    "duplicate idem attribute `{}`: it is already set; keep only one",
                    self.name
                ),
            );
        } else {
            self.value = Some((value, tokens));
        }
    }

    fn get(self) -> Option<Spanned<T>> {
        self.value.map(|(value, tokens)| Spanned { value, tokens })
    }
}

/// A value with the tokens it came from, for errors about it later.
#[derive(Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) tokens: TokenStream,
}

/// A flag such as `#[idem(key)]`.
struct Flag<'c>(Attr<'c, ()>);

impl<'c> Flag<'c> {
    fn none(cx: &'c Ctxt, name: &'static str) -> Self {
        Flag(Attr::none(cx, name))
    }
    fn set<A: ToTokens>(&mut self, obj: A) {
        self.0.set(obj, ());
    }
    fn get(self) -> Option<TokenStream> {
        self.0.get().map(|s| s.tokens)
    }
}

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

/// The serialize-side name of `rename = "x"` or `rename(serialize = "x", ...)`.
fn serialize_name(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<LitStr>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(meta.value()?.parse()?));
    }
    let mut found = None;
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("serialize") {
            found = Some(inner.value()?.parse()?);
        } else {
            skip_meta_value(&inner)?;
        }
        Ok(())
    })?;
    Ok(found)
}

/// Passes over the value of an attribute that is not ours to read (or that is wrong and was
/// already reported), so parsing can go on with the next one.
fn skip_meta_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let value = meta.value()?;
        while !value.is_empty() && !value.peek(Token![,]) {
            value.parse::<TokenTree>()?;
        }
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<TokenTree>()?;
    }
    Ok(())
}

/// Records the error of one attribute and passes over the rest of it (up to the next `,`), so
/// that the attributes after a wrong value are still read and not reported as missing.
fn recover(cx: &Ctxt, meta: &ParseNestedMeta<'_>, read: syn::Result<()>) -> syn::Result<()> {
    if let Err(err) = read {
        cx.syn_error(err);
        while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
            meta.input.parse::<TokenTree>()?;
        }
    }
    Ok(())
}

/// A flag such as `key` takes no value: `key = true` or `key(...)` is an error.
fn no_value(meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        return Err(meta.error(format!("`{name}` takes no value: write `#[idem({name})]`")));
    }
    Ok(())
}

fn parse_lit_str(meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<LitStr> {
    let value = meta.value().map_err(|_| {
        meta.error(format!(
            "expected a value for `{name}`: `#[idem({name} = \"...\")]`"
        ))
    })?;
    value.parse::<LitStr>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("expected a string literal for `{name}`: `#[idem({name} = \"...\")]`"),
        )
    })
}

fn parse_lit_bool(meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<LitBool> {
    let value = meta.value().map_err(|_| {
        meta.error(format!(
            "expected a value for `{name}`: `#[idem({name} = true)]` or `false`"
        ))
    })?;
    value.parse::<LitBool>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("expected `true` or `false` for `{name}`, without quotes"),
        )
    })
}

/// The `///` comment: its lines trimmed, joined into paragraphs.
pub(crate) fn doc_comment(attrs: &[Attribute]) -> String {
    let mut lines: Vec<String> = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            lines.extend(s.value().lines().map(|l| l.trim().to_owned()));
        }
    }
    let mut out = String::new();
    for line in lines {
        if line.is_empty() {
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push_str("\n\n");
            }
        } else {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            out.push_str(&line);
        }
    }
    out.trim_end().to_owned()
}
