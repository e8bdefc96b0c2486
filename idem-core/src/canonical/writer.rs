//! [`CanonicalWriter`]: where canonical bytes go, straight into a hasher or into a buffer.

use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::EncodeError;

/// The destination of canonical bytes, with the RFC 8785 primitives to write them.
///
/// A writer either collects what it receives in a `Vec<u8>` ([`buffer`](Self::buffer): to show
/// the canonical bytes, or to sort set elements) or hashes it as it comes, with no buffer and no
/// allocation (the digest sink of a key: [`KeyHasher`](crate::key::KeyHasher)).
///
/// # Nesting depth
///
/// The writer counts the arrays and objects that are open, and refuses to go deeper than
/// [`MAX_DEPTH`] levels, so that a deeply nested value is an error instead of a stack overflow.
/// A level opens with [`begin_array`](Self::begin_array) or [`begin_object`](Self::begin_object)
/// and closes with the matching `end_*` call. The object a document starts with (the
/// envelope, or the arguments object of a fingerprint) is not counted: levels are counted
/// inside the arguments. Once a level beyond the limit was opened, every fallible write
/// ([`check_depth`](Self::check_depth), `begin_*`, [`write_f64`](Self::write_f64) and the
/// `Canonical` implementations of containers, pointers and `Option`) returns
/// [`EncodeError::TooDeep`], and the bytes written are not a key.
///
/// ```
/// use idem::canonical::{Canonical, CanonicalWriter};
///
/// let mut writer = CanonicalWriter::buffer();
/// vec![1.5_f64, -0.0, 1e21].write_canonical(&mut writer).unwrap();
/// assert_eq!(writer.into_bytes().unwrap(), b"[1.5,0,1e+21]");
/// ```
#[derive(Debug, Clone)]
pub struct CanonicalWriter {
    sink: Sink,
    /// Small writes gather here before they reach the hasher: one `update` per block of
    /// bytes instead of one per token (a key is made of dozens of tiny writes).
    pending: [u8; PENDING],
    pending_len: usize,
    /// Arrays and objects open (the document's first object excluded).
    depth: usize,
    /// Whether a level beyond [`MAX_DEPTH`] was opened.
    too_deep: bool,
    /// Whether anything was written: a document's first `{` is its root and is not counted.
    started: bool,
}

/// The deepest nesting of arrays and objects an argument may have: 128 levels.
///
/// `[[1]]` is two levels. Arguments are rarely more than a handful of levels deep; 128 is the
/// nesting serde_json's parser accepts by default, and it keeps the recursion of the encoder
/// (and of serde) far from the end of a 2 MiB thread stack, even in a debug build.
pub const MAX_DEPTH: usize = 128;

/// Bytes gathered before a hasher update: two SHA-512 blocks.
const PENDING: usize = 256;

#[derive(Debug, Clone)]
enum Sink {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
    Buffer(Vec<u8>),
}

impl CanonicalWriter {
    /// A writer that collects the bytes in memory.
    pub fn buffer() -> Self {
        Self::with_sink(Sink::Buffer(Vec::new()))
    }

    /// A writer that hashes the bytes with SHA-256, keeping none of them.
    pub(crate) fn sha256() -> Self {
        Self::with_sink(Sink::Sha256(Sha256::new()))
    }

    /// A writer that hashes the bytes with SHA-384, keeping none of them.
    pub(crate) fn sha384() -> Self {
        Self::with_sink(Sink::Sha384(Sha384::new()))
    }

    /// A writer that hashes the bytes with SHA-512, keeping none of them.
    pub(crate) fn sha512() -> Self {
        Self::with_sink(Sink::Sha512(Sha512::new()))
    }

    fn with_sink(sink: Sink) -> Self {
        Self {
            sink,
            pending: [0; PENDING],
            pending_len: 0,
            depth: 0,
            too_deep: false,
            started: false,
        }
    }

    /// A buffering writer at the same depth as `self`, for a value that is encoded apart (a set
    /// element, to sort it) and then written with [`write_raw`](Self::write_raw).
    pub(crate) fn nested_buffer(&self) -> Self {
        let mut writer = Self::buffer();
        writer.depth = self.depth;
        writer.too_deep = self.too_deep;
        writer.started = true;
        writer
    }

    /// Marks the writer as being inside a document already, so that a first `{` is counted as
    /// a level (for a single argument value written on its own).
    pub(crate) fn inside_document(mut self) -> Self {
        self.started = true;
        self
    }

