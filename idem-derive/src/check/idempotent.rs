//! The rules of `#[derive(Idempotent)]`, one function each, and the [`KeyModel`] they build.
//!
//! Checking never fails: every rule reports what it finds wrong to the [`Ctxt`] and returns a
//! usable value (a placeholder where the input is wrong), so that [`idempotent`] always returns a
//! model. Whether the model is used is decided by the `Ctxt` alone: with no error, the code is
//! generated from it; with errors, the fallback reports them.

use syn::LitStr;

use super::{check_fields, check_serde_container, parse_seconds, parse_window};
use crate::ast::{Container, Data, Field, Style};
use crate::attr::Container as ContainerAttrs;
use crate::ctxt::Ctxt;
use crate::symbol::*;

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

/// Checks a `#[derive(Idempotent)]` input: every rule, in the order its errors are reported.
pub(crate) fn idempotent(cx: &Ctxt, cont: &Container<'_>) -> KeyModel {
    let attrs = &cont.attrs;
    let Some(fields) = named_fields(cx, cont) else {
        // The shape is wrong: nothing else can be checked, and the model is never used.
        return KeyModel {
            tool: LitStr::new("", cont.ident.span()),
            strategy: Strategy::Default,
            window_seconds: None,
            name: String::new(),
            ttl_seconds: None,
            lease_seconds: None,
            persist_result: None,
        };
    };
    check_fields(cx, fields, true);
    let tool = tool_id(cx, cont);
    let chosen = chosen_strategy(cx, attrs);
    hash_options_need_hash(cx, attrs, &chosen);
    let algorithm = algorithm(cx, attrs);
    key_with_needs_custom(cx, attrs, &chosen);
    let window_seconds = window(cx, attrs, &chosen);
    let strategy = strategy(cx, attrs, &chosen, fields, algorithm);
    check_serde_container(cx, cont);
    KeyModel {
        tool,
        strategy,
        window_seconds,
        name: attrs
            .name
            .as_ref()
            .map_or_else(|| snake_case(&cont.ident.to_string()), |n| n.value.value()),
        ttl_seconds: attrs
            .ttl
            .as_ref()
            .and_then(|t| parse_seconds(cx, &t.value, "ttl")),
        lease_seconds: attrs
            .lease
            .as_ref()
            .and_then(|l| parse_seconds(cx, &l.value, "lease")),
        persist_result: attrs.persist_result.as_ref().map(|p| p.value.value),
    }
}

/// Rule: the input is a struct with named fields (or a unit struct); its fields, if so.
fn named_fields<'c, 'a>(cx: &Ctxt, cont: &'c Container<'a>) -> Option<&'c [Field<'a>]> {
    let message = match &cont.data {
        Data::Struct(Style::Struct | Style::Unit, fields) => return Some(fields),
        Data::Struct(Style::Tuple | Style::Newtype, _) => {
            "#[derive(Idempotent)] needs a struct with named fields: the field names are part of \
             the key; tuple structs are not supported"
        }
        Data::Enum(_) => {
            "#[derive(Idempotent)] needs a struct with named fields, found an enum; wrap the enum \
             in a struct field (and #[derive(Canonical)] on the enum)"
        }
        Data::Union => {
            "#[derive(Idempotent)] does not support unions: a union has no field that identifies \
             a call"
        }
    };
    cx.error_spanned_by(cont.ident, message);
    None
}

/// Rule: `tool = "..."` is there and not empty. The tool id (empty when it is not).
fn tool_id(cx: &Ctxt, cont: &Container<'_>) -> LitStr {
    match &cont.attrs.tool {
        Some(tool) if tool.value.value().is_empty() => {
            cx.error_spanned_by(
                &tool.value,
                "`tool` must not be empty: give the tool id, e.g. \
                 `#[idem(tool = \"payment-processor-v1\")]`",
            );
            tool.value.clone()
        }
        Some(tool) => tool.value.clone(),
        None => {
            cx.error_spanned_by(
                cont.ident,
                "missing tool id: add `#[idem(tool = \"...\")]`, e.g. \
                 `#[idem(tool = \"payment-processor-v1\")]`",
            );
            LitStr::new("", cont.ident.span())
        }
    }
}

/// Which strategy the attributes choose, before it is checked.
struct Chosen {
    /// `strategy = "..."`, or `custom` when only `key_with` is given.
    name: Option<String>,
    /// A registered generator is chosen instead of a built-in strategy.
    generator: bool,
}

impl Chosen {
    fn is(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name)
    }

    /// With an unknown strategy (reported by [`strategy`]), the rules that depend on it are not
    /// checked.
    fn is_known(&self) -> bool {
        self.name
            .as_deref()
            .is_none_or(|name| STRATEGIES.contains(&name))
    }

    /// A built-in strategy: default, fields or hash.
    fn is_builtin(&self) -> bool {
        !self.is("custom") && !self.generator
    }
}

