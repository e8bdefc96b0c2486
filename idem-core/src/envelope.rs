//! The envelope of key format v1: which arguments and context members are hashed, in which
//! order. `docs/key-format.md` is the specification this file implements.

use crate::canonical::{CanonicalWriter, Presence};
use crate::context::Context;
use crate::error::KeyError;
use crate::key::Arguments;
use crate::key::{Algorithm, IdempotencyKey, KeyHasher};

/// The format version written as `"v"`.
pub(crate) const FORMAT_VERSION: &[u8] = b"1";

/// Which arguments are selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// The key fields when there are any, otherwise every field (`default`, `hash`).
    KeyFieldsOrAll,
    /// The key fields; none is an error (`fields`).
    KeyFieldsOnly,
}

/// The shape of an envelope for one strategy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) selection: Selection,
    pub(crate) include_user: bool,
    pub(crate) include_session: bool,
    pub(crate) algorithm: Algorithm,
}

impl Layout {
    pub(crate) const DEFAULT: Layout = Layout {
        selection: Selection::KeyFieldsOrAll,
        include_user: true,
        include_session: true,
        algorithm: Algorithm::Sha256,
    };

    pub(crate) const FIELDS: Layout = Layout {
        selection: Selection::KeyFieldsOnly,
        include_user: false,
        include_session: false,
        algorithm: Algorithm::Sha256,
    };

    pub(crate) const fn hash(
        algorithm: Algorithm,
        include_user: bool,
        include_session: bool,
    ) -> Layout {
        Layout {
            selection: Selection::KeyFieldsOrAll,
            include_user,
            include_session,
            algorithm,
        }
    }
}

/// What one envelope is made of.
pub(crate) struct Envelope<'a, A: ?Sized> {
    pub(crate) tool: &'a str,
    pub(crate) args: &'a A,
    pub(crate) context: &'a Context,
    /// Key fields configured at run time; they override the declared ones when not empty.
    pub(crate) key_fields: Option<&'a [String]>,
    /// The start of the time window, when one is configured.
    pub(crate) window: Option<u64>,
}

impl<A: Arguments + ?Sized> Envelope<'_, A> {
    /// The key: the digest of the canonical envelope.
    pub(crate) fn key(&self, layout: &Layout) -> Result<IdempotencyKey, KeyError> {
        let mut hasher = KeyHasher::new(layout.algorithm);
        self.write(layout, hasher.writer())?;
        Ok(hasher.finish())
    }

    /// The canonical bytes of the envelope.
    pub(crate) fn canonical_bytes(&self, layout: &Layout) -> Result<Vec<u8>, KeyError> {
        let mut writer = CanonicalWriter::buffer();
        self.write(layout, &mut writer)?;
        Ok(writer.into_bytes().unwrap_or_default())
    }

    fn write(&self, layout: &Layout, w: &mut CanonicalWriter) -> Result<(), KeyError> {
        if self.tool.is_empty() {
            return Err(KeyError::EmptyToolId);
        }
        w.write_raw(b"{\"args\":{");
        self.write_args(layout.selection, w)?;
        w.write_raw(b"}");
        if layout.include_session {
            w.write_raw(b",\"session\":");
            write_optional_str(w, self.context.session_id());
        }
        if let Some(tenant) = self.context.tenant_id() {
            w.write_raw(b",\"tenant\":");
            w.write_str(tenant);
        }
        w.write_raw(b",\"tool\":");
        w.write_str(self.tool);
        if layout.include_user {
            w.write_raw(b",\"user\":");
            write_optional_str(w, self.context.user_id());
        }
        w.write_raw(b",\"v\":");
        w.write_raw(FORMAT_VERSION);
        if let Some(start) = self.window {
            w.write_raw(b",\"window\":");
            w.write_integer(start);
        }
        w.write_raw(b"}");
        Ok(())
    }

    fn write_args(&self, selection: Selection, w: &mut CanonicalWriter) -> Result<(), KeyError> {
        let args = self.args;
        let named = self.key_fields.filter(|names| !names.is_empty());
        if let Some(names) = named {
            for name in names {
                if args.field_index(name).is_none() {
                    return Err(KeyError::MissingKeyField {
                        tool: self.tool.to_owned(),
                        field: name.clone(),
                    });
                }
            }
            return self.write_selected(w, true, |i| {
                let field = args.field_name(i);
                names.iter().any(|n| n == field)
            });
        }
        if args.has_key_fields() {
            return self.write_selected(w, true, |i| args.is_key_field(i));
        }
        if selection == Selection::KeyFieldsOnly {
            return Err(KeyError::NoKeyFields {
                tool: self.tool.to_owned(),
            });
        }
        self.write_selected(w, false, |_| true)
    }

    fn write_selected(
        &self,
        w: &mut CanonicalWriter,
        key_mode: bool,
        selected: impl Fn(usize) -> bool,
    ) -> Result<(), KeyError> {
        let args = self.args;
        let mut first = true;
        for i in 0..args.field_count() {
            if !selected(i) {
                continue;
            }
            if key_mode && !args.allows_empty(i) {
                let presence = args.field_presence(i);
                if let Some(found) = presence.describe_absence() {
                    debug_assert_ne!(presence, Presence::Present);
                    return Err(KeyError::EmptyKeyField {
                        tool: self.tool.to_owned(),
                        field: args.field_name(i).to_owned(),
                        found,
                    });
                }
            }
            w.write_member_name(first, args.field_name(i));
            args.write_field(i, w).map_err(|source| KeyError::Encode {
                field: args.field_name(i).to_owned(),
                source,
            })?;
            first = false;
        }
        Ok(())
    }
}

fn write_optional_str(w: &mut CanonicalWriter, value: Option<&str>) {
    match value {
        Some(s) => w.write_str(s),
        None => w.write_null(),
    }
}
