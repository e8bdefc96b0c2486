//! The member order of RFC 8785: names compared as sequences of UTF-16 code units.

use std::cmp::Ordering;

/// Compares two member names as RFC 8785 (section 3.2.3) sorts them: by their UTF-16 code
/// units, which differs from byte order only between characters above U+FFFF and
/// characters from U+E000 to U+FFFF.
///
/// ```
/// use std::cmp::Ordering;
/// use idem::canonical::cmp_member_names;
///
/// assert_eq!(cmp_member_names("a", "b"), Ordering::Less);
/// // U+1F600 (a surrogate pair, 0xD83D…) sorts before U+FB33 in UTF-16.
/// assert_eq!(cmp_member_names("\u{1F600}", "\u{FB33}"), Ordering::Less);
/// ```
pub fn cmp_member_names(a: &str, b: &str) -> Ordering {
    // Byte order equals code point order; only a non-ASCII difference can disagree.
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}
