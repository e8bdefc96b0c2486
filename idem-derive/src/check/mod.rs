//! The rules of the attributes: what must be there, what cannot go together. Every broken rule
//! is reported with the span of the token at fault. `idempotent.rs` holds the rules of
//! `#[derive(Idempotent)]` and the model it generates from; this file those of
//! `#[derive(Canonical)]` and of fields, shared by both.

mod idempotent;

pub(crate) use idempotent::{KeyModel, Strategy, idempotent};

use std::collections::BTreeMap;

use quote::ToTokens;
use syn::LitStr;

use crate::ast::{Container, Data, Field, Variant};
use crate::ctxt::Ctxt;
use crate::symbol::*;
use crate::unordered;

/// Checks a `#[derive(Canonical)]` input.
pub(crate) fn canonical(cx: &Ctxt, cont: &Container<'_>) {
    let attrs = &cont.attrs;
    for (tokens, name) in [
        (attrs.tool.as_ref().map(|a| &a.tokens), TOOL),
        (attrs.strategy.as_ref().map(|a| &a.tokens), STRATEGY),
        (attrs.algorithm.as_ref().map(|a| &a.tokens), ALGORITHM),
        (attrs.include_user.as_ref().map(|a| &a.tokens), INCLUDE_USER),
        (
            attrs.include_session.as_ref().map(|a| &a.tokens),
            INCLUDE_SESSION,
        ),
        (attrs.window.as_ref().map(|a| &a.tokens), WINDOW),
        (attrs.generator.as_ref().map(|a| &a.tokens), GENERATOR),
        (attrs.key_with.as_ref().map(|a| &a.tokens), KEY_WITH),
        (attrs.name.as_ref().map(|a| &a.tokens), NAME),
        (attrs.ttl.as_ref().map(|a| &a.tokens), TTL),
        (attrs.lease.as_ref().map(|a| &a.tokens), LEASE),
        (
            attrs.persist_result.as_ref().map(|a| &a.tokens),
            PERSIST_RESULT,
        ),
    ] {
        if let Some(tokens) = tokens {
            cx.error_spanned_by(
                tokens,
                format!(
                    "`{name}` belongs on a tool's argument struct with #[derive(Idempotent)], \
                     not on #[derive(Canonical)]"
                ),
            );
        }
    }
    match &cont.data {
        Data::Struct(_, fields) => check_fields(cx, fields, false),
        Data::Enum(variants) => {
            for variant in variants {
                check_variant(cx, variant);
                check_fields(cx, &variant.fields, false);
            }
        }
        Data::Union => cx.error_spanned_by(
            cont.ident,
            "#[derive(Canonical)] does not support unions: serde has no form for them",
        ),
    }
    check_serde_container(cx, cont);
}

/// The rules of one enum variant's own attributes.
fn check_variant(cx: &Ctxt, variant: &Variant<'_>) {
    let attrs = &variant.attrs;
    if let (Some(rename), true) = (&attrs.rename, attrs.serde.untagged) {
        cx.error_spanned_by(
            &rename.tokens,
            "`rename` is not expected here; a `#[serde(untagged)]` variant is written without \
             its name",
        );
    }
    for (word, tokens) in &attrs.serde.unsupported {
        cx.error_spanned_by(
            tokens,
            format!(
                "idem cannot reproduce `#[serde({word})]` on a variant; encode this type with \
                 `#[idem(serde)]` on the field that holds it"
            ),
        );
    }
}