    /// How many arrays and objects are open.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Fails if an array or object was opened beyond [`MAX_DEPTH`] levels.
    ///
    /// # Errors
    /// [`EncodeError::TooDeep`].
    #[inline]
    pub fn check_depth(&self) -> Result<(), EncodeError> {
        if self.too_deep {
            Err(EncodeError::TooDeep { limit: MAX_DEPTH })
        } else {
            Ok(())
        }
    }

    /// Opens an array: writes `[`.
    ///
    /// # Errors
    /// [`EncodeError::TooDeep`] when this array is more than [`MAX_DEPTH`] levels deep.
    #[inline]
    pub fn begin_array(&mut self) -> Result<(), EncodeError> {
        self.write_raw(b"[");
        self.check_depth()
    }

    /// Closes an array: writes `]`.
    #[inline]
    pub fn end_array(&mut self) {
        self.write_raw(b"]");
    }

    /// Opens an object: writes `{`.
    ///
    /// # Errors
    /// [`EncodeError::TooDeep`] when this object is more than [`MAX_DEPTH`] levels deep.
    #[inline]
    pub fn begin_object(&mut self) -> Result<(), EncodeError> {
        self.write_raw(b"{");
        self.check_depth()
    }

    /// Closes an object: writes `}`.
    #[inline]
    pub fn end_object(&mut self) {
        self.write_raw(b"}");
    }

    /// Hands the gathered bytes to the hasher.
    fn flush(&mut self) {
        let pending = &self.pending[..self.pending_len];
        match &mut self.sink {
            Sink::Sha256(h) => h.update(pending),
            Sink::Sha384(h) => h.update(pending),
            Sink::Sha512(h) => h.update(pending),
            Sink::Buffer(buf) => buf.extend_from_slice(pending),
        }
        self.pending_len = 0;
    }

