//! The rules of the attributes: what must be there, what cannot go together. Every broken rule
//! is reported with the span of the token at fault.

use std::collections::BTreeMap;

use quote::ToTokens;
use syn::LitStr;

use crate::ast::{Container, Data, Field, Style, Variant};
use crate::ctxt::Ctxt;
use crate::symbol::*;
use crate::unordered;

/// The strategy of an `Idempotent` type, checked.
pub(crate) enum Strategy {
    Default,
    Fields,
    Hash {
        algorithm: &'static str,
        include_user: bool,
        include_session: bool,
    },
    Custom(syn::Path),
    Generator(LitStr),
}

/// What `#[derive(Idempotent)]` generates code from, once the rules hold.
pub(crate) struct KeyModel {
    pub(crate) tool: LitStr,
    pub(crate) strategy: Strategy,
    pub(crate) window_seconds: Option<u64>,
    /// The tool's name: `name = "..."`, or the struct's name in snake case.
    pub(crate) name: String,
    pub(crate) ttl_seconds: Option<u64>,
    pub(crate) lease_seconds: Option<u64>,
    pub(crate) persist_result: Option<bool>,
}

/// Checks a `#[derive(Idempotent)]` input.
pub(crate) fn idempotent(cx: &Ctxt, cont: &Container<'_>) -> Option<KeyModel> {
    let fields = match &cont.data {
        Data::Struct(Style::Struct | Style::Unit, fields) => fields,
        Data::Struct(Style::Tuple | Style::Newtype, _) => {
            cx.error_spanned_by(
                cont.ident,
                "#[derive(Idempotent)] needs a struct with named fields: the field names are part \
                 of the key; tuple structs are not supported",
            );
            return None;
        }
        Data::Enum(_) => {
            cx.error_spanned_by(
                cont.ident,
                "#[derive(Idempotent)] needs a struct with named fields, found an enum; wrap the \
                 enum in a struct field (and #[derive(Canonical)] on the enum)",
            );
            return None;
        }
        Data::Union => {
            cx.error_spanned_by(
                cont.ident,
                "#[derive(Idempotent)] does not support unions: a union has no field that \
                 identifies a call",
            );
            return None;
        }
    };
    check_fields(cx, fields, true);
    let attrs = &cont.attrs;

    let tool = match &attrs.tool {
        Some(tool) if tool.value.value().is_empty() => {
            cx.error_spanned_by(
                &tool.value,
                "`tool` must not be empty: give the tool id, e.g. \
                 `#[idem(tool = \"payment-processor-v1\")]`",
            );
            None
        }
        Some(tool) => Some(tool.value.clone()),
        None => {
            cx.error_spanned_by(
                cont.ident,
                "missing tool id: add `#[idem(tool = \"...\")]`, e.g. \
                 `#[idem(tool = \"payment-processor-v1\")]`",
            );
            None
        }
    };

    let strategy_name = attrs.strategy.as_ref().map(|s| s.value.value());
    let strategy_name = match (&strategy_name, &attrs.key_with, &attrs.generator) {
        (None, Some(_), None) => Some("custom".to_owned()),
        _ => strategy_name,
    };
    if let (Some(strategy), Some(generator)) = (&attrs.strategy, &attrs.generator) {
        cx.error_spanned_by(
            &generator.tokens,
            format!(
                "`generator` and `strategy` cannot be used together: `generator` names a strategy \
                 registered at run time; remove `strategy = \"{}\"`",
                strategy.value.value()
            ),
        );
    }
    let is_hash = strategy_name.as_deref() == Some("hash");
    let is_custom = strategy_name.as_deref() == Some("custom");
    let is_builtin = !is_custom && attrs.generator.is_none();
    // With an unknown strategy (reported below), the rules that depend on it are not checked.
    let is_known = strategy_name
        .as_deref()
        .is_none_or(|name| STRATEGIES.contains(&name));

    for (tokens, name) in [
        (attrs.algorithm.as_ref().map(|a| &a.tokens), ALGORITHM),
        (attrs.include_user.as_ref().map(|a| &a.tokens), INCLUDE_USER),
        (
            attrs.include_session.as_ref().map(|a| &a.tokens),
            INCLUDE_SESSION,
        ),
    ] {
        if let (Some(tokens), false, true) = (tokens, is_hash, is_known) {
            cx.error_spanned_by(
                tokens,
                format!(
                    "`{name}` only applies to `strategy = \"hash\"`: set that strategy, or \
                     remove `{name}`"
                ),
            );
        }
    }

    let algorithm = match &attrs.algorithm {
        Some(a) => {
            let name = a.value.value();
            match ALGORITHMS.iter().find(|known| **known == name) {
                Some(known) => known,
                None => {
                    cx.error_spanned_by(
                        &a.value,
                        format!(
                            "unknown algorithm `{name}`; expected `sha256`, `sha384` or \
                             `sha512`{}",
                            suggestion(&name, ALGORITHMS)
                        ),
                    );
                    "sha256"
                }
            }
        }
        None => "sha256",
    };

    if let Some(key_with) = &attrs.key_with
        && !is_custom
        && is_known
    {
        cx.error_spanned_by(
            &key_with.tokens,
            format!(
                "`key_with` only applies to `strategy = \"custom\"`, but the strategy is `{}`: \
                 remove `key_with`, or write `strategy = \"custom\"`",
                strategy_name.as_deref().unwrap_or("generator")
            ),
        );
    }

    let window_seconds = attrs.window.as_ref().and_then(|w| {
        if !is_builtin {
            cx.error_spanned_by(
                &w.tokens,
                "`window` applies to the built-in strategies (default, fields, hash); a custom \
                 key function or a registered generator decides about time itself",
            );
            return None;
        }
        parse_window(cx, &w.value)
    });

    // A field with an unknown attribute (say `kye`) may be the key field: say nothing more.
    let has_key_field = fields
        .iter()
        .any(|f| f.attrs.key.is_some() || f.attrs.had_unknown);
    let strategy = match strategy_name.as_deref() {
        _ if attrs.generator.is_some() => attrs
            .generator
            .as_ref()
            .map(|g| Strategy::Generator(g.value.clone())),
        None | Some("default") => Some(Strategy::Default),
        Some("fields") => {
            if !has_key_field {
                cx.error_spanned_by(
                    attrs.strategy.as_ref().map(|s| &s.value),
                    "`strategy = \"fields\"` needs at least one key field: mark the fields that \
                     identify a call with `#[idem(key)]`",
                );
            }
            Some(Strategy::Fields)
        }
        Some("hash") => Some(Strategy::Hash {
            algorithm,
            include_user: attrs.include_user.as_ref().is_none_or(|b| b.value.value),
            include_session: attrs
                .include_session
                .as_ref()
                .is_some_and(|b| b.value.value),
        }),
        Some("custom") => match &attrs.key_with {
            Some(path) => Some(Strategy::Custom(path.value.clone())),
            None => {
                cx.error_spanned_by(
                    attrs.strategy.as_ref().map(|s| &s.value),
                    "`strategy = \"custom\"` needs a key function: \
                     `#[idem(key_with = path::to::function)]`",
                );
                None
            }
        },
        Some(other) => {
            cx.error_spanned_by(
                attrs.strategy.as_ref().map(|s| &s.value),
                format!(
                    "unknown strategy `{other}`; expected `default`, `fields`, `hash` or \
                     `custom`{}",
                    suggestion(other, STRATEGIES)
                ),
            );
            None
        }
    };

    check_serde_container(cx, cont);
    let ttl_seconds = attrs
        .ttl
        .as_ref()
        .and_then(|t| parse_seconds(cx, &t.value, "ttl"));
    let lease_seconds = attrs
        .lease
        .as_ref()
        .and_then(|l| parse_seconds(cx, &l.value, "lease"));
    Some(KeyModel {
        tool: tool?,
        strategy: strategy?,
        window_seconds,
        name: attrs
            .name
            .as_ref()
            .map_or_else(|| snake_case(&cont.ident.to_string()), |n| n.value.value()),
        ttl_seconds,
        lease_seconds,
        persist_result: attrs.persist_result.as_ref().map(|p| p.value.value),
    })
}

/// `ProcessPayment` -> `process_payment`.
fn snake_case(ident: &str) -> String {
    let mut out = String::new();
    for (i, ch) in ident.char_indices() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

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

fn check_fields(cx: &Ctxt, fields: &[Field<'_>], idempotent: bool) {
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

fn check_serde_container(cx: &Ctxt, cont: &Container<'_>) {
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
fn parse_window(cx: &Ctxt, lit: &LitStr) -> Option<u64> {
    parse_seconds(cx, lit, "window")
}

/// Parses a duration attribute (`"30s"`, `"1m"`, `"24h"`) into whole seconds, at least one.
fn parse_seconds(cx: &Ctxt, lit: &LitStr, what: &str) -> Option<u64> {
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
