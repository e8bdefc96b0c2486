//! Reading `#[idem(...)]` and the `#[serde(...)]` attributes that change what serde writes.
//!
//! Each parsing branch names the syntax it accepts. Errors go to the [`Ctxt`] with the span of
//! the offending token; parsing goes on so that every mistake is reported at once.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitBool, LitStr, Token};

use crate::ctxt::Ctxt;

mod container;
mod field;
mod variant;

pub(crate) use container::Container;
pub(crate) use field::Field;
pub(crate) use variant::Variant;

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
