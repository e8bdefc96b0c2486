//! [`KeyHasher`]: the digest sink of key format v1, a canonical writer that hashes.

use crate::canonical::CanonicalWriter;

use super::{Algorithm, IdempotencyKey};

/// Canonical bytes hashed as they are written, into an [`IdempotencyKey`]: how a key of the
/// built-in strategies is made from its envelope, with no buffer and no allocation.
///
/// ```
/// use idem::Canonical;
/// use idem::key::{Algorithm, KeyHasher};
///
/// let mut hasher = KeyHasher::new(Algorithm::Sha256);
/// "hello".write_canonical(hasher.writer())?;
/// // SHA-256 of the canonical bytes `"hello"`, quotes included.
/// assert_eq!(
///     hasher.finish().as_str(),
///     "5aa762ae383fbb727af3c7a36d4940a5b8c40a989452d2304fc958ff3f354e7a"
/// );
/// # Ok::<(), idem::key::EncodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct KeyHasher {
    writer: CanonicalWriter,
}

impl KeyHasher {
    /// A hasher with `algorithm`.
    pub fn new(algorithm: Algorithm) -> Self {
        let writer = match algorithm {
            Algorithm::Sha256 => CanonicalWriter::sha256(),
            Algorithm::Sha384 => CanonicalWriter::sha384(),
            Algorithm::Sha512 => CanonicalWriter::sha512(),
        };
        Self { writer }
    }

    /// The writer to write the canonical bytes with.
    pub fn writer(&mut self) -> &mut CanonicalWriter {
        &mut self.writer
    }

    /// The lowercase hex digest of everything written, as a key.
    pub fn finish(self) -> IdempotencyKey {
        self.writer.finish_digest(IdempotencyKey::from_digest)
    }
}