/// Rule: `generator` and `strategy` do not go together. The chosen strategy.
fn chosen_strategy(cx: &Ctxt, attrs: &ContainerAttrs) -> Chosen {
    let name = attrs.strategy.as_ref().map(|s| s.value.value());
    let name = match (&name, &attrs.key_with, &attrs.generator) {
        (None, Some(_), None) => Some("custom".to_owned()),
        _ => name,
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
    Chosen {
        name,
        generator: attrs.generator.is_some(),
    }
}

/// Rule: `algorithm`, `include_user` and `include_session` only go with `strategy = "hash"`.
fn hash_options_need_hash(cx: &Ctxt, attrs: &ContainerAttrs, chosen: &Chosen) {
    if chosen.is("hash") || !chosen.is_known() {
        return;
    }
    for (tokens, name) in [
        (attrs.algorithm.as_ref().map(|a| &a.tokens), ALGORITHM),
        (attrs.include_user.as_ref().map(|a| &a.tokens), INCLUDE_USER),
        (
            attrs.include_session.as_ref().map(|a| &a.tokens),
            INCLUDE_SESSION,
        ),
    ] {
        if let Some(tokens) = tokens {
            cx.error_spanned_by(
                tokens,
                format!(
                    "`{name}` only applies to `strategy = \"hash\"`: set that strategy, or \
                     remove `{name}`"
                ),
            );
        }
    }
}

/// Rule: `algorithm` names a known algorithm. The algorithm (`sha256` by default, or when the
/// name is unknown).
fn algorithm(cx: &Ctxt, attrs: &ContainerAttrs) -> &'static str {
    let Some(a) = &attrs.algorithm else {
        return "sha256";
    };
    let name = a.value.value();
    if let Some(known) = ALGORITHMS.iter().find(|known| **known == name) {
        return known;
    }
    cx.error_spanned_by(
        &a.value,
        format!(
            "unknown algorithm `{name}`; expected `sha256`, `sha384` or `sha512`{}",
            suggestion(&name, ALGORITHMS)
        ),
    );
    "sha256"
}

/// Rule: `key_with` only goes with `strategy = "custom"`.
fn key_with_needs_custom(cx: &Ctxt, attrs: &ContainerAttrs, chosen: &Chosen) {
    if let Some(key_with) = &attrs.key_with
        && !chosen.is("custom")
        && chosen.is_known()
    {
        cx.error_spanned_by(
            &key_with.tokens,
            format!(
                "`key_with` only applies to `strategy = \"custom\"`, but the strategy is `{}`: \
                 remove `key_with`, or write `strategy = \"custom\"`",
                chosen.name.as_deref().unwrap_or("generator")
            ),
        );
    }
}

/// Rule: `window` only goes with a built-in strategy, and is a whole number of seconds. The
/// window, in seconds.
fn window(cx: &Ctxt, attrs: &ContainerAttrs, chosen: &Chosen) -> Option<u64> {
    let w = attrs.window.as_ref()?;
    if !chosen.is_builtin() {
        cx.error_spanned_by(
            &w.tokens,
            "`window` applies to the built-in strategies (default, fields, hash); a custom key \
             function or a registered generator decides about time itself",
        );
        return None;
    }
    parse_window(cx, &w.value)
}

/// Rules: the strategy is known; `fields` has a key field; `custom` has a key function. The
/// strategy (the default one where these rules are broken).
fn strategy(
    cx: &Ctxt,
    attrs: &ContainerAttrs,
    chosen: &Chosen,
    fields: &[Field<'_>],
    algorithm: &'static str,
) -> Strategy {
    if let Some(generator) = &attrs.generator {
        return Strategy::Generator(generator.value.clone());
    }
    let strategy_value = attrs.strategy.as_ref().map(|s| &s.value);
    match chosen.name.as_deref() {
        None | Some("default") => Strategy::Default,
        Some("fields") => {
            // A field with an unknown attribute (say `kye`) may be the key field: say nothing
            // more.
            let has_key_field = fields
                .iter()
                .any(|f| f.attrs.key.is_some() || f.attrs.had_unknown);
            if !has_key_field {
                cx.error_spanned_by(
                    strategy_value,
                    "`strategy = \"fields\"` needs at least one key field: mark the fields that \
                     identify a call with `#[idem(key)]`",
                );
            }
            Strategy::Fields
        }
        Some("hash") => Strategy::Hash {
            algorithm,
            include_user: attrs.include_user.as_ref().is_none_or(|b| b.value.value),
            include_session: attrs
                .include_session
                .as_ref()
                .is_some_and(|b| b.value.value),
        },
        Some("custom") => match &attrs.key_with {
            Some(path) => Strategy::Custom(path.value.clone()),
            None => {
                cx.error_spanned_by(
                    strategy_value,
                    "`strategy = \"custom\"` needs a key function: \
                     `#[idem(key_with = path::to::function)]`",
                );
                Strategy::Default
            }
        },
        Some(other) => {
            cx.error_spanned_by(
                strategy_value,
                format!(
                    "unknown strategy `{other}`; expected `default`, `fields`, `hash` or \
                     `custom`{}",
                    suggestion(other, STRATEGIES)
                ),
            );
            Strategy::Default
        }
    }
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
