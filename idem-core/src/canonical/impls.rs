//! [`Canonical`] for the standard library's types.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

use super::ParameterType;
use super::{Canonical, CanonicalWriter, Presence, cmp_member_names};
use crate::error::EncodeError;

impl Canonical for str {
    const PARAMETER_TYPE: ParameterType = ParameterType::String;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.write_str(self);
        Ok(())
    }
    fn presence(&self) -> Presence {
        if self.is_empty() {
            Presence::Empty
        } else {
            Presence::Present
        }
    }
}

impl Canonical for String {
    const PARAMETER_TYPE: ParameterType = ParameterType::String;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.write_str(self);
        Ok(())
    }
    fn presence(&self) -> Presence {
        self.as_str().presence()
    }
}

impl Canonical for char {
    const PARAMETER_TYPE: ParameterType = ParameterType::String;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.write_str(self.encode_utf8(&mut [0; 4]));
        Ok(())
    }
}

impl Canonical for bool {
    const PARAMETER_TYPE: ParameterType = ParameterType::Boolean;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.write_bool(*self);
        Ok(())
    }
}

impl Canonical for () {
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.write_null();
        Ok(())
    }
    fn presence(&self) -> Presence {
        Presence::Null
    }
}

macro_rules! integers {
    ($($t:ty)*) => {$(
        impl Canonical for $t {

            const PARAMETER_TYPE: ParameterType = ParameterType::Integer;
            #[inline]
            fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
                w.write_integer(*self);
                Ok(())
            }
        }
    )*};
}
integers!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);

impl Canonical for f64 {
    const PARAMETER_TYPE: ParameterType = ParameterType::Number;
    #[inline]
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.write_f64(*self)
    }
}

impl Canonical for f32 {
    const PARAMETER_TYPE: ParameterType = ParameterType::Number;
    /// Widened to `f64` first, as serde_json and JavaScript do.
    #[inline]
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.write_f64(f64::from(*self))
    }
}

impl<T: Canonical> Canonical for Option<T> {
    const PARAMETER_TYPE: ParameterType = T::PARAMETER_TYPE;
    const OPTIONAL: bool = true;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        // Recursive types nest through `Option` and the pointers below: stop at once when the
        // writer went too deep (see `CanonicalWriter`'s nesting depth).
        w.check_depth()?;
        match self {
            Some(value) => value.write_canonical(w),
            None => {
                w.write_null();
                Ok(())
            }
        }
    }
    fn presence(&self) -> Presence {
        match self {
            Some(value) => value.presence(),
            None => Presence::Null,
        }
    }
}

macro_rules! pointers {
    ($($ptr:ident)*) => {$(
        impl<T: Canonical + ?Sized> Canonical for $ptr<T> {
            const PARAMETER_TYPE: ParameterType = T::PARAMETER_TYPE;
            const OPTIONAL: bool = T::OPTIONAL;
            #[inline]
            fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
                w.check_depth()?;
                (**self).write_canonical(w)
            }
            fn presence(&self) -> Presence {
                (**self).presence()
            }
        }
    )*};
}
pointers!(Box Rc Arc);

impl<T: Canonical + ?Sized> Canonical for &T {
    const PARAMETER_TYPE: ParameterType = T::PARAMETER_TYPE;
    const OPTIONAL: bool = T::OPTIONAL;
    #[inline]
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.check_depth()?;
        (**self).write_canonical(w)
    }
    fn presence(&self) -> Presence {
        (**self).presence()
    }
}

impl<T: Canonical + ToOwned + ?Sized> Canonical for Cow<'_, T> {
    const PARAMETER_TYPE: ParameterType = T::PARAMETER_TYPE;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.check_depth()?;
        (**self).write_canonical(w)
    }
    fn presence(&self) -> Presence {
        (**self).presence()
    }
}

/// Writes the items of an ordered sequence as a JSON array.
pub(crate) fn write_array<'a, T: Canonical + 'a>(
    w: &mut CanonicalWriter,
    items: impl IntoIterator<Item = &'a T>,
) -> Result<(), EncodeError> {
    w.begin_array()?;
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            w.write_raw(b",");
        }
        item.write_canonical(w)?;
    }
    w.end_array();
    // A level opened inside an item that wrote no fallible token is reported here.
    w.check_depth()
}

impl<T: Canonical> Canonical for [T] {
    const PARAMETER_TYPE: ParameterType = ParameterType::Array;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        write_array(w, self)
    }
}

impl<T: Canonical, const N: usize> Canonical for [T; N] {
    const PARAMETER_TYPE: ParameterType = ParameterType::Array;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        write_array(w, self)
    }
}

