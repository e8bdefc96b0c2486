//! [`ClaimToken`]: the token that says who holds a claim.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest token: 32 hex digits of the process prefix, `-`, 16 hex digits of the counter.
const MAX_LEN: usize = 32 + 1 + 16;

/// A token unique to one claim: a random 128-bit prefix drawn once per process, then a counter
/// in hex (`"{prefix}-{counter:x}"`). Tokens only need to be unique (they say who holds a claim,
/// they guard no secret): this costs no system call and no allocation per claim.
#[derive(Clone, Copy)]
pub(super) struct ClaimToken {
    bytes: [u8; MAX_LEN],
    len: u8,
}

impl ClaimToken {
    /// A token no other claim of any process has.
    pub(super) fn next() -> Self {
        static PROCESS: OnceLock<[u8; 32]> = OnceLock::new();
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let prefix = PROCESS.get_or_init(|| {
            let mut hex = [0; 32];
            uuid::Uuid::new_v4().simple().encode_lower(&mut hex);
            hex
        });
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut bytes = [0; MAX_LEN];
        bytes[..32].copy_from_slice(prefix);
        bytes[32] = b'-';
        // Hex digits of `n` without leading zeros, as `{n:x}` writes them (one for zero).
        let digits = (64 - n.leading_zeros() as usize).div_ceil(4).max(1);
        for (i, slot) in bytes[33..33 + digits].iter_mut().enumerate() {
            let nibble = (n >> (4 * (digits - 1 - i))) & 0xf;
            *slot = b"0123456789abcdef"[nibble as usize];
        }
        ClaimToken {
            bytes,
            len: (33 + digits) as u8,
        }
    }

    pub(super) fn as_str(&self) -> &str {
        // Only ASCII hex digits and '-' are ever written.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl fmt::Debug for ClaimToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ClaimToken;

    #[test]
    fn tokens_are_distinct_and_read_as_prefix_dash_counter() {
        let first = ClaimToken::next();
        let second = ClaimToken::next();
        let (prefix, counter) = first.as_str().split_once('-').expect("a dash");
        assert_eq!(prefix.len(), 32);
        assert!(prefix.bytes().all(|b| b.is_ascii_hexdigit()));
        let n = u64::from_str_radix(counter, 16).expect("a hex counter");
        assert_eq!(format!("{prefix}-{n:x}"), first.as_str());
        assert_ne!(first.as_str(), second.as_str());
        assert!(second.as_str().starts_with(prefix));
    }
}