pub(super) fn check_fields(cx: &Ctxt, fields: &[Field<'_>], idempotent: bool) {
    let mut names: BTreeMap<&str, &Field<'_>> = BTreeMap::new();
    for field in fields {
        let a = &field.attrs;
        if let (Some(_), Some(skip)) = (&a.key, &a.skip) {
            cx.error_spanned_by(
                skip,
                "`key` and `skip` cannot be used together: a key field takes part in the key; \
                 remove one of them",
            );
        }
        if let (Some(key), true) = (&a.key, a.serde.skip) {
            cx.error_spanned_by(
                key,
                "this key field is skipped by `#[serde(skip)]`; a key field must be serialized",
            );
        }
        if let (Some(allow_empty), None, false) = (&a.allow_empty, &a.key, a.had_unknown) {
            cx.error_spanned_by(
                allow_empty,
                "`allow_empty` only applies to key fields: write `#[idem(key, allow_empty)]`",
            );
        }
        if !idempotent {
            for (tokens, name) in [(&a.key, KEY), (&a.allow_empty, ALLOW_EMPTY)] {
                if let Some(tokens) = tokens {
                    cx.error_spanned_by(
                        tokens,
                        format!(
                            "`{name}` belongs on a field of a tool's argument struct with \
                             #[derive(Idempotent)]; a nested #[derive(Canonical)] value is part \
                             of its parent's key field"
                        ),
                    );
                }
            }
        }
        if let Some(flatten) = &a.serde.flatten {
            cx.error_spanned_by(
                flatten,
                "idem cannot reproduce `#[serde(flatten)]`: list the fields here, or mark the \
                 field `#[idem(skip)]`",
            );
        }
        if field.is_included() {
            for (word, tokens) in &a.serde.unsupported {
                cx.error_spanned_by(
                    tokens,
                    format!(
                        "idem cannot reproduce `#[serde({word})]`: the key would hold the \
                         field's own form, not the one the function writes; mark the field \
                         `#[idem(skip)]`"
                    ),
                );
            }
        }
        if let (Some(rename), None) = (&a.rename, &field.original.ident) {
            cx.error_spanned_by(
                &rename.tokens,
                "`rename` is not expected here; a tuple field is written without a name",
            );
        }
        if let (Some(_), true) = (&a.with_serde, field.is_included())
            && let Some(set) = unordered::hash_set_in(&field.original.ty)
        {
            cx.error_spanned_by(
                set,
                "`#[idem(serde)]` would write this `HashSet` in iteration order, which changes \
                 from one process to the next: the key would not be stable. Use a `BTreeSet`, \
                 or remove `#[idem(serde)]` (idem sorts a `HashSet`'s elements; they then need \
                 `Canonical`)",
            );
        }
        if !field.is_included() || field.original.ident.is_none() {
            continue;
        }
        if let Some(previous) = names.insert(&field.name, field) {
            let culprit = match &field.attrs.rename {
                Some(rename) => rename.value.to_token_stream(),
                None => field.original.ident.to_token_stream(),
            };
            cx.error_spanned_by(
                culprit,
                format!(
                    "fields `{}` and `{}` are both serialized as `{}`; the names in a key must be \
                     unique: rename one with `#[idem(rename = \"...\")]`",
                    member_name(previous),
                    member_name(field),
                    field.name
                ),
            );
        }
    }
}

pub(super) fn check_serde_container(cx: &Ctxt, cont: &Container<'_>) {
    for (word, tokens) in &cont.attrs.serde.unsupported {
        cx.error_spanned_by(
            tokens,
            format!(
                "idem follows serde's default representation and cannot reproduce \
                 `#[serde({word})]`; encode this type with `#[idem(serde)]` on the field that \
                 holds it"
            ),
        );
    }
}

/// Parses `"30s"`, `"1m"`, `"1h"`... into whole seconds.
pub(super) fn parse_window(cx: &Ctxt, lit: &LitStr) -> Option<u64> {
    parse_seconds(cx, lit, "window")
}

/// Parses a duration attribute (`"30s"`, `"1m"`, `"24h"`) into whole seconds, at least one.
pub(super) fn parse_seconds(cx: &Ctxt, lit: &LitStr, what: &str) -> Option<u64> {
    match humantime::parse_duration(&lit.value()) {
        Ok(d) if d.subsec_nanos() == 0 && d.as_secs() > 0 => Some(d.as_secs()),
        Ok(_) => {
            cx.error_spanned_by(
                lit,
                format!(
                    "invalid {what} `{}`: a {what} is a whole number of seconds, at least \
                     `\"1s\"`",
                    lit.value()
                ),
            );
            None
        }
        Err(e) => {
            cx.error_spanned_by(
                lit,
                format!(
                    "invalid {what} `{}`: {e}; write e.g. `\"30s\"`, `\"1m\"` or `\"24h\"`",
                    lit.value()
                ),
            );
            None
        }
    }
}

fn member_name(field: &Field<'_>) -> String {
    field.member.to_token_stream().to_string()
}