impl<T: Canonical> Canonical for Vec<T> {
    const PARAMETER_TYPE: ParameterType = ParameterType::Array;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        write_array(w, self)
    }
}

impl<T: Canonical> Canonical for VecDeque<T> {
    const PARAMETER_TYPE: ParameterType = ParameterType::Array;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        write_array(w, self)
    }
}

impl<T: Canonical> Canonical for BTreeSet<T> {
    const PARAMETER_TYPE: ParameterType = ParameterType::Array;
    /// An array in the set's own order, as serde writes it.
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        write_array(w, self)
    }
}

impl<T: Canonical, S> Canonical for HashSet<T, S> {
    const PARAMETER_TYPE: ParameterType = ParameterType::Array;
    /// An array of the elements sorted by their canonical bytes, so that the key does not depend
    /// on the iteration order of the set.
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        w.begin_array()?;
        let mut encoded = self
            .iter()
            .map(|item| {
                // Encoded at the set's depth, so that the elements' levels count.
                let mut buffer = w.nested_buffer();
                item.write_canonical(&mut buffer)?;
                buffer.check_depth()?;
                Ok(buffer.into_bytes().unwrap_or_default())
            })
            .collect::<Result<Vec<_>, EncodeError>>()?;
        encoded.sort_unstable();
        for (i, item) in encoded.iter().enumerate() {
            if i > 0 {
                w.write_raw(b",");
            }
            w.write_raw(item);
        }
        w.end_array();
        Ok(())
    }
}

macro_rules! tuples {
    ($(($($name:ident $idx:tt),+))*) => {$(
        impl<$($name: Canonical),+> Canonical for ($($name,)+) {
            const PARAMETER_TYPE: ParameterType = ParameterType::Array;
            fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
                w.begin_array()?;
                $(
                    if $idx > 0 {
                        w.write_raw(b",");
                    }
                    self.$idx.write_canonical(w)?;
                )+
                w.end_array();
                w.check_depth()
            }
        }
    )*};
}
tuples! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
}

/// A type that can be the key of a map: serde_json writes strings as they are and integers as
/// their decimal digits.
pub trait MapKey {
    /// The member name this key becomes.
    fn member_name(&self) -> Cow<'_, str>;
}

impl MapKey for str {
    fn member_name(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl MapKey for String {
    fn member_name(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl MapKey for char {
    fn member_name(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

impl<K: MapKey + ?Sized> MapKey for &K {
    fn member_name(&self) -> Cow<'_, str> {
        (**self).member_name()
    }
}

impl<K: MapKey + ?Sized> MapKey for Box<K> {
    fn member_name(&self) -> Cow<'_, str> {
        (**self).member_name()
    }
}

impl<K: MapKey + ?Sized> MapKey for Arc<K> {
    fn member_name(&self) -> Cow<'_, str> {
        (**self).member_name()
    }
}

macro_rules! integer_keys {
    ($($t:ty)*) => {$(
        impl MapKey for $t {
            fn member_name(&self) -> Cow<'_, str> {
                Cow::Owned(itoa::Buffer::new().format(*self).to_owned())
            }
        }
    )*};
}
integer_keys!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);

/// Writes map entries as a JSON object whose members are sorted as RFC 8785 requires.
pub(crate) fn write_object<'a, K, V, I>(
    w: &mut CanonicalWriter,
    entries: I,
) -> Result<(), EncodeError>
where
    K: MapKey + ?Sized + 'a,
    V: Canonical + ?Sized + 'a,
    I: IntoIterator<Item = (&'a K, &'a V)>,
{
    let mut members: Vec<(Cow<'a, str>, &'a V)> = entries
        .into_iter()
        .map(|(k, v)| (k.member_name(), v))
        .collect();
    members.sort_unstable_by(|a, b| cmp_member_names(&a.0, &b.0));
    if let Some(pair) = members.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(EncodeError::DuplicateMember {
            name: pair[0].0.clone().into_owned(),
        });
    }
    w.begin_object()?;
    for (i, (name, value)) in members.iter().enumerate() {
        w.write_member_name(i == 0, name);
        value.write_canonical(w)?;
    }
    w.end_object();
    w.check_depth()
}

impl<K: MapKey, V: Canonical> Canonical for BTreeMap<K, V> {
    const PARAMETER_TYPE: ParameterType = ParameterType::Object;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        write_object(w, self)
    }
}

impl<K: MapKey, V: Canonical, S> Canonical for HashMap<K, V, S> {
    const PARAMETER_TYPE: ParameterType = ParameterType::Object;
    fn write_canonical(&self, w: &mut CanonicalWriter) -> Result<(), EncodeError> {
        write_object(w, self)
    }
}
