//! Record addresses in the redb table: `"{n}:{tool}:{key}"`, `n` the length of the tool id in
//! bytes, so that any tool id and key make one unambiguous address.

use crate::store::RecordKey;

/// `"{n}:{tool}:{key}"`, `n` the length of `tool` in bytes.
pub(super) fn encode_address(key: RecordKey<'_>) -> String {
    format!("{}:{}:{}", key.tool.len(), key.tool, key.key)
}

/// The (tool, key) of an address written by [`encode_address`].
pub(super) fn decode_address(address: &str) -> Option<(&str, &str)> {
    let (len, rest) = address.split_once(':')?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: usize = len.parse().ok()?;
    let tool = rest.get(..len)?;
    let key = rest.get(len..)?.strip_prefix(':')?;
    Some((tool, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_unambiguous() {
        let cases = [
            ("ab", "c"),
            ("a", "bc"),
            ("a:b", "c"),
            ("a", "b:c"),
            ("1:a", ""),
            ("", "1:a"),
            ("t\u{0}x", "k"),
            ("outil-é", "clé"),
        ];
        let mut seen = std::collections::HashSet::new();
        for (tool, key) in cases {
            let address = encode_address(RecordKey { tool, key });
            assert!(seen.insert(address.clone()), "{address} twice");
            assert_eq!(decode_address(&address), Some((tool, key)));
        }
        assert_eq!(
            encode_address(RecordKey {
                tool: "payment-processor-v1",
                key: "fb5f"
            }),
            "20:payment-processor-v1:fb5f"
        );
        for bad in [
            "",
            "x",
            "3:ab",
            "2:abc",
            "+1:a:b",
            ":a:b",
            "9999999999999999999999:a",
        ] {
            assert_eq!(decode_address(bad), None, "{bad}");
        }
    }
}