    /// The collected bytes, or `None` for a hashing writer.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self.sink {
            Sink::Buffer(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// Hands the digest of everything written to `f`: the hash of a hashing writer, or the
    /// SHA-256 of the bytes of a buffering one.
    pub(crate) fn finish_digest<R>(mut self, f: impl FnOnce(&[u8]) -> R) -> R {
        self.flush();
        match self.sink {
            Sink::Sha256(h) => f(&h.finalize()),
            Sink::Sha384(h) => f(&h.finalize()),
            Sink::Sha512(h) => f(&h.finalize()),
            Sink::Buffer(bytes) => f(&Sha256::digest(&bytes)),
        }
    }

    /// Writes `,`: the separator between two elements of an array.
    ///
    /// Members of an object are separated by [`write_member_name`](Self::write_member_name).
    #[inline]
    pub fn write_separator(&mut self) {
        self.write_raw(b",");
    }

    /// Writes bytes as they are. The caller guarantees they are canonical JSON tokens: not
    /// public, so that a user's [`Canonical`](super::Canonical) implementation can only write
    /// canonical JSON.
    ///
    /// Exactly `[` or `{` opens a level of nesting, exactly `]` or `}` closes one (see
    /// [Nesting depth](Self#nesting-depth)); longer byte strings are taken as they are.
    #[inline]
    pub(crate) fn write_raw(&mut self, bytes: &[u8]) {
        match bytes {
            [b'[' | b'{'] => self.open_level(bytes[0]),
            [b']' | b'}'] => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        self.started = true;
        self.push(bytes);
    }

    /// Counts a level that opens, unless it is the object a document starts with.
    #[inline]
    fn open_level(&mut self, token: u8) {
        if token == b'{' && !self.started {
            // The root of the document (its `}` leaves the depth at 0).
            return;
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.too_deep = true;
        }
    }

    /// Appends bytes, with no accounting of levels (string contents, pre-encoded values).
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        if let Sink::Buffer(buf) = &mut self.sink {
            buf.extend_from_slice(bytes);
            return;
        }
        let end = self.pending_len + bytes.len();
        if end <= PENDING {
            self.pending[self.pending_len..end].copy_from_slice(bytes);
            self.pending_len = end;
        } else {
            self.write_large(bytes);
        }
    }

    #[cold]
    fn write_large(&mut self, bytes: &[u8]) {
        self.flush();
        if bytes.len() < PENDING {
            self.pending[..bytes.len()].copy_from_slice(bytes);
            self.pending_len = bytes.len();
        } else {
            match &mut self.sink {
                Sink::Sha256(h) => h.update(bytes),
                Sink::Sha384(h) => h.update(bytes),
                Sink::Sha512(h) => h.update(bytes),
                Sink::Buffer(buf) => buf.extend_from_slice(bytes),
            }
        }
    }

    /// Writes `null`.
    #[inline]
    pub fn write_null(&mut self) {
        self.write_raw(b"null");
    }

    /// Writes `true` or `false`.
    #[inline]
    pub fn write_bool(&mut self, value: bool) {
        self.write_raw(if value { b"true" } else { b"false" });
    }

    /// Writes a string with the escaping of RFC 8785 (section 3.2.2.2): `"` and `\` are
    /// escaped, control characters use `\b \t \n \f \r` or `\u00xx`, everything else is UTF-8.
    pub fn write_str(&mut self, value: &str) {
        // The pieces of a string are not tokens: a `{` in a string opens no level.
        self.started = true;
        let bytes = value.as_bytes();
        if !bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
            // The common case: nothing to escape, one copy.
            self.push(b"\"");
            self.push(bytes);
            self.push(b"\"");
            return;
        }
        self.push(b"\"");
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\x08' => b"\\b",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                b'\x0c' => b"\\f",
                b'\r' => b"\\r",
                0x00..=0x1f => {
                    self.push(&bytes[start..i]);
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.push(&[
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[usize::from(b >> 4)],
                        HEX[usize::from(b & 0xf)],
                    ]);
                    start = i + 1;
                    continue;
                }
                _ => continue,
            };
            self.push(&bytes[start..i]);
            self.push(escape);
            start = i + 1;
        }
        self.push(&bytes[start..]);
        self.push(b"\"");
    }

    /// Writes an integer as its exact decimal digits.
    ///
    /// Within ±(2^53 − 1) this is the ECMAScript form RFC 8785 asks for; beyond it, key format
    /// v1 keeps every digit instead of rounding to the nearest double (see `docs/key-format.md`).
    #[inline]
    pub fn write_integer<I: itoa::Integer>(&mut self, value: I) {
        let mut buf = itoa::Buffer::new();
        self.write_raw(buf.format(value).as_bytes());
    }

    /// Writes a number in the ECMAScript form of RFC 8785 (section 3.2.2.3); `-0` is written `0`.
    ///
    /// # Errors
    /// [`EncodeError::NonFiniteNumber`] for NaN and the infinities; [`EncodeError::TooDeep`]
    /// when the value is inside a level beyond [`MAX_DEPTH`].
    #[inline]
    pub fn write_f64(&mut self, value: f64) -> Result<(), EncodeError> {
        self.check_depth()?;
        if !value.is_finite() {
            return Err(EncodeError::NonFiniteNumber(value));
        }
        if value == 0.0 {
            self.write_raw(b"0");
        } else {
            let mut buf = ryu_js::Buffer::new();
            self.write_raw(buf.format_finite(value).as_bytes());
        }
        Ok(())
    }

    /// Writes the name of an object member and its colon, with a comma before it unless it is
    /// the first member.
    #[inline]
    pub fn write_member_name(&mut self, first: bool, name: &str) {
        if !first {
            self.write_raw(b",");
        }
        self.write_str(name);
        self.write_raw(b":");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_inside_strings_open_no_level() {
        let mut w = CanonicalWriter::buffer().inside_document();
        for _ in 0..MAX_DEPTH {
            w.write_str("{[");
        }
        assert_eq!(w.depth(), 0);
        assert!(w.check_depth().is_ok());
    }

    #[test]
    fn the_first_object_of_a_document_is_not_a_level() {
        let mut w = CanonicalWriter::buffer();
        w.write_raw(b"{");
        assert_eq!(w.depth(), 0);
        assert!(w.begin_object().is_ok());
        assert_eq!(w.depth(), 1);
        w.end_object();
        w.write_raw(b"}");
        assert_eq!(w.depth(), 0);
        assert_eq!(w.into_bytes().unwrap_or_default(), b"{{}}");
    }

    #[test]
    fn a_level_beyond_the_limit_fails_and_stays_failed() {
        let mut w = CanonicalWriter::buffer().inside_document();
        for _ in 0..MAX_DEPTH {
            assert!(w.begin_array().is_ok());
        }
        assert!(matches!(
            w.begin_array(),
            Err(EncodeError::TooDeep { limit: MAX_DEPTH })
        ));
        w.end_array();
        // Closing the level does not make the bytes a key again.
        assert!(w.check_depth().is_err());
        assert!(w.write_f64(1.0).is_err());
        // A raw `[` (bytes written with `write_raw`) counts like begin_array.
        let mut raw = CanonicalWriter::sha256().inside_document();
        for _ in 0..=MAX_DEPTH {
            raw.write_raw(b"[");
        }
        assert!(raw.check_depth().is_err());
    }
}
