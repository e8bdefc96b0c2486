//! Finding a `HashSet` in a field's type: serde writes one in iteration order, which changes
//! from one process to the next, so a `#[idem(serde)]` field holding one has no stable key.

use syn::{GenericArgument, Ident, PathArguments, Type};

/// The first `HashSet` named in `ty` (as `HashSet<T>`, `std::collections::HashSet<T>`,
/// `Option<Vec<HashSet<T>>>`, `(u8, HashSet<T>)`, ...), or `None`.
///
/// Only what is written in the type is seen: a type alias, or a struct holding a `HashSet`, is
/// not looked into (the key format's documentation says so).
pub(crate) fn hash_set_in(ty: &Type) -> Option<&Ident> {
    match ty {
        Type::Path(path) => {
            if let Some(qself) = &path.qself
                && let Some(found) = hash_set_in(&qself.ty)
            {
                return Some(found);
            }
            path.path.segments.iter().find_map(|segment| {
                if segment.ident == "HashSet" {
                    return Some(&segment.ident);
                }
                match &segment.arguments {
                    PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|arg| match arg {
                            GenericArgument::Type(ty) => hash_set_in(ty),
                            _ => None,
                        })
                    }
                    // `Fn(A) -> B`: not a value serde writes.
                    PathArguments::Parenthesized(_) | PathArguments::None => None,
                }
            })
        }
        Type::Reference(reference) => hash_set_in(&reference.elem),
        Type::Array(array) => hash_set_in(&array.elem),
        Type::Slice(slice) => hash_set_in(&slice.elem),
        Type::Ptr(ptr) => hash_set_in(&ptr.elem),
        Type::Paren(paren) => hash_set_in(&paren.elem),
        Type::Group(group) => hash_set_in(&group.elem),
        Type::Tuple(tuple) => tuple.elems.iter().find_map(hash_set_in),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(ty: &str) -> bool {
        let ty: Type = syn::parse_str(ty).unwrap();
        hash_set_in(&ty).is_some()
    }

    #[test]
    fn finds_a_hash_set_wherever_the_type_names_it() {
        for ty in [
            "HashSet<String>",
            "std::collections::HashSet<u32>",
            "hashbrown::HashSet<u32, foldhash::fast::RandomState>",
            "Option<HashSet<String>>",
            "Vec<Option<HashSet<u8>>>",
            "BTreeMap<String, HashSet<u8>>",
            "&'static HashSet<u8>",
            "[HashSet<u8>; 2]",
            "(u8, HashSet<u8>)",
            "Box<[HashSet<u8>]>",
        ] {
            assert!(found(ty), "{ty}");
        }
    }

    #[test]
    fn leaves_ordered_collections_and_maps_alone() {
        for ty in [
            "String",
            "BTreeSet<String>",
            "HashMap<String, u32>",
            "Vec<BTreeSet<u8>>",
            "Option<(u8, String)>",
            "MyHashSet",
            "Tags",
        ] {
            assert!(!found(ty), "{ty}");
        }
    }
}
