//! Borrowed views over the syn input, with the attributes read and the serialized names settled.

use syn::{DeriveInput, Ident, Member, Type};

use crate::attr;
use crate::case::RenameRule;
use crate::ctxt::Ctxt;

/// The input of a derive.
pub(crate) struct Container<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) attrs: attr::Container,
    pub(crate) data: Data<'a>,
    pub(crate) original: &'a DeriveInput,
}

/// A struct or an enum.
pub(crate) enum Data<'a> {
    Struct(Style, Vec<Field<'a>>),
    Enum(Vec<Variant<'a>>),
    Union,
}

/// The shape of a struct or variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `{ a: A, b: B }`
    Struct,
    /// `(A, B)`
    Tuple,
    /// `(A)`
    Newtype,
    /// no fields
    Unit,
}

/// One enum variant.
pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) attrs: attr::Variant,
    /// The name serde writes for it.
    pub(crate) name: String,
    pub(crate) style: Style,
    pub(crate) fields: Vec<Field<'a>>,
}

impl<'a> Variant<'a> {
    /// The shape serde writes: a newtype variant whose field is left out is written as a unit
    /// variant, as serde does.
    pub(crate) fn effective_style(&self) -> Style {
        match self.style {
            Style::Newtype if !self.fields[0].is_included() => Style::Unit,
            style => style,
        }
    }

    /// Whether writing this variant is an error, as it is for serde (`#[serde(skip)]`).
    pub(crate) fn is_skipped(&self) -> bool {
        self.attrs.serde.skip
    }
}

/// One field.
pub(crate) struct Field<'a> {
    pub(crate) member: Member,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: attr::Field,
    /// The name serde writes for it (named fields only).
    pub(crate) name: String,
    pub(crate) original: &'a syn::Field,
}

impl<'a> Field<'a> {
    /// Whether the field takes part in keys and canonical bytes.
    pub(crate) fn is_included(&self) -> bool {
        self.attrs.skip.is_none() && !self.attrs.serde.skip
    }
}

impl<'a> Container<'a> {
    /// Reads the input; errors go to `cx`.
    pub(crate) fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Container<'a> {
        let attrs = attr::Container::from_ast(cx, &input.attrs);
        let rename_all = attrs.serde.rename_all;
        let data = match &input.data {
            syn::Data::Struct(data) => {
                let (style, fields) = struct_from_ast(cx, &data.fields, rename_all);
                Data::Struct(style, fields)
            }
            syn::Data::Enum(data) => Data::Enum(
                data.variants
                    .iter()
                    .map(|variant| {
                        let variant_attrs = attr::Variant::from_ast(cx, &variant.attrs);
                        let name = match (&variant_attrs.rename, &variant_attrs.serde.rename) {
                            (Some(rename), _) => rename.value.value(),
                            (None, Some(rename)) => rename.clone(),
                            (None, None) => {
                                let ident = variant.ident.to_string();
                                let ident = ident.strip_prefix("r#").unwrap_or(&ident).to_owned();
                                rename_all.map_or(ident.clone(), |r| r.apply_to_variant(&ident))
                            }
                        };
                        // As serde: the variant's own `rename_all`, else the enum's
                        // `rename_all_fields`.
                        let fields_rule = variant_attrs
                            .serde
                            .rename_all
                            .or(attrs.serde.rename_all_fields);
                        let (style, fields) = struct_from_ast(cx, &variant.fields, fields_rule);
                        Variant {
                            ident: &variant.ident,
                            attrs: variant_attrs,
                            name,
                            style,
                            fields,
                        }
                    })
                    .collect(),
            ),
            syn::Data::Union(_) => Data::Union,
        };
        Container {
            ident: &input.ident,
            attrs,
            data,
            original: input,
        }
    }

    /// The included fields of a struct, sorted by the RFC 8785 order of their names.
    pub(crate) fn canonical_fields(fields: &'a [Field<'a>]) -> Vec<&'a Field<'a>> {
        let mut included: Vec<&Field<'_>> = fields.iter().filter(|f| f.is_included()).collect();
        included.sort_by(|a, b| a.name.encode_utf16().cmp(b.name.encode_utf16()));
        included
    }
}

fn struct_from_ast<'a>(
    cx: &Ctxt,
    fields: &'a syn::Fields,
    rename_all: Option<RenameRule>,
) -> (Style, Vec<Field<'a>>) {
    let style = match fields {
        syn::Fields::Named(_) => Style::Struct,
        syn::Fields::Unnamed(f) if f.unnamed.len() == 1 => Style::Newtype,
        syn::Fields::Unnamed(_) => Style::Tuple,
        syn::Fields::Unit => Style::Unit,
    };
    let fields = fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let attrs = attr::Field::from_ast(cx, &field.attrs);
            let member = match &field.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(i.into()),
            };
            let name = match (&attrs.rename, &attrs.serde.rename, &field.ident) {
                (Some(rename), _, _) => rename.value.value(),
                (None, Some(rename), _) => rename.clone(),
                (None, None, Some(ident)) => {
                    let ident = ident.to_string();
                    let ident = ident.strip_prefix("r#").unwrap_or(&ident).to_owned();
                    rename_all.map_or(ident.clone(), |r| r.apply_to_field(&ident))
                }
                (None, None, None) => i.to_string(),
            };
            Field {
                member,
                ty: &field.ty,
                attrs,
                name,
                original: field,
            }
        })
        .collect();
    (style, fields)
}
