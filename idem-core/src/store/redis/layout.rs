//! The key layout of [`RedisStore`](super::RedisStore): `{prefix}:{n}:{tool}:{key}`, `n` the
//! length of the tool id, so that any tool id and key make one unambiguous key, and the `SCAN`
//! pattern that finds them.

/// Why `prefix` is not a valid prefix, if it is not.
pub(super) fn check_prefix(prefix: &str) -> Result<(), &'static str> {
    if prefix.is_empty() {
        return Err("it is empty");
    }
    for segment in prefix.split(':') {
        if segment.is_empty() {
            return Err("a `:`-separated segment is empty");
        }
        if segment.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a `:`-separated segment is made only of digits");
        }
    }
    Ok(())
}

/// The `SCAN` pattern of the store's keys: `{prefix}:[0-9]*`, the prefix's glob characters
/// escaped.
pub(super) fn scan_pattern(prefix: &str) -> Vec<u8> {
    let mut pattern = Vec::with_capacity(prefix.len() + 8);
    for b in prefix.bytes() {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            pattern.push(b'\\');
        }
        pattern.push(b);
    }
    pattern.extend_from_slice(b":[0-9]*");
    pattern
}

/// The (tool, key) of a key written by [`RedisStore::redis_key`] under `prefix`.
pub(super) fn parse_redis_key<'k>(prefix: &str, raw: &'k [u8]) -> Option<(&'k str, &'k str)> {
    let rest = raw.strip_prefix(prefix.as_bytes())?.strip_prefix(b":")?;
    let colon = rest.iter().position(|&b| b == b':')?;
    let (len, rest) = (&rest[..colon], &rest[colon + 1..]);
    let canonical = len == b"0" || (len.first().is_some_and(|&b| b != b'0') && len.len() <= 20);
    if !canonical || !len.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let len: usize = std::str::from_utf8(len).ok()?.parse().ok()?;
    let tool = rest.get(..len)?;
    let key = rest.get(len..)?.strip_prefix(b":")?;
    Some((
        std::str::from_utf8(tool).ok()?,
        std::str::from_utf8(key).ok()?,
    ))
}

/// The prefix of a key laid out as `{prefix}:{n}:{tool}:{key}`, whatever the prefix: the
/// segments before the first one made only of digits (a prefix has none, see [`check_prefix`]),
/// when the rest is a tool id of `n` bytes and a key.
pub(super) fn prefix_of(raw: &[u8]) -> Option<&str> {
    let mut end = 0;
    for segment in raw.split(|&b| b == b':') {
        if end > 0 && !segment.is_empty() && segment.iter().all(u8::is_ascii_digit) {
            let prefix = std::str::from_utf8(&raw[..end - 1]).ok()?;
            return parse_redis_key(prefix, raw).map(|_| prefix);
        }
        end += segment.len() + 1;
    }
    None
}
